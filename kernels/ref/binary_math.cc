#include "kernels/ref/binary_math.h"

#include <cassert>
#include <cmath>
#include <type_traits>

#include "kernels/ref/broadcast_loop.h"

namespace si::ref {

namespace {

// pow() costs about as much as a transcendental; max/min as much as an add.
constexpr int64_t kPowParallelMin = int64_t{1} << 12;

template <typename T>
void minmax(MinMaxOp op, const BroadcastPlan &p, const T *a, const T *b, T *y, int threads) {
  const int64_t m = kElementwiseParallelMin;
  if constexpr (std::is_floating_point_v<T>) {
    // `b != b` is the NaN test; with it, only a NaN `a` reaches the
    // comparison's false branch and is kept.
    if (op == MinMaxOp::kMax)
      broadcast_apply(p, a, b, y, threads, m, [](T u, T v) { return (u < v || v != v) ? v : u; });
    else
      broadcast_apply(p, a, b, y, threads, m, [](T u, T v) { return (u > v || v != v) ? v : u; });
  } else {
    if (op == MinMaxOp::kMax)
      broadcast_apply(p, a, b, y, threads, m, [](T u, T v) { return u < v ? v : u; });
    else
      broadcast_apply(p, a, b, y, threads, m, [](T u, T v) { return u > v ? v : u; });
  }
}

// Exact for e >= 0, wrapping on overflow like repeated multiplication.
template <typename T>
T int_pow(T base, T e) {
  using U = std::make_unsigned_t<T>;
  U result = 1, b = U(base);
  for (auto k = std::make_unsigned_t<T>(e); k != 0; k >>= 1) {
    if (k & 1) result = U(result * b);
    b = U(b * b);
  }
  return T(result);
}

template <typename TB, typename TE>
TB pow_one(TB base, TE e) {
  if constexpr (!std::is_floating_point_v<TB> && !std::is_floating_point_v<TE>) {
    if (e >= 0) return int_pow<TB>(base, TB(e));
  }
  const double r = std::pow(double(base), double(e));
  if constexpr (std::is_floating_point_v<TB>)
    return TB(r);
  else
    return float_to_int<TB>(r);
}

template <typename TB, typename TE>
void pow_typed(const BroadcastPlan &p, const TB *base, const TE *e, TB *y, int threads) {
  broadcast_apply(p, base, e, y, threads, kPowParallelMin,
                  [](TB u, TE v) { return pow_one<TB, TE>(u, v); });
}

template <typename TB>
void pow_base(const BroadcastPlan &p, const TB *base, ElemType et, const void *e, TB *y,
              int threads) {
  switch (et) {
    case ElemType::kF32:
      return pow_typed(p, base, static_cast<const float *>(e), y, threads);
    case ElemType::kI32:
      return pow_typed(p, base, static_cast<const int32_t *>(e), y, threads);
    case ElemType::kI64:
      return pow_typed(p, base, static_cast<const int64_t *>(e), y, threads);
    default:
      assert(false && "pow: unsupported exponent type");
  }
}

}  // namespace

void minmax_f32(MinMaxOp op, const BroadcastPlan &p, const float *a, const float *b, float *y,
                int threads) {
  minmax(op, p, a, b, y, threads);
}
void minmax_i8(MinMaxOp op, const BroadcastPlan &p, const int8_t *a, const int8_t *b, int8_t *y,
               int threads) {
  minmax(op, p, a, b, y, threads);
}
void minmax_u8(MinMaxOp op, const BroadcastPlan &p, const uint8_t *a, const uint8_t *b, uint8_t *y,
               int threads) {
  minmax(op, p, a, b, y, threads);
}
void minmax_i32(MinMaxOp op, const BroadcastPlan &p, const int32_t *a, const int32_t *b, int32_t *y,
                int threads) {
  minmax(op, p, a, b, y, threads);
}
void minmax_i64(MinMaxOp op, const BroadcastPlan &p, const int64_t *a, const int64_t *b, int64_t *y,
                int threads) {
  minmax(op, p, a, b, y, threads);
}

void prelu_f32(const BroadcastPlan &p, const float *x, const float *slope, float *y, int threads) {
  broadcast_apply(p, x, slope, y, threads, kElementwiseParallelMin,
                  [](float v, float s) { return v < 0.f ? s * v : v; });
}

bool pow_supported(ElemType base, ElemType exponent) {
  auto ok = [](ElemType t) {
    return t == ElemType::kF32 || t == ElemType::kI32 || t == ElemType::kI64;
  };
  return ok(base) && ok(exponent);
}

void pow(const BroadcastPlan &p, ElemType base_type, const void *base, ElemType exponent_type,
         const void *exponent, void *y, int threads) {
  switch (base_type) {
    case ElemType::kF32:
      return pow_base(p, static_cast<const float *>(base), exponent_type, exponent,
                      static_cast<float *>(y), threads);
    case ElemType::kI32:
      return pow_base(p, static_cast<const int32_t *>(base), exponent_type, exponent,
                      static_cast<int32_t *>(y), threads);
    case ElemType::kI64:
      return pow_base(p, static_cast<const int64_t *>(base), exponent_type, exponent,
                      static_cast<int64_t *>(y), threads);
    default:
      assert(false && "pow: unsupported base type");
  }
}

namespace {

template <typename T>
T mod_one(T a, T b, bool fmod) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::fmod(a, b);
  } else {
    if constexpr (std::is_signed_v<T>) {
      if (b == T(-1)) return T(0);  // MIN % -1 overflows in C
    }
    T r = T(a % b);
    if constexpr (std::is_signed_v<T>) {
      if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = T(r + b);
    }
    return r;
  }
}

template <typename T>
void mod_typed(const BroadcastPlan &p, bool fmod, const void *a, const void *b, void *y,
               int threads) {
  broadcast_apply(p, static_cast<const T *>(a), static_cast<const T *>(b), static_cast<T *>(y),
                  threads, kElementwiseParallelMin,
                  [fmod](T u, T v) { return mod_one<T>(u, v, fmod); });
}

}  // namespace

bool mod_supported(ElemType t, bool fmod) {
  switch (t) {
    case ElemType::kF32:
      return fmod;
    case ElemType::kU8:
    case ElemType::kI8:
    case ElemType::kI32:
    case ElemType::kI64:
      return true;
    default:
      return false;
  }
}

void mod(const BroadcastPlan &p, ElemType t, bool fmod, const void *a, const void *b, void *y,
         int threads) {
  switch (t) {
    case ElemType::kF32:
      return mod_typed<float>(p, fmod, a, b, y, threads);
    case ElemType::kU8:
      return mod_typed<uint8_t>(p, fmod, a, b, y, threads);
    case ElemType::kI8:
      return mod_typed<int8_t>(p, fmod, a, b, y, threads);
    case ElemType::kI32:
      return mod_typed<int32_t>(p, fmod, a, b, y, threads);
    case ElemType::kI64:
      return mod_typed<int64_t>(p, fmod, a, b, y, threads);
    default:
      assert(false && "mod: unsupported type");
  }
}

void bit_shift_u8(const BroadcastPlan &p, bool left, const uint8_t *a, const uint8_t *b, uint8_t *y,
                  int threads) {
  broadcast_apply(p, a, b, y, threads, kElementwiseParallelMin, [left](uint8_t u, uint8_t v) {
    if (v >= 8) return uint8_t(0);
    return uint8_t(left ? unsigned(u) << v : unsigned(u) >> v);
  });
}

}  // namespace si::ref
