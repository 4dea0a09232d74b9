// Pow, Max, Min and PRelu under a BroadcastPlan (see broadcast.h).
#pragma once

#include <cstdint>

#include "kernels/ref/broadcast.h"
#include "kernels/ref/unary.h"

namespace si::ref {

enum class MinMaxOp { kMax, kMin };

// A NaN in either operand gives NaN (numpy.maximum/minimum); +0 and -0
// compare equal, and then `a` is kept.
void minmax_f32(MinMaxOp op, const BroadcastPlan &p, const float *a, const float *b, float *y,
                int threads);
void minmax_i8(MinMaxOp op, const BroadcastPlan &p, const int8_t *a, const int8_t *b, int8_t *y,
               int threads);
void minmax_u8(MinMaxOp op, const BroadcastPlan &p, const uint8_t *a, const uint8_t *b, uint8_t *y,
               int threads);
void minmax_i32(MinMaxOp op, const BroadcastPlan &p, const int32_t *a, const int32_t *b, int32_t *y,
                int threads);
void minmax_i64(MinMaxOp op, const BroadcastPlan &p, const int64_t *a, const int64_t *b, int64_t *y,
                int threads);

// y = x < 0 ? slope * x : x (x is a, slope is b).
void prelu_f32(const BroadcastPlan &p, const float *x, const float *slope, float *y, int threads);

// y = base ^ exponent, y having the base's type. Base and exponent are each
// kF32, kI32 or kI64. Integer ^ non-negative integer is exact and wraps like
// repeated multiplication; every other pair is computed in double, then
// converted as cast() converts (truncate, saturate, NaN -> 0 for an integer
// base), so 2 ^ -1 is 0 and 0 ^ -1 saturates.
bool pow_supported(ElemType base, ElemType exponent);
void pow(const BroadcastPlan &p, ElemType base_type, const void *base, ElemType exponent_type,
         const void *exponent, void *y, int threads);

// y = a mod b (ONNX Mod). fmod: the remainder takes a's sign (C fmod and %);
// else b's sign (Python %, integers only). Every b must be non-zero for
// integers (the caller checks: x % 0 is undefined in C); MIN % -1 gives 0.
// Types kF32 (fmod only), kU8, kI8, kI32, kI64.
bool mod_supported(ElemType t, bool fmod);
void mod(const BroadcastPlan &p, ElemType t, bool fmod, const void *a, const void *b, void *y,
         int threads);

// y = left ? a << b : a >> b on uint8 (the only unsigned type the engine
// holds); a shift of 8 or more gives 0, as the spec's numpy reference does.
void bit_shift_u8(const BroadcastPlan &p, bool left, const uint8_t *a, const uint8_t *b, uint8_t *y,
                  int threads);

}  // namespace si::ref
