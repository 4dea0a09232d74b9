#include "kernels/ref/conv_ref.h"

#include <cassert>

#include "kernels/ref/parallel.h"

namespace si::ref {

namespace {

// One (batch, output channel) plane is one unit of parallel work; a plane of
// a small layer is still thousands of multiply-adds.
constexpr int64_t kMinParallelPlanes = 2;

void check(const ConvParams &p) {
  assert(p.group >= 1 && p.in_channels % p.group == 0 && p.out_channels % p.group == 0);
  assert(p.rank >= 1 && p.rank <= kMaxConvSpatial);
  for (int d = 0; d < kMaxConvSpatial; ++d) assert(p.stride[d] >= 1 && p.dilation[d] >= 1);
  (void)p;
}

}  // namespace

void f32_conv(const ConvParams &p, const float *x, const float *w, const float *bias, float *y,
              int threads) {
  check(p);
  const int64_t icg = p.in_channels / p.group, ocg = p.out_channels / p.group;
  const int64_t in_plane = p.in_plane(), out_plane = p.out_plane(), ks = p.kernel_size();
  parallel_ranges(p.batch * p.out_channels, threads, kMinParallelPlanes, [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      const int64_t n = plane / p.out_channels, oc = plane % p.out_channels;
      const int64_t g = oc / ocg;
      const float *xg = x + (n * p.in_channels + g * icg) * in_plane;
      const float *wo = w + oc * icg * ks;
      float *yp = y + plane * out_plane;
      for (int64_t o0 = 0; o0 < p.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < p.out[1]; ++o1)
          for (int64_t o2 = 0; o2 < p.out[2]; ++o2) {
            double acc = bias != nullptr ? bias[oc] : 0.0;
            for (int64_t ic = 0; ic < icg; ++ic)
              for (int64_t k0 = 0; k0 < p.kernel[0]; ++k0) {
                const int64_t i0 = o0 * p.stride[0] - p.pad_begin[0] + k0 * p.dilation[0];
                if (i0 < 0 || i0 >= p.in[0]) continue;
                for (int64_t k1 = 0; k1 < p.kernel[1]; ++k1) {
                  const int64_t i1 = o1 * p.stride[1] - p.pad_begin[1] + k1 * p.dilation[1];
                  if (i1 < 0 || i1 >= p.in[1]) continue;
                  for (int64_t k2 = 0; k2 < p.kernel[2]; ++k2) {
                    const int64_t i2 = o2 * p.stride[2] - p.pad_begin[2] + k2 * p.dilation[2];
                    if (i2 < 0 || i2 >= p.in[2]) continue;
                    acc += double(xg[ic * in_plane + (i0 * p.in[1] + i1) * p.in[2] + i2]) *
                           double(wo[ic * ks + (k0 * p.kernel[1] + k1) * p.kernel[2] + k2]);
                  }
                }
              }
            yp[(o0 * p.out[1] + o1) * p.out[2] + o2] = float(acc);
          }
    }
  });
}

namespace {

// The input index that output position o reads through tap k of one
// spatial dim of a transposed convolution, or -1 when none does.
int64_t source_index(int64_t o, int64_t k, int64_t stride, int64_t dilation, int64_t pad_begin,
                     int64_t in) {
  const int64_t t = o + pad_begin - k * dilation;
  if (t < 0 || t % stride != 0) return -1;
  const int64_t i = t / stride;
  return i < in ? i : -1;
}

}  // namespace

void f32_conv_transpose(const ConvParams &p, const float *x, const float *w, const float *bias,
                        float *y, int threads) {
  check(p);
  const int64_t icg = p.in_channels / p.group, ocg = p.out_channels / p.group;
  const int64_t in_plane = p.in_plane(), out_plane = p.out_plane(), ks = p.kernel_size();
  // Gathered per output element (instead of scattered per input) so threads
  // own disjoint output planes.
  parallel_ranges(p.batch * p.out_channels, threads, kMinParallelPlanes, [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      const int64_t n = plane / p.out_channels, oc = plane % p.out_channels;
      const int64_t g = oc / ocg, ocl = oc % ocg;
      const float *xg = x + (n * p.in_channels + g * icg) * in_plane;
      float *yp = y + plane * out_plane;
      for (int64_t o0 = 0; o0 < p.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < p.out[1]; ++o1)
          for (int64_t o2 = 0; o2 < p.out[2]; ++o2) {
            double acc = bias != nullptr ? bias[oc] : 0.0;
            for (int64_t ic = 0; ic < icg; ++ic) {
              const float *wi = w + ((g * icg + ic) * ocg + ocl) * ks;
              for (int64_t k0 = 0; k0 < p.kernel[0]; ++k0) {
                const int64_t i0 =
                    source_index(o0, k0, p.stride[0], p.dilation[0], p.pad_begin[0], p.in[0]);
                if (i0 < 0) continue;
                for (int64_t k1 = 0; k1 < p.kernel[1]; ++k1) {
                  const int64_t i1 =
                      source_index(o1, k1, p.stride[1], p.dilation[1], p.pad_begin[1], p.in[1]);
                  if (i1 < 0) continue;
                  for (int64_t k2 = 0; k2 < p.kernel[2]; ++k2) {
                    const int64_t i2 =
                        source_index(o2, k2, p.stride[2], p.dilation[2], p.pad_begin[2], p.in[2]);
                    if (i2 < 0) continue;
                    acc += double(xg[ic * in_plane + (i0 * p.in[1] + i1) * p.in[2] + i2]) *
                           double(wi[(k0 * p.kernel[1] + k1) * p.kernel[2] + k2]);
                  }
                }
              }
            }
            yp[(o0 * p.out[1] + o1) * p.out[2] + o2] = float(acc);
          }
    }
  });
}

}  // namespace si::ref
