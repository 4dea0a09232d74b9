#include "kernels/ref/elementwise.h"

#include <limits>
#include <type_traits>
#include <vector>

#include "kernels/ref/parallel.h"

namespace si::ref {

namespace {

// Signed overflow is undefined in C++; going through the unsigned type gives
// the two's complement wrap that numpy and ONNX Runtime produce.
template <typename T>
T wrap_add(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return T(U(a) + U(b));
}
template <typename T>
T wrap_sub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return T(U(a) - U(b));
}
template <typename T>
T wrap_mul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  // uint8 * uint8 promotes to int; the cast back wraps as intended.
  return T(U(a) * U(b));
}
template <typename T>
T int_div(T a, T b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return wrap_sub<T>(0, a);  // min / -1 traps on x86
  }
  return T(a / b);
}

template <typename T>
struct AddOp {
  T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>)
      return a + b;
    else
      return wrap_add(a, b);
  }
};
template <typename T>
struct SubOp {
  T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>)
      return a - b;
    else
      return wrap_sub(a, b);
  }
};
template <typename T>
struct MulOp {
  T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>)
      return a * b;
    else
      return wrap_mul(a, b);
  }
};
template <typename T>
struct DivOp {
  T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>)
      return a / b;
    else
      return int_div(a, b);
  }
};

// The innermost group has stride 1 or 0 per operand (0 = broadcast scalar),
// so three loop shapes cover everything and each vectorises.
template <typename T, typename F>
inline void inner_run(const T *a, int64_t sa, const T *b, int64_t sb, T *y, int64_t n, F f) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
  } else if (sa == 0) {
    const T av = a[0];
    for (int64_t i = 0; i < n; ++i) y[i] = f(av, b[i]);
  } else {
    const T bv = b[0];
    for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], bv);
  }
}

template <typename T, typename F>
void run_plan(const BroadcastPlan &p, const T *a, const T *b, T *y, int threads, F f) {
  const size_t rank = p.dims.size();
  const int64_t inner = p.dims[rank - 1];
  const int64_t sa = p.a_strides[rank - 1];
  const int64_t sb = p.b_strides[rank - 1];
  parallel_ranges(p.numel, threads, kElementwiseParallelMin, [&](int64_t begin, int64_t end) {
    // Locate `begin` in the outer odometer, then walk row by row.
    std::vector<int64_t> idx(rank, 0);
    int64_t row = begin / inner;
    int64_t col = begin % inner;
    int64_t ao = 0, bo = 0;
    for (size_t k = rank - 1; k-- > 0;) {
      idx[k] = row % p.dims[k];
      row /= p.dims[k];
      ao += idx[k] * p.a_strides[k];
      bo += idx[k] * p.b_strides[k];
    }
    int64_t e = begin;
    while (e < end) {
      int64_t len = inner - col < end - e ? inner - col : end - e;
      inner_run(a + ao + col * sa, sa, b + bo + col * sb, sb, y + e, len, f);
      e += len;
      col = 0;
      for (size_t k = rank - 1; k-- > 0;) {
        ao += p.a_strides[k];
        bo += p.b_strides[k];
        if (++idx[k] < p.dims[k]) break;
        ao -= p.a_strides[k] * p.dims[k];
        bo -= p.b_strides[k] * p.dims[k];
        idx[k] = 0;
      }
    }
  });
}

template <typename T>
void binary(BinaryOp op, const BroadcastPlan &p, const T *a, const T *b, T *y, int threads) {
  switch (op) {
    case BinaryOp::kAdd:
      return run_plan(p, a, b, y, threads, AddOp<T>());
    case BinaryOp::kSub:
      return run_plan(p, a, b, y, threads, SubOp<T>());
    case BinaryOp::kMul:
      return run_plan(p, a, b, y, threads, MulOp<T>());
    case BinaryOp::kDiv:
      return run_plan(p, a, b, y, threads, DivOp<T>());
  }
}

}  // namespace

void binary_f32(BinaryOp op, const BroadcastPlan &p, const float *a, const float *b, float *y,
                int threads) {
  binary(op, p, a, b, y, threads);
}
void binary_i32(BinaryOp op, const BroadcastPlan &p, const int32_t *a, const int32_t *b, int32_t *y,
                int threads) {
  binary(op, p, a, b, y, threads);
}
void binary_i64(BinaryOp op, const BroadcastPlan &p, const int64_t *a, const int64_t *b, int64_t *y,
                int threads) {
  binary(op, p, a, b, y, threads);
}
void binary_u8(BinaryOp op, const BroadcastPlan &p, const uint8_t *a, const uint8_t *b, uint8_t *y,
               int threads) {
  binary(op, p, a, b, y, threads);
}

}  // namespace si::ref
