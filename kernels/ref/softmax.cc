#include "kernels/ref/softmax.h"

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/ref/parallel.h"

namespace si::ref {

namespace {

constexpr int64_t kSoftmaxParallelMin = int64_t{1} << 12;

// One [n, inner] slab. Subtracting the per-column max keeps exp() <= 1, and
// the sum is accumulated in double so a long axis loses no precision.
template <bool kLog>
void slab(const float *x, float *y, int64_t n, int64_t inner, float *mx, double *sum) {
  for (int64_t j = 0; j < inner; ++j) {
    mx[j] = x[j];
    sum[j] = 0.0;
  }
  for (int64_t i = 1; i < n; ++i) {
    const float *xi = x + i * inner;
    for (int64_t j = 0; j < inner; ++j) mx[j] = xi[j] > mx[j] ? xi[j] : mx[j];
  }
  for (int64_t i = 0; i < n; ++i) {
    const float *xi = x + i * inner;
    float *yi = y + i * inner;
    for (int64_t j = 0; j < inner; ++j) {
      float e = std::exp(xi[j] - mx[j]);
      if (!kLog) yi[j] = e;
      sum[j] += e;
    }
  }
  if (kLog) {
    for (int64_t j = 0; j < inner; ++j) sum[j] = std::log(sum[j]);
    for (int64_t i = 0; i < n; ++i) {
      const float *xi = x + i * inner;
      float *yi = y + i * inner;
      for (int64_t j = 0; j < inner; ++j) yi[j] = float(double(xi[j] - mx[j]) - sum[j]);
    }
  } else {
    for (int64_t j = 0; j < inner; ++j) sum[j] = 1.0 / sum[j];
    for (int64_t i = 0; i < n; ++i) {
      float *yi = y + i * inner;
      for (int64_t j = 0; j < inner; ++j) yi[j] = float(yi[j] * sum[j]);
    }
  }
}

template <bool kLog>
void run(const float *x, float *y, int64_t outer, int64_t n, int64_t inner, int threads) {
  if (outer == 0 || n == 0 || inner == 0) return;
  const int64_t total = outer * n * inner;
  const int64_t min_parallel =
      total >= kSoftmaxParallelMin ? 2 : std::numeric_limits<int64_t>::max();
  parallel_ranges(outer, threads, min_parallel, [&](int64_t begin, int64_t end) {
    std::vector<float> mx(static_cast<size_t>(inner));
    std::vector<double> sum(static_cast<size_t>(inner));
    for (int64_t o = begin; o < end; ++o)
      slab<kLog>(x + o * n * inner, y + o * n * inner, n, inner, mx.data(), sum.data());
  });
}

}  // namespace

void softmax_f32(const float *x, float *y, int64_t outer, int64_t n, int64_t inner, int threads) {
  run<false>(x, y, outer, n, inner, threads);
}

void log_softmax_f32(const float *x, float *y, int64_t outer, int64_t n, int64_t inner,
                     int threads) {
  run<true>(x, y, outer, n, inner, threads);
}

}  // namespace si::ref
