#include "kernels/quant/matmul_integer.h"

#include <algorithm>
#include <cstddef>
#include <vector>

namespace si {

namespace {

constexpr int kGroup = 4;

// One row of y. The non-zero d_k are listed first (the branch then does not
// sit in the column loop), and kGroup rows of B are applied per pass over
// the accumulators, which cuts their loads and stores by kGroup (as the float
// gather kernel streams several weight rows per pass). Unsigned arithmetic
// wraps modulo 2^32 where an int32 sum would overflow (undefined in C++); the
// bits are the two's-complement sum.
template <typename TA, typename TB>
void one_row(int64_t n, int64_t k, const TA *a, int32_t a_zero, const TB *b, int64_t ldb,
             const int32_t *b_zero, int32_t *ks, uint32_t *ds, uint32_t *acc, int32_t *y) {
  int64_t count = 0;
  uint32_t sum_d = 0;
  for (int64_t p = 0; p < k; ++p) {
    const int32_t d = int32_t(a[p]) - a_zero;
    ks[count] = int32_t(p);
    ds[count] = uint32_t(d);
    sum_d += uint32_t(d);
    count += d != 0;  // an exact-zero term (a float 0 after DynamicQuantizeLinear) is dropped
  }
  for (int64_t j = 0; j < n; ++j) acc[j] = 0;
  int64_t t = 0;
  for (; t + kGroup <= count; t += kGroup) {
    const TB *r[kGroup];
    uint32_t d[kGroup];
    for (int g = 0; g < kGroup; ++g) {
      r[g] = b + ks[t + g] * ldb;
      d[g] = ds[t + g];
    }
    for (int64_t j = 0; j < n; ++j) {
      uint32_t s = acc[j];
      for (int g = 0; g < kGroup; ++g) s += d[g] * uint32_t(int32_t(r[g][j]));
      acc[j] = s;
    }
  }
  for (; t < count; ++t) {
    const TB *r = b + ks[t] * ldb;
    const uint32_t d = ds[t];
    for (int64_t j = 0; j < n; ++j) acc[j] += d * uint32_t(int32_t(r[j]));
  }
  for (int64_t j = 0; j < n; ++j) y[j] = int32_t(acc[j] - uint32_t(b_zero[j]) * sum_d);
}

template <typename TA, typename TB>
void matmul_integer(int64_t m, int64_t n, int64_t k, const TA *a, int64_t lda,
                    const int32_t *a_zero, const TB *b, int64_t ldb, const int32_t *b_zero,
                    int32_t *y, int64_t ldy, int threads) {
  // Rows of A share out the threads; with fewer rows than threads (batch 1)
  // each row's columns are split too, in blocks of 64, so both threads read
  // half of every active row of B.
  const int64_t splits = m >= threads ? 1 : std::min<int64_t>(threads, (n + 63) / 64);
  const int64_t cols = splits > 1 ? ((n + splits - 1) / splits + 63) / 64 * 64 : n;
#pragma omp parallel num_threads(threads) if (threads > 1 && m * splits > 1)
  {
    std::vector<uint32_t> acc(size_t(cols > 0 ? cols : 0)), ds(size_t(k > 0 ? k : 0));
    std::vector<int32_t> ks(size_t(k > 0 ? k : 0));
#pragma omp for schedule(static)
    for (int64_t w = 0; w < m * splits; ++w) {
      const int64_t i = w / splits, n0 = (w % splits) * cols;
      const int64_t n1 = std::min(n, n0 + cols);
      if (n0 >= n1) continue;
      one_row(n1 - n0, k, a + i * lda, a_zero[i], b + n0, ldb, b_zero + n0, ks.data(), ds.data(),
              acc.data(), y + i * ldy + n0);
    }
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
