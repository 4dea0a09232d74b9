#include "kernels/ref/activation.h"

#include <cmath>
#include <cstring>

#include "kernels/ref/parallel.h"

namespace si::ref {

namespace {

// Transcendentals cost ~20x a max: a team pays for itself sooner.
constexpr int64_t kTranscendentalParallelMin = int64_t{1} << 12;

template <typename T, typename F>
void map(const T *x, T *y, int64_t n, int threads, int64_t min_parallel, F f) {
  parallel_ranges(n, threads, min_parallel, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = f(x[i]);
  });
}

template <typename T>
void clip(const T *x, T *y, int64_t n, T lo, T hi, int threads) {
  // Comparisons written so a NaN x fails both and passes through.
  map(x, y, n, threads, kElementwiseParallelMin, [lo, hi](T v) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
  });
}

}  // namespace

bool f32_all_finite(const float *x, int64_t n) {
  // Exponent bits all ones is Inf or NaN; an OR over the lanes vectorizes.
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, x + i, sizeof b);
    bad |= uint32_t((b & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

void relu_f32(const float *x, float *y, int64_t n, int threads) {
  // `v < 0` (not `v > 0 ? v : 0`) keeps NaN; -0.0 stays -0.0, which compares
  // equal to zero for the sparse consumers.
  map(x, y, n, threads, kElementwiseParallelMin, [](float v) { return v < 0.f ? 0.f : v; });
}

void leaky_relu_f32(const float *x, float *y, int64_t n, float alpha, int threads) {
  map(x, y, n, threads, kElementwiseParallelMin,
      [alpha](float v) { return v < 0.f ? v * alpha : v; });
}

void thresholded_relu_f32(const float *x, float *y, int64_t n, float alpha, int threads) {
  map(x, y, n, threads, kElementwiseParallelMin, [alpha](float v) { return v > alpha ? v : 0.f; });
}

void clip_f32(const float *x, float *y, int64_t n, float lo, float hi, int threads) {
  clip(x, y, n, lo, hi, threads);
}
void clip_i32(const int32_t *x, int32_t *y, int64_t n, int32_t lo, int32_t hi, int threads) {
  clip(x, y, n, lo, hi, threads);
}
void clip_i64(const int64_t *x, int64_t *y, int64_t n, int64_t lo, int64_t hi, int threads) {
  clip(x, y, n, lo, hi, threads);
}
void clip_u8(const uint8_t *x, uint8_t *y, int64_t n, uint8_t lo, uint8_t hi, int threads) {
  clip(x, y, n, lo, hi, threads);
}
void clip_i8(const int8_t *x, int8_t *y, int64_t n, int8_t lo, int8_t hi, int threads) {
  clip(x, y, n, lo, hi, threads);
}

void sigmoid_f32(const float *x, float *y, int64_t n, int threads) {
  // Both branches evaluate exp of a non-positive number, so neither overflows
  // and the small tail keeps full relative precision.
  map(x, y, n, threads, kTranscendentalParallelMin, [](float v) {
    if (v >= 0.f) return 1.f / (1.f + std::exp(-v));
    float e = std::exp(v);
    return e / (1.f + e);
  });
}

void tanh_f32(const float *x, float *y, int64_t n, int threads) {
  map(x, y, n, threads, kTranscendentalParallelMin, [](float v) { return std::tanh(v); });
}

}  // namespace si::ref
