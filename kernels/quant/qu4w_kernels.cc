#include <immintrin.h>

#include <algorithm>

#include "kernels/quant/quant_detail.h"
#include "kernels/quant/quant_kernels.h"

// Same pass structure as the int8 kernels, over 32-column groups: one
// 16-byte load gives a row's 32 codes as low nibbles (columns 0-15) and high
// nibbles (16-31); the zero points (or 8) are subtracted on the bytes, exact
// in [-15, 15], before widening, converting and scaling. A group's scales are
// the block's scale row (shared by the block's active rows, so mostly from
// cache when several rows of a block are active: bench/RESULTS.md measures
// what they cost when few are). The AVX2 passes prefetch the next pass's
// rows as the int8 kernels do (qs8w_kernels.cc says why).

namespace si {

using quant_detail::dequant_columns;
using quant_detail::gather_columns;
using quant_detail::i8_to_ps_avx512;
using quant_detail::qu4w_weight;

void f32_qu4w_gather_rows_axpy__scalar(const float *x, const int32_t *idx, int64_t count,
                                       const Qu4wRows &w, int64_t n0, int64_t n1, float *y) {
  gather_columns(x, idx, count, w, n0, n1, y, qu4w_weight);
}

void f32_qu4w_dequant_rows__scalar(const Qu4wRows &w, const int32_t *ks, int64_t nk, int64_t n0,
                                   int64_t n1, float *out, int64_t ldo) {
  dequant_columns(w, ks, nk, n0, n1, out, ldo, qu4w_weight);
}

namespace {

struct Row4 {
  const uint8_t *q, *z;  // z: the block's zero-point row, or nullptr (8)
  const float *s;
};

inline Row4 row4(const Qu4wRows &w, int64_t k) {
  const int64_t b = k / w.block;
  return {w.q + k * w.ldq, w.zero ? w.zero + b * w.ldq : nullptr, w.scale + b * w.lds};
}

// Codes minus zero points of group g: columns 0-15 in *lo, 16-31 in *hi.
template <bool kZero>
__attribute__((target("avx2,fma"))) inline void codes4(const Row4 &r, int64_t g, __m128i *lo,
                                                       __m128i *hi) {
  const __m128i nib = _mm_set1_epi8(0x0F);
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(r.q + g * 16));
  __m128i l = _mm_and_si128(b, nib), h = _mm_and_si128(_mm_srli_epi16(b, 4), nib);
  if (kZero) {
    const __m128i z = _mm_loadu_si128(reinterpret_cast<const __m128i *>(r.z + g * 16));
    l = _mm_sub_epi8(l, _mm_and_si128(z, nib));
    h = _mm_sub_epi8(h, _mm_and_si128(_mm_srli_epi16(z, 4), nib));
  } else {
    l = _mm_sub_epi8(l, _mm_set1_epi8(8));
    h = _mm_sub_epi8(h, _mm_set1_epi8(8));
  }
  *lo = l;
  *hi = h;
}

// The 32 dequantized weights of group g as four vectors of 8 columns.
template <bool kZero>
__attribute__((target("avx2,fma"))) inline void dq4_avx2(const Row4 &r, int64_t g, __m256 v[4]) {
  __m128i lo, hi;
  codes4<kZero>(r, g, &lo, &hi);
  const float *s = r.s + g * 32;
  v[0] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), _mm256_loadu_ps(s));
  v[1] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))),
                       _mm256_loadu_ps(s + 8));
  v[2] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), _mm256_loadu_ps(s + 16));
  v[3] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))),
                       _mm256_loadu_ps(s + 24));
}

template <int R, bool kZero>
__attribute__((target("avx2,fma"))) void pass4_avx2(const float *x, const int32_t *idx,
                                                    const Qu4wRows &w, int64_t n0, int64_t n1,
                                                    float *y, const int32_t *next, int nn) {
  Row4 r[R];
  __m256 a[R];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i) {
    r[i] = row4(w, idx[i]);
    a[i] = _mm256_set1_ps(x[idx[i]]);
  }
  const int64_t g0 = n0 / 32, g1 = n0 / 32 + (n1 - n0) / 32;
  const uint8_t *pf[4];
  for (int i = 0; i < nn; ++i) pf[i] = w.q + next[i] * w.ldq;
  for (int64_t g = g0; g < g1; ++g) {
    if ((g & 3) == 0)
      for (int i = 0; i < nn; ++i)
        _mm_prefetch(reinterpret_cast<const char *>(pf[i] + g * 16), _MM_HINT_T0);
    float *yg = y + g * 32;
    __m256 acc[4] = {_mm256_loadu_ps(yg), _mm256_loadu_ps(yg + 8), _mm256_loadu_ps(yg + 16),
                     _mm256_loadu_ps(yg + 24)};
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      __m256 v[4];
      dq4_avx2<kZero>(r[i], g, v);
      for (int c = 0; c < 4; ++c) acc[c] = _mm256_fmadd_ps(a[i], v[c], acc[c]);
    }
    for (int c = 0; c < 4; ++c) _mm256_storeu_ps(yg + 8 * c, acc[c]);
  }
  gather_columns(x, idx, R, w, g1 * 32, n1, y, qu4w_weight);
}

template <bool kZero>
__attribute__((target("avx2,fma"))) void gather4_avx2(const float *x, const int32_t *idx,
                                                      int64_t count, const Qu4wRows &w, int64_t n0,
                                                      int64_t n1, float *y) {
  int64_t j = 0;
  for (; j + 4 <= count; j += 4) {
    const int nn = int(std::min<int64_t>(4, count - j - 4));
    pass4_avx2<4, kZero>(x, idx + j, w, n0, n1, y, idx + j + 4, nn);
  }
  for (; j < count; ++j) pass4_avx2<1, kZero>(x, idx + j, w, n0, n1, y, nullptr, 0);
}

template <bool kZero>
__attribute__((target("avx2,fma"))) void dequant4_avx2(const Qu4wRows &w, const int32_t *ks,
                                                       int64_t nk, int64_t n0, int64_t n1,
                                                       float *out, int64_t ldo) {
  const int64_t g0 = n0 / 32, g1 = n0 / 32 + (n1 - n0) / 32;
  for (int64_t i = 0; i < nk; ++i) {
    const Row4 r = row4(w, ks[i]);
    float *o = out + i * ldo - n0;
    for (int64_t g = g0; g < g1; ++g) {
      __m256 v[4];
      dq4_avx2<kZero>(r, g, v);
      for (int c = 0; c < 4; ++c) _mm256_storeu_ps(o + g * 32 + 8 * c, v[c]);
    }
    for (int64_t n = g1 * 32; n < n1; ++n) o[n] = qu4w_weight(w, ks[i], n);
  }
}

template <bool kZero>
__attribute__((target("avx512f"))) inline void dq4_avx512(const Row4 &r, int64_t g, __m512 v[2]) {
  __m128i lo, hi;
  codes4<kZero>(r, g, &lo, &hi);
  const float *s = r.s + g * 32;
  v[0] = _mm512_mul_ps(i8_to_ps_avx512(lo), _mm512_loadu_ps(s));
  v[1] = _mm512_mul_ps(i8_to_ps_avx512(hi), _mm512_loadu_ps(s + 16));
}

template <int R, bool kZero>
__attribute__((target("avx512f"))) void pass4_avx512(const float *x, const int32_t *idx,
                                                     const Qu4wRows &w, int64_t n0, int64_t n1,
                                                     float *y) {
  Row4 r[R];
  __m512 a[R];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i) {
    r[i] = row4(w, idx[i]);
    a[i] = _mm512_set1_ps(x[idx[i]]);
  }
  const int64_t g0 = n0 / 32, g1 = n0 / 32 + (n1 - n0) / 32;
  for (int64_t g = g0; g < g1; ++g) {
    float *yg = y + g * 32;
    __m512 acc0 = _mm512_loadu_ps(yg), acc1 = _mm512_loadu_ps(yg + 16);
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      __m512 v[2];
      dq4_avx512<kZero>(r[i], g, v);
      acc0 = _mm512_fmadd_ps(a[i], v[0], acc0);
      acc1 = _mm512_fmadd_ps(a[i], v[1], acc1);
    }
    _mm512_storeu_ps(yg, acc0);
    _mm512_storeu_ps(yg + 16, acc1);
  }
  gather_columns(x, idx, R, w, g1 * 32, n1, y, qu4w_weight);
}

template <bool kZero>
__attribute__((target("avx512f"))) void gather4_avx512(const float *x, const int32_t *idx,
                                                       int64_t count, const Qu4wRows &w, int64_t n0,
                                                       int64_t n1, float *y) {
  int64_t j = 0;
  for (; j + 4 <= count; j += 4) pass4_avx512<4, kZero>(x, idx + j, w, n0, n1, y);
  for (; j < count; ++j) pass4_avx512<1, kZero>(x, idx + j, w, n0, n1, y);
}

template <bool kZero>
__attribute__((target("avx512f"))) void dequant4_avx512(const Qu4wRows &w, const int32_t *ks,
                                                        int64_t nk, int64_t n0, int64_t n1,
                                                        float *out, int64_t ldo) {
  const int64_t g0 = n0 / 32, g1 = n0 / 32 + (n1 - n0) / 32;
  for (int64_t i = 0; i < nk; ++i) {
    const Row4 r = row4(w, ks[i]);
    float *o = out + i * ldo - n0;
    for (int64_t g = g0; g < g1; ++g) {
      __m512 v[2];
      dq4_avx512<kZero>(r, g, v);
      _mm512_storeu_ps(o + g * 32, v[0]);
      _mm512_storeu_ps(o + g * 32 + 16, v[1]);
    }
    for (int64_t n = g1 * 32; n < n1; ++n) o[n] = qu4w_weight(w, ks[i], n);
  }
}

}  // namespace

void f32_qu4w_gather_rows_axpy__avx2(const float *x, const int32_t *idx, int64_t count,
                                     const Qu4wRows &w, int64_t n0, int64_t n1, float *y) {
  if (w.zero) return gather4_avx2<true>(x, idx, count, w, n0, n1, y);
  gather4_avx2<false>(x, idx, count, w, n0, n1, y);
}

void f32_qu4w_dequant_rows__avx2(const Qu4wRows &w, const int32_t *ks, int64_t nk, int64_t n0,
                                 int64_t n1, float *out, int64_t ldo) {
  if (w.zero) return dequant4_avx2<true>(w, ks, nk, n0, n1, out, ldo);
  dequant4_avx2<false>(w, ks, nk, n0, n1, out, ldo);
}

void f32_qu4w_gather_rows_axpy__avx512(const float *x, const int32_t *idx, int64_t count,
                                       const Qu4wRows &w, int64_t n0, int64_t n1, float *y) {
  if (w.zero) return gather4_avx512<true>(x, idx, count, w, n0, n1, y);
  gather4_avx512<false>(x, idx, count, w, n0, n1, y);
}

void f32_qu4w_dequant_rows__avx512(const Qu4wRows &w, const int32_t *ks, int64_t nk, int64_t n0,
                                   int64_t n1, float *out, int64_t ldo) {
  if (w.zero) return dequant4_avx512<true>(w, ks, nk, n0, n1, out, ldo);
  dequant4_avx512<false>(w, ks, nk, n0, n1, out, ldo);
}

}  // namespace si
