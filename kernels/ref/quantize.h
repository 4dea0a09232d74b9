// The ONNX linear quantization formulas as plain loops: DequantizeLinear,
// QuantizeLinear and DynamicQuantizeLinear. Each is the op's spec formula in
// float32, so these are both the engine's kernels and the tests' oracle for
// any faster variant.
#pragma once

#include <cstdint>

namespace si::ref {

// The tensor seen as [outer, channels, inner]: element (o, c, i) uses
// scale[c] and zero[c]. Per-tensor quantization is channels = 1 (inner = all).
struct QuantAxis {
  int64_t outer = 1;
  int64_t channels = 1;
  int64_t inner = 1;
};

// y = float(x - zero) * scale; zero == nullptr means 0. The subtraction is
// exact (in int64 for int32 codes), so the one rounding is in the product.
void dequantize_linear(const int8_t *x, const float *scale, const int8_t *zero, const QuantAxis &a,
                       float *y);
void dequantize_linear(const uint8_t *x, const float *scale, const uint8_t *zero,
                       const QuantAxis &a, float *y);
void dequantize_linear(const int32_t *x, const float *scale, const int32_t *zero,
                       const QuantAxis &a, float *y);

// y = saturate(round_half_even(x / scale) + zero) to the code type's range;
// zero == nullptr means 0. NaN quantizes to the zero point (ONNX leaves it
// undefined; this keeps the output a valid code).
void quantize_linear(const float *x, const float *scale, const int8_t *zero, const QuantAxis &a,
                     int8_t *y);
void quantize_linear(const float *x, const float *scale, const uint8_t *zero, const QuantAxis &a,
                     uint8_t *y);

// DynamicQuantizeLinear (opset 11), the spec's formula in float32:
//   lo = min(0, min(x)), hi = max(0, max(x))      (the range always holds 0)
//   scale = (hi - lo) / 255
//   zero = round_half_even(clamp(0 - lo / scale, 0, 255))
//   y = saturate(round_half_even(x / scale) + zero)
// An all-zero (or empty) x has scale 0: y and zero are then 0, which keeps 0
// mapping to the zero point. NaN elements are left out of min/max.
void dynamic_quantize_linear(const float *x, int64_t n, uint8_t *y, float *scale, uint8_t *zero);

}  // namespace si::ref
