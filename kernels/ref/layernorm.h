// Layer normalisation of each row of an [rows, cols] view:
//   y = (x - mean) / sqrt(var + eps) * scale + bias   (population variance)
#pragma once

#include <cstdint>

namespace si::ref {

// scale has cols entries; bias, mean and inv_std may be null. mean and
// inv_std receive one value per row (1 / sqrt(var + eps)). Statistics are
// computed in double with two passes, so large offsets do not cancel.
// cols == 0 gives NaN statistics, as numpy's mean of nothing does.
void layernorm_f32(const float *x, const float *scale, const float *bias, float *y, float *mean,
                   float *inv_std, int64_t rows, int64_t cols, float eps, int threads);

}  // namespace si::ref
