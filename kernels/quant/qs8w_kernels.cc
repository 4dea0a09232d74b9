#include <immintrin.h>

#include <algorithm>

#include "kernels/quant/quant_detail.h"
#include "kernels/quant/quant_kernels.h"

// Four active rows per pass over y[n0:n1], as the float gather kernel: each
// vector of y is loaded and stored once per four rows while four weight
// streams run. A code is widened to int32, converted, shifted by its zero
// point and scaled before its fused multiply-add: the dequantized float the
// model defines, never stored. The scale (and zero point) comes as a
// broadcast for per-row quantization and as a vector of the block's scale row
// (L1/L2-resident: it serves every active row of the block) otherwise.
// Rows of codes are short runs (N bytes, N / 2 for int4), which the hardware
// prefetcher barely ramps up on before they end, and the next row is
// anywhere: each pass prefetches the next pass's rows, one line at a time
// alongside its own (on a shared Zen 3, K8192xN2048 at density 0.1, one
// thread: int8 1.47-1.49x -> 1.78-1.85x float32, int4 block 128 1.29-1.30x ->
// 1.64-1.74x; bench/RESULTS.md). AVX2 only so far: not measured on AVX-512.

namespace si {

using quant_detail::dequant_columns;
using quant_detail::gather_columns;
using quant_detail::i8_to_ps_avx512;
using quant_detail::qs8w_weight;

void f32_qs8w_gather_rows_axpy__scalar(const float *x, const int32_t *idx, int64_t count,
                                       const Qs8wRows &w, int64_t n0, int64_t n1, float *y) {
  gather_columns(x, idx, count, w, n0, n1, y, qs8w_weight);
}

void f32_qs8w_dequant_rows__scalar(const Qs8wRows &w, const int32_t *ks, int64_t nk, int64_t n0,
                                   int64_t n1, float *out, int64_t ldo) {
  dequant_columns(w, ks, nk, n0, n1, out, ldo, qs8w_weight);
}

namespace {

// Where one row's codes, scales and zero points are.
struct Row8 {
  const int8_t *q;
  const float *s, *z;  // scale/zero rows (block > 0)
  float ss, zs;        // scalars (block == 0)
};

inline Row8 row8(const Qs8wRows &w, int64_t k) {
  Row8 r{w.q + k * w.ldq, nullptr, nullptr, 0.f, 0.f};
  if (w.block == 0) {
    r.ss = w.scale[k];
    r.zs = w.zero ? w.zero[k] : 0.f;
  } else {
    const int64_t off = (k / w.block) * w.lds;
    r.s = w.scale + off;
    r.z = w.zero ? w.zero + off : nullptr;
  }
  return r;
}

template <bool kPerRow, bool kZero>
__attribute__((target("avx2,fma"))) inline __m256 dq8_avx2(const Row8 &r, __m256 sb, __m256 zb,
                                                           int64_t n) {
  __m256 q = _mm256_cvtepi32_ps(
      _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(r.q + n))));
  if (kZero) q = _mm256_sub_ps(q, kPerRow ? zb : _mm256_loadu_ps(r.z + n));
  return _mm256_mul_ps(q, kPerRow ? sb : _mm256_loadu_ps(r.s + n));
}

// R rows idx[0, R) over [n0, n1).
template <int R, bool kPerRow, bool kZero>
__attribute__((target("avx2,fma"))) void pass8_avx2(const float *x, const int32_t *idx,
                                                    const Qs8wRows &w, int64_t n0, int64_t n1,
                                                    float *y, const int32_t *next, int nn) {
  Row8 r[R];
  __m256 a[R], sb[R], zb[R];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i) {
    r[i] = row8(w, idx[i]);
    a[i] = _mm256_set1_ps(x[idx[i]]);
    sb[i] = _mm256_set1_ps(r[i].ss);
    zb[i] = _mm256_set1_ps(r[i].zs);
  }
  const int8_t *pf[4];
  for (int i = 0; i < nn; ++i) pf[i] = w.q + next[i] * w.ldq;
  const int64_t nv = n0 + (n1 - n0) / 8 * 8;
  for (int64_t n = n0; n < nv; n += 8) {
    if ((n & 63) == 0)
      for (int i = 0; i < nn; ++i)
        _mm_prefetch(reinterpret_cast<const char *>(pf[i] + n), _MM_HINT_T0);
    __m256 acc = _mm256_loadu_ps(y + n);
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i)
      acc = _mm256_fmadd_ps(a[i], dq8_avx2<kPerRow, kZero>(r[i], sb[i], zb[i], n), acc);
    _mm256_storeu_ps(y + n, acc);
  }
  gather_columns(x, idx, R, w, nv, n1, y, qs8w_weight);
}

template <bool kPerRow, bool kZero>
__attribute__((target("avx2,fma"))) void gather8_avx2(const float *x, const int32_t *idx,
                                                      int64_t count, const Qs8wRows &w, int64_t n0,
                                                      int64_t n1, float *y) {
  int64_t j = 0;
  for (; j + 4 <= count; j += 4) {
    const int nn = int(std::min<int64_t>(4, count - j - 4));
    pass8_avx2<4, kPerRow, kZero>(x, idx + j, w, n0, n1, y, idx + j + 4, nn);
  }
  for (; j < count; ++j) pass8_avx2<1, kPerRow, kZero>(x, idx + j, w, n0, n1, y, nullptr, 0);
}

template <bool kPerRow, bool kZero>
__attribute__((target("avx2,fma"))) void dequant8_avx2(const Qs8wRows &w, const int32_t *ks,
                                                       int64_t nk, int64_t n0, int64_t n1,
                                                       float *out, int64_t ldo) {
  const int64_t nv = n0 + (n1 - n0) / 8 * 8;
  for (int64_t i = 0; i < nk; ++i) {
    const Row8 r = row8(w, ks[i]);
    const __m256 sb = _mm256_set1_ps(r.ss), zb = _mm256_set1_ps(r.zs);
    float *o = out + i * ldo - n0;
    // The batched paths dequantize many rows' short runs in turn: fetch the
    // row after next's (the prefetcher does not ramp up on them; the gather
    // passes prefetch likewise).
    const int8_t *pf = i + 2 < nk ? w.q + ks[i + 2] * w.ldq : nullptr;
    for (int64_t n = n0; n < nv; n += 8) {
      if (pf != nullptr && (n & 63) == 0)
        _mm_prefetch(reinterpret_cast<const char *>(pf + n), _MM_HINT_T0);
      _mm256_storeu_ps(o + n, dq8_avx2<kPerRow, kZero>(r, sb, zb, n));
    }
    for (int64_t n = nv; n < n1; ++n) o[n] = qs8w_weight(w, ks[i], n);
  }
}

template <bool kPerRow, bool kZero>
__attribute__((target("avx512f"))) inline __m512 dq8_avx512(const Row8 &r, __m512 sb, __m512 zb,
                                                            int64_t n) {
  __m512 q = i8_to_ps_avx512(_mm_loadu_si128(reinterpret_cast<const __m128i *>(r.q + n)));
  if (kZero) q = _mm512_sub_ps(q, kPerRow ? zb : _mm512_loadu_ps(r.z + n));
  return _mm512_mul_ps(q, kPerRow ? sb : _mm512_loadu_ps(r.s + n));
}

template <int R, bool kPerRow, bool kZero>
__attribute__((target("avx512f"))) void pass8_avx512(const float *x, const int32_t *idx,
                                                     const Qs8wRows &w, int64_t n0, int64_t n1,
                                                     float *y) {
  Row8 r[R];
  __m512 a[R], sb[R], zb[R];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i) {
    r[i] = row8(w, idx[i]);
    a[i] = _mm512_set1_ps(x[idx[i]]);
    sb[i] = _mm512_set1_ps(r[i].ss);
    zb[i] = _mm512_set1_ps(r[i].zs);
  }
  const int64_t nv = n0 + (n1 - n0) / 16 * 16;
  for (int64_t n = n0; n < nv; n += 16) {
    __m512 acc = _mm512_loadu_ps(y + n);
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i)
      acc = _mm512_fmadd_ps(a[i], dq8_avx512<kPerRow, kZero>(r[i], sb[i], zb[i], n), acc);
    _mm512_storeu_ps(y + n, acc);
  }
  gather_columns(x, idx, R, w, nv, n1, y, qs8w_weight);
}

template <bool kPerRow, bool kZero>
__attribute__((target("avx512f"))) void gather8_avx512(const float *x, const int32_t *idx,
                                                       int64_t count, const Qs8wRows &w, int64_t n0,
                                                       int64_t n1, float *y) {
  int64_t j = 0;
  for (; j + 4 <= count; j += 4) pass8_avx512<4, kPerRow, kZero>(x, idx + j, w, n0, n1, y);
  for (; j < count; ++j) pass8_avx512<1, kPerRow, kZero>(x, idx + j, w, n0, n1, y);
}

template <bool kPerRow, bool kZero>
__attribute__((target("avx512f"))) void dequant8_avx512(const Qs8wRows &w, const int32_t *ks,
                                                        int64_t nk, int64_t n0, int64_t n1,
                                                        float *out, int64_t ldo) {
  const int64_t nv = n0 + (n1 - n0) / 16 * 16;
  for (int64_t i = 0; i < nk; ++i) {
    const Row8 r = row8(w, ks[i]);
    const __m512 sb = _mm512_set1_ps(r.ss), zb = _mm512_set1_ps(r.zs);
    float *o = out + i * ldo - n0;
    for (int64_t n = n0; n < nv; n += 16)
      _mm512_storeu_ps(o + n, dq8_avx512<kPerRow, kZero>(r, sb, zb, n));
    for (int64_t n = nv; n < n1; ++n) o[n] = qs8w_weight(w, ks[i], n);
  }
}

// The four (per-row?, zero points?) instantiations of a kernel template.
#define SI_QS8W_DISPATCH(fn, ...)                     \
  do {                                                \
    if (w.block == 0) {                               \
      if (w.zero) return fn<true, true>(__VA_ARGS__); \
      return fn<true, false>(__VA_ARGS__);            \
    }                                                 \
    if (w.zero) return fn<false, true>(__VA_ARGS__);  \
    return fn<false, false>(__VA_ARGS__);             \
  } while (0)

}  // namespace

void f32_qs8w_gather_rows_axpy__avx2(const float *x, const int32_t *idx, int64_t count,
                                     const Qs8wRows &w, int64_t n0, int64_t n1, float *y) {
  SI_QS8W_DISPATCH(gather8_avx2, x, idx, count, w, n0, n1, y);
}

void f32_qs8w_dequant_rows__avx2(const Qs8wRows &w, const int32_t *ks, int64_t nk, int64_t n0,
                                 int64_t n1, float *out, int64_t ldo) {
  SI_QS8W_DISPATCH(dequant8_avx2, w, ks, nk, n0, n1, out, ldo);
}

void f32_qs8w_gather_rows_axpy__avx512(const float *x, const int32_t *idx, int64_t count,
                                       const Qs8wRows &w, int64_t n0, int64_t n1, float *y) {
  SI_QS8W_DISPATCH(gather8_avx512, x, idx, count, w, n0, n1, y);
}

void f32_qs8w_dequant_rows__avx512(const Qs8wRows &w, const int32_t *ks, int64_t nk, int64_t n0,
                                   int64_t n1, float *out, int64_t ldo) {
  SI_QS8W_DISPATCH(dequant8_avx512, w, ks, nk, n0, n1, out, ldo);
}

}  // namespace si
