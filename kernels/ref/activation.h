// Elementwise activations over n contiguous elements. NaN propagates (as
// numpy's max/clip do) except through ThresholdedRelu, whose spec maps every
// x that is not > alpha, NaN included, to 0.
#pragma once

#include <cstdint>

namespace si::ref {

void relu_f32(const float *x, float *y, int64_t n, int threads);
void leaky_relu_f32(const float *x, float *y, int64_t n, float alpha, int threads);
// y = x if x > alpha else 0.
void thresholded_relu_f32(const float *x, float *y, int64_t n, float alpha, int threads);
// No element is Inf or NaN. Fused epilogues whose activation would not carry
// a NaN through (oneDNN's relu and clip post-ops turn it into a bound) check
// their inputs with it and take the exact path when it fails.
bool f32_all_finite(const float *x, int64_t n);
// y = min(max(x, lo), hi), applied in that order as ONNX specifies (lo > hi
// gives hi everywhere).
void clip_f32(const float *x, float *y, int64_t n, float lo, float hi, int threads);
void clip_i32(const int32_t *x, int32_t *y, int64_t n, int32_t lo, int32_t hi, int threads);
void clip_i64(const int64_t *x, int64_t *y, int64_t n, int64_t lo, int64_t hi, int threads);
void clip_u8(const uint8_t *x, uint8_t *y, int64_t n, uint8_t lo, uint8_t hi, int threads);
void clip_i8(const int8_t *x, int8_t *y, int64_t n, int8_t lo, int8_t hi, int threads);
void sigmoid_f32(const float *x, float *y, int64_t n, int threads);
void tanh_f32(const float *x, float *y, int64_t n, int threads);

}  // namespace si::ref
