#include <immintrin.h>

#include <cassert>

#include "kernels/dense/rows_gemm.h"

// Register blocking decides speed here, not the order of terms: every variant
// keeps each output's running sum in one lane and adds x·w with one fused
// multiply-add per k, in ascending k, so all of them agree bit for bit.

namespace si {

void f32_rows_gemv__scalar(const float *x, int64_t ldx, int64_t mr, int64_t k, const float *w,
                           int64_t ldw, int64_t n0, int64_t n1, float *y, int64_t ldy) {
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < k; ++j)
      for (int64_t n = n0; n < n1; ++n)
        y[r * ldy + n] = __builtin_fmaf(x[r * ldx + j], w[j * ldw + n], y[r * ldy + n]);
}

void f32_rows_tile__scalar(const float *x, int64_t ldx, int mr, int64_t kc, const float *w,
                           int64_t ldw, float *y, int64_t ldy) {
  f32_rows_gemv__scalar(x, ldx, mr, kc, w, ldw, 0, kRowsTileN, y, ldy);
}

namespace {

// The columns past the last multiple of the vector width, for one row of x.
inline void gemv_tail(const float *xr, const float *const *wq, int nw, int64_t n0, int64_t n1,
                      float *yr) {
  for (int64_t n = n0; n < n1; ++n) {
    float acc = yr[n];
    for (int q = 0; q < nw; ++q) acc = __builtin_fmaf(xr[q], wq[q][n], acc);
    yr[n] = acc;
  }
}

// One pass of KB weight rows j..j+KB over columns [n0, n1): each 8-column
// strip of them is loaded once and applied to all MR output rows.
template <int MR, int KB>
__attribute__((target("avx2,fma"))) inline void gemv_pass_avx2(const float *x, int64_t ldx,
                                                               int64_t j, const float *w,
                                                               int64_t ldw, int64_t n0, int64_t n1,
                                                               float *y, int64_t ldy) {
  const int64_t nv = n0 + (n1 - n0) / 8 * 8;
  const float *wq[KB];
#pragma GCC unroll 8
  for (int q = 0; q < KB; ++q) wq[q] = w + (j + q) * ldw;
  __m256 a[MR][KB];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int q = 0; q < KB; ++q) a[r][q] = _mm256_set1_ps(x[r * ldx + j + q]);
  for (int64_t n = n0; n < nv; n += 8) {
    __m256 b[KB];
#pragma GCC unroll 8
    for (int q = 0; q < KB; ++q) b[q] = _mm256_loadu_ps(wq[q] + n);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      __m256 acc = _mm256_loadu_ps(y + r * ldy + n);
#pragma GCC unroll 8
      for (int q = 0; q < KB; ++q) acc = _mm256_fmadd_ps(a[r][q], b[q], acc);
      _mm256_storeu_ps(y + r * ldy + n, acc);
    }
  }
  for (int r = 0; r < MR; ++r) gemv_tail(x + r * ldx + j, wq, KB, nv, n1, y + r * ldy);
}

// Eight weight rows per pass where it can: each pass loads and stores the
// outputs once, so fewer passes leave the caches to the weight streams.
// (Software prefetch 1-2 KiB ahead on every stream cost 10-30% at one row on
// a Zen 3; the hardware prefetchers do better alone.)
template <int MR>
__attribute__((target("avx2,fma"))) void gemv_avx2(const float *x, int64_t ldx, int64_t k,
                                                   const float *w, int64_t ldw, int64_t n0,
                                                   int64_t n1, float *y, int64_t ldy) {
  int64_t j = 0;
  for (; j + 8 <= k; j += 8) gemv_pass_avx2<MR, 8>(x, ldx, j, w, ldw, n0, n1, y, ldy);
  for (; j + 4 <= k; j += 4) gemv_pass_avx2<MR, 4>(x, ldx, j, w, ldw, n0, n1, y, ldy);
  for (; j < k; ++j) gemv_pass_avx2<MR, 1>(x, ldx, j, w, ldw, n0, n1, y, ldy);
}

template <int MR>
__attribute__((target("avx512f"))) void gemv_avx512(const float *x, int64_t ldx, int64_t k,
                                                    const float *w, int64_t ldw, int64_t n0,
                                                    int64_t n1, float *y, int64_t ldy) {
  const int64_t tail = (n1 - n0) % 16;
  const __mmask16 mask = static_cast<__mmask16>((1u << tail) - 1);
  const int64_t nv = n1 - tail;
  int64_t j = 0;
  for (; j + 4 <= k; j += 4) {
    const float *w0 = w + j * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
    __m512 a[MR][4];
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r)
      for (int q = 0; q < 4; ++q) a[r][q] = _mm512_set1_ps(x[r * ldx + j + q]);
    for (int64_t n = n0; n < nv; n += 16) {
      const __m512 b0 = _mm512_loadu_ps(w0 + n), b1 = _mm512_loadu_ps(w1 + n);
      const __m512 b2 = _mm512_loadu_ps(w2 + n), b3 = _mm512_loadu_ps(w3 + n);
#pragma GCC unroll 6
      for (int r = 0; r < MR; ++r) {
        __m512 acc = _mm512_loadu_ps(y + r * ldy + n);
        acc = _mm512_fmadd_ps(a[r][0], b0, acc);
        acc = _mm512_fmadd_ps(a[r][1], b1, acc);
        acc = _mm512_fmadd_ps(a[r][2], b2, acc);
        acc = _mm512_fmadd_ps(a[r][3], b3, acc);
        _mm512_storeu_ps(y + r * ldy + n, acc);
      }
    }
    if (tail) {
      const __m512 b0 = _mm512_maskz_loadu_ps(mask, w0 + nv),
                   b1 = _mm512_maskz_loadu_ps(mask, w1 + nv);
      const __m512 b2 = _mm512_maskz_loadu_ps(mask, w2 + nv),
                   b3 = _mm512_maskz_loadu_ps(mask, w3 + nv);
#pragma GCC unroll 6
      for (int r = 0; r < MR; ++r) {
        __m512 acc = _mm512_maskz_loadu_ps(mask, y + r * ldy + nv);
        acc = _mm512_fmadd_ps(a[r][0], b0, acc);
        acc = _mm512_fmadd_ps(a[r][1], b1, acc);
        acc = _mm512_fmadd_ps(a[r][2], b2, acc);
        acc = _mm512_fmadd_ps(a[r][3], b3, acc);
        _mm512_mask_storeu_ps(y + r * ldy + nv, mask, acc);
      }
    }
  }
  for (; j < k; ++j) {
    const float *w0 = w + j * ldw;
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m512 a = _mm512_set1_ps(x[r * ldx + j]);
      float *yr = y + r * ldy;
      for (int64_t n = n0; n < nv; n += 16)
        _mm512_storeu_ps(yr + n,
                         _mm512_fmadd_ps(a, _mm512_loadu_ps(w0 + n), _mm512_loadu_ps(yr + n)));
      if (tail) {
        const __m512 acc = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(mask, w0 + nv),
                                           _mm512_maskz_loadu_ps(mask, yr + nv));
        _mm512_mask_storeu_ps(yr + nv, mask, acc);
      }
    }
  }
}

// MR x 16 outputs held in registers across the kc steps: two 8-float
// vectors of w per k serve MR broadcasts of x.
template <int MR>
__attribute__((target("avx2,fma"))) void tile_avx2(const float *x, int64_t ldx, int64_t kc,
                                                   const float *w, int64_t ldw, float *y,
                                                   int64_t ldy) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    c0[r] = _mm256_loadu_ps(y + r * ldy);
    c1[r] = _mm256_loadu_ps(y + r * ldy + 8);
  }
  for (int64_t j = 0; j < kc; ++j) {
    const __m256 b0 = _mm256_loadu_ps(w + j * ldw), b1 = _mm256_loadu_ps(w + j * ldw + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256 a = _mm256_broadcast_ss(x + r * ldx + j);
      c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    _mm256_storeu_ps(y + r * ldy, c0[r]);
    _mm256_storeu_ps(y + r * ldy + 8, c1[r]);
  }
}

// MR rows x NP panels held in registers across the kc steps: NP weight
// streams at once (one stream alone leaves the prefetchers short of lines in
// flight), each 16-float row of a panel applied to MR broadcasts.
template <int MR, int NP>
__attribute__((target("avx2,fma"))) void panels_gemv_avx2(const float *x, int64_t ldx, int64_t kc,
                                                          const float *w, int64_t panel_stride,
                                                          float *y, int64_t ldy) {
  __m256 c[MR][NP][2];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < NP; ++q) {
      c[r][q][0] = _mm256_loadu_ps(y + r * ldy + q * 16);
      c[r][q][1] = _mm256_loadu_ps(y + r * ldy + q * 16 + 8);
    }
  for (int64_t j = 0; j < kc; ++j) {
    __m256 a[MR];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) a[r] = _mm256_broadcast_ss(x + r * ldx + j);
#pragma GCC unroll 4
    for (int q = 0; q < NP; ++q) {
      const __m256 b0 = _mm256_loadu_ps(w + q * panel_stride + j * 16);
      const __m256 b1 = _mm256_loadu_ps(w + q * panel_stride + j * 16 + 8);
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) {
        c[r][q][0] = _mm256_fmadd_ps(a[r], b0, c[r][q][0]);
        c[r][q][1] = _mm256_fmadd_ps(a[r], b1, c[r][q][1]);
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < NP; ++q) {
      _mm256_storeu_ps(y + r * ldy + q * 16, c[r][q][0]);
      _mm256_storeu_ps(y + r * ldy + q * 16 + 8, c[r][q][1]);
    }
}

// np panels, NP at a time, the rest one by one.
template <int MR, int NP>
__attribute__((target("avx2,fma"))) void panels_gemv_rows_avx2(const float *x, int64_t ldx,
                                                               int64_t kc, const float *w,
                                                               int64_t panel_stride, int64_t np,
                                                               float *y, int64_t ldy) {
  int64_t q = 0;
  for (; q + NP <= np; q += NP)
    panels_gemv_avx2<MR, NP>(x, ldx, kc, w + q * panel_stride, panel_stride, y + q * 16, ldy);
  for (; q < np; ++q)
    panels_gemv_avx2<MR, 1>(x, ldx, kc, w + q * panel_stride, panel_stride, y + q * 16, ldy);
}

template <int MR>
__attribute__((target("avx512f"))) void tile_avx512(const float *x, int64_t ldx, int64_t kc,
                                                    const float *w, int64_t ldw, float *y,
                                                    int64_t ldy) {
  __m512 c[MR];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) c[r] = _mm512_loadu_ps(y + r * ldy);
  for (int64_t j = 0; j < kc; ++j) {
    const __m512 b = _mm512_loadu_ps(w + j * ldw);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) c[r] = _mm512_fmadd_ps(_mm512_set1_ps(x[r * ldx + j]), b, c[r]);
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) _mm512_storeu_ps(y + r * ldy, c[r]);
}

}  // namespace

void f32_rows_gemv__avx2(const float *x, int64_t ldx, int64_t mr, int64_t k, const float *w,
                         int64_t ldw, int64_t n0, int64_t n1, float *y, int64_t ldy) {
  switch (mr) {
    case 1:
      return gemv_avx2<1>(x, ldx, k, w, ldw, n0, n1, y, ldy);
    case 2:
      return gemv_avx2<2>(x, ldx, k, w, ldw, n0, n1, y, ldy);
    case 3:
      return gemv_avx2<3>(x, ldx, k, w, ldw, n0, n1, y, ldy);
    case 4:
      return gemv_avx2<4>(x, ldx, k, w, ldw, n0, n1, y, ldy);
    default:
      assert(false && "row count out of range");
  }
}

void f32_rows_gemv__avx512(const float *x, int64_t ldx, int64_t mr, int64_t k, const float *w,
                           int64_t ldw, int64_t n0, int64_t n1, float *y, int64_t ldy) {
  switch (mr) {
    case 1:
      return gemv_avx512<1>(x, ldx, k, w, ldw, n0, n1, y, ldy);
    case 2:
      return gemv_avx512<2>(x, ldx, k, w, ldw, n0, n1, y, ldy);
    case 3:
      return gemv_avx512<3>(x, ldx, k, w, ldw, n0, n1, y, ldy);
    case 4:
      return gemv_avx512<4>(x, ldx, k, w, ldw, n0, n1, y, ldy);
    default:
      assert(false && "row count out of range");
  }
}

void f32_rows_tile__avx2(const float *x, int64_t ldx, int mr, int64_t kc, const float *w,
                         int64_t ldw, float *y, int64_t ldy) {
  switch (mr) {
    case 1:
      return tile_avx2<1>(x, ldx, kc, w, ldw, y, ldy);
    case 2:
      return tile_avx2<2>(x, ldx, kc, w, ldw, y, ldy);
    case 3:
      return tile_avx2<3>(x, ldx, kc, w, ldw, y, ldy);
    case 4:
      return tile_avx2<4>(x, ldx, kc, w, ldw, y, ldy);
    case 5:
      return tile_avx2<5>(x, ldx, kc, w, ldw, y, ldy);
    case 6:
      return tile_avx2<6>(x, ldx, kc, w, ldw, y, ldy);
    default:
      assert(false && "row count out of range");
  }
}

void f32_panels_gemv__scalar(const float *x, int64_t ldx, int mr, int64_t kc, const float *w,
                             int64_t panel_stride, int64_t np, float *y, int64_t ldy) {
  for (int64_t q = 0; q < np; ++q)
    f32_rows_tile__scalar(x, ldx, mr, kc, w + q * panel_stride, kRowsTileN, y + q * kRowsTileN,
                          ldy);
}

void f32_panels_gemv__avx512(const float *x, int64_t ldx, int mr, int64_t kc, const float *w,
                             int64_t panel_stride, int64_t np, float *y, int64_t ldy) {
  for (int64_t q = 0; q < np; ++q)
    f32_rows_tile__avx512(x, ldx, mr, kc, w + q * panel_stride, kRowsTileN, y + q * kRowsTileN,
                          ldy);
}

// Register budget (16 ymm): MR * NP * 2 accumulators plus MR broadcasts.
void f32_panels_gemv__avx2(const float *x, int64_t ldx, int mr, int64_t kc, const float *w,
                           int64_t panel_stride, int64_t np, float *y, int64_t ldy) {
  switch (mr) {
    case 1:
      return panels_gemv_rows_avx2<1, 4>(x, ldx, kc, w, panel_stride, np, y, ldy);
    case 2:
      return panels_gemv_rows_avx2<2, 3>(x, ldx, kc, w, panel_stride, np, y, ldy);
    case 3:
      return panels_gemv_rows_avx2<3, 2>(x, ldx, kc, w, panel_stride, np, y, ldy);
    case 4:
      return panels_gemv_rows_avx2<4, 1>(x, ldx, kc, w, panel_stride, np, y, ldy);
    default:
      assert(false && "row count out of range");
  }
}

void f32_rows_tile__avx512(const float *x, int64_t ldx, int mr, int64_t kc, const float *w,
                           int64_t ldw, float *y, int64_t ldy) {
  switch (mr) {
    case 1:
      return tile_avx512<1>(x, ldx, kc, w, ldw, y, ldy);
    case 2:
      return tile_avx512<2>(x, ldx, kc, w, ldw, y, ldy);
    case 3:
      return tile_avx512<3>(x, ldx, kc, w, ldw, y, ldy);
    case 4:
      return tile_avx512<4>(x, ldx, kc, w, ldw, y, ldy);
    case 5:
      return tile_avx512<5>(x, ldx, kc, w, ldw, y, ldy);
    case 6:
      return tile_avx512<6>(x, ldx, kc, w, ldw, y, ldy);
    default:
      assert(false && "row count out of range");
  }
}

}  // namespace si
