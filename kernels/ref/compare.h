// Comparisons, boolean logic and Where under a BroadcastPlan. Bool tensors
// are one byte per element; outputs hold 0 or 1, and inputs read any
// non-zero byte as true.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ref/broadcast.h"

namespace si::ref {

enum class CompareOp { kEqual, kLess, kGreater, kLessOrEqual, kGreaterOrEqual };

// y = a (op) b as bool. Float comparisons with a NaN are false; -0 == +0.
void compare_f32(CompareOp op, const BroadcastPlan &p, const float *a, const float *b, uint8_t *y,
                 int threads);
void compare_i8(CompareOp op, const BroadcastPlan &p, const int8_t *a, const int8_t *b, uint8_t *y,
                int threads);
// Also serves bool operands of Equal when both hold only 0/1.
void compare_u8(CompareOp op, const BroadcastPlan &p, const uint8_t *a, const uint8_t *b,
                uint8_t *y, int threads);
void compare_i32(CompareOp op, const BroadcastPlan &p, const int32_t *a, const int32_t *b,
                 uint8_t *y, int threads);
void compare_i64(CompareOp op, const BroadcastPlan &p, const int64_t *a, const int64_t *b,
                 uint8_t *y, int threads);

enum class LogicOp { kAnd, kOr, kXor };

void logic_bool(LogicOp op, const BroadcastPlan &p, const uint8_t *a, const uint8_t *b, uint8_t *y,
                int threads);
void not_bool(const uint8_t *x, uint8_t *y, int64_t n, int threads);

// y[i] = cond[...] ? x[...] : y[i] under a plan of (cond, x) -> y, for
// elements of elem_size 1, 2, 4 or 8 bytes copied bit for bit. y must
// already hold the else-branch broadcast to the output shape.
void where_select(const BroadcastPlan &p, const uint8_t *cond, const void *x, void *y,
                  size_t elem_size, int threads);

}  // namespace si::ref
