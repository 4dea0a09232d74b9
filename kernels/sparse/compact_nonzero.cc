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

__attribute__((target("avx512f"))) int64_t f32_compact_nonzero__avx512(const float *x, int64_t n,
                                                                       int32_t *idx) {
  int64_t count = 0;
  int64_t i = 0;
  const __m512 zero = _mm512_setzero_ps();
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (; i < n; i += 16) {
    __mmask16 valid = i + 16 <= n ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
    __m512 v = _mm512_maskz_loadu_ps(valid, x + i);
    __mmask16 nz = _mm512_mask_cmp_ps_mask(valid, v, zero, _CMP_NEQ_UQ);
    __m512i ids = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int32_t>(i)));
    _mm512_mask_compressstoreu_epi32(idx + count, nz, ids);
    count += __builtin_popcount(nz);
  }
  return count;
}

}  // namespace si
