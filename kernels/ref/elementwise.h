// Binary arithmetic under a BroadcastPlan: y = a (op) b.
#pragma once

#include <cstdint>

#include "kernels/ref/broadcast.h"

namespace si::ref {

enum class BinaryOp { kAdd, kSub, kMul, kDiv };

// Integer arithmetic wraps (two's complement) instead of overflowing;
// integer Div truncates toward zero, and the caller must have rejected zero
// divisors (a zero divisor yields 0 rather than trapping).
void binary_f32(BinaryOp op, const BroadcastPlan &p, const float *a, const float *b, float *y,
                int threads);
void binary_i32(BinaryOp op, const BroadcastPlan &p, const int32_t *a, const int32_t *b, int32_t *y,
                int threads);
void binary_i64(BinaryOp op, const BroadcastPlan &p, const int64_t *a, const int64_t *b, int64_t *y,
                int threads);
void binary_u8(BinaryOp op, const BroadcastPlan &p, const uint8_t *a, const uint8_t *b, uint8_t *y,
               int threads);

}  // namespace si::ref
