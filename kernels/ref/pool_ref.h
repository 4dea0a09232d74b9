// Max and average pooling over plain NC[D]HW planes (ONNX MaxPool,
// AveragePool, GlobalMaxPool, GlobalAveragePool).
#pragma once

#include <cstdint>

namespace si::ref {

constexpr int kMaxPoolSpatial = 3;

// One pooling problem over `planes` independent planes (batch * channels).
// Spatial dims past `rank` stay 1.
struct PoolParams {
  int64_t planes = 0;
  int rank = 0;  // 1..kMaxPoolSpatial
  int64_t in[kMaxPoolSpatial] = {1, 1, 1};
  int64_t out[kMaxPoolSpatial] = {1, 1, 1};
  int64_t kernel[kMaxPoolSpatial] = {1, 1, 1};
  int64_t stride[kMaxPoolSpatial] = {1, 1, 1};
  int64_t dilation[kMaxPoolSpatial] = {1, 1, 1};
  int64_t pad_begin[kMaxPoolSpatial] = {0, 0, 0};
  int64_t pad_end[kMaxPoolSpatial] = {0, 0, 0};

  int64_t in_plane() const { return in[0] * in[1] * in[2]; }
  int64_t out_plane() const { return out[0] * out[1] * out[2]; }
};

// Window o covers input positions o*stride - pad_begin + k*dilation, k in
// [0, kernel). Taps outside the input are skipped (padding never wins a max).
// A window with no tap inside the input yields the type's lowest value and
// index -1. indices (may be null) receives the flat position in the whole
// input (plane offset included) of each maximum, the first one on ties;
// column_major numbers the spatial dims the other way round (ONNX
// storage_order = 1). NaN inputs propagate.
void f32_max_pool(const PoolParams &p, const float *x, float *y, int64_t *indices,
                  bool column_major, int threads);
void u8_max_pool(const PoolParams &p, const uint8_t *x, uint8_t *y, int64_t *indices,
                 bool column_major, int threads);
void i8_max_pool(const PoolParams &p, const int8_t *x, int8_t *y, int64_t *indices,
                 bool column_major, int threads);

// Mean of each window's taps. count_include_pad: the divisor counts taps in
// the padded extent [-pad_begin, in + pad_end) too, as zeros; otherwise only
// taps inside the input. A window with nothing to count yields NaN (0/0).
void f32_avg_pool(const PoolParams &p, const float *x, float *y, bool count_include_pad,
                  int threads);

// One value per plane of `plane_size` elements: its mean or its maximum.
void f32_global_avg_pool(const float *x, float *y, int64_t planes, int64_t plane_size, int threads);
// The same means from x in the channel-blocked layout (ref/blocked_layout.h,
// channels % block == 0), each summed in the same order, so the bits agree
// with f32_global_avg_pool on the plain tensor. y is [batch, channels] (a
// [N, C, 1...] result is the same bytes in either layout).
void f32_global_avg_pool_blocked(const float *x, float *y, int64_t batch, int64_t channels,
                                 int64_t plane_size, int64_t block, int threads);
void f32_global_max_pool(const float *x, float *y, int64_t planes, int64_t plane_size, int threads);

}  // namespace si::ref
