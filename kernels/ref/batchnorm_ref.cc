#include "kernels/ref/batchnorm_ref.h"

#include <cmath>
#include <vector>

#include "kernels/ref/parallel.h"

namespace si::ref {

void f32_batchnorm(const float *x, const float *scale, const float *bias, const float *mean,
                   const float *var, float eps, float *y, int64_t outer, int64_t channels,
                   int64_t inner, int threads) {
  std::vector<float> a(size_t(channels > 0 ? channels : 0));
  for (int64_t c = 0; c < channels; ++c) a[size_t(c)] = scale[c] / std::sqrt(var[c] + eps);
  const int64_t rows = outer * channels;
  const int64_t min_rows = inner > 0 ? kElementwiseParallelMin / inner + 1 : rows + 1;
  parallel_ranges(rows, threads, min_rows, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t c = r % channels;
      const float m = mean[c], s = a[size_t(c)], t = bias[c];
      const float *xr = x + r * inner;
      float *yr = y + r * inner;
      for (int64_t i = 0; i < inner; ++i) yr[i] = (xr[i] - m) * s + t;
    }
  });
}

}  // namespace si::ref
