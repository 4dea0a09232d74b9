// Elementwise unary math and Cast over n contiguous elements.
//
// Float results follow IEEE/C semantics: NaN propagates through every op, and
// each op's ONNX formula is evaluated as written (HardSigmoid's clamp keeps a
// NaN rather than clamping it).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace si::ref {

enum class UnaryOp {
  kAbs,
  kNeg,
  kSign,  // -1, 0 or 1; NaN stays NaN, -0.0 stays -0.0
  kFloor,
  kCeil,
  kRound,  // halves to even, as ONNX Round and numpy.round
  kSqrt,
  kReciprocal,
  kExp,
  kLog,
  kErf,
  kSin,
  kCos,
  kTan,
  kAsin,
  kAcos,
  kAtan,
  kSinh,
  kCosh,
  kAsinh,
  kAcosh,
  kAtanh,
  kSoftplus,     // log(1 + exp(x)) without overflow
  kSoftsign,     // x / (1 + |x|)
  kHardSigmoid,  // max(0, min(1, alpha * x + beta))
  kHardSwish,    // x * max(0, min(1, x / 6 + 0.5))
  kElu,          // x >= 0 ? x : alpha * (exp(x) - 1)
  kSelu,         // gamma * (x > 0 ? x : alpha * (exp(x) - 1))
  kCelu,         // max(0, x) + min(0, alpha * (exp(x / alpha) - 1))
};

struct UnaryParams {
  float alpha = 0.f;
  float beta = 0.f;
  float gamma = 0.f;
};

void unary_f32(UnaryOp op, const UnaryParams &p, const float *x, float *y, int64_t n, int threads);

// Integer forms of kAbs, kNeg and kSign (the only ones ONNX defines for
// integers). Abs and Neg of the minimum value wrap to itself, as numpy does.
bool unary_int_supported(UnaryOp op);
void unary_i8(UnaryOp op, const int8_t *x, int8_t *y, int64_t n, int threads);
void unary_i32(UnaryOp op, const int32_t *x, int32_t *y, int64_t n, int threads);
void unary_i64(UnaryOp op, const int64_t *x, int64_t *y, int64_t n, int threads);

// y[i] = 1 where x[i] is NaN (IsNaN), or +inf / -inf as selected (IsInf),
// else 0; y is bool (one byte).
enum class FloatClass { kNaN, kInf };
void classify_f32(FloatClass c, bool positive_inf, bool negative_inf, const float *x, uint8_t *y,
                  int64_t n, int threads);

// Element types the kernels know by value (the engine maps its DType here).
enum class ElemType { kF32, kU8, kI8, kI32, kI64, kBool };

// y = x converted element by element. Bool is one byte holding 0 or 1; any
// non-zero source (NaN included) becomes 1. Float to integer truncates toward
// zero and saturates at the target's range, NaN giving 0 (ONNX leaves
// out-of-range results undefined; this is Rust's `as` and never traps).
// Integer to narrower integer keeps the low bits (two's complement wrap).
void cast(ElemType from, const void *x, ElemType to, void *y, int64_t n, int threads);

// cast()'s float -> integer rule for one value (From is float or double). The
// bounds are compared in From: float(INT32_MAX) rounds up to 2^31, so
// `v >= hi` catches exactly the values whose truncation would not fit.
template <typename To, typename From>
To float_to_int(From v) {
  constexpr To lo = std::numeric_limits<To>::lowest(), hi = std::numeric_limits<To>::max();
  if (std::isnan(v)) return 0;
  if (v <= static_cast<From>(lo)) return lo;
  if (v >= static_cast<From>(hi)) return hi;
  return static_cast<To>(v);
}

}  // namespace si::ref
