// Layer normalisation of each row of an [rows, cols] view, vectorised: the
// contract of ref::layernorm_f32 (population variance, statistics in double
// with two passes, scale and optional bias, optional mean and inv_std out).
// The double sums run in eight lanes instead of one chain, so they round in
// another order: results agree with the reference within 1e-6 relative.
// A row's result depends on that row alone, never on the thread count.
//
// Naming follows XNNPACK: f32_<operation>__<isa>.
#pragma once

#include <cstdint>

namespace si {

using LayerNormFn = void (*)(const float *x, const float *scale, const float *bias, float *y,
                             float *mean, float *inv_std, int64_t rows, int64_t cols, float eps);

void f32_layernorm__avx2(const float *x, const float *scale, const float *bias, float *y,
                         float *mean, float *inv_std, int64_t rows, int64_t cols, float eps);

struct LayerNormKernels {
  LayerNormFn layernorm;
  const char *isa;  // "avx2" or "scalar" (the reference loop)
};

// The best variant for dispatch_features() (SI_MAX_ISA caps it), chosen once.
const LayerNormKernels &layernorm_kernels();

// Rows split over `threads` OpenMP threads when the tensor is large enough.
void f32_layernorm(const LayerNormKernels &k, const float *x, const float *scale, const float *bias,
                   float *y, float *mean, float *inv_std, int64_t rows, int64_t cols, float eps,
                   int threads);

}  // namespace si
