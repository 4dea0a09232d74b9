// GELU, exact (erf) and tanh forms, vectorised: the formulas of
// kernels/ref/gelu.h (same rational erf and tanh, same clamps and cut-offs)
// eight floats at a time. Results agree with the reference within 1e-6
// relative (the AVX2 variant fuses multiply-adds the compiler may not), and
// every element takes the same instructions wherever it sits in the tensor,
// so a split across threads never changes a bit.
//
// Naming follows XNNPACK: f32_<operation>__<isa>.
#pragma once

#include <cstdint>

namespace si {

// y[i] = gelu(x[i]) for i < n; x and y may be the same buffer.
using GeluFn = void (*)(const float *x, float *y, int64_t n);

void f32_gelu_erf__avx2(const float *x, float *y, int64_t n);
void f32_gelu_tanh__avx2(const float *x, float *y, int64_t n);

struct GeluKernels {
  GeluFn erf;       // exact form
  GeluFn tanh;      // tanh approximation
  const char *isa;  // "avx2" or "scalar" (the reference loops)
};

// The best variants for dispatch_features() (SI_MAX_ISA caps it), chosen once.
const GeluKernels &gelu_kernels();

// Over `threads` OpenMP threads when n is large enough to repay a team.
void f32_gelu(const GeluKernels &k, bool tanh_form, const float *x, float *y, int64_t n,
              int threads);

}  // namespace si
