// Inference batch normalisation over an [outer, channels, inner] view:
//   y = (x - mean[c]) * scale[c] / sqrt(var[c] + eps) + bias[c]
#pragma once

#include <cstdint>

namespace si::ref {

// ONNX's per-activation form (spatial = 0) is the same call with channels =
// C * spatial size and inner = 1.
void f32_batchnorm(const float *x, const float *scale, const float *bias, const float *mean,
                   const float *var, float eps, float *y, int64_t outer, int64_t channels,
                   int64_t inner, int threads);

}  // namespace si::ref
