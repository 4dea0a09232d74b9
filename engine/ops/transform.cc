// Data-movement ops that rearrange elements: Transpose, Slice, Split,
// Expand, Tile, Pad. All work on bytes, so every dtype the engine holds is
// served. Transpose, Expand and Tile alias their input when memory order and
// size are unchanged.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/ops.h"
#include "kernels/ref/broadcast.h"
#include "kernels/ref/pad.h"
#include "kernels/ref/transpose.h"

namespace si {

namespace {

std::string str(int64_t v) {
  return std::to_string(v);
}

// A 1-D (or scalar) int32/int64 tensor as int64 values.
Status read_ints(const Tensor &t, const char *what, std::vector<int64_t> *out) {
  if (t.dtype() != DType::kInt64 && t.dtype() != DType::kInt32)
    return invalid_argument(std::string(what) + " must be int32 or int64, got " +
                            dtype_name(t.dtype()));
  if (t.rank() > 1)
    return invalid_argument(std::string(what) + " must be 1-D, got " + shape_str(t.shape()));
  out->resize(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i)
    (*out)[size_t(i)] = t.dtype() == DType::kInt64 ? t.data<int64_t>()[i] : t.data<int32_t>()[i];
  return Status::ok();
}

Status require_input(const LoadContext &ctx, size_t i, const char *name) {
  if (!ctx.has_input(i)) return invalid_model(std::string("input ") + name + " is missing");
  return Status::ok();
}

std::vector<int64_t> dense_strides(const Shape &s) {
  std::vector<int64_t> st(s.size());
  int64_t v = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = v;
    v *= s[i];
  }
  return st;
}

// d * r for two non-negative sizes, failing above kMaxElements.
Status checked_mul(int64_t d, int64_t r, const std::string &what, int64_t *out) {
  if (r != 0 && d > kMaxElements / r)
    return invalid_argument(what + " exceeds " + str(kMaxElements) + " elements");
  *out = d * r;
  return Status::ok();
}

// ---------------------------------------------------------------- Transpose

class TransposeKernel final : public OpKernel {
 public:
  TransposeKernel(bool has_perm, std::vector<int64_t> perm)
      : has_perm_(has_perm), perm_(std::move(perm)) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    std::vector<int64_t> perm;
    SI_RETURN_IF_ERROR(resolve(*in[0], &perm));
    Shape y(perm.size());
    for (size_t k = 0; k < perm.size(); ++k) y[k] = in[0]->dim(perm[k]);
    out->push_back(OutputDesc{in[0]->dtype(), y, keeps_order(in[0]->shape(), perm) ? 0 : -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &x = *in[0];
    std::vector<int64_t> perm;
    SI_RETURN_IF_ERROR(resolve(x, &perm));
    if (keeps_order(x.shape(), perm)) return Status::ok();
    ref::transpose_bytes(x.raw(), x.shape().data(), perm.data(), perm.size(), dtype_size(x.dtype()),
                         out[0]->raw());
    return Status::ok();
  }

 private:
  Status resolve(const Tensor &x, std::vector<int64_t> *perm) const {
    const int64_t r = x.rank();
    if (!has_perm_) {
      for (int64_t i = r - 1; i >= 0; --i) perm->push_back(i);
      return Status::ok();
    }
    std::vector<bool> seen(size_t(r), false);
    bool ok = int64_t(perm_.size()) == r;
    for (size_t k = 0; ok && k < perm_.size(); ++k) {
      ok = perm_[k] >= 0 && perm_[k] < r && !seen[size_t(perm_[k])];
      if (ok) seen[size_t(perm_[k])] = true;
    }
    if (!ok) {
      return invalid_argument("perm " + shape_str(perm_) + " is not a permutation of the axes of " +
                              shape_str(x.shape()));
    }
    *perm = perm_;
    return Status::ok();
  }
  // Moving only size-1 axes leaves the bytes in place: the output is a view.
  static bool keeps_order(const Shape &s, const std::vector<int64_t> &perm) {
    int64_t prev = -1;
    for (int64_t p : perm) {
      if (s[size_t(p)] == 1) continue;
      if (p < prev) return false;
      prev = p;
    }
    return true;
  }
  bool has_perm_;
  std::vector<int64_t> perm_;
};

// ---------------------------------------------------------------- Slice

class SliceKernel final : public OpKernel {
 public:
  // Opset < 10 reads starts/ends/axes from attributes; later opsets from inputs.
  SliceKernel(bool from_attr, std::vector<int64_t> starts, std::vector<int64_t> ends,
              std::vector<int64_t> axes, bool has_axes)
      : from_attr_(from_attr),
        starts_(std::move(starts)),
        ends_(std::move(ends)),
        axes_(std::move(axes)),
        has_axes_(has_axes) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Plan p;
    SI_RETURN_IF_ERROR(plan(in, &p));
    out->push_back(OutputDesc{in[0]->dtype(), p.dims, whole(*in[0], p) ? 0 : -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    Plan p;
    SI_RETURN_IF_ERROR(plan(in, &p));
    if (out[0]->numel() == 0 || whole(*in[0], p)) return Status::ok();
    const size_t elem = dtype_size(in[0]->dtype());
    ref::strided_copy_bytes(static_cast<const char *>(in[0]->raw()) + p.offset * int64_t(elem),
                            p.dims.data(), p.strides.data(), p.dims.size(), elem, out[0]->raw());
    return Status::ok();
  }

 private:
  struct Plan {
    Shape dims;
    std::vector<int64_t> strides;  // source element strides (step applied)
    int64_t offset = 0;            // source element offset of the first output
  };

  // Slicing everything forward (x[0:INT64_MAX]) is a view of the input.
  static bool whole(const Tensor &x, const Plan &p) {
    if (p.dims != x.shape()) return false;
    const std::vector<int64_t> dense = dense_strides(x.shape());
    for (size_t i = 0; i < dense.size(); ++i)
      if (p.dims[i] > 1 && p.strides[i] != dense[i]) return false;
    return true;
  }

  Status plan(const std::vector<const Tensor *> &in, Plan *p) const {
    const Tensor &x = *in[0];
    const int64_t r = x.rank();
    std::vector<int64_t> starts = starts_, ends = ends_, axes = axes_, steps;
    bool has_axes = has_axes_;
    if (!from_attr_) {
      SI_RETURN_IF_ERROR(read_ints(*in[1], "starts", &starts));
      SI_RETURN_IF_ERROR(read_ints(*in[2], "ends", &ends));
      has_axes = in.size() > 3 && in[3] != nullptr;
      if (has_axes) SI_RETURN_IF_ERROR(read_ints(*in[3], "axes", &axes));
      if (in.size() > 4 && in[4] != nullptr) SI_RETURN_IF_ERROR(read_ints(*in[4], "steps", &steps));
    }
    const size_t n = starts.size();
    const std::string ctx = " (data " + shape_str(x.shape()) + ", starts " + shape_str(starts) +
                            ", ends " + shape_str(ends) + ")";
    if (ends.size() != n) return invalid_argument("starts and ends differ in length" + ctx);
    if (has_axes && axes.size() != n)
      return invalid_argument("axes " + shape_str(axes) + " differ in length from starts" + ctx);
    if (!steps.empty() && steps.size() != n)
      return invalid_argument("steps " + shape_str(steps) + " differ in length from starts" + ctx);
    if (!has_axes) {
      if (int64_t(n) > r) return invalid_argument("more starts than data axes" + ctx);
      axes.resize(n);
      for (size_t i = 0; i < n; ++i) axes[i] = int64_t(i);
    }
    p->dims = x.shape();
    p->strides = dense_strides(x.shape());
    p->offset = 0;
    std::vector<bool> seen(size_t(r), false);
    for (size_t i = 0; i < n; ++i) {
      int64_t a = axes[i];
      if (a < -r || a >= r) return invalid_argument("axis " + str(a) + " is out of range" + ctx);
      if (a < 0) a += r;
      if (seen[size_t(a)]) return invalid_argument("axis " + str(a) + " is repeated" + ctx);
      seen[size_t(a)] = true;
      const int64_t step = steps.empty() ? 1 : steps[i];
      if (step == 0) return invalid_argument("step of axis " + str(a) + " is 0" + ctx);
      const int64_t dim = x.dim(a);
      int64_t start = starts[i], end = ends[i];
      // Negative values count from the back; INT64_MIN + dim cannot overflow.
      if (start < 0) start += dim;
      if (end < 0) end += dim;
      int64_t len = 0;
      if (step > 0) {
        start = std::clamp<int64_t>(start, 0, dim);
        end = std::clamp<int64_t>(end, 0, dim);
        if (end > start) len = (end - start - 1) / step + 1;
      } else if (dim > 0) {
        start = std::clamp<int64_t>(start, 0, dim - 1);
        end = std::clamp<int64_t>(end, -1, dim - 1);
        const int64_t neg = step == std::numeric_limits<int64_t>::min()
                                ? std::numeric_limits<int64_t>::max()
                                : -step;
        if (start > end) len = (start - end - 1) / neg + 1;
      }
      p->dims[size_t(a)] = len;
      if (len > 0) p->offset += start * p->strides[size_t(a)];
      // len == 1 never applies the step, which may be huge.
      p->strides[size_t(a)] *= len > 1 ? step : 1;
    }
    return Status::ok();
  }

  bool from_attr_;
  std::vector<int64_t> starts_, ends_, axes_;
  bool has_axes_;
};

// ---------------------------------------------------------------- Split

class SplitKernel final : public OpKernel {
 public:
  SplitKernel(int64_t axis, std::vector<int64_t> split, size_t outputs)
      : axis_(axis), split_(std::move(split)), outputs_(outputs) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    int64_t axis = 0;
    std::vector<int64_t> parts;
    SI_RETURN_IF_ERROR(plan(in, &axis, &parts));
    for (int64_t part : parts) {
      Shape y = in[0]->shape();
      y[size_t(axis)] = part;
      out->push_back(OutputDesc{in[0]->dtype(), y, -1});
    }
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &x = *in[0];
    int64_t axis = 0;
    std::vector<int64_t> parts;
    SI_RETURN_IF_ERROR(plan(in, &axis, &parts));
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
    for (int64_t i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
    const size_t elem = dtype_size(x.dtype());
    const int64_t row = x.dim(axis) * inner;
    int64_t offset = 0;
    for (size_t k = 0; k < parts.size(); ++k) {
      const int64_t dims[2] = {outer, parts[k] * inner};
      const int64_t strides[2] = {row, 1};
      ref::strided_copy_bytes(static_cast<const char *>(x.raw()) + offset * int64_t(elem), dims,
                              strides, 2, elem, out[k]->raw());
      offset += parts[k] * inner;
    }
    return Status::ok();
  }

 private:
  Status plan(const std::vector<const Tensor *> &in, int64_t *axis,
              std::vector<int64_t> *parts) const {
    const Tensor &x = *in[0];
    if (!ref::normalize_axis(axis_, x.rank(), axis))
      return invalid_argument("axis " + str(axis_) + " is out of range for input " +
                              shape_str(x.shape()));
    const int64_t dim = x.dim(*axis);
    *parts = split_;
    if (in.size() > 1 && in[1] != nullptr) SI_RETURN_IF_ERROR(read_ints(*in[1], "split", parts));
    const std::string ctx = " (input " + shape_str(x.shape()) + ", axis " + str(*axis) + ", " +
                            str(int64_t(outputs_)) + " outputs)";
    if (parts->empty()) {
      if (dim % int64_t(outputs_) != 0)
        return invalid_argument("axis size is not divisible into equal parts" + ctx);
      parts->assign(outputs_, dim / int64_t(outputs_));
      return Status::ok();
    }
    if (parts->size() != outputs_)
      return invalid_argument("split " + shape_str(*parts) + " does not give one size per output" +
                              ctx);
    int64_t sum = 0;
    for (int64_t s : *parts) {
      if (s < 0 || s > dim - sum)
        return invalid_argument("split " + shape_str(*parts) + " does not sum to the axis size" +
                                ctx);
      sum += s;
    }
    if (sum != dim)
      return invalid_argument("split " + shape_str(*parts) + " does not sum to the axis size" +
                              ctx);
    return Status::ok();
  }
  int64_t axis_;
  std::vector<int64_t> split_;
  size_t outputs_;
};

// ---------------------------------------------------------------- Expand

class ExpandKernel final : public OpKernel {
 public:
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Shape y;
    SI_RETURN_IF_ERROR(target(in, &y));
    out->push_back(OutputDesc{in[0]->dtype(), y, y == in[0]->shape() ? 0 : -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &x = *in[0];
    if (out[0]->shape() == x.shape()) return Status::ok();
    ref::broadcast_copy(x.raw(), x.shape(), out[0]->raw(), out[0]->shape(), dtype_size(x.dtype()));
    return Status::ok();
  }

 private:
  static Status target(const std::vector<const Tensor *> &in, Shape *y) {
    std::vector<int64_t> shape;
    SI_RETURN_IF_ERROR(read_ints(*in[1], "shape", &shape));
    for (int64_t d : shape)
      if (d < 0) return invalid_argument("shape " + shape_str(shape) + " has a negative dim");
    if (!ref::broadcast_shape(in[0]->shape(), shape, y))
      return invalid_argument("input " + shape_str(in[0]->shape()) +
                              " does not broadcast with shape " + shape_str(shape));
    int64_t n = 0;
    return checked_numel(*y, &n);
  }
};

// ---------------------------------------------------------------- Tile

class TileKernel final : public OpKernel {
 public:
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    std::vector<int64_t> reps;
    Shape y;
    SI_RETURN_IF_ERROR(plan(in, &reps, &y));
    out->push_back(OutputDesc{in[0]->dtype(), y, y == in[0]->shape() ? 0 : -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &x = *in[0];
    std::vector<int64_t> reps;
    Shape y;
    SI_RETURN_IF_ERROR(plan(in, &reps, &y));
    if (y == x.shape()) return Status::ok();
    ref::tile_bytes(x.raw(), x.shape().data(), reps.data(), reps.size(), dtype_size(x.dtype()),
                    out[0]->raw());
    return Status::ok();
  }

 private:
  static Status plan(const std::vector<const Tensor *> &in, std::vector<int64_t> *reps, Shape *y) {
    const Tensor &x = *in[0];
    SI_RETURN_IF_ERROR(read_ints(*in[1], "repeats", reps));
    const std::string ctx =
        " (input " + shape_str(x.shape()) + ", repeats " + shape_str(*reps) + ")";
    if (int64_t(reps->size()) != x.rank())
      return invalid_argument("repeats must have one entry per input axis" + ctx);
    y->resize(reps->size());
    for (size_t i = 0; i < reps->size(); ++i) {
      if ((*reps)[i] < 0) return invalid_argument("negative repeat" + ctx);
      SI_RETURN_IF_ERROR(checked_mul(x.dim(int64_t(i)), (*reps)[i], "output" + ctx, &(*y)[i]));
    }
    int64_t n = 0;
    return checked_numel(*y, &n);
  }
};

// ---------------------------------------------------------------- Pad

// Writes v as one element of dtype t; false when v does not fit.
bool scalar_bytes(double v, DType t, std::vector<char> *out) {
  out->assign(dtype_size(t), 0);
  auto put = [&](auto x) { std::memcpy(out->data(), &x, sizeof(x)); };
  if (t == DType::kFloat32) {
    put(float(v));
    return true;
  }
  if (!std::isfinite(v)) return false;
  switch (t) {
    case DType::kInt64:
      if (v < -9.2e18 || v > 9.2e18) return false;
      put(int64_t(v));
      return true;
    case DType::kInt32:
      if (v < -2147483648.0 || v > 2147483647.0) return false;
      put(int32_t(v));
      return true;
    case DType::kInt8:
      if (v < -128 || v > 127) return false;
      put(int8_t(v));
      return true;
    case DType::kUint8:
      if (v < 0 || v > 255) return false;
      put(uint8_t(v));
      return true;
    case DType::kBool:
      put(uint8_t(v != 0));
      return true;
    default:
      return false;
  }
}

class PadKernel final : public OpKernel {
 public:
  // Opset < 11 carries pads and the fill value as attributes.
  PadKernel(bool from_attr, std::vector<int64_t> pads, float value, ref::PadMode mode)
      : from_attr_(from_attr), pads_(std::move(pads)), value_(value), mode_(mode) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Plan p;
    SI_RETURN_IF_ERROR(plan(in, &p));
    out->push_back(OutputDesc{in[0]->dtype(), p.out, -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    Plan p;
    SI_RETURN_IF_ERROR(plan(in, &p));
    if (out[0]->numel() == 0) return Status::ok();
    const size_t elem = dtype_size(in[0]->dtype());
    ref::pad_bytes(static_cast<const char *>(in[0]->raw()) + p.offset * int64_t(elem), p.in.data(),
                   p.strides.data(), p.begin.data(), p.out.data(), p.out.size(), elem, mode_,
                   p.value.data(), out[0]->raw());
    return Status::ok();
  }

 private:
  // Negative pads crop first (a smaller view of the input); the positive
  // pads are then applied to that view.
  struct Plan {
    Shape in, out;
    std::vector<int64_t> strides, begin;
    int64_t offset = 0;
    std::vector<char> value;
  };

  Status plan(const std::vector<const Tensor *> &in, Plan *p) const {
    const Tensor &x = *in[0];
    const int64_t r = x.rank();
    std::vector<int64_t> pads = pads_;
    if (!from_attr_) SI_RETURN_IF_ERROR(read_ints(*in[1], "pads", &pads));
    const std::string ctx = " (input " + shape_str(x.shape()) + ", pads " + shape_str(pads) + ")";
    if (int64_t(pads.size()) != 2 * r)
      return invalid_argument("pads must have 2 entries per input axis" + ctx);
    if (from_attr_) {
      if (!scalar_bytes(value_, x.dtype(), &p->value))
        return invalid_argument("value " + std::to_string(value_) + " does not fit " +
                                dtype_name(x.dtype()));
    } else if (in.size() > 2 && in[2] != nullptr && in[2]->numel() > 0) {
      const Tensor &v = *in[2];
      if (v.dtype() != x.dtype() || v.numel() != 1)
        return invalid_argument(std::string("constant_value must be one ") + dtype_name(x.dtype()) +
                                ", got " + dtype_name(v.dtype()) + shape_str(v.shape()));
      p->value.assign(static_cast<const char *>(v.raw()),
                      static_cast<const char *>(v.raw()) + dtype_size(v.dtype()));
    } else {
      p->value.assign(dtype_size(x.dtype()), 0);
    }
    p->strides = dense_strides(x.shape());
    p->in = x.shape();
    p->out.resize(size_t(r));
    p->begin.resize(size_t(r));
    p->offset = 0;
    const int64_t limit = std::numeric_limits<int64_t>::max() / 4;
    for (int64_t k = 0; k < r; ++k) {
      const size_t i = size_t(k);
      int64_t b = pads[i], e = pads[i + size_t(r)];
      if (b < -limit || b > limit || e < -limit || e > limit)
        return invalid_argument("pad of axis " + str(k) + " is out of range" + ctx);
      if (b < 0) {
        p->offset += -b * p->strides[i];
        p->in[i] += b;
        b = 0;
      }
      if (e < 0) {
        p->in[i] += e;
        e = 0;
      }
      if (p->in[i] < 0) return invalid_argument("pads crop more than axis " + str(k) + ctx);
      p->begin[i] = b;
      p->out[i] = p->in[i] + b + e;
      if (p->out[i] > kMaxElements)
        return invalid_argument("output exceeds " + str(kMaxElements) + " elements" + ctx);
      if (mode_ != ref::PadMode::kConstant && p->in[i] == 0 && p->out[i] > 0)
        return invalid_argument("cannot pad empty axis " + str(k) + " in " +
                                (mode_ == ref::PadMode::kEdge ? "edge" : "reflect") + " mode" +
                                ctx);
    }
    int64_t n = 0;
    return checked_numel(p->out, &n);
  }

  bool from_attr_;
  std::vector<int64_t> pads_;
  float value_;
  ref::PadMode mode_;
};

}  // namespace

Status create_transpose(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  *out = std::make_unique<TransposeKernel>(ctx.node.has_attr("perm"), ctx.node.attr_ints("perm"));
  return Status::ok();
}

Status create_slice(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const bool from_attr = n.opset < 10;
  if (from_attr) {
    if (!n.has_attr("starts") || !n.has_attr("ends"))
      return invalid_model("attributes starts and ends are required");
  } else {
    SI_RETURN_IF_ERROR(require_input(ctx, 1, "starts"));
    SI_RETURN_IF_ERROR(require_input(ctx, 2, "ends"));
  }
  *out = std::make_unique<SliceKernel>(from_attr, n.attr_ints("starts"), n.attr_ints("ends"),
                                       n.attr_ints("axes"), n.has_attr("axes"));
  return Status::ok();
}

Status create_split(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  if (n.outputs.empty()) return invalid_model("expects at least one output");
  if (n.opset >= 13 && n.has_attr("split"))
    return invalid_model("split is an input from opset 13, not an attribute");
  if (n.opset >= 2 && n.opset < 13 && ctx.num_inputs() > 1)
    return invalid_model("split is an attribute before opset 13, not an input");
  *out =
      std::make_unique<SplitKernel>(n.attr_int("axis", 0), n.attr_ints("split"), n.outputs.size());
  return Status::ok();
}

Status create_expand(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  SI_RETURN_IF_ERROR(require_input(ctx, 1, "shape"));
  *out = std::make_unique<ExpandKernel>();
  return Status::ok();
}

Status create_tile(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  SI_RETURN_IF_ERROR(require_input(ctx, 1, "repeats"));
  *out = std::make_unique<TileKernel>();
  return Status::ok();
}

Status create_pad(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const std::string mode = n.attr_string("mode", "constant");
  ref::PadMode m;
  if (mode == "constant") {
    m = ref::PadMode::kConstant;
  } else if (mode == "reflect") {
    m = ref::PadMode::kReflect;
  } else if (mode == "edge") {
    m = ref::PadMode::kEdge;
  } else {
    return invalid_model("unknown mode \"" + mode + "\"");
  }
  const bool from_attr = n.opset < 11;
  // Opset 1 spells the attribute `paddings`.
  const char *pads_attr = n.opset < 2 ? "paddings" : "pads";
  if (from_attr && !n.has_attr(pads_attr))
    return invalid_model(std::string("attribute ") + pads_attr + " is missing");
  if (!from_attr) SI_RETURN_IF_ERROR(require_input(ctx, 1, "pads"));
  if (ctx.has_input(3)) return unsupported("the axes input (opset 18)");
  *out =
      std::make_unique<PadKernel>(from_attr, n.attr_ints(pads_attr), n.attr_float("value", 0.f), m);
  return Status::ok();
}

}  // namespace si
