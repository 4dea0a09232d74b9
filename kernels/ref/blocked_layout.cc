#include "kernels/ref/blocked_layout.h"

#include <cassert>

namespace si::ref {

void f32_plain_to_blocked(const float *x, int64_t batch, int64_t channels, int64_t spatial,
                          int64_t block, float *y) {
  assert(block > 0 && channels % block == 0);
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t s = 0; s < spatial; ++s)
        y[((n * (channels / block) + c / block) * spatial + s) * block + c % block] =
            x[(n * channels + c) * spatial + s];
}

void f32_blocked_to_plain(const float *x, int64_t batch, int64_t channels, int64_t spatial,
                          int64_t block, float *y) {
  assert(block > 0 && channels % block == 0);
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t s = 0; s < spatial; ++s)
        y[(n * channels + c) * spatial + s] =
            x[((n * (channels / block) + c / block) * spatial + s) * block + c % block];
}

}  // namespace si::ref
