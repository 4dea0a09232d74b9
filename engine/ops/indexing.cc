// Indexing ops: GatherElements, GatherND, OneHot, NonZero, TopK, CumSum and
// Trilu. Every index is bounds-checked before any element moves; an index out
// of range is an invalid_argument naming the index (the session prefixes the
// node). The loops are plain functions over pointers and sizes; data moves
// as bytes, so every dtype the engine holds works where the spec allows it.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/ops/indices.h"
#include "engine/ops/ops.h"
#include "kernels/ref/broadcast.h"

namespace si {

namespace {

Status axis_of(int64_t axis, int64_t rank, const Shape &s, const char *what, int64_t *out) {
  if (!ref::normalize_axis(axis, rank, out)) {
    return invalid_argument("axis " + std::to_string(axis) + " is out of range for " + what + " " +
                            shape_str(s));
  }
  return Status::ok();
}

// ---- GatherElements -----------------------------------------------------------

// out[p] = data[p with coordinate `axis` replaced by idx[p]]; idx already in range.
void gather_elements_bytes(const uint8_t *data, const Shape &dshape, const int64_t *idx,
                           const Shape &ishape, int64_t axis, size_t es, uint8_t *out) {
  const Shape dst = strides_of(dshape);
  const size_t rank = ishape.size();
  std::vector<int64_t> coord(rank, 0);
  const int64_t n = numel(ishape);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (size_t d = 0; d < rank; ++d) off += (int64_t(d) == axis ? idx[i] : coord[d]) * dst[d];
    std::memcpy(out + size_t(i) * es, data + size_t(off) * es, es);
    for (size_t d = rank; d-- > 0;) {
      if (++coord[d] < ishape[d]) break;
      coord[d] = 0;
    }
  }
}

class GatherElementsKernel final : public OpKernel {
 public:
  explicit GatherElementsKernel(int64_t axis) : axis_(axis) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    int64_t axis;
    SI_RETURN_IF_ERROR(check(*in[0], *in[1], &axis));
    out->push_back(OutputDesc{in[0]->dtype(), in[1]->shape(), -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &data = *in[0], &indices = *in[1];
    int64_t axis;
    SI_RETURN_IF_ERROR(check(data, indices, &axis));
    std::vector<int64_t> idx;
    SI_RETURN_IF_ERROR(element_indices(data, indices, axis, &idx));
    if (indices.numel() == 0) return Status::ok();
    gather_elements_bytes(data.data<uint8_t>(), data.shape(), idx.data(), indices.shape(), axis,
                          dtype_size(data.dtype()), out[0]->data<uint8_t>());
    return Status::ok();
  }

 private:
  Status check(const Tensor &data, const Tensor &indices, int64_t *axis) const {
    SI_RETURN_IF_ERROR(axis_of(axis_, data.rank(), data.shape(), "data", axis));
    return check_element_indices(data, indices, *axis);
  }
  int64_t axis_;
};

// ---- GatherND -----------------------------------------------------------------

class GatherNDKernel final : public OpKernel {
 public:
  explicit GatherNDKernel(int64_t batch_dims) : b_(batch_dims) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    NdPlan p;
    SI_RETURN_IF_ERROR(nd_plan(*in[0], *in[1], b_, &p));
    out->push_back(OutputDesc{in[0]->dtype(), p.out_shape, -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    NdPlan p;
    SI_RETURN_IF_ERROR(nd_plan(*in[0], *in[1], b_, &p));
    std::vector<int64_t> offsets;
    SI_RETURN_IF_ERROR(nd_offsets(p, *in[1], b_, &offsets));
    const size_t es = dtype_size(in[0]->dtype()), row = size_t(p.slice) * es;
    const uint8_t *src = in[0]->data<uint8_t>();
    uint8_t *dst = out[0]->data<uint8_t>();
    for (size_t t = 0; t < offsets.size(); ++t)
      if (row != 0) std::memcpy(dst + t * row, src + size_t(offsets[t]) * es, row);
    return Status::ok();
  }

 private:
  int64_t b_;
};

// ---- OneHot -------------------------------------------------------------------

// One value of a numeric tensor as a double (indices and depth of OneHot may
// be any numeric type).
double numeric_at(const Tensor &t, int64_t i) {
  double v = 0;
  visit_dtype(t.dtype(), [&](auto z) { v = double(t.data<decltype(z)>()[i]); });
  return v;
}

class OneHotKernel final : public OpKernel {
 public:
  explicit OneHotKernel(int64_t axis) : axis_(axis) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    int64_t depth, axis;
    Shape y;
    SI_RETURN_IF_ERROR(check(in, &depth, &axis, &y));
    out->push_back(OutputDesc{in[2]->dtype(), y, -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    int64_t depth, axis;
    Shape y;
    SI_RETURN_IF_ERROR(check(in, &depth, &axis, &y));
    const Tensor &idx = *in[0], &values = *in[2];
    const size_t es = dtype_size(values.dtype());
    const uint8_t *off = values.data<uint8_t>(), *on = off + es;
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= y[size_t(d)];
    for (size_t d = size_t(axis) + 1; d < y.size(); ++d) inner *= y[d];
    uint8_t *dst = out[0]->data<uint8_t>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < depth; ++k)
        for (int64_t i = 0; i < inner; ++i) {
          double v = numeric_at(idx, o * inner + i);
          if (v < 0) v += double(depth);
          // Indices outside [-depth, depth) give a row of off values (spec).
          const bool hot = v >= 0 && v < double(depth) && int64_t(v) == k;
          std::memcpy(dst + size_t((o * depth + k) * inner + i) * es, hot ? on : off, es);
        }
    return Status::ok();
  }

 private:
  Status check(const std::vector<const Tensor *> &in, int64_t *depth, int64_t *axis,
               Shape *y) const {
    const Tensor &idx = *in[0], &d = *in[1], &values = *in[2];
    if (idx.dtype() == DType::kBool || d.dtype() == DType::kBool)
      return invalid_argument("indices and depth must be numeric, not bool");
    if (d.numel() != 1) {
      return invalid_argument("depth must hold one value, got shape " + shape_str(d.shape()));
    }
    const double dv = numeric_at(d, 0);
    if (!(dv >= 1) || dv > double(kMaxElements))
      return invalid_argument("depth " + std::to_string(dv) + " must be >= 1");
    *depth = int64_t(dv);
    if (values.numel() != 2 || values.rank() != 1) {
      return invalid_argument("values must be [off_value, on_value], got shape " +
                              shape_str(values.shape()));
    }
    SI_RETURN_IF_ERROR(axis_of(axis_, idx.rank() + 1, idx.shape(), "indices (plus one)", axis));
    *y = idx.shape();
    y->insert(y->begin() + *axis, *depth);
    int64_t n;
    return checked_numel(*y, &n);
  }
  int64_t axis_;
};

// ---- NonZero ------------------------------------------------------------------

// Flat positions of the non-zero elements of x (NaN counts as non-zero).
std::vector<int64_t> nonzero_positions(const Tensor &x) {
  std::vector<int64_t> pos;
  visit_dtype(x.dtype(), [&](auto z) {
    const auto *p = x.data<decltype(z)>();
    for (int64_t i = 0; i < x.numel(); ++i)
      if (p[i] != decltype(z)(0)) pos.push_back(i);
  });
  return pos;
}

class NonZeroKernel final : public OpKernel {
 public:
  // The output's shape depends on the data: reshape counts, run writes.
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    if (dtype_size(in[0]->dtype()) == 0) return invalid_argument("input X has no dtype");
    const int64_t nnz = int64_t(nonzero_positions(*in[0]).size());
    out->push_back(OutputDesc{DType::kInt64, {in[0]->rank(), nnz}, -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &x = *in[0];
    const std::vector<int64_t> pos = nonzero_positions(x);
    if (out[0]->numel() != x.rank() * int64_t(pos.size()))
      return internal_error("NonZero output does not match the count made in reshape");
    int64_t *y = out[0]->data<int64_t>();
    const int64_t nnz = int64_t(pos.size());
    for (int64_t j = 0; j < nnz; ++j) {
      int64_t flat = pos[size_t(j)];
      for (int64_t d = x.rank(); d-- > 0;) {
        y[d * nnz + j] = flat % x.dim(d);
        flat /= x.dim(d);
      }
    }
    return Status::ok();
  }
};

// ---- TopK ---------------------------------------------------------------------

// x viewed as [outer, n, inner]: the k largest (or smallest) of each line
// along n, in order, ties broken by the lower index (ONNX). A NaN orders
// above every number, as in numpy.sort and torch.topk: first among the
// largest, never among the smallest while numbers remain.
template <typename T>
void topk_lines(const T *x, int64_t outer, int64_t n, int64_t inner, int64_t k, bool largest,
                T *values, int64_t *indices) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  auto above = [](T a, T b) {  // a orders strictly above b
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(a)) return !std::isnan(b);
      if (std::isnan(b)) return false;
    }
    return a > b;
  };
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const T *line = x + o * n * inner + i;
      std::iota(order.begin(), order.end(), int64_t{0});
      auto before = [&](int64_t a, int64_t b) {
        const T va = line[a * inner], vb = line[b * inner];
        if (largest ? above(va, vb) : above(vb, va)) return true;
        if (largest ? above(vb, va) : above(va, vb)) return false;
        return a < b;
      };
      std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
      for (int64_t j = 0; j < k; ++j) {
        const size_t at = size_t((o * k + j) * inner + i);
        values[at] = line[order[size_t(j)] * inner];
        indices[at] = order[size_t(j)];
      }
    }
}

class TopKKernel final : public OpKernel {
 public:
  // k_attr >= 0: opset 1's attribute; else k is input 1.
  TopKKernel(int64_t axis, int64_t k_attr, bool largest)
      : axis_(axis), k_attr_(k_attr), largest_(largest) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    int64_t axis, k;
    SI_RETURN_IF_ERROR(check(in, &axis, &k));
    Shape y = in[0]->shape();
    y[size_t(axis)] = k;
    out->push_back(OutputDesc{in[0]->dtype(), y, -1});
    out->push_back(OutputDesc{DType::kInt64, y, -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &x = *in[0];
    int64_t axis, k;
    SI_RETURN_IF_ERROR(check(in, &axis, &k));
    int64_t outer, inner;
    split_at_axis(x.shape(), axis, &outer, &inner);
    visit_dtype(x.dtype(), [&](auto z) {
      using T = decltype(z);
      topk_lines<T>(x.data<T>(), outer, x.dim(axis), inner, k, largest_, out[0]->data<T>(),
                    out[1]->data<int64_t>());
    });
    return Status::ok();
  }

 private:
  Status check(const std::vector<const Tensor *> &in, int64_t *axis, int64_t *k) const {
    const Tensor &x = *in[0];
    if (x.dtype() == DType::kBool || x.dtype() == DType::kUndefined)
      return invalid_argument(std::string("input X has dtype ") + dtype_name(x.dtype()) +
                              ", TopK needs a numeric type");
    SI_RETURN_IF_ERROR(axis_of(axis_, x.rank(), x.shape(), "X", axis));
    *k = k_attr_;
    if (k_attr_ < 0) {
      if (in.size() < 2 || in[1] == nullptr) return invalid_argument("input K is missing");
      if (in[1]->dtype() != DType::kInt64) return invalid_argument("K must be int64");
      SI_RETURN_IF_ERROR(scalar_index(*in[1], "K", k));
    }
    if (*k < 0 || *k > x.dim(*axis)) {
      return invalid_argument("k = " + std::to_string(*k) + " is outside [0, " +
                              std::to_string(x.dim(*axis)) + "] for axis " + std::to_string(*axis) +
                              " of X " + shape_str(x.shape()));
    }
    return Status::ok();
  }
  int64_t axis_;
  int64_t k_attr_;
  bool largest_;
};

// ---- CumSum -------------------------------------------------------------------

// x viewed as [outer, n, inner]; running sums along n in T (as ONNX Runtime
// and numpy.cumsum accumulate), optionally exclusive and/or from the end.
template <typename T>
void cumsum_lines(const T *x, int64_t outer, int64_t n, int64_t inner, bool exclusive, bool reverse,
                  T *y) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      T acc = T(0);
      for (int64_t s = 0; s < n; ++s) {
        const int64_t j = reverse ? n - 1 - s : s;
        const size_t at = size_t((o * n + j) * inner + i);
        const T v = x[at];
        if (exclusive) {
          y[at] = acc;
          acc = T(acc + v);
        } else {
          acc = T(acc + v);
          y[at] = acc;
        }
      }
    }
}

class CumSumKernel final : public OpKernel {
 public:
  CumSumKernel(bool exclusive, bool reverse) : exclusive_(exclusive), reverse_(reverse) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    int64_t axis;
    SI_RETURN_IF_ERROR(check(in, &axis));
    out->push_back(OutputDesc{in[0]->dtype(), in[0]->shape(), -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &x = *in[0];
    int64_t axis;
    SI_RETURN_IF_ERROR(check(in, &axis));
    int64_t outer, inner;
    split_at_axis(x.shape(), axis, &outer, &inner);
    visit_dtype(x.dtype(), [&](auto z) {
      using T = decltype(z);
      cumsum_lines<T>(x.data<T>(), outer, x.dim(axis), inner, exclusive_, reverse_,
                      out[0]->data<T>());
    });
    return Status::ok();
  }

 private:
  static Status check(const std::vector<const Tensor *> &in, int64_t *axis) {
    const Tensor &x = *in[0];
    const DType t = x.dtype();
    if (t != DType::kFloat32 && t != DType::kInt32 && t != DType::kInt64) {
      return unsupported(std::string("input x has dtype ") + dtype_name(t) +
                         ", CumSum supports float32, int32 and int64");
    }
    int64_t a;
    SI_RETURN_IF_ERROR(scalar_index(*in[1], "axis", &a));
    if (x.rank() == 0) return invalid_argument("input x must have rank >= 1");
    return axis_of(a, x.rank(), x.shape(), "x", axis);
  }
  bool exclusive_, reverse_;
};

// ---- Trilu --------------------------------------------------------------------

// Keeps the upper (j - i >= k) or lower (j - i <= k) triangle of each matrix
// of the last two dims, zeroing the rest.
void trilu_bytes(const uint8_t *x, int64_t batch, int64_t rows, int64_t cols, int64_t k, bool upper,
                 size_t es, uint8_t *y) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < rows; ++i) {
      const size_t row = size_t((b * rows + i) * cols) * es;
      for (int64_t j = 0; j < cols; ++j) {
        const bool keep = upper ? j - i >= k : j - i <= k;
        if (keep)
          std::memcpy(y + row + size_t(j) * es, x + row + size_t(j) * es, es);
        else
          std::memset(y + row + size_t(j) * es, 0, es);
      }
    }
}

class TriluKernel final : public OpKernel {
 public:
  explicit TriluKernel(bool upper) : upper_(upper) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    int64_t k;
    SI_RETURN_IF_ERROR(check(in, &k));
    out->push_back(OutputDesc{in[0]->dtype(), in[0]->shape(), -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &x = *in[0];
    int64_t k;
    SI_RETURN_IF_ERROR(check(in, &k));
    const int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
    if (x.numel() == 0) return Status::ok();
    trilu_bytes(x.data<uint8_t>(), x.numel() / (rows * cols), rows, cols, k, upper_,
                dtype_size(x.dtype()), out[0]->data<uint8_t>());
    return Status::ok();
  }

 private:
  static Status check(const std::vector<const Tensor *> &in, int64_t *k) {
    if (in[0]->rank() < 2)
      return invalid_argument("input must have rank >= 2, got " + shape_str(in[0]->shape()));
    *k = 0;
    if (in.size() > 1 && in[1] != nullptr) {
      if (in[1]->dtype() != DType::kInt64) return invalid_argument("k must be int64");
      SI_RETURN_IF_ERROR(scalar_index(*in[1], "k", k));
    }
    return Status::ok();
  }
  bool upper_;
};

Status require(const LoadContext &ctx, size_t min, size_t max, const char *names) {
  if (ctx.num_inputs() < min || ctx.num_inputs() > max)
    return invalid_model(std::string("expects inputs ") + names);
  for (size_t i = 0; i < min; ++i)
    if (!ctx.has_input(i)) return invalid_model(std::string("expects inputs ") + names);
  return Status::ok();
}

Status bool_attr(const Node &n, const char *name, int64_t fallback, bool *out) {
  const int64_t v = n.attr_int(name, fallback);
  if (v != 0 && v != 1) return invalid_model(std::string("attribute ") + name + " must be 0 or 1");
  *out = v == 1;
  return Status::ok();
}

}  // namespace

// Indices with data's rank, every dim but `axis` within data's: the shape
// check GatherElements and ScatterElements share.
Status check_element_indices(const Tensor &data, const Tensor &indices, int64_t axis) {
  SI_RETURN_IF_ERROR(require_index_dtype(indices, "indices"));
  if (indices.rank() != data.rank()) {
    return invalid_argument("indices " + shape_str(indices.shape()) +
                            " must have the rank of data " + shape_str(data.shape()));
  }
  for (int64_t d = 0; d < data.rank(); ++d) {
    if (d != axis && indices.dim(d) > data.dim(d)) {
      return invalid_argument("indices " + shape_str(indices.shape()) + " exceed data " +
                              shape_str(data.shape()) + " on axis " + std::to_string(d));
    }
  }
  return Status::ok();
}

// Indices of an element-wise gather/scatter, normalised to [0, dim(axis)).
Status element_indices(const Tensor &data, const Tensor &indices, int64_t axis,
                       std::vector<int64_t> *out) {
  out->resize(size_t(indices.numel()));
  for (int64_t i = 0; i < indices.numel(); ++i)
    SI_RETURN_IF_ERROR(normalize_index(index_at(indices, i), data.dim(axis), "indices", i, axis,
                                       &(*out)[size_t(i)]));
  return Status::ok();
}

Status nd_plan(const Tensor &data, const Tensor &indices, int64_t b, NdPlan *p) {
  SI_RETURN_IF_ERROR(require_index_dtype(indices, "indices"));
  const int64_t r = data.rank(), q = indices.rank();
  if (q < 1 || r < 1) return invalid_argument("data and indices must have rank >= 1");
  if (b < 0 || b >= std::min(r, q)) {
    return invalid_argument("batch_dims " + std::to_string(b) +
                            " must be below the ranks of data " + shape_str(data.shape()) +
                            " and indices " + shape_str(indices.shape()));
  }
  for (int64_t d = 0; d < b; ++d) {
    if (data.dim(d) != indices.dim(d)) {
      return invalid_argument("batch dim " + std::to_string(d) + " differs: data " +
                              shape_str(data.shape()) + ", indices " + shape_str(indices.shape()));
    }
    p->batches *= data.dim(d);
  }
  p->m = indices.dim(q - 1);
  if (p->m < 1 || p->m > r - b) {
    return invalid_argument("last dim of indices " + shape_str(indices.shape()) +
                            " must be in [1, " + std::to_string(r - b) + "] for data " +
                            shape_str(data.shape()));
  }
  for (int64_t d = b; d < q - 1; ++d) p->tuples *= indices.dim(d);
  const Shape st = strides_of(data.shape());
  for (int64_t d = b; d < b + p->m; ++d) {
    p->tuple_dims.push_back(data.dim(d));
    p->tuple_strides.push_back(st[size_t(d)]);
  }
  for (int64_t d = b + p->m; d < r; ++d) p->slice *= data.dim(d);
  p->batch_stride = b > 0 ? st[size_t(b - 1)] : numel(data.shape());
  p->out_shape.assign(indices.shape().begin(), indices.shape().end() - 1);
  p->out_shape.insert(p->out_shape.end(), data.shape().begin() + b + p->m, data.shape().end());
  return Status::ok();
}

// Element offset into data of each tuple (batch offset included), checked.
Status nd_offsets(const NdPlan &p, const Tensor &indices, int64_t b, std::vector<int64_t> *out) {
  out->resize(size_t(p.batches * p.tuples));
  for (int64_t t = 0; t < p.batches * p.tuples; ++t) {
    int64_t off = (t / p.tuples) * p.batch_stride;
    for (int64_t k = 0; k < p.m; ++k) {
      int64_t v;
      SI_RETURN_IF_ERROR(normalize_index(index_at(indices, t * p.m + k), p.tuple_dims[size_t(k)],
                                         "indices", t * p.m + k, b + k, &v));
      off += v * p.tuple_strides[size_t(k)];
    }
    (*out)[size_t(t)] = off;
  }
  return Status::ok();
}

Status create_gather_elements(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require(ctx, 2, 2, "data and indices"));
  *out = std::make_unique<GatherElementsKernel>(ctx.node.attr_int("axis", 0));
  return Status::ok();
}

Status create_gather_nd(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require(ctx, 2, 2, "data and indices"));
  *out = std::make_unique<GatherNDKernel>(ctx.node.attr_int("batch_dims", 0));
  return Status::ok();
}

Status create_one_hot(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require(ctx, 3, 3, "indices, depth and values"));
  *out = std::make_unique<OneHotKernel>(ctx.node.attr_int("axis", -1));
  return Status::ok();
}

Status create_non_zero(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require(ctx, 1, 1, "X"));
  *out = std::make_unique<NonZeroKernel>();
  return Status::ok();
}

Status create_top_k(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  if (n.outputs.size() != 2) return invalid_model("expects outputs Values and Indices");
  int64_t k_attr = -1;
  if (n.opset < 10) {
    SI_RETURN_IF_ERROR(require(ctx, 1, 1, "X"));
    if (!n.has_attr("k")) return invalid_model("attribute k is missing");
    k_attr = n.attr_int("k", 0);
    if (k_attr < 0) return invalid_model("attribute k must be >= 0");
  } else {
    SI_RETURN_IF_ERROR(require(ctx, 2, 2, "X and K"));
  }
  bool largest = true, sorted = true;
  SI_RETURN_IF_ERROR(bool_attr(n, "largest", 1, &largest));
  SI_RETURN_IF_ERROR(bool_attr(n, "sorted", 1, &sorted));  // unsorted may come sorted
  *out = std::make_unique<TopKKernel>(n.attr_int("axis", -1), k_attr, largest);
  return Status::ok();
}

Status create_cum_sum(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require(ctx, 2, 2, "x and axis"));
  bool exclusive = false, reverse = false;
  SI_RETURN_IF_ERROR(bool_attr(ctx.node, "exclusive", 0, &exclusive));
  SI_RETURN_IF_ERROR(bool_attr(ctx.node, "reverse", 0, &reverse));
  *out = std::make_unique<CumSumKernel>(exclusive, reverse);
  return Status::ok();
}

Status create_trilu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require(ctx, 1, 2, "input and optional k"));
  bool upper = true;
  SI_RETURN_IF_ERROR(bool_attr(ctx.node, "upper", 1, &upper));
  *out = std::make_unique<TriluKernel>(upper);
  return Status::ok();
}

}  // namespace si
