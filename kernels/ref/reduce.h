// Reductions over any subset of axes, and ArgMax/ArgMin along one axis.
#pragma once

#include <cstdint>
#include <vector>

namespace si::ref {

enum class ReduceOp {
  kSum,
  kMean,
  kMax,
  kMin,
  kProd,
  kL1,         // sum |x|
  kL2,         // sqrt(sum x^2)
  kLogSum,     // log(sum x)
  kLogSumExp,  // log(sum exp x), shifted by the max so it does not overflow
  kSumSquare,  // sum x^2
};

// y[j] = op over the elements of x (shape `shape`) whose coordinates match
// output position j on every axis where reduced[axis] is false; y holds the
// kept positions in row-major order (the keepdims shape's elements).
//
// Float reductions accumulate in double and round once, so a sum does not
// depend on the reduced axes' order or length. Max/Min propagate NaN. An empty
// reduction gives the identity: 0 for sums, 1 for Prod, -inf/+inf for
// Max/Min (the type's lowest/highest for integers), -inf for LogSum and
// LogSumExp, NaN for Mean (0 / 0). Integer sums and products wrap; integer
// Mean truncates toward zero. Integers support kSum, kMean, kMax, kMin,
// kProd, kL1 and kSumSquare.
//
// Runs on the calling thread: reductions in the models served are small next
// to the matmuls around them.
bool reduce_int_supported(ReduceOp op);
void reduce_f32(ReduceOp op, const std::vector<int64_t> &shape, const std::vector<bool> &reduced,
                const float *x, float *y);
void reduce_i32(ReduceOp op, const std::vector<int64_t> &shape, const std::vector<bool> &reduced,
                const int32_t *x, int32_t *y);
void reduce_i64(ReduceOp op, const std::vector<int64_t> &shape, const std::vector<bool> &reduced,
                const int64_t *x, int64_t *y);

// x viewed as [outer, n, inner] with n >= 1; y[o * inner + i] is the index k
// in [0, n) of the largest (is_max) or smallest element x[o, k, i]: the first
// such k, or the last with select_last. A NaN counts as beyond every number
// for both (numpy.argmax/argmin return the first NaN).
void arg_reduce_f32(bool is_max, bool select_last, const float *x, int64_t outer, int64_t n,
                    int64_t inner, int64_t *y, int threads);
void arg_reduce_i8(bool is_max, bool select_last, const int8_t *x, int64_t outer, int64_t n,
                   int64_t inner, int64_t *y, int threads);
void arg_reduce_u8(bool is_max, bool select_last, const uint8_t *x, int64_t outer, int64_t n,
                   int64_t inner, int64_t *y, int threads);
void arg_reduce_i32(bool is_max, bool select_last, const int32_t *x, int64_t outer, int64_t n,
                    int64_t inner, int64_t *y, int threads);
void arg_reduce_i64(bool is_max, bool select_last, const int64_t *x, int64_t outer, int64_t n,
                    int64_t inner, int64_t *y, int threads);

}  // namespace si::ref
