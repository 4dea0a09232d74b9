#include "kernels/ref/elementwise.h"

#include <type_traits>

#include "kernels/ref/broadcast_loop.h"

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

template <typename T, typename F>
void run_plan(const BroadcastPlan &p, const T *a, const T *b, T *y, int threads, F f) {
  broadcast_apply(p, a, b, y, threads, kElementwiseParallelMin, f);
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
