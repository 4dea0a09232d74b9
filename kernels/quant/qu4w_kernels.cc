#include <immintrin.h>

#include <algorithm>

#include "kernels/quant/quant_detail.h"
#include "kernels/quant/quant_kernels.h"

// Same pass structure as the int8 kernels, over 32-column groups of 16
// bytes: byte j holds column j in its low nibble and 16 + j in its high one.
// The bytes are zero-extended to int32 straight from memory (vpmovzxbd), the
// nibbles split by an AND and a shift, the zero points (or 8) subtracted in
// int32 (exact), then converted and scaled: no byte shuffles, which had made
// the int4 gather compute-bound below the int8 one (issue 13: hot
// 6.3 -> 11 weights/ns; bench/RESULTS.md). When the four rows of a pass share
// a block (most passes of a dense call), the group's zero points are decoded
// once for all four. A group's scales are the block's scale row (shared by the
// block's active rows, so mostly from cache when several rows of a block are
// active: bench/RESULTS.md measures what they cost when few are), float32 or
// fp16 widened exactly by vcvtph2ps (half the bytes; each form is its own
// instantiation, so the hot loop has no branch on it). The passes
// prefetch the next pass's rows as the int8 kernels do (qs8w_kernels.cc says
// why).

namespace si {

using quant_detail::dequant_columns;
using quant_detail::gather_columns;
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
  const float *s;        // the block's scale row: float32 s or fp16 h
  const uint16_t *h;
};

inline Row4 row4(const Qu4wRows &w, int64_t k) {
  const int64_t b = k / w.block;
  return {w.q + k * w.ldq, w.zero ? w.zero + b * w.ldq : nullptr,
          w.scale ? w.scale + b * w.lds : nullptr,
          w.scale_half ? w.scale_half + b * w.lds : nullptr};
}

// The 32 codes of group g as int32, columns 0-7, 8-15, 16-23, 24-31: bytes
// 0-7 and 8-15 zero-extended straight from memory, the low nibble by an AND,
// the high one by a shift (no byte shuffles on the way to int32).
__attribute__((target("avx2,fma"))) inline void nibbles_avx2(const uint8_t *p, __m256i c[4]) {
  const __m256i nib = _mm256_set1_epi32(0x0F);
  const __m256i b0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(p)));
  const __m256i b1 =
      _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(p + 8)));
  c[0] = _mm256_and_si256(b0, nib);
  c[1] = _mm256_and_si256(b1, nib);
  c[2] = _mm256_srli_epi32(b0, 4);
  c[3] = _mm256_srli_epi32(b1, 4);
}

// The zero points of group g as int32 (8 without a zero-point row).
template <bool kZero>
__attribute__((target("avx2,fma"))) inline void zeros_avx2(const uint8_t *z, int64_t g,
                                                           __m256i zp[4]) {
  if (kZero) return nibbles_avx2(z + g * 16, zp);
  for (int c = 0; c < 4; ++c) zp[c] = _mm256_set1_epi32(8);
}

// The scales of columns [at, at + 8) of a scale row (fp16 ones widened
// exactly by vcvtph2ps).
template <bool kHalf>
__attribute__((target("avx2,fma,f16c"))) inline __m256 scales8_avx2(const Row4 &r, int64_t at) {
  if (kHalf) return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(r.h + at)));
  return _mm256_loadu_ps(r.s + at);
}

// The 32 dequantized weights of group g of row r as four vectors of 8
// columns: (code - zp) exact in int32, converted, times the scale (one
// rounding).
template <bool kHalf>
__attribute__((target("avx2,fma,f16c"))) inline void dq4_avx2(const Row4 &r, int64_t g,
                                                              const __m256i zp[4], __m256 v[4]) {
  __m256i c[4];
  nibbles_avx2(r.q + g * 16, c);
  for (int i = 0; i < 4; ++i)
    v[i] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(c[i], zp[i])),
                         scales8_avx2<kHalf>(r, g * 32 + 8 * i));
}

// R rows over groups [g0, g1). kShared: the R rows are in one block, so the
// group's zero points are decoded once for all of them (the scales are the
// same row too). pf[i] + 16 g: the line to prefetch for the next pass.
template <int R, bool kZero, bool kShared, bool kHalf>
__attribute__((target("avx2,fma,f16c"))) void pass4_avx2(const float *x, const int32_t *idx,
                                                         const Qu4wRows &w, int64_t g0, int64_t g1,
                                                         float *y, const uint8_t *const *pf,
                                                         int nn) {
  Row4 r[R];
  __m256 a[R];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i) {
    r[i] = row4(w, idx[i]);
    a[i] = _mm256_set1_ps(x[idx[i]]);
  }
  for (int64_t g = g0; g < g1; ++g) {
    if ((g & 3) == 0)
      for (int i = 0; i < nn; ++i)
        _mm_prefetch(reinterpret_cast<const char *>(pf[i] + g * 16), _MM_HINT_T0);
    float *yg = y + g * 32;
    __m256 acc[4] = {_mm256_loadu_ps(yg), _mm256_loadu_ps(yg + 8), _mm256_loadu_ps(yg + 16),
                     _mm256_loadu_ps(yg + 24)};
    __m256i zp[4];
    if (kShared) zeros_avx2<kZero>(r[0].z, g, zp);
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      if (!kShared) zeros_avx2<kZero>(r[i].z, g, zp);
      __m256 v[4];
      dq4_avx2<kHalf>(r[i], g, zp, v);
      for (int c = 0; c < 4; ++c) acc[c] = _mm256_fmadd_ps(a[i], v[c], acc[c]);
    }
    for (int c = 0; c < 4; ++c) _mm256_storeu_ps(yg + 8 * c, acc[c]);
  }
}

// The pass loop shared by the vector variants: pass4 runs four rows (told
// whether they share a block) and pass1 one row over groups [g0, g1), each
// prefetching the next pass's rows. The columns past the last whole group
// take every row from the reference afterwards, so the hot loop has no
// per-element tail; each output element still takes its terms in idx order.
// (Sweeping the columns in L1-sized pieces, all rows per piece, lost on
// K2048xN8192: the rows' 512-byte pieces stream worse than whole rows.)
template <typename Pass4, typename Pass1>
inline void sweep4(const float *x, const int32_t *idx, int64_t count, const Qu4wRows &w, int64_t n0,
                   int64_t n1, float *y, Pass4 pass4, Pass1 pass1) {
  const int64_t g0 = n0 / 32, g1 = n0 / 32 + (n1 - n0) / 32;
  int64_t j = 0;
  for (; j + 4 <= count; j += 4) {
    const uint8_t *pf[4];
    const int nn = int(std::min<int64_t>(4, count - j - 4));
    for (int i = 0; i < nn; ++i) pf[i] = w.q + idx[j + 4 + i] * w.ldq;
    const int64_t b = idx[j] / w.block;
    const bool shared =
        idx[j + 1] / w.block == b && idx[j + 2] / w.block == b && idx[j + 3] / w.block == b;
    pass4(x, idx + j, w, g0, g1, y, pf, nn, shared);
  }
  for (; j < count; ++j) pass1(x, idx + j, w, g0, g1, y);
  gather_columns(x, idx, count, w, g1 * 32, n1, y, qu4w_weight);
}

template <bool kZero, bool kHalf>
__attribute__((target("avx2,fma,f16c"))) void gather4_avx2(const float *x, const int32_t *idx,
                                                           int64_t count, const Qu4wRows &w,
                                                           int64_t n0, int64_t n1, float *y) {
  sweep4(
      x, idx, count, w, n0, n1, y,
      [](const float *x4, const int32_t *i4, const Qu4wRows &w4, int64_t g0, int64_t g1, float *y4,
         const uint8_t *const *pf, int nn, bool shared) {
        if (shared) return pass4_avx2<4, kZero, true, kHalf>(x4, i4, w4, g0, g1, y4, pf, nn);
        pass4_avx2<4, kZero, false, kHalf>(x4, i4, w4, g0, g1, y4, pf, nn);
      },
      [](const float *x1, const int32_t *i1, const Qu4wRows &w1, int64_t g0, int64_t g1,
         float *y1) { pass4_avx2<1, kZero, true, kHalf>(x1, i1, w1, g0, g1, y1, nullptr, 0); });
}

template <bool kZero, bool kHalf>
__attribute__((target("avx2,fma,f16c"))) void dequant4_avx2(const Qu4wRows &w, const int32_t *ks,
                                                            int64_t nk, int64_t n0, int64_t n1,
                                                            float *out, int64_t ldo) {
  const int64_t g0 = n0 / 32, g1 = n0 / 32 + (n1 - n0) / 32;
  for (int64_t i = 0; i < nk; ++i) {
    const Row4 r = row4(w, ks[i]);
    float *o = out + i * ldo - n0;
    // As the int8 dequantization: fetch the row after next's codes.
    const uint8_t *pf = i + 2 < nk ? w.q + ks[i + 2] * w.ldq : nullptr;
    for (int64_t g = g0; g < g1; ++g) {
      if (pf != nullptr && (g & 3) == 0)
        _mm_prefetch(reinterpret_cast<const char *>(pf + g * 16), _MM_HINT_T0);
      __m256i zp[4];
      zeros_avx2<kZero>(r.z, g, zp);
      __m256 v[4];
      dq4_avx2<kHalf>(r, g, zp, v);
      for (int c = 0; c < 4; ++c) _mm256_storeu_ps(o + g * 32 + 8 * c, v[c]);
    }
    for (int64_t n = g1 * 32; n < n1; ++n) o[n] = qu4w_weight(w, ks[i], n);
  }
}

// As dq4_avx2 in two vectors of 16 columns: the 16 bytes zero-extended from
// memory hold columns 0-15 in their low nibbles and 16-31 in their high ones.
// (Not run on this project's Zen 3: the tests skip without AVX-512.)
__attribute__((target("avx512f"))) inline void nibbles_avx512(const uint8_t *p, __m512i *lo,
                                                              __m512i *hi) {
  const __m512i b = _mm512_maskz_cvtepu8_epi32(
      __mmask16(0xFFFF), _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
  *lo = _mm512_and_si512(b, _mm512_set1_epi32(0x0F));
  *hi = _mm512_maskz_srli_epi32(__mmask16(0xFFFF), b, 4);  // maskz: see i8_to_ps_avx512
}

template <bool kHalf>
__attribute__((target("avx512f"))) inline __m512 scales16_avx512(const Row4 &r, int64_t at) {
  if (kHalf)
    return _mm512_maskz_cvtph_ps(__mmask16(0xFFFF),
                                 _mm256_loadu_si256(reinterpret_cast<const __m256i *>(r.h + at)));
  return _mm512_loadu_ps(r.s + at);
}

template <bool kZero, bool kHalf>
__attribute__((target("avx512f"))) inline void dq4_avx512(const Row4 &r, int64_t g, __m512 v[2]) {
  __m512i lo, hi, zlo = _mm512_set1_epi32(8), zhi = zlo;
  nibbles_avx512(r.q + g * 16, &lo, &hi);
  if (kZero) nibbles_avx512(r.z + g * 16, &zlo, &zhi);
  v[0] = _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(__mmask16(0xFFFF), _mm512_sub_epi32(lo, zlo)),
                       scales16_avx512<kHalf>(r, g * 32));
  v[1] = _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(__mmask16(0xFFFF), _mm512_sub_epi32(hi, zhi)),
                       scales16_avx512<kHalf>(r, g * 32 + 16));
}

template <int R, bool kZero, bool kHalf>
__attribute__((target("avx512f"))) void pass4_avx512(const float *x, const int32_t *idx,
                                                     const Qu4wRows &w, int64_t g0, int64_t g1,
                                                     float *y, const uint8_t *const *pf, int nn) {
  Row4 r[R];
  __m512 a[R];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i) {
    r[i] = row4(w, idx[i]);
    a[i] = _mm512_set1_ps(x[idx[i]]);
  }
  for (int64_t g = g0; g < g1; ++g) {
    if ((g & 3) == 0)
      for (int i = 0; i < nn; ++i)
        _mm_prefetch(reinterpret_cast<const char *>(pf[i] + g * 16), _MM_HINT_T0);
    float *yg = y + g * 32;
    __m512 acc0 = _mm512_loadu_ps(yg), acc1 = _mm512_loadu_ps(yg + 16);
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      __m512 v[2];
      dq4_avx512<kZero, kHalf>(r[i], g, v);
      acc0 = _mm512_fmadd_ps(a[i], v[0], acc0);
      acc1 = _mm512_fmadd_ps(a[i], v[1], acc1);
    }
    _mm512_storeu_ps(yg, acc0);
    _mm512_storeu_ps(yg + 16, acc1);
  }
}

template <bool kZero, bool kHalf>
__attribute__((target("avx512f"))) void gather4_avx512(const float *x, const int32_t *idx,
                                                       int64_t count, const Qu4wRows &w, int64_t n0,
                                                       int64_t n1, float *y) {
  sweep4(
      x, idx, count, w, n0, n1, y,
      [](const float *x4, const int32_t *i4, const Qu4wRows &w4, int64_t g0, int64_t g1, float *y4,
         const uint8_t *const *pf, int nn,
         bool) { pass4_avx512<4, kZero, kHalf>(x4, i4, w4, g0, g1, y4, pf, nn); },
      [](const float *x1, const int32_t *i1, const Qu4wRows &w1, int64_t g0, int64_t g1,
         float *y1) { pass4_avx512<1, kZero, kHalf>(x1, i1, w1, g0, g1, y1, nullptr, 0); });
}

template <bool kZero, bool kHalf>
__attribute__((target("avx512f"))) void dequant4_avx512(const Qu4wRows &w, const int32_t *ks,
                                                        int64_t nk, int64_t n0, int64_t n1,
                                                        float *out, int64_t ldo) {
  const int64_t g0 = n0 / 32, g1 = n0 / 32 + (n1 - n0) / 32;
  for (int64_t i = 0; i < nk; ++i) {
    const Row4 r = row4(w, ks[i]);
    float *o = out + i * ldo - n0;
    for (int64_t g = g0; g < g1; ++g) {
      __m512 v[2];
      dq4_avx512<kZero, kHalf>(r, g, v);
      _mm512_storeu_ps(o + g * 32, v[0]);
      _mm512_storeu_ps(o + g * 32 + 16, v[1]);
    }
    for (int64_t n = g1 * 32; n < n1; ++n) o[n] = qu4w_weight(w, ks[i], n);
  }
}

}  // namespace

// The entry points pick the instantiation for the weight's zero points and
// scale type.
void f32_qu4w_gather_rows_axpy__avx2(const float *x, const int32_t *idx, int64_t count,
                                     const Qu4wRows &w, int64_t n0, int64_t n1, float *y) {
  if (w.scale_half)
    return w.zero ? gather4_avx2<true, true>(x, idx, count, w, n0, n1, y)
                  : gather4_avx2<false, true>(x, idx, count, w, n0, n1, y);
  if (w.zero) return gather4_avx2<true, false>(x, idx, count, w, n0, n1, y);
  gather4_avx2<false, false>(x, idx, count, w, n0, n1, y);
}

void f32_qu4w_dequant_rows__avx2(const Qu4wRows &w, const int32_t *ks, int64_t nk, int64_t n0,
                                 int64_t n1, float *out, int64_t ldo) {
  if (w.scale_half)
    return w.zero ? dequant4_avx2<true, true>(w, ks, nk, n0, n1, out, ldo)
                  : dequant4_avx2<false, true>(w, ks, nk, n0, n1, out, ldo);
  if (w.zero) return dequant4_avx2<true, false>(w, ks, nk, n0, n1, out, ldo);
  dequant4_avx2<false, false>(w, ks, nk, n0, n1, out, ldo);
}

void f32_qu4w_gather_rows_axpy__avx512(const float *x, const int32_t *idx, int64_t count,
                                       const Qu4wRows &w, int64_t n0, int64_t n1, float *y) {
  if (w.scale_half)
    return w.zero ? gather4_avx512<true, true>(x, idx, count, w, n0, n1, y)
                  : gather4_avx512<false, true>(x, idx, count, w, n0, n1, y);
  if (w.zero) return gather4_avx512<true, false>(x, idx, count, w, n0, n1, y);
  gather4_avx512<false, false>(x, idx, count, w, n0, n1, y);
}

void f32_qu4w_dequant_rows__avx512(const Qu4wRows &w, const int32_t *ks, int64_t nk, int64_t n0,
                                   int64_t n1, float *out, int64_t ldo) {
  if (w.scale_half)
    return w.zero ? dequant4_avx512<true, true>(w, ks, nk, n0, n1, out, ldo)
                  : dequant4_avx512<false, true>(w, ks, nk, n0, n1, out, ldo);
  if (w.zero) return dequant4_avx512<true, false>(w, ks, nk, n0, n1, out, ldo);
  dequant4_avx512<false, false>(w, ks, nk, n0, n1, out, ldo);
}

}  // namespace si
