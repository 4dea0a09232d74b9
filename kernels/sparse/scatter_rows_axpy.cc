#include <immintrin.h>

#include <algorithm>

#include "kernels/sparse/sparse_kernels.h"

// Column blocks outer, weight rows inner: within a block the (up to four)
// weight rows are loaded once into registers and applied to every output row
// that needs them, while four sequential streams keep the prefetcher busy.
// Per output element the terms still arrive in ascending k.

namespace si {

void f32_scatter_rows_axpy__scalar(const float *const *w, const int64_t *begin, int nw,
                                   const int32_t *rows, const float *vals, int64_t n0, int64_t n1,
                                   float *y, int64_t ldy) {
  for (int i = 0; i < nw; ++i) {
    for (int64_t j = begin[i]; j < begin[i + 1]; ++j) {
      float *yr = y + rows[j] * ldy;
      for (int64_t n = n0; n < n1; ++n) yr[n] = __builtin_fmaf(vals[j], w[i][n], yr[n]);
    }
  }
}

__attribute__((target("avx2,fma"))) void f32_scatter_rows_axpy__avx2(
    const float *const *w, const int64_t *begin, int nw, const int32_t *rows, const float *vals,
    int64_t n0, int64_t n1, float *y, int64_t ldy) {
  int64_t nb = n0;
  for (; nb + 16 <= n1; nb += 16) {
    for (int i = 0; i < nw; ++i) {
      const __m256 w0 = _mm256_loadu_ps(w[i] + nb), w1 = _mm256_loadu_ps(w[i] + nb + 8);
      for (int64_t j = begin[i]; j < begin[i + 1]; ++j) {
        float *yp = y + rows[j] * ldy + nb;
        const __m256 v = _mm256_set1_ps(vals[j]);
        _mm256_storeu_ps(yp, _mm256_fmadd_ps(v, w0, _mm256_loadu_ps(yp)));
        _mm256_storeu_ps(yp + 8, _mm256_fmadd_ps(v, w1, _mm256_loadu_ps(yp + 8)));
      }
    }
  }
  if (nb < n1) f32_scatter_rows_axpy__scalar(w, begin, nw, rows, vals, nb, n1, y, ldy);
}

// Masked stores are slow on AMD cores, so full blocks use plain loads and
// stores and only the tail is masked.
__attribute__((target("avx512f"))) void f32_scatter_rows_axpy__avx512(
    const float *const *w, const int64_t *begin, int nw, const int32_t *rows, const float *vals,
    int64_t n0, int64_t n1, float *y, int64_t ldy) {
  int64_t nb = n0;
  for (; nb + 32 <= n1; nb += 32) {
    for (int i = 0; i < nw; ++i) {
      const __m512 w0 = _mm512_loadu_ps(w[i] + nb), w1 = _mm512_loadu_ps(w[i] + nb + 16);
      for (int64_t j = begin[i]; j < begin[i + 1]; ++j) {
        float *yp = y + rows[j] * ldy + nb;
        const __m512 v = _mm512_set1_ps(vals[j]);
        _mm512_storeu_ps(yp, _mm512_fmadd_ps(v, w0, _mm512_loadu_ps(yp)));
        _mm512_storeu_ps(yp + 16, _mm512_fmadd_ps(v, w1, _mm512_loadu_ps(yp + 16)));
      }
    }
  }
  for (; nb < n1; nb += 16) {
    const int64_t lanes = std::min<int64_t>(16, n1 - nb);
    const __mmask16 mask = static_cast<__mmask16>((1u << lanes) - 1);
    for (int i = 0; i < nw; ++i) {
      const __m512 w0 = _mm512_maskz_loadu_ps(mask, w[i] + nb);
      for (int64_t j = begin[i]; j < begin[i + 1]; ++j) {
        float *yp = y + rows[j] * ldy + nb;
        const __m512 v = _mm512_set1_ps(vals[j]);
        _mm512_mask_storeu_ps(yp, mask, _mm512_fmadd_ps(v, w0, _mm512_maskz_loadu_ps(mask, yp)));
      }
    }
  }
}

}  // namespace si
