#include "kernels/vec/layernorm.h"

#include <immintrin.h>

#include <cmath>
#include <limits>

#include "kernels/cpu_features.h"
#include "kernels/ref/layernorm.h"
#include "kernels/ref/parallel.h"

namespace si {

namespace {

void layernorm__scalar(const float *x, const float *scale, const float *bias, float *y, float *mean,
                       float *inv_std, int64_t rows, int64_t cols, float eps) {
  ref::layernorm_f32(x, scale, bias, y, mean, inv_std, rows, cols, eps, 1);
}

__attribute__((target("avx2"))) double hsum(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}

__attribute__((target("avx2,fma"))) void row(const float *x, const float *scale, const float *bias,
                                             float *y, float *mean, float *inv_std, int64_t cols,
                                             float eps) {
  const int64_t full = cols & ~int64_t{7};
  // Sum: two lanes of four doubles each; the tail in the scalar order after.
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  for (int64_t c = 0; c < full; c += 8) {
    const __m256 v = _mm256_loadu_ps(x + c);
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  }
  double s = hsum(_mm256_add_pd(s0, s1));
  for (int64_t c = full; c < cols; ++c) s += x[c];
  const double mu = s / double(cols);
  const __m256d vmu = _mm256_set1_pd(mu);
  __m256d q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
  for (int64_t c = 0; c < full; c += 8) {
    const __m256 v = _mm256_loadu_ps(x + c);
    const __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), vmu);
    const __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), vmu);
    q0 = _mm256_fmadd_pd(d0, d0, q0);
    q1 = _mm256_fmadd_pd(d1, d1, q1);
  }
  double ss = hsum(_mm256_add_pd(q0, q1));
  for (int64_t c = full; c < cols; ++c) {
    const double d = x[c] - mu;
    ss += d * d;
  }
  const double inv = 1.0 / std::sqrt(ss / double(cols) + double(eps));
  if (mean) *mean = float(mu);
  if (inv_std) *inv_std = float(inv);
  const float muf = float(mu), invf = float(inv);
  const __m256 vmuf = _mm256_set1_ps(muf), vinv = _mm256_set1_ps(invf);
  for (int64_t c = 0; c < full; c += 8) {
    const __m256 t = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + c), vmuf), vinv);
    const __m256 b = bias ? _mm256_loadu_ps(bias + c) : _mm256_setzero_ps();
    _mm256_storeu_ps(y + c, _mm256_fmadd_ps(t, _mm256_loadu_ps(scale + c), b));
  }
  for (int64_t c = full; c < cols; ++c) {
    const float t = (x[c] - muf) * invf;
    y[c] = std::fma(t, scale[c], bias ? bias[c] : 0.f);
  }
}

}  // namespace

void f32_layernorm__avx2(const float *x, const float *scale, const float *bias, float *y,
                         float *mean, float *inv_std, int64_t rows, int64_t cols, float eps) {
  if (cols == 0) {  // NaN statistics, as the reference
    layernorm__scalar(x, scale, bias, y, mean, inv_std, rows, cols, eps);
    return;
  }
  for (int64_t r = 0; r < rows; ++r)
    row(x + r * cols, scale, bias, y + r * cols, mean ? mean + r : nullptr,
        inv_std ? inv_std + r : nullptr, cols, eps);
}

const LayerNormKernels &layernorm_kernels() {
  static const LayerNormKernels k = [] {
    const CpuFeatures &cpu = dispatch_features();
    if (cpu.avx2 && cpu.fma) return LayerNormKernels{f32_layernorm__avx2, "avx2"};
    return LayerNormKernels{layernorm__scalar, "scalar"};
  }();
  return k;
}

void f32_layernorm(const LayerNormKernels &k, const float *x, const float *scale, const float *bias,
                   float *y, float *mean, float *inv_std, int64_t rows, int64_t cols, float eps,
                   int threads) {
  const int64_t min_parallel =
      rows * cols >= ref::kElementwiseParallelMin ? 2 : std::numeric_limits<int64_t>::max();
  ref::parallel_ranges(rows, threads, min_parallel, [&](int64_t begin, int64_t end) {
    k.layernorm(x + begin * cols, scale, bias, y + begin * cols, mean ? mean + begin : nullptr,
                inv_std ? inv_std + begin : nullptr, end - begin, cols, eps);
  });
}

}  // namespace si
