#include "kernels/ref/compare.h"

#include <cassert>

#include "kernels/ref/broadcast_loop.h"

namespace si::ref {

namespace {

template <typename T>
void compare(CompareOp op, const BroadcastPlan &p, const T *a, const T *b, uint8_t *y,
             int threads) {
  const int64_t m = kElementwiseParallelMin;
  switch (op) {
    case CompareOp::kEqual:
      return broadcast_apply(p, a, b, y, threads, m, [](T u, T v) { return uint8_t(u == v); });
    case CompareOp::kLess:
      return broadcast_apply(p, a, b, y, threads, m, [](T u, T v) { return uint8_t(u < v); });
    case CompareOp::kGreater:
      return broadcast_apply(p, a, b, y, threads, m, [](T u, T v) { return uint8_t(u > v); });
    case CompareOp::kLessOrEqual:
      return broadcast_apply(p, a, b, y, threads, m, [](T u, T v) { return uint8_t(u <= v); });
    case CompareOp::kGreaterOrEqual:
      return broadcast_apply(p, a, b, y, threads, m, [](T u, T v) { return uint8_t(u >= v); });
  }
}

template <typename T>
void where_typed(const BroadcastPlan &p, const uint8_t *cond, const T *x, T *y, int threads) {
  broadcast_update(p, cond, x, y, threads, kElementwiseParallelMin,
                   [](uint8_t c, T u, T old) { return c != 0 ? u : old; });
}

}  // namespace

void compare_f32(CompareOp op, const BroadcastPlan &p, const float *a, const float *b, uint8_t *y,
                 int threads) {
  compare(op, p, a, b, y, threads);
}
void compare_i8(CompareOp op, const BroadcastPlan &p, const int8_t *a, const int8_t *b, uint8_t *y,
                int threads) {
  compare(op, p, a, b, y, threads);
}
void compare_u8(CompareOp op, const BroadcastPlan &p, const uint8_t *a, const uint8_t *b,
                uint8_t *y, int threads) {
  compare(op, p, a, b, y, threads);
}
void compare_i32(CompareOp op, const BroadcastPlan &p, const int32_t *a, const int32_t *b,
                 uint8_t *y, int threads) {
  compare(op, p, a, b, y, threads);
}
void compare_i64(CompareOp op, const BroadcastPlan &p, const int64_t *a, const int64_t *b,
                 uint8_t *y, int threads) {
  compare(op, p, a, b, y, threads);
}

void logic_bool(LogicOp op, const BroadcastPlan &p, const uint8_t *a, const uint8_t *b, uint8_t *y,
                int threads) {
  const int64_t m = kElementwiseParallelMin;
  switch (op) {
    case LogicOp::kAnd:
      return broadcast_apply(p, a, b, y, threads, m,
                             [](uint8_t u, uint8_t v) { return uint8_t(u != 0 && v != 0); });
    case LogicOp::kOr:
      return broadcast_apply(p, a, b, y, threads, m,
                             [](uint8_t u, uint8_t v) { return uint8_t(u != 0 || v != 0); });
    case LogicOp::kXor:
      return broadcast_apply(p, a, b, y, threads, m,
                             [](uint8_t u, uint8_t v) { return uint8_t((u != 0) != (v != 0)); });
  }
}

void not_bool(const uint8_t *x, uint8_t *y, int64_t n, int threads) {
  parallel_ranges(n, threads, kElementwiseParallelMin, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = uint8_t(x[i] == 0);
  });
}

void where_select(const BroadcastPlan &p, const uint8_t *cond, const void *x, void *y,
                  size_t elem_size, int threads) {
  switch (elem_size) {
    case 1:
      return where_typed(p, cond, static_cast<const uint8_t *>(x), static_cast<uint8_t *>(y),
                         threads);
    case 2:
      return where_typed(p, cond, static_cast<const uint16_t *>(x), static_cast<uint16_t *>(y),
                         threads);
    case 4:
      return where_typed(p, cond, static_cast<const uint32_t *>(x), static_cast<uint32_t *>(y),
                         threads);
    case 8:
      return where_typed(p, cond, static_cast<const uint64_t *>(x), static_cast<uint64_t *>(y),
                         threads);
    default:
      assert(false && "where_select: unsupported element size");
  }
}

}  // namespace si::ref
