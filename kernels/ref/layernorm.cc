#include "kernels/ref/layernorm.h"

#include <cmath>
#include <limits>

#include "kernels/ref/parallel.h"

namespace si::ref {

void layernorm_f32(const float *x, const float *scale, const float *bias, float *y, float *mean,
                   float *inv_std, int64_t rows, int64_t cols, float eps, int threads) {
  const int64_t min_parallel =
      rows * cols >= kElementwiseParallelMin ? 2 : std::numeric_limits<int64_t>::max();
  parallel_ranges(rows, threads, min_parallel, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float *xr = x + r * cols;
      float *yr = y + r * cols;
      double s = 0.0;
      for (int64_t c = 0; c < cols; ++c) s += xr[c];
      const double mu = s / double(cols);
      double ss = 0.0;
      for (int64_t c = 0; c < cols; ++c) {
        double d = xr[c] - mu;
        ss += d * d;
      }
      const double inv = 1.0 / std::sqrt(ss / double(cols) + double(eps));
      if (mean) mean[r] = float(mu);
      if (inv_std) inv_std[r] = float(inv);
      const float muf = float(mu), invf = float(inv);
      if (bias) {
        for (int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - muf) * invf * scale[c] + bias[c];
      } else {
        for (int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - muf) * invf * scale[c];
      }
    }
  });
}

}  // namespace si::ref
