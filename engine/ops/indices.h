// Index inputs shared by the indexing and scatter ops (GatherElements,
// GatherND, ScatterElements, ScatterND, OneHot, TopK's k, CumSum's axis):
// reading int32/int64 index tensors, bounds-checking each index against its
// axis, and dispatching a typed loop over the engine's numeric dtypes. Defined in
// indexing.cc where not inline.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/tensor.h"

namespace si {

inline bool is_index_dtype(DType t) {
  return t == DType::kInt32 || t == DType::kInt64;
}

inline Status require_index_dtype(const Tensor &t, const char *what) {
  if (is_index_dtype(t.dtype())) return Status::ok();
  return invalid_argument(std::string(what) + " must be int32 or int64, got " +
                          dtype_name(t.dtype()));
}

// Element i of an int32 or int64 tensor (checked by require_index_dtype).
inline int64_t index_at(const Tensor &t, int64_t i) {
  return t.dtype() == DType::kInt64 ? t.data<int64_t>()[i] : int64_t(t.data<int32_t>()[i]);
}

// Maps an index in [-dim, dim) to [0, dim); the error names the index, where
// it sits in `what` and the axis it was checked against.
inline Status normalize_index(int64_t v, int64_t dim, const char *what, int64_t position,
                              int64_t axis, int64_t *out) {
  if (v < -dim || v >= dim) {
    return invalid_argument(std::string(what) + " value " + std::to_string(v) + " at position " +
                            std::to_string(position) + " is out of range [" + std::to_string(-dim) +
                            ", " + std::to_string(dim - 1) + "] for axis " + std::to_string(axis));
  }
  *out = v < 0 ? v + dim : v;
  return Status::ok();
}

// A one-element int32/int64 tensor (TopK's k, CumSum's axis, Trilu's k).
inline Status scalar_index(const Tensor &t, const char *what, int64_t *out) {
  SI_RETURN_IF_ERROR(require_index_dtype(t, what));
  if (t.numel() != 1 || t.rank() > 1) {
    return invalid_argument(std::string(what) + " must hold exactly one value, got shape " +
                            shape_str(t.shape()));
  }
  *out = index_at(t, 0);
  return Status::ok();
}

// Calls f(T{}) with T the C++ type of a numeric dtype (bool as uint8_t);
// false for kUndefined.
template <typename F>
bool visit_dtype(DType t, F &&f) {
  switch (t) {
    case DType::kFloat32:
      f(float{});
      return true;
    case DType::kUint8:
    case DType::kBool:
      f(uint8_t{});
      return true;
    case DType::kInt8:
      f(int8_t{});
      return true;
    case DType::kInt32:
      f(int32_t{});
      return true;
    case DType::kInt64:
      f(int64_t{});
      return true;
    case DType::kUndefined:
      break;
  }
  return false;
}

// A shape viewed as [outer, dim(axis), inner] around one axis (TopK, CumSum,
// LpNormalization walk lines along that axis).
inline void split_at_axis(const Shape &s, int64_t axis, int64_t *outer, int64_t *inner) {
  *outer = 1;
  *inner = 1;
  for (int64_t d = 0; d < int64_t(s.size()); ++d)
    if (d != axis) *(d < axis ? outer : inner) *= s[size_t(d)];
}

// Row-major element strides of a shape.
inline Shape strides_of(const Shape &s) {
  Shape st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

// Indices with data's rank, every dim but `axis` within data's (the shape
// rule GatherElements and ScatterElements share).
Status check_element_indices(const Tensor &data, const Tensor &indices, int64_t axis);
// Those indices normalised to [0, data.dim(axis)), each checked.
Status element_indices(const Tensor &data, const Tensor &indices, int64_t axis,
                       std::vector<int64_t> *out);

// The geometry GatherND and ScatterND share: data [batch (b dims), indexed
// (m dims), slice dims], indices [batch, tuples..., m].
struct NdPlan {
  int64_t batches = 1;       // product of the batch dims
  int64_t tuples = 1;        // index tuples per batch
  int64_t m = 0;             // length of one tuple
  int64_t slice = 1;         // elements copied per tuple
  int64_t batch_stride = 1;  // data elements per batch
  Shape tuple_dims;          // data dims the tuple indexes
  Shape tuple_strides;       // their strides in elements
  Shape out_shape;           // indices.shape[:-1] + data.shape[b+m:]
};

Status nd_plan(const Tensor &data, const Tensor &indices, int64_t b, NdPlan *p);
// Element offset into data of each tuple (its batch's offset included), each
// index checked against its dim.
Status nd_offsets(const NdPlan &p, const Tensor &indices, int64_t b, std::vector<int64_t> *out);

}  // namespace si
