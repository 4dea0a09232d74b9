// ONNX Pad over bytes (any dtype).
#pragma once

#include <cstddef>
#include <cstdint>

namespace si::ref {

enum class PadMode { kConstant, kReflect, kEdge };

// y (dense, shape out_shape) = x padded with begin[k] >= 0 leading entries
// along axis k; out_shape[k] >= shape[k] + begin[k]. x is read with element
// strides x_strides, so a crop (negative pad) is a pointer offset and a
// smaller shape. kConstant fills with the elem_size bytes at `value`;
// kReflect mirrors without repeating the edge (numpy "reflect", periodic for
// pads wider than the axis) and kEdge repeats the edge: both need every
// padded axis to be non-empty.
void pad_bytes(const void *x, const int64_t *shape, const int64_t *x_strides, const int64_t *begin,
               const int64_t *out_shape, size_t rank, size_t elem_size, PadMode mode,
               const void *value, void *y);

}  // namespace si::ref
