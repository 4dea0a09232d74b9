#include <immintrin.h>

#include "kernels/sparse/sparse_kernels.h"

// Active rows are consumed four at a time: each pass over y[n0:n1] streams
// four weight rows (contiguous runs the hardware prefetcher follows) and
// loads/stores y once per four rows. y stays in L1 for any practical N range.

namespace si {

void f32_gather_rows_axpy__scalar(const float *x, const int32_t *idx, int64_t count, const float *w,
                                  int64_t ldw, int64_t n0, int64_t n1, float *y) {
  int64_t j = 0;
  for (; j + 4 <= count; j += 4) {
    const float *w0 = w + idx[j] * ldw, *w1 = w + idx[j + 1] * ldw;
    const float *w2 = w + idx[j + 2] * ldw, *w3 = w + idx[j + 3] * ldw;
    const float a0 = x[idx[j]], a1 = x[idx[j + 1]], a2 = x[idx[j + 2]], a3 = x[idx[j + 3]];
    for (int64_t n = n0; n < n1; ++n) {
      float acc = y[n];
      acc = __builtin_fmaf(a0, w0[n], acc);
      acc = __builtin_fmaf(a1, w1[n], acc);
      acc = __builtin_fmaf(a2, w2[n], acc);
      acc = __builtin_fmaf(a3, w3[n], acc);
      y[n] = acc;
    }
  }
  for (; j < count; ++j) {
    const float *w0 = w + idx[j] * ldw;
    const float a0 = x[idx[j]];
    for (int64_t n = n0; n < n1; ++n) y[n] = __builtin_fmaf(a0, w0[n], y[n]);
  }
}

__attribute__((target("avx2,fma"))) void f32_gather_rows_axpy__avx2(const float *x,
                                                                    const int32_t *idx,
                                                                    int64_t count, const float *w,
                                                                    int64_t ldw, int64_t n0,
                                                                    int64_t n1, float *y) {
  int64_t j = 0;
  for (; j + 4 <= count; j += 4) {
    const float *w0 = w + idx[j] * ldw, *w1 = w + idx[j + 1] * ldw;
    const float *w2 = w + idx[j + 2] * ldw, *w3 = w + idx[j + 3] * ldw;
    const float s0 = x[idx[j]], s1 = x[idx[j + 1]], s2 = x[idx[j + 2]], s3 = x[idx[j + 3]];
    const __m256 a0 = _mm256_set1_ps(s0), a1 = _mm256_set1_ps(s1);
    const __m256 a2 = _mm256_set1_ps(s2), a3 = _mm256_set1_ps(s3);
    int64_t n = n0;
    for (; n + 8 <= n1; n += 8) {
      __m256 acc = _mm256_loadu_ps(y + n);
      acc = _mm256_fmadd_ps(a0, _mm256_loadu_ps(w0 + n), acc);
      acc = _mm256_fmadd_ps(a1, _mm256_loadu_ps(w1 + n), acc);
      acc = _mm256_fmadd_ps(a2, _mm256_loadu_ps(w2 + n), acc);
      acc = _mm256_fmadd_ps(a3, _mm256_loadu_ps(w3 + n), acc);
      _mm256_storeu_ps(y + n, acc);
    }
    for (; n < n1; ++n) {
      float acc = y[n];
      acc = __builtin_fmaf(s0, w0[n], acc);
      acc = __builtin_fmaf(s1, w1[n], acc);
      acc = __builtin_fmaf(s2, w2[n], acc);
      acc = __builtin_fmaf(s3, w3[n], acc);
      y[n] = acc;
    }
  }
  for (; j < count; ++j) {
    const float *w0 = w + idx[j] * ldw;
    const float s0 = x[idx[j]];
    const __m256 a0 = _mm256_set1_ps(s0);
    int64_t n = n0;
    for (; n + 8 <= n1; n += 8) {
      _mm256_storeu_ps(y + n, _mm256_fmadd_ps(a0, _mm256_loadu_ps(w0 + n), _mm256_loadu_ps(y + n)));
    }
    for (; n < n1; ++n) y[n] = __builtin_fmaf(s0, w0[n], y[n]);
  }
}

__attribute__((target("avx512f"))) void f32_gather_rows_axpy__avx512(const float *x,
                                                                     const int32_t *idx,
                                                                     int64_t count, const float *w,
                                                                     int64_t ldw, int64_t n0,
                                                                     int64_t n1, float *y) {
  const int64_t tail = (n1 - n0) % 16;
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << tail) - 1);
  const int64_t n_full = n1 - tail;
  int64_t j = 0;
  for (; j + 4 <= count; j += 4) {
    const float *w0 = w + idx[j] * ldw, *w1 = w + idx[j + 1] * ldw;
    const float *w2 = w + idx[j + 2] * ldw, *w3 = w + idx[j + 3] * ldw;
    const __m512 a0 = _mm512_set1_ps(x[idx[j]]), a1 = _mm512_set1_ps(x[idx[j + 1]]);
    const __m512 a2 = _mm512_set1_ps(x[idx[j + 2]]), a3 = _mm512_set1_ps(x[idx[j + 3]]);
    for (int64_t n = n0; n < n_full; n += 16) {
      __m512 acc = _mm512_loadu_ps(y + n);
      acc = _mm512_fmadd_ps(a0, _mm512_loadu_ps(w0 + n), acc);
      acc = _mm512_fmadd_ps(a1, _mm512_loadu_ps(w1 + n), acc);
      acc = _mm512_fmadd_ps(a2, _mm512_loadu_ps(w2 + n), acc);
      acc = _mm512_fmadd_ps(a3, _mm512_loadu_ps(w3 + n), acc);
      _mm512_storeu_ps(y + n, acc);
    }
    if (tail) {
      __m512 acc = _mm512_maskz_loadu_ps(tail_mask, y + n_full);
      acc = _mm512_fmadd_ps(a0, _mm512_maskz_loadu_ps(tail_mask, w0 + n_full), acc);
      acc = _mm512_fmadd_ps(a1, _mm512_maskz_loadu_ps(tail_mask, w1 + n_full), acc);
      acc = _mm512_fmadd_ps(a2, _mm512_maskz_loadu_ps(tail_mask, w2 + n_full), acc);
      acc = _mm512_fmadd_ps(a3, _mm512_maskz_loadu_ps(tail_mask, w3 + n_full), acc);
      _mm512_mask_storeu_ps(y + n_full, tail_mask, acc);
    }
  }
  for (; j < count; ++j) {
    const float *w0 = w + idx[j] * ldw;
    const __m512 a0 = _mm512_set1_ps(x[idx[j]]);
    for (int64_t n = n0; n < n_full; n += 16) {
      _mm512_storeu_ps(y + n, _mm512_fmadd_ps(a0, _mm512_loadu_ps(w0 + n), _mm512_loadu_ps(y + n)));
    }
    if (tail) {
      __m512 acc = _mm512_maskz_loadu_ps(tail_mask, y + n_full);
      acc = _mm512_fmadd_ps(a0, _mm512_maskz_loadu_ps(tail_mask, w0 + n_full), acc);
      _mm512_mask_storeu_ps(y + n_full, tail_mask, acc);
    }
  }
}

}  // namespace si
