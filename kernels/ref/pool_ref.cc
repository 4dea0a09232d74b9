#include "kernels/ref/pool_ref.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/ref/parallel.h"

namespace si::ref {

namespace {

constexpr int64_t kMinParallelPlanes = 2;

// Input taps of one window along one spatial dim: position `first` and then
// every `step` for `count` taps, restricted to those inside [lo, hi).
struct Taps {
  int64_t first = 0;
  int64_t begin = 0;  // first tap index kept
  int64_t end = 0;    // one past the last tap index kept
};

Taps window_taps(int64_t o, int64_t stride, int64_t pad_begin, int64_t dilation, int64_t kernel,
                 int64_t lo, int64_t hi) {
  Taps t;
  t.first = o * stride - pad_begin;
  t.begin = 0;
  while (t.begin < kernel && t.first + t.begin * dilation < lo) ++t.begin;
  t.end = kernel;
  while (t.end > t.begin && t.first + (t.end - 1) * dilation >= hi) --t.end;
  return t;
}

template <typename T>
void max_pool(const PoolParams &p, const T *x, T *y, int64_t *indices, bool column_major,
              int threads) {
  assert(p.rank >= 1 && p.rank <= kMaxPoolSpatial);
  const int64_t in_plane = p.in_plane(), out_plane = p.out_plane();
  parallel_ranges(p.planes, threads, kMinParallelPlanes, [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      const T *xp = x + plane * in_plane;
      for (int64_t o0 = 0; o0 < p.out[0]; ++o0) {
        const Taps t0 =
            window_taps(o0, p.stride[0], p.pad_begin[0], p.dilation[0], p.kernel[0], 0, p.in[0]);
        for (int64_t o1 = 0; o1 < p.out[1]; ++o1) {
          const Taps t1 =
              window_taps(o1, p.stride[1], p.pad_begin[1], p.dilation[1], p.kernel[1], 0, p.in[1]);
          for (int64_t o2 = 0; o2 < p.out[2]; ++o2) {
            const Taps t2 = window_taps(o2, p.stride[2], p.pad_begin[2], p.dilation[2], p.kernel[2],
                                        0, p.in[2]);
            T best = std::numeric_limits<T>::lowest();
            int64_t i0b = -1, i1b = -1, i2b = -1;
            bool nan = false;
            for (int64_t k0 = t0.begin; k0 < t0.end && !nan; ++k0) {
              const int64_t i0 = t0.first + k0 * p.dilation[0];
              for (int64_t k1 = t1.begin; k1 < t1.end && !nan; ++k1) {
                const int64_t i1 = t1.first + k1 * p.dilation[1];
                for (int64_t k2 = t2.begin; k2 < t2.end; ++k2) {
                  const int64_t i2 = t2.first + k2 * p.dilation[2];
                  const T v = xp[(i0 * p.in[1] + i1) * p.in[2] + i2];
                  // NaN wins and stops the search, as in numpy's max.
                  if (v != v) nan = true;
                  if (nan || v > best || i0b < 0) {
                    best = v;
                    i0b = i0, i1b = i1, i2b = i2;
                  }
                  if (nan) break;
                }
              }
            }
            const int64_t o = (o0 * p.out[1] + o1) * p.out[2] + o2;
            y[plane * out_plane + o] = best;
            if (indices == nullptr) continue;
            int64_t at = -1;
            if (i0b >= 0) {
              // Unused trailing dims have index 0, so one formula serves every rank.
              at = column_major ? i0b + p.in[0] * (i1b + p.in[1] * i2b)
                                : (i0b * p.in[1] + i1b) * p.in[2] + i2b;
              at += plane * in_plane;
            }
            indices[plane * out_plane + o] = at;
          }
        }
      }
    }
  });
}

}  // namespace

void f32_max_pool(const PoolParams &p, const float *x, float *y, int64_t *indices,
                  bool column_major, int threads) {
  max_pool(p, x, y, indices, column_major, threads);
}

void u8_max_pool(const PoolParams &p, const uint8_t *x, uint8_t *y, int64_t *indices,
                 bool column_major, int threads) {
  max_pool(p, x, y, indices, column_major, threads);
}

void i8_max_pool(const PoolParams &p, const int8_t *x, int8_t *y, int64_t *indices,
                 bool column_major, int threads) {
  max_pool(p, x, y, indices, column_major, threads);
}

void f32_avg_pool(const PoolParams &p, const float *x, float *y, bool count_include_pad,
                  int threads) {
  assert(p.rank >= 1 && p.rank <= kMaxPoolSpatial);
  const int64_t in_plane = p.in_plane(), out_plane = p.out_plane();
  parallel_ranges(p.planes, threads, kMinParallelPlanes, [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      const float *xp = x + plane * in_plane;
      for (int64_t o0 = 0; o0 < p.out[0]; ++o0) {
        const Taps t0 =
            window_taps(o0, p.stride[0], p.pad_begin[0], p.dilation[0], p.kernel[0], 0, p.in[0]);
        const Taps c0 = window_taps(o0, p.stride[0], p.pad_begin[0], p.dilation[0], p.kernel[0],
                                    -p.pad_begin[0], p.in[0] + p.pad_end[0]);
        for (int64_t o1 = 0; o1 < p.out[1]; ++o1) {
          const Taps t1 =
              window_taps(o1, p.stride[1], p.pad_begin[1], p.dilation[1], p.kernel[1], 0, p.in[1]);
          const Taps c1 = window_taps(o1, p.stride[1], p.pad_begin[1], p.dilation[1], p.kernel[1],
                                      -p.pad_begin[1], p.in[1] + p.pad_end[1]);
          for (int64_t o2 = 0; o2 < p.out[2]; ++o2) {
            const Taps t2 = window_taps(o2, p.stride[2], p.pad_begin[2], p.dilation[2], p.kernel[2],
                                        0, p.in[2]);
            const Taps c2 = window_taps(o2, p.stride[2], p.pad_begin[2], p.dilation[2], p.kernel[2],
                                        -p.pad_begin[2], p.in[2] + p.pad_end[2]);
            double sum = 0;
            for (int64_t k0 = t0.begin; k0 < t0.end; ++k0) {
              const int64_t i0 = t0.first + k0 * p.dilation[0];
              for (int64_t k1 = t1.begin; k1 < t1.end; ++k1) {
                const int64_t i1 = t1.first + k1 * p.dilation[1];
                for (int64_t k2 = t2.begin; k2 < t2.end; ++k2)
                  sum += xp[(i0 * p.in[1] + i1) * p.in[2] + t2.first + k2 * p.dilation[2]];
              }
            }
            const Taps &d0 = count_include_pad ? c0 : t0;
            const Taps &d1 = count_include_pad ? c1 : t1;
            const Taps &d2 = count_include_pad ? c2 : t2;
            const int64_t n = (d0.end - d0.begin) * (d1.end - d1.begin) * (d2.end - d2.begin);
            y[plane * out_plane + (o0 * p.out[1] + o1) * p.out[2] + o2] =
                n > 0 ? float(sum / double(n)) : std::numeric_limits<float>::quiet_NaN();
          }
        }
      }
    }
  });
}

void f32_global_avg_pool(const float *x, float *y, int64_t planes, int64_t plane_size,
                         int threads) {
  parallel_ranges(planes, threads, kMinParallelPlanes, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      double sum = 0;
      for (int64_t i = 0; i < plane_size; ++i) sum += x[c * plane_size + i];
      y[c] = plane_size > 0 ? float(sum / double(plane_size))
                            : std::numeric_limits<float>::quiet_NaN();
    }
  });
}

void f32_global_avg_pool_blocked(const float *x, float *y, int64_t batch, int64_t channels,
                                 int64_t plane_size, int64_t block, int threads) {
  assert(block > 0 && channels % block == 0);
  const int64_t blocks = batch * (channels / block);
  parallel_ranges(blocks, threads, kMinParallelPlanes, [&](int64_t b, int64_t e) {
    std::vector<double> sum(static_cast<size_t>(block));
    for (int64_t nb = b; nb < e; ++nb) {
      std::fill(sum.begin(), sum.end(), 0.0);
      const float *xb = x + nb * plane_size * block;
      for (int64_t i = 0; i < plane_size; ++i)
        for (int64_t j = 0; j < block; ++j) sum[size_t(j)] += xb[i * block + j];
      for (int64_t j = 0; j < block; ++j) {
        y[nb * block + j] = plane_size > 0 ? float(sum[size_t(j)] / double(plane_size))
                                           : std::numeric_limits<float>::quiet_NaN();
      }
    }
  });
}

void f32_global_max_pool(const float *x, float *y, int64_t planes, int64_t plane_size,
                         int threads) {
  parallel_ranges(planes, threads, kMinParallelPlanes, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      float best = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < plane_size; ++i) {
        const float v = x[c * plane_size + i];
        if (v != v) {
          best = v;
          break;
        }
        if (v > best) best = v;
      }
      y[c] = best;
    }
  });
}

}  // namespace si::ref
