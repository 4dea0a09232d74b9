#include "kernels/ref/gelu.h"

#include "kernels/ref/parallel.h"

namespace si::ref {

namespace {

// Below these x the clamped erf/tanh make 1 + erf (1 + tanh) a rounding
// residue, so the product would be -inf * 0 at -inf; the true |gelu| there is
// under 5e-8, and -0 is what the limit gives.
constexpr float kErfCut = -5.656854249f;   // -4 sqrt 2: erf's clamp point
constexpr float kTanhCut = -5.154859723f;  // sqrt(2/pi)(x + 0.044715 x^3) = -9

// A transcendental-class map: worth a team sooner than a plain copy.
constexpr int64_t kGeluParallelMin = int64_t{1} << 12;

}  // namespace

void gelu_f32(const float *x, float *y, int64_t n, int threads) {
  parallel_ranges(n, threads, kGeluParallelMin, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float v = x[i];
      const float g = 0.5f * v * (1.f + erf_rational_f32(v * 0.70710678118654752f));
      y[i] = v < kErfCut ? -0.f : g;
    }
  });
}

void gelu_tanh_f32(const float *x, float *y, int64_t n, int threads) {
  parallel_ranges(n, threads, kGeluParallelMin, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float v = x[i];
      const float u = 0.79788456080286536f * (v + 0.044715f * v * v * v);
      const float g = 0.5f * v * (1.f + tanh_rational_f32(u));
      y[i] = v < kTanhCut ? -0.f : g;
    }
  });
}

}  // namespace si::ref
