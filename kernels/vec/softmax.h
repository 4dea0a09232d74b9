// Softmax and LogSoftmax over contiguous rows, vectorised: y[r, :] =
// softmax(x[r, :]) (or log-softmax) for r < rows, each row of n floats.
//
// Per row: one pass for the max (and for the inputs the reference turns into
// a NaN row: a NaN or +inf anywhere, or only -inf; such rows go to
// kernels/ref so they come out exactly as there), one for exp(x - max) and
// its sum (in double; Softmax carries float partial sums of 16 terms a lane
// into it), one to scale (Softmax) or to subtract log(sum) (LogSoftmax, log
// in double as the reference). exp is a degree-6 polynomial on the range-reduced
// argument, within 2 ulp of std::exp; results agree with the reference
// within 1.5e-6 relative.
// A row's result does not depend on the other rows or on the thread count.
//
// Naming follows XNNPACK: f32_<operation>__<isa>.
#pragma once

#include <cstdint>

namespace si {

using SoftmaxRowsFn = void (*)(const float *x, float *y, int64_t rows, int64_t n);

void f32_softmax_rows__avx2(const float *x, float *y, int64_t rows, int64_t n);
void f32_log_softmax_rows__avx2(const float *x, float *y, int64_t rows, int64_t n);

struct SoftmaxKernels {
  SoftmaxRowsFn softmax;
  SoftmaxRowsFn log_softmax;
  const char *isa;  // "avx2" or "scalar" (the reference loops)
};

// The best variants for dispatch_features() (SI_MAX_ISA caps it), chosen once.
const SoftmaxKernels &softmax_kernels();

// Rows split over `threads` OpenMP threads when the tensor is large enough.
void f32_softmax_rows(const SoftmaxKernels &k, bool log, const float *x, float *y, int64_t rows,
                      int64_t n, int threads);

}  // namespace si
