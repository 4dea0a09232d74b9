// GELU, y = x * Phi(x) with Phi the standard normal CDF, in its exact form
// and in the tanh approximation (ONNX opset-20 Gelu, approximate="tanh"):
//   exact: y = 0.5 x (1 + erf(x / sqrt 2))
//   tanh:  y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
// erf and tanh are branch-free rational approximations, so the loops
// vectorise; NaN propagates, gelu(+inf) = +inf and gelu(-inf) = -0.
#pragma once

#include <cstdint>

namespace si::ref {

// erf(x) = x P(x^2) / Q(x^2) on [-4, 4], clamped outside (|erf| rounds to 1
// there). Coefficients are a least-squares rational fit to erf; the float
// evaluation stays within 5e-7 of erf for every float.
inline float erf_rational_f32(float x) {
  const float c = x < -4.f ? -4.f : (x > 4.f ? 4.f : x);
  const float z = c * c;
  float p = 1.915723047e-08f;
  p = p * z - 1.964872581e-06f;
  p = p * z + 1.511813607e-04f;
  p = p * z + 4.132875707e-03f;
  p = p * z + 5.194910616e-02f;
  p = p * z + 2.103351057e-01f;
  p = p * z + 1.128378868e+00f;
  float q = 1.057390124e-03f;
  q = q * z + 1.523582544e-02f;
  q = q * z + 1.192995831e-01f;
  q = q * z + 5.197340250e-01f;
  q = q * z + 1.f;
  return c * p / q;
}

// tanh(x) = x P(x^2) / Q(x^2) on [-9, 9], clamped outside; within 4e-7 of
// tanh for every float.
inline float tanh_rational_f32(float x) {
  const float c = x < -9.f ? -9.f : (x > 9.f ? 9.f : x);
  const float z = c * c;
  float p = 1.796224280e-11f;
  p = p * z - 1.265012450e-08f;
  p = p * z + 9.218530977e-06f;
  p = p * z + 2.914917888e-03f;
  p = p * z + 1.291356832e-01f;
  p = p * z + 9.999998212e-01f;
  float q = 2.273228311e-04f;
  q = q * z + 2.373860776e-02f;
  q = q * z + 4.624682069e-01f;
  q = q * z + 1.f;
  return c * p / q;
}

void gelu_f32(const float *x, float *y, int64_t n, int threads);
void gelu_tanh_f32(const float *x, float *y, int64_t n, int threads);

}  // namespace si::ref
