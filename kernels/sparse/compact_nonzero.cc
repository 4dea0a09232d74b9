#include <immintrin.h>

#include "kernels/sparse/sparse_kernels.h"

namespace si {

int64_t f32_compact_nonzero__scalar(const float *x, int64_t n, int32_t *idx) {
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    idx[count] = static_cast<int32_t>(i);
    count += x[i] != 0.0f;  // branch-free: the store is harmless when skipped
  }
  return count;
}

__attribute__((target("avx2"))) int64_t f32_compact_nonzero__avx2(const float *x, int64_t n,
                                                                  int32_t *idx) {
  int64_t count = 0;
  int64_t i = 0;
  const __m256 zero = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    // _CMP_NEQ_UQ is true for NaN, which must stay active.
    int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), zero, _CMP_NEQ_UQ));
    while (mask) {
      idx[count++] = static_cast<int32_t>(i + __builtin_ctz(static_cast<unsigned>(mask)));
      mask &= mask - 1;
    }
  }
  for (; i < n; ++i) {
    idx[count] = static_cast<int32_t>(i);
    count += x[i] != 0.0f;
  }
  return count;
}

// vpcompressd with a memory destination is microcoded on AMD cores (about
// 20x slower here): compress in a register and store all 16 lanes, which is
// safe while the buffer has 16 slots left past the count.
__attribute__((target("avx512f"))) int64_t f32_compact_nonzero__avx512(const float *x, int64_t n,
                                                                       int32_t *idx) {
  int64_t count = 0;
  int64_t i = 0;
  const __m512 zero = _mm512_setzero_ps();
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (; i + 16 <= n; i += 16) {
    const __mmask16 nz = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + i), zero, _CMP_NEQ_UQ);
    if (nz == 0) continue;
    const __m512i ids = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int32_t>(i)));
    const __m512i packed = _mm512_maskz_compress_epi32(nz, ids);
    if (count + 16 <= n) {
      _mm512_storeu_si512(idx + count, packed);
    } else {
      _mm512_mask_storeu_epi32(idx + count,
                               static_cast<__mmask16>((1u << __builtin_popcount(nz)) - 1), packed);
    }
    count += __builtin_popcount(nz);
  }
  for (; i < n; ++i) {
    idx[count] = static_cast<int32_t>(i);
    count += x[i] != 0.0f;
  }
  return count;
}

}  // namespace si
