// Numpy-style broadcasting reduced to a few merged loops, and the axis
// helpers every shape rule needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace si::ref {

// Maps an ONNX axis in [-rank, rank) to [0, rank); false when out of range.
// Ops whose axis may equal rank (Flatten, Unsqueeze) pass rank + 1.
bool normalize_axis(int64_t axis, int64_t rank, int64_t *out);

// Multidirectional broadcast of two shapes; false if some dim pair differs
// and neither is 1.
bool broadcast_shape(const std::vector<int64_t> &a, const std::vector<int64_t> &b,
                     std::vector<int64_t> *out);

// Iteration plan for y[out] = f(a[...], b[...]). Dims of the output where
// both operands advance the same way are merged, so the common cases
// (same shape, scalar, bias row) collapse to one or two loops with a
// contiguous innermost run.
struct BroadcastPlan {
  std::vector<int64_t> dims;       // merged output dims, outermost first
  std::vector<int64_t> a_strides;  // in elements; 0 where a is broadcast
  std::vector<int64_t> b_strides;
  int64_t numel = 0;  // elements of the output
};

// Precondition: rank(a), rank(b) <= rank(out) and every right-aligned dim of
// a and b equals the output's or is 1.
BroadcastPlan make_broadcast_plan(const std::vector<int64_t> &a, const std::vector<int64_t> &b,
                                  const std::vector<int64_t> &out);

// dst[out] = src[...] for a src shape that broadcasts to out (Expand).
// elem_size is the byte size of one element.
void broadcast_copy(const void *src, const std::vector<int64_t> &src_shape, void *dst,
                    const std::vector<int64_t> &out_shape, size_t elem_size);

}  // namespace si::ref
