#include "kernels/ref/quantize.h"

#include <cmath>
#include <limits>

namespace si::ref {

namespace {

template <typename Q, typename W>
void dequantize(const Q *x, const float *scale, const Q *zero, const QuantAxis &a, float *y) {
  for (int64_t o = 0; o < a.outer; ++o) {
    for (int64_t c = 0; c < a.channels; ++c) {
      const W zp = zero != nullptr ? W(zero[c]) : W(0);
      const float s = scale[c];
      const int64_t base = (o * a.channels + c) * a.inner;
      for (int64_t i = 0; i < a.inner; ++i) y[base + i] = float(W(x[base + i]) - zp) * s;
    }
  }
}

// round_half_even(v) + zp, saturated to Q. nearbyint rounds half to even in
// the default floating-point environment, which the engine never changes.
template <typename Q>
Q saturate_code(float v, float zp) {
  constexpr float lo = float(std::numeric_limits<Q>::min());
  constexpr float hi = float(std::numeric_limits<Q>::max());
  float r = std::nearbyint(v) + zp;
  if (std::isnan(r)) r = zp;
  if (r < lo) r = lo;
  if (r > hi) r = hi;
  return Q(r);
}

template <typename Q>
void quantize(const float *x, const float *scale, const Q *zero, const QuantAxis &a, Q *y) {
  for (int64_t o = 0; o < a.outer; ++o) {
    for (int64_t c = 0; c < a.channels; ++c) {
      const float zp = zero != nullptr ? float(zero[c]) : 0.f;
      const float s = scale[c];
      const int64_t base = (o * a.channels + c) * a.inner;
      for (int64_t i = 0; i < a.inner; ++i) y[base + i] = saturate_code<Q>(x[base + i] / s, zp);
    }
  }
}

}  // namespace

void dequantize_linear(const int8_t *x, const float *scale, const int8_t *zero, const QuantAxis &a,
                       float *y) {
  dequantize<int8_t, int32_t>(x, scale, zero, a, y);
}
void dequantize_linear(const uint8_t *x, const float *scale, const uint8_t *zero,
                       const QuantAxis &a, float *y) {
  dequantize<uint8_t, int32_t>(x, scale, zero, a, y);
}
void dequantize_linear(const int32_t *x, const float *scale, const int32_t *zero,
                       const QuantAxis &a, float *y) {
  dequantize<int32_t, int64_t>(x, scale, zero, a, y);
}

void quantize_linear(const float *x, const float *scale, const int8_t *zero, const QuantAxis &a,
                     int8_t *y) {
  quantize(x, scale, zero, a, y);
}
void quantize_linear(const float *x, const float *scale, const uint8_t *zero, const QuantAxis &a,
                     uint8_t *y) {
  quantize(x, scale, zero, a, y);
}

void dynamic_quantize_linear(const float *x, int64_t n, uint8_t *y, float *scale, uint8_t *zero) {
  float lo = 0.f, hi = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  const float s = (hi - lo) / 255.f;
  if (!(s > 0.f) || !std::isfinite(s)) {
    // All zeros (s = 0), or an infinite range the formula cannot scale:
    // every code is the zero point 0 for s = 0; with an infinite s every
    // finite x / s rounds to 0 as well.
    *scale = s;
    *zero = 0;
    for (int64_t i = 0; i < n; ++i) y[i] = 0;
    return;
  }
  float zp = 0.f - lo / s;
  zp = std::nearbyint(zp < 0.f ? 0.f : (zp > 255.f ? 255.f : zp));
  *scale = s;
  *zero = uint8_t(zp);
  for (int64_t i = 0; i < n; ++i) y[i] = saturate_code<uint8_t>(x[i] / s, zp);
}

}  // namespace si::ref
