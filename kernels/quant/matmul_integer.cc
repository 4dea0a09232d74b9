#include "kernels/quant/matmul_integer.h"

#include <cstddef>
#include <vector>

namespace si {

namespace {

// One row of y. Unsigned arithmetic wraps modulo 2^32 where an int32 sum
// would overflow (undefined in C++); the bits are the two's-complement sum.
template <typename TA, typename TB>
void one_row(int64_t n, int64_t k, const TA *a, int32_t a_zero, const TB *b, int64_t ldb,
             const int32_t *b_zero, uint32_t *acc, int32_t *y) {
  for (int64_t j = 0; j < n; ++j) acc[j] = 0;
  uint32_t sum_d = 0;
  for (int64_t p = 0; p < k; ++p) {
    const int32_t d = int32_t(a[p]) - a_zero;
    if (d == 0) continue;  // an exact-zero term: a float 0 after DynamicQuantizeLinear
    sum_d += uint32_t(d);
    const uint32_t du = uint32_t(d);
    const TB *row = b + p * ldb;
    for (int64_t j = 0; j < n; ++j) acc[j] += du * uint32_t(int32_t(row[j]));
  }
  for (int64_t j = 0; j < n; ++j) y[j] = int32_t(acc[j] - uint32_t(b_zero[j]) * sum_d);
}

template <typename TA, typename TB>
void matmul_integer(int64_t m, int64_t n, int64_t k, const TA *a, int64_t lda,
                    const int32_t *a_zero, const TB *b, int64_t ldb, const int32_t *b_zero,
                    int32_t *y, int64_t ldy, int threads) {
#pragma omp parallel num_threads(threads) if (threads > 1 && m > 1)
  {
    std::vector<uint32_t> acc(size_t(n > 0 ? n : 0));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < m; ++i)
      one_row(n, k, a + i * lda, a_zero[i], b, ldb, b_zero, acc.data(), y + i * ldy);
  }
}

}  // namespace

void s32_matmul_integer(int64_t m, int64_t n, int64_t k, const uint8_t *a, int64_t lda,
                        const int32_t *a_zero, const uint8_t *b, int64_t ldb, const int32_t *b_zero,
                        int32_t *y, int64_t ldy, int threads) {
  matmul_integer(m, n, k, a, lda, a_zero, b, ldb, b_zero, y, ldy, threads);
}
void s32_matmul_integer(int64_t m, int64_t n, int64_t k, const int8_t *a, int64_t lda,
                        const int32_t *a_zero, const uint8_t *b, int64_t ldb, const int32_t *b_zero,
                        int32_t *y, int64_t ldy, int threads) {
  matmul_integer(m, n, k, a, lda, a_zero, b, ldb, b_zero, y, ldy, threads);
}
void s32_matmul_integer(int64_t m, int64_t n, int64_t k, const uint8_t *a, int64_t lda,
                        const int32_t *a_zero, const int8_t *b, int64_t ldb, const int32_t *b_zero,
                        int32_t *y, int64_t ldy, int threads) {
  matmul_integer(m, n, k, a, lda, a_zero, b, ldb, b_zero, y, ldy, threads);
}
void s32_matmul_integer(int64_t m, int64_t n, int64_t k, const int8_t *a, int64_t lda,
                        const int32_t *a_zero, const int8_t *b, int64_t ldb, const int32_t *b_zero,
                        int32_t *y, int64_t ldy, int threads) {
  matmul_integer(m, n, k, a, lda, a_zero, b, ldb, b_zero, y, ldy, threads);
}

}  // namespace si
