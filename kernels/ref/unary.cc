#include "kernels/ref/unary.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <type_traits>

#include "kernels/ref/parallel.h"

namespace si::ref {

namespace {

// Transcendentals cost ~20x an add: a team pays for itself sooner.
constexpr int64_t kTranscendentalParallelMin = int64_t{1} << 12;

template <typename TX, typename TY, typename F>
void map(const TX *x, TY *y, int64_t n, int threads, int64_t min_parallel, F f) {
  parallel_ranges(n, threads, min_parallel, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = f(x[i]);
  });
}

bool is_cheap(UnaryOp op) {
  switch (op) {
    case UnaryOp::kAbs:
    case UnaryOp::kNeg:
    case UnaryOp::kSign:
    case UnaryOp::kFloor:
    case UnaryOp::kCeil:
    case UnaryOp::kRound:
    case UnaryOp::kSqrt:
    case UnaryOp::kReciprocal:
    case UnaryOp::kSoftsign:
    case UnaryOp::kHardSigmoid:
    case UnaryOp::kHardSwish:
      return true;
    default:
      return false;
  }
}

// Written so that a NaN fails both comparisons and passes through.
inline float clamp01(float v) {
  v = v > 1.f ? 1.f : v;
  return v < 0.f ? 0.f : v;
}

template <typename F>
void map_f32(const float *x, float *y, int64_t n, int threads, int64_t min_parallel, F f) {
  map(x, y, n, threads, min_parallel, f);
}

template <typename T>
T wrap_neg(T v) {
  using U = std::make_unsigned_t<T>;
  return T(U(0) - U(v));
}

template <typename T>
void unary_int(UnaryOp op, const T *x, T *y, int64_t n, int threads) {
  const int64_t m = kElementwiseParallelMin;
  switch (op) {
    case UnaryOp::kAbs:
      return map(x, y, n, threads, m, [](T v) { return v < 0 ? wrap_neg(v) : v; });
    case UnaryOp::kNeg:
      return map(x, y, n, threads, m, [](T v) { return wrap_neg(v); });
    case UnaryOp::kSign:
      return map(x, y, n, threads, m, [](T v) { return T(v > 0 ? 1 : v < 0 ? -1 : 0); });
    default:
      assert(false && "integer unary op not supported");
  }
}

template <typename From, typename To>
To convert(From v) {
  if constexpr (std::is_floating_point_v<From> && !std::is_floating_point_v<To>)
    return float_to_int<To>(v);
  else
    return static_cast<To>(v);
}

// kFromBool: the source bytes are bools, read as 0/1 whatever byte they hold.
template <bool kFromBool, typename From, typename To>
void cast_typed(const From *x, To *y, int64_t n, int threads) {
  map(x, y, n, threads, kElementwiseParallelMin, [](From v) {
    if constexpr (kFromBool)
      return To(v != 0);
    else
      return convert<From, To>(v);
  });
}

template <bool kFromBool = false, typename From>
void cast_from(const From *x, ElemType to, void *y, int64_t n, int threads) {
  switch (to) {
    case ElemType::kF32:
      return cast_typed<kFromBool>(x, static_cast<float *>(y), n, threads);
    case ElemType::kU8:
      return cast_typed<kFromBool>(x, static_cast<uint8_t *>(y), n, threads);
    case ElemType::kI8:
      return cast_typed<kFromBool>(x, static_cast<int8_t *>(y), n, threads);
    case ElemType::kI32:
      return cast_typed<kFromBool>(x, static_cast<int32_t *>(y), n, threads);
    case ElemType::kI64:
      return cast_typed<kFromBool>(x, static_cast<int64_t *>(y), n, threads);
    case ElemType::kBool:
      return map(x, static_cast<uint8_t *>(y), n, threads, kElementwiseParallelMin,
                 [](From v) { return uint8_t(v != 0); });
  }
}

}  // namespace

void unary_f32(UnaryOp op, const UnaryParams &p, const float *x, float *y, int64_t n, int threads) {
  const int64_t m = is_cheap(op) ? kElementwiseParallelMin : kTranscendentalParallelMin;
  const int t = threads;
  switch (op) {
    case UnaryOp::kAbs:
      return map_f32(x, y, n, t, m, [](float v) { return std::fabs(v); });
    case UnaryOp::kNeg:
      return map_f32(x, y, n, t, m, [](float v) { return -v; });
    case UnaryOp::kSign:
      return map_f32(x, y, n, t, m, [](float v) { return v > 0.f ? 1.f : v < 0.f ? -1.f : v; });
    case UnaryOp::kFloor:
      return map_f32(x, y, n, t, m, [](float v) { return std::floor(v); });
    case UnaryOp::kCeil:
      return map_f32(x, y, n, t, m, [](float v) { return std::ceil(v); });
    case UnaryOp::kRound:
      // The default rounding mode is to-nearest-even; nearbyint never raises.
      return map_f32(x, y, n, t, m, [](float v) { return std::nearbyint(v); });
    case UnaryOp::kSqrt:
      return map_f32(x, y, n, t, m, [](float v) { return std::sqrt(v); });
    case UnaryOp::kReciprocal:
      return map_f32(x, y, n, t, m, [](float v) { return 1.f / v; });
    case UnaryOp::kExp:
      return map_f32(x, y, n, t, m, [](float v) { return std::exp(v); });
    case UnaryOp::kLog:
      return map_f32(x, y, n, t, m, [](float v) { return std::log(v); });
    case UnaryOp::kErf:
      return map_f32(x, y, n, t, m, [](float v) { return float(std::erf(double(v))); });
    case UnaryOp::kSin:
      return map_f32(x, y, n, t, m, [](float v) { return std::sin(v); });
    case UnaryOp::kCos:
      return map_f32(x, y, n, t, m, [](float v) { return std::cos(v); });
    case UnaryOp::kTan:
      return map_f32(x, y, n, t, m, [](float v) { return float(std::tan(double(v))); });
    case UnaryOp::kAsin:
      return map_f32(x, y, n, t, m, [](float v) { return float(std::asin(double(v))); });
    case UnaryOp::kAcos:
      return map_f32(x, y, n, t, m, [](float v) { return float(std::acos(double(v))); });
    case UnaryOp::kAtan:
      return map_f32(x, y, n, t, m, [](float v) { return float(std::atan(double(v))); });
    case UnaryOp::kSinh:
      return map_f32(x, y, n, t, m, [](float v) { return float(std::sinh(double(v))); });
    case UnaryOp::kCosh:
      return map_f32(x, y, n, t, m, [](float v) { return float(std::cosh(double(v))); });
    case UnaryOp::kAsinh:
      return map_f32(x, y, n, t, m, [](float v) { return float(std::asinh(double(v))); });
    case UnaryOp::kAcosh:
      return map_f32(x, y, n, t, m, [](float v) { return float(std::acosh(double(v))); });
    case UnaryOp::kAtanh:
      return map_f32(x, y, n, t, m, [](float v) { return float(std::atanh(double(v))); });
    case UnaryOp::kSoftplus:
      // exp of a non-positive number only: no overflow for large x.
      return map_f32(x, y, n, t, m, [](float v) {
        const double d = v;
        return float(d > 0 ? d + std::log1p(std::exp(-d)) : std::log1p(std::exp(d)));
      });
    case UnaryOp::kSoftsign:
      return map_f32(x, y, n, t, m, [](float v) { return v / (1.f + std::fabs(v)); });
    case UnaryOp::kHardSigmoid:
      return map_f32(x, y, n, t, m,
                     [a = p.alpha, b = p.beta](float v) { return clamp01(a * v + b); });
    case UnaryOp::kHardSwish:
      // alpha = 1/6 rounded to float, as the spec's reference computes it.
      return map_f32(x, y, n, t, m, [](float v) { return v * clamp01((1.f / 6.f) * v + 0.5f); });
    case UnaryOp::kElu:
      return map_f32(x, y, n, t, m, [a = double(p.alpha)](float v) {
        return v < 0.f ? float(a * std::expm1(double(v))) : v;
      });
    case UnaryOp::kSelu:
      return map_f32(x, y, n, t, m, [a = p.alpha, g = p.gamma](float v) {
        return v > 0.f ? g * v : float(double(g) * double(a) * std::expm1(double(v)));
      });
    case UnaryOp::kCelu:
      return map_f32(x, y, n, t, m, [a = double(p.alpha)](float v) {
        const double d = v;
        if (std::isnan(d)) return v;  // std::max/min would drop it
        return float(std::max(0.0, d) + std::min(0.0, a * std::expm1(d / a)));
      });
  }
}

void classify_f32(FloatClass c, bool positive_inf, bool negative_inf, const float *x, uint8_t *y,
                  int64_t n, int threads) {
  map(x, y, n, threads, kElementwiseParallelMin, [=](float v) {
    if (c == FloatClass::kNaN) return uint8_t(std::isnan(v));
    return uint8_t(std::isinf(v) && (v > 0 ? positive_inf : negative_inf));
  });
}

bool unary_int_supported(UnaryOp op) {
  return op == UnaryOp::kAbs || op == UnaryOp::kNeg || op == UnaryOp::kSign;
}
void unary_i8(UnaryOp op, const int8_t *x, int8_t *y, int64_t n, int threads) {
  unary_int(op, x, y, n, threads);
}
void unary_i32(UnaryOp op, const int32_t *x, int32_t *y, int64_t n, int threads) {
  unary_int(op, x, y, n, threads);
}
void unary_i64(UnaryOp op, const int64_t *x, int64_t *y, int64_t n, int threads) {
  unary_int(op, x, y, n, threads);
}

void cast(ElemType from, const void *x, ElemType to, void *y, int64_t n, int threads) {
  switch (from) {
    case ElemType::kF32:
      return cast_from(static_cast<const float *>(x), to, y, n, threads);
    case ElemType::kU8:
      return cast_from(static_cast<const uint8_t *>(x), to, y, n, threads);
    case ElemType::kI8:
      return cast_from(static_cast<const int8_t *>(x), to, y, n, threads);
    case ElemType::kI32:
      return cast_from(static_cast<const int32_t *>(x), to, y, n, threads);
    case ElemType::kI64:
      return cast_from(static_cast<const int64_t *>(x), to, y, n, threads);
    case ElemType::kBool:
      return cast_from<true>(static_cast<const uint8_t *>(x), to, y, n, threads);
  }
}

}  // namespace si::ref
