// Strided data movement over bytes (any dtype): Transpose, Slice, Split and
// Tile reduce to these.
#pragma once

#include <cstddef>
#include <cstdint>

namespace si::ref {

// dst (dense, row-major, shape dims[0..rank)) = src viewed with element
// strides src_strides (negative for reversed axes, 0 for repeats). rank 0
// copies one element.
void strided_copy_bytes(const void *src, const int64_t *dims, const int64_t *src_strides,
                        size_t rank, size_t elem_size, void *dst);

// y = x with axes permuted: y.shape[k] = shape[perm[k]]. perm must be a
// permutation of [0, rank). Size-1 axes are dropped and axes that stay
// adjacent are merged first, so NCHW<->NHWC and any batched 2-D transpose
// run as a tiled 2-D transpose.
void transpose_bytes(const void *x, const int64_t *shape, const int64_t *perm, size_t rank,
                     size_t elem_size, void *y);

// y = x repeated repeats[k] times along each axis k (ONNX Tile).
void tile_bytes(const void *x, const int64_t *shape, const int64_t *repeats, size_t rank,
                size_t elem_size, void *y);

}  // namespace si::ref
