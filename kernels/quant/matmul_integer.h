// MatMulInteger's 2-D core: y[i][n] = sum_k (a[i][k] - a_zero[i]) *
// (b[k][n] - b_zero[n]) in int32, for int8 or uint8 A and B.
//
// The kernel skips the k where a[i][k] == a_zero[i]: their terms are exactly
// 0 in integers. After DynamicQuantizeLinear a float 0 becomes the zero point
// exactly, so the zeros of a ReLU output are the skipped terms and the work
// (and the bytes of B read) falls with the density of A. The sum is
//   sum_k d_k * b[k][n]  -  b_zero[n] * sum_k d_k,     d_k = a[i][k] - a_zero[i]
// taken modulo 2^32 (two's complement, as an int32 accumulator wraps), which
// is the same integer as the spec's sum term by term: the result is exact
// whichever k are skipped.
#pragma once

#include <cstdint>

namespace si {

// a: m x k, row stride lda; b: k x n, row stride ldb; y: m x n, row stride
// ldy. a_zero has m entries (one per row of A: per-tensor callers repeat
// it), b_zero n entries (one per column of B). Threads over rows of A, and
// over blocks of 64 columns when A has fewer rows than threads.
void s32_matmul_integer(int64_t m, int64_t n, int64_t k, const uint8_t *a, int64_t lda,
                        const int32_t *a_zero, const uint8_t *b, int64_t ldb, const int32_t *b_zero,
                        int32_t *y, int64_t ldy, int threads);
void s32_matmul_integer(int64_t m, int64_t n, int64_t k, const int8_t *a, int64_t lda,
                        const int32_t *a_zero, const uint8_t *b, int64_t ldb, const int32_t *b_zero,
                        int32_t *y, int64_t ldy, int threads);
void s32_matmul_integer(int64_t m, int64_t n, int64_t k, const uint8_t *a, int64_t lda,
                        const int32_t *a_zero, const int8_t *b, int64_t ldb, const int32_t *b_zero,
                        int32_t *y, int64_t ldy, int threads);
void s32_matmul_integer(int64_t m, int64_t n, int64_t k, const int8_t *a, int64_t lda,
                        const int32_t *a_zero, const int8_t *b, int64_t ldb, const int32_t *b_zero,
                        int32_t *y, int64_t ldy, int threads);

}  // namespace si
