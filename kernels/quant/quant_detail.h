// One weight of a quantized row, dequantized as every variant does it
// (quant_kernels.h): the scalar kernels, the vector kernels' column tails
// and the packed layouts' dequantize() share it. Internal to kernels/quant.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/quant/half.h"
#include "kernels/quant/quant_kernels.h"

namespace si {
namespace quant_detail {

// The 4-bit code of column n in a row of 32-column groups.
inline int u4_code(const uint8_t *row, int64_t n) {
  const uint8_t b = row[(n >> 5) * 16 + (n & 15)];
  return (n & 16) ? b >> 4 : b & 15;
}

inline float qs8w_weight(const Qs8wRows &w, int64_t k, int64_t n) {
  const float q = float(w.q[k * w.ldq + n]);
  if (w.block == 0) return (q - (w.zero ? w.zero[k] : 0.f)) * w.scale[k];
  const int64_t row = (k / w.block) * w.lds;
  return (q - (w.zero ? w.zero[row + n] : 0.f)) * w.scale[row + n];
}

inline float qu4w_weight(const Qu4wRows &w, int64_t k, int64_t n) {
  const int64_t b = k / w.block;
  const int zp = w.zero ? u4_code(w.zero + b * w.ldq, n) : 8;
  const int64_t at = b * w.lds + n;
  const float s = w.scale_half ? half_to_float(w.scale_half[at]) : w.scale[at];
  return float(u4_code(w.q + k * w.ldq, n) - zp) * s;
}

// y[n] += x_k * w for the active rows idx[0, count) in order, columns
// [n0, n1): the reference order, used by the scalar variants and the tails.
template <typename Rows, typename Weight>
inline void gather_columns(const float *x, const int32_t *idx, int64_t count, const Rows &w,
                           int64_t n0, int64_t n1, float *y, Weight weight) {
  for (int64_t j = 0; j < count; ++j) {
    const int64_t k = idx[j];
    const float a = x[k];
    for (int64_t n = n0; n < n1; ++n) y[n] = __builtin_fmaf(a, weight(w, k, n), y[n]);
  }
}

template <typename Rows, typename Weight>
inline void dequant_columns(const Rows &w, const int32_t *ks, int64_t nk, int64_t n0, int64_t n1,
                            float *out, int64_t ldo, Weight weight) {
  for (int64_t i = 0; i < nk; ++i)
    for (int64_t n = n0; n < n1; ++n) out[i * ldo + n - n0] = weight(w, ks[i], n);
}

// 16 signed bytes to 16 floats. The zero-masked forms: GCC 12's plain
// _mm512_cvtepi8_epi32 / _mm512_cvtepi32_ps pass an "undefined" vector that
// -Wmaybe-uninitialized reports once inlined.
__attribute__((target("avx512f"))) inline __m512 i8_to_ps_avx512(__m128i v) {
  return _mm512_maskz_cvtepi32_ps(__mmask16(0xFFFF),
                                  _mm512_maskz_cvtepi8_epi32(__mmask16(0xFFFF), v));
}

}  // namespace quant_detail
}  // namespace si
