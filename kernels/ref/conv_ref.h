// Direct convolution and transposed convolution in plain NC[D]HW layout, with
// ONNX's weight layouts. The reference for the oneDNN path and the fallback
// when a weight is only known at run time.
#pragma once

#include <cstdint>

namespace si::ref {

constexpr int kMaxConvSpatial = 3;

// One convolution problem. Spatial dims past `rank` stay 1 (kernel 1, stride
// 1, no padding), so 1-D and 2-D problems run as 3-D ones.
struct ConvParams {
  int64_t batch = 0;
  int64_t in_channels = 0;   // C of x (all groups)
  int64_t out_channels = 0;  // C of y (all groups)
  int64_t group = 1;
  int rank = 0;  // spatial dims in use, 1..kMaxConvSpatial
  int64_t in[kMaxConvSpatial] = {1, 1, 1};
  int64_t out[kMaxConvSpatial] = {1, 1, 1};
  int64_t kernel[kMaxConvSpatial] = {1, 1, 1};
  int64_t stride[kMaxConvSpatial] = {1, 1, 1};
  int64_t dilation[kMaxConvSpatial] = {1, 1, 1};
  // Padding before and after each spatial dim. A transposed convolution's may
  // be negative: that crops (begin) or extends (end) its output.
  int64_t pad_begin[kMaxConvSpatial] = {0, 0, 0};
  int64_t pad_end[kMaxConvSpatial] = {0, 0, 0};

  int64_t in_plane() const { return in[0] * in[1] * in[2]; }
  int64_t out_plane() const { return out[0] * out[1] * out[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
};

// y[n, oc, o] = bias[oc] + sum over the group's input channels ic and kernel
// taps k of x[n, ic, o*stride - pad_begin + k*dilation] * w[oc, ic, k];
// taps outside x read zero. w is [out_channels, in_channels/group, kernel...];
// bias may be null.
void f32_conv(const ConvParams &p, const float *x, const float *w, const float *bias, float *y,
              int threads);

// The adjoint of f32_conv (ONNX ConvTranspose): x is [batch, in_channels,
// in...], w is [in_channels, out_channels/group, kernel...], y is [batch,
// out_channels, out...] and receives x[n, ic, i] * w[ic, oc, k] at
// o = i*stride - pad_begin + k*dilation, plus bias[oc] (bias may be null).
void f32_conv_transpose(const ConvParams &p, const float *x, const float *w, const float *bias,
                        float *y, int threads);

}  // namespace si::ref
