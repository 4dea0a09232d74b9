// Shape-only and data-movement ops: Flatten, Reshape, Identity, Dropout,
// Shape, Gather, Unsqueeze, Squeeze, Concat, Size, ConstantOfShape, Range.
// The view ops alias their input.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/ops.h"
#include "kernels/ref/broadcast.h"
#include "kernels/ref/copy.h"

namespace si {

namespace {

std::string ints_str(const std::vector<int64_t> &v) {
  return shape_str(v);
}

// Reads a 1-D int64 tensor (Reshape shape, Unsqueeze/Squeeze axes).
Status read_i64_vector(const Tensor &t, const char *what, std::vector<int64_t> *out) {
  if (t.dtype() != DType::kInt64)
    return invalid_argument(std::string(what) + " must be int64, got " + dtype_name(t.dtype()));
  if (t.rank() > 1)
    return invalid_argument(std::string(what) + " must be 1-D, got " + shape_str(t.shape()));
  out->assign(t.data<int64_t>(), t.data<int64_t>() + t.numel());
  return Status::ok();
}

Status require_input(const LoadContext &ctx, size_t i, const char *name) {
  if (!ctx.has_input(i)) return invalid_model(std::string("input ") + name + " is missing");
  return Status::ok();
}

// ---------------------------------------------------------------- Flatten

class FlattenKernel final : public OpKernel {
 public:
  explicit FlattenKernel(int64_t axis) : axis_(axis) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor &x = *in[0];
    if (axis_ < -x.rank() || axis_ > x.rank()) {
      return invalid_argument("axis " + std::to_string(axis_) + " is out of range for input " +
                              shape_str(x.shape()));
    }
    const int64_t axis = axis_ < 0 ? axis_ + x.rank() : axis_;
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < x.rank(); ++i) (i < axis ? outer : inner) *= x.dim(i);
    out->push_back(OutputDesc{x.dtype(), {outer, inner}, 0});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &, const std::vector<Tensor *> &,
             const RunContext &) const override {
    return Status::ok();
  }

 private:
  int64_t axis_;
};

// ---------------------------------------------------------------- Reshape

Status reshape_target(const Shape &in, const std::vector<int64_t> &spec, bool allow_zero,
                      Shape *out) {
  const std::string ctx = " (input " + shape_str(in) + ", requested " + ints_str(spec) + ")";
  int64_t infer = -1;
  int64_t known = 1;
  bool has_zero = false;
  Shape s(spec.size());
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == -1) {
      if (infer >= 0) return invalid_argument("more than one -1 in the target shape" + ctx);
      infer = int64_t(i);
      continue;
    }
    if (d < -1) return invalid_argument("negative dimension in the target shape" + ctx);
    if (d == 0 && !allow_zero) {
      if (i >= in.size())
        return invalid_argument("0 at position " + std::to_string(i) + " has no input dim" + ctx);
      d = in[i];
    }
    if (d == 0) has_zero = true;
    s[i] = d;
    if (d != 0 && known > kMaxElements / d)
      return invalid_argument("target shape is too large" + ctx);
    known *= d;
  }
  int64_t n = 0;
  SI_RETURN_IF_ERROR(checked_numel(in, &n));
  if (infer >= 0) {
    if (allow_zero && has_zero)
      return invalid_argument("allowzero=1 forbids a 0 together with -1" + ctx);
    if (known == 0 || n % known != 0)
      return invalid_argument("cannot infer the -1 dimension" + ctx);
    s[size_t(infer)] = n / known;
  } else if (known != n) {
    return invalid_argument("element counts differ" + ctx);
  }
  *out = std::move(s);
  return Status::ok();
}

class ReshapeKernel final : public OpKernel {
 public:
  // Opset < 5 takes the target from the `shape` attribute (from_attr).
  ReshapeKernel(bool from_attr, std::vector<int64_t> attr_shape, bool allow_zero)
      : from_attr_(from_attr), attr_shape_(std::move(attr_shape)), allow_zero_(allow_zero) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    std::vector<int64_t> spec = attr_shape_;
    if (!from_attr_) SI_RETURN_IF_ERROR(read_i64_vector(*in[1], "shape", &spec));
    Shape y;
    SI_RETURN_IF_ERROR(reshape_target(in[0]->shape(), spec, allow_zero_, &y));
    out->push_back(OutputDesc{in[0]->dtype(), y, 0});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &, const std::vector<Tensor *> &,
             const RunContext &) const override {
    return Status::ok();
  }

 private:
  bool from_attr_;
  std::vector<int64_t> attr_shape_;
  bool allow_zero_;
};

// ---------------------------------------------------------------- Identity, Dropout

class IdentityKernel final : public OpKernel {
 public:
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    out->push_back(OutputDesc{in[0]->dtype(), in[0]->shape(), 0});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &, const std::vector<Tensor *> &,
             const RunContext &) const override {
    return Status::ok();
  }
};

// Inference-mode Dropout: Y aliases X; the optional mask is all "kept"
// (bool true from opset 10, 1 of X's dtype before).
class DropoutKernel final : public OpKernel {
 public:
  DropoutKernel(bool has_mask, bool bool_mask) : has_mask_(has_mask), bool_mask_(bool_mask) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor &x = *in[0];
    SI_RETURN_IF_ERROR(check_training(in));
    out->push_back(OutputDesc{x.dtype(), x.shape(), 0});
    if (has_mask_) {
      if (!bool_mask_ && x.dtype() != DType::kFloat32)
        return unsupported(std::string("mask of dtype ") + dtype_name(x.dtype()));
      out->push_back(OutputDesc{bool_mask_ ? DType::kBool : x.dtype(), x.shape(), -1});
    }
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    SI_RETURN_IF_ERROR(check_training(in));
    if (!has_mask_) return Status::ok();
    Tensor &mask = *out[1];
    if (bool_mask_) {
      std::memset(mask.raw(), 1, mask.size_bytes());
    } else {
      std::fill(mask.data<float>(), mask.data<float>() + mask.numel(), 1.f);
    }
    return Status::ok();
  }

 private:
  // training_mode = true drops at random: only ratio 0 (which keeps
  // everything) is reproducible.
  static Status check_training(const std::vector<const Tensor *> &in) {
    const Tensor *mode = in.size() > 2 ? in[2] : nullptr;
    if (mode == nullptr) return Status::ok();
    if (mode->dtype() != DType::kBool || mode->numel() != 1)
      return invalid_argument("training_mode must be a bool scalar, got " +
                              std::string(dtype_name(mode->dtype())) + shape_str(mode->shape()));
    if (*mode->data<uint8_t>() == 0) return Status::ok();
    const Tensor *ratio = in[1];
    double r = 0.5;
    if (ratio != nullptr && ratio->dtype() == DType::kFloat32 && ratio->numel() == 1)
      r = ratio->data<float>()[0];
    if (r != 0.0) return unsupported("training_mode=true with a non-zero ratio (random dropout)");
    return Status::ok();
  }

  bool has_mask_;
  bool bool_mask_;
};

// ---------------------------------------------------------------- Shape

class ShapeKernel final : public OpKernel {
 public:
  ShapeKernel(int64_t start, bool has_end, int64_t end)
      : start_(start), has_end_(has_end), end_(end) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    int64_t b, e;
    range(in[0]->rank(), &b, &e);
    out->push_back(OutputDesc{DType::kInt64, {e - b}, -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    int64_t b, e;
    range(in[0]->rank(), &b, &e);
    int64_t *y = out[0]->data<int64_t>();
    for (int64_t i = b; i < e; ++i) y[i - b] = in[0]->dim(i);
    return Status::ok();
  }

 private:
  // Opset 15: negative start/end count from the back; both clamp to [0, rank].
  void range(int64_t rank, int64_t *b, int64_t *e) const {
    auto clamp = [rank](int64_t v) {
      if (v < 0) v += rank;
      return v < 0 ? 0 : (v > rank ? rank : v);
    };
    *b = clamp(start_);
    *e = has_end_ ? clamp(end_) : rank;
    if (*e < *b) *e = *b;
  }
  int64_t start_;
  bool has_end_;
  int64_t end_;
};

// ---------------------------------------------------------------- Gather

class GatherKernel final : public OpKernel {
 public:
  explicit GatherKernel(int64_t axis) : axis_(axis) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor &data = *in[0], &idx = *in[1];
    int64_t axis = 0;
    SI_RETURN_IF_ERROR(check(data, idx, &axis));
    Shape y(data.shape().begin(), data.shape().begin() + axis);
    y.insert(y.end(), idx.shape().begin(), idx.shape().end());
    y.insert(y.end(), data.shape().begin() + axis + 1, data.shape().end());
    out->push_back(OutputDesc{data.dtype(), y, -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &data = *in[0], &idx = *in[1];
    int64_t axis = 0;
    SI_RETURN_IF_ERROR(check(data, idx, &axis));
    const int64_t dim = data.dim(axis);
    std::vector<int64_t> norm(size_t(idx.numel()));
    for (int64_t i = 0; i < idx.numel(); ++i) {
      int64_t v = idx.dtype() == DType::kInt64 ? idx.data<int64_t>()[i] : idx.data<int32_t>()[i];
      if (v < -dim || v >= dim) {
        return invalid_argument("index " + std::to_string(v) + " at position " + std::to_string(i) +
                                " is out of range for axis " + std::to_string(axis) + " of data " +
                                shape_str(data.shape()));
      }
      norm[size_t(i)] = v < 0 ? v + dim : v;
    }
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= data.dim(i);
    for (int64_t i = axis + 1; i < data.rank(); ++i) inner *= data.dim(i);
    ref::gather_bytes(data.raw(), outer, dim, size_t(inner) * dtype_size(data.dtype()), norm.data(),
                      idx.numel(), out[0]->raw());
    return Status::ok();
  }

 private:
  Status check(const Tensor &data, const Tensor &idx, int64_t *axis) const {
    if (idx.dtype() != DType::kInt64 && idx.dtype() != DType::kInt32)
      return invalid_argument(std::string("indices must be int32 or int64, got ") +
                              dtype_name(idx.dtype()));
    if (!ref::normalize_axis(axis_, data.rank(), axis)) {
      return invalid_argument("axis " + std::to_string(axis_) + " is out of range for data " +
                              shape_str(data.shape()));
    }
    return Status::ok();
  }
  int64_t axis_;
};

// ---------------------------------------------------------------- Unsqueeze, Squeeze

// Sorted, non-negative, duplicate-free axes for a tensor of `rank`.
Status normalize_axes(const std::vector<int64_t> &axes, int64_t rank, const Shape &x,
                      std::vector<int64_t> *out) {
  out->clear();
  for (int64_t a : axes) {
    int64_t n = 0;
    if (!ref::normalize_axis(a, rank, &n)) {
      return invalid_argument("axis " + std::to_string(a) + " is out of range (axes " +
                              ints_str(axes) + ", input " + shape_str(x) + ")");
    }
    out->push_back(n);
  }
  std::sort(out->begin(), out->end());
  if (std::adjacent_find(out->begin(), out->end()) != out->end())
    return invalid_argument("axes " + ints_str(axes) + " repeat an axis");
  return Status::ok();
}

// Unsqueeze and Squeeze: views whose output shape follows from the input's
// and the axes. They differ only in how the axes change the shape.
class AxesViewKernel : public OpKernel {
 public:
  AxesViewKernel(bool from_attr, std::vector<int64_t> axes)
      : from_attr_(from_attr), attr_axes_(std::move(axes)) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    std::vector<int64_t> axes;
    SI_RETURN_IF_ERROR(axes_of(in, &axes));
    Shape y;
    SI_RETURN_IF_ERROR(view_shape(in[0]->shape(), axes, &y));
    out->push_back(OutputDesc{in[0]->dtype(), y, 0});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &, const std::vector<Tensor *> &,
             const RunContext &) const override {
    return Status::ok();
  }

 protected:
  virtual Status view_shape(const Shape &x, const std::vector<int64_t> &axes, Shape *y) const = 0;

 private:
  // Axes come from an attribute (opset < 13) or from the optional input 1.
  Status axes_of(const std::vector<const Tensor *> &in, std::vector<int64_t> *axes) const {
    if (from_attr_) {
      *axes = attr_axes_;
      return Status::ok();
    }
    if (in.size() > 1 && in[1] != nullptr) return read_i64_vector(*in[1], "axes", axes);
    axes->clear();
    return Status::ok();
  }

  bool from_attr_;
  std::vector<int64_t> attr_axes_;
};

class UnsqueezeKernel final : public AxesViewKernel {
 public:
  using AxesViewKernel::AxesViewKernel;

 private:
  Status view_shape(const Shape &x, const std::vector<int64_t> &axes, Shape *y) const override {
    std::vector<int64_t> sorted;
    const int64_t rank = int64_t(x.size() + axes.size());
    SI_RETURN_IF_ERROR(normalize_axes(axes, rank, x, &sorted));
    size_t src = 0, k = 0;
    for (int64_t i = 0; i < rank; ++i) {
      if (k < sorted.size() && sorted[k] == i) {
        y->push_back(1);
        ++k;
      } else {
        y->push_back(x[src++]);
      }
    }
    return Status::ok();
  }
};

class SqueezeKernel final : public AxesViewKernel {
 public:
  using AxesViewKernel::AxesViewKernel;

 private:
  Status view_shape(const Shape &x, const std::vector<int64_t> &axes, Shape *y) const override {
    std::vector<int64_t> sorted;
    // No axes (absent or empty) squeezes every size-1 dim.
    const bool given = !axes.empty();
    SI_RETURN_IF_ERROR(normalize_axes(axes, int64_t(x.size()), x, &sorted));
    for (size_t i = 0; i < x.size(); ++i) {
      bool listed = std::binary_search(sorted.begin(), sorted.end(), int64_t(i));
      if (listed && x[i] != 1) {
        return invalid_argument("cannot squeeze axis " + std::to_string(i) + " of size " +
                                std::to_string(x[i]) + " (input " + shape_str(x) + ")");
      }
      if (listed || (!given && x[i] == 1)) continue;
      y->push_back(x[i]);
    }
    return Status::ok();
  }
};

// ---------------------------------------------------------------- Concat

class ConcatKernel final : public OpKernel {
 public:
  explicit ConcatKernel(int64_t axis) : axis_(axis) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Shape y;
    int64_t axis = 0;
    SI_RETURN_IF_ERROR(check(in, &y, &axis));
    out->push_back(OutputDesc{in[0]->dtype(), y, -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    Shape y;
    int64_t axis = 0;
    SI_RETURN_IF_ERROR(check(in, &y, &axis));
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= y[size_t(i)];
    if (outer == 0) return Status::ok();
    const size_t elem = dtype_size(in[0]->dtype());
    std::vector<const void *> srcs;
    std::vector<size_t> block;
    for (const Tensor *t : in) {
      srcs.push_back(t->raw());
      block.push_back(size_t(t->numel() / outer) * elem);
    }
    ref::concat_bytes(srcs.data(), block.data(), srcs.size(), outer, out[0]->raw());
    return Status::ok();
  }

 private:
  Status check(const std::vector<const Tensor *> &in, Shape *y, int64_t *axis) const {
    const Tensor &first = *in[0];
    if (!ref::normalize_axis(axis_, first.rank(), axis)) {
      return invalid_argument("axis " + std::to_string(axis_) + " is out of range for input 0 " +
                              shape_str(first.shape()));
    }
    *y = first.shape();
    (*y)[size_t(*axis)] = 0;
    for (size_t k = 0; k < in.size(); ++k) {
      const Tensor &t = *in[k];
      bool ok = t.dtype() == first.dtype() && t.rank() == first.rank();
      for (int64_t i = 0; ok && i < t.rank(); ++i) ok = i == *axis || t.dim(i) == first.dim(i);
      if (!ok) {
        return invalid_argument("input " + std::to_string(k) + " (" + dtype_name(t.dtype()) +
                                shape_str(t.shape()) + ") does not match input 0 (" +
                                dtype_name(first.dtype()) + shape_str(first.shape()) +
                                ") outside axis " + std::to_string(*axis));
      }
      (*y)[size_t(*axis)] += t.dim(*axis);
    }
    int64_t n = 0;
    return checked_numel(*y, &n);
  }
  int64_t axis_;
};

}  // namespace

Status create_flatten(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  *out = std::make_unique<FlattenKernel>(ctx.node.attr_int("axis", 1));
  return Status::ok();
}

Status create_reshape(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const bool from_attr = n.opset < 5;
  if (from_attr && !n.has_attr("shape")) return invalid_model("attribute shape is missing");
  if (!from_attr) SI_RETURN_IF_ERROR(require_input(ctx, 1, "shape"));
  const int64_t allow_zero = n.opset >= 14 ? n.attr_int("allowzero", 0) : 0;
  if (allow_zero != 0 && allow_zero != 1)
    return invalid_model("attribute allowzero must be 0 or 1, got " + std::to_string(allow_zero));
  if (const Tensor *c = ctx.constant_input(1); !from_attr && c != nullptr) {
    std::vector<int64_t> spec;
    Status s = read_i64_vector(*c, "shape", &spec);
    if (!s.is_ok()) return invalid_model(s.message());
    if (std::count(spec.begin(), spec.end(), -1) > 1)
      return invalid_model("more than one -1 in the target shape " + ints_str(spec));
  }
  *out = std::make_unique<ReshapeKernel>(from_attr, n.attr_ints("shape"), allow_zero == 1);
  return Status::ok();
}

Status create_identity(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  *out = std::make_unique<IdentityKernel>();
  return Status::ok();
}

Status create_dropout(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  if (n.opset < 7 && n.attr_int("is_test", 0) == 0)
    return unsupported("is_test=0 asks for training-mode (random) dropout");
  if (n.opset < 12 && ctx.num_inputs() > 1) return invalid_model("expects one input");
  if (ctx.num_inputs() > 3) return invalid_model("expects at most three inputs");
  if (const Tensor *mode = ctx.constant_input(2)) {
    if (mode->dtype() != DType::kBool || mode->numel() != 1)
      return invalid_model("training_mode must be a bool scalar");
    const Tensor *ratio = ctx.constant_input(1);
    const bool zero_ratio = ratio != nullptr && ratio->dtype() == DType::kFloat32 &&
                            ratio->numel() == 1 && ratio->data<float>()[0] == 0.f;
    if (*mode->data<uint8_t>() != 0 && !zero_ratio)
      return unsupported("training_mode=true with a non-zero ratio (random dropout)");
  }
  *out = std::make_unique<DropoutKernel>(n.outputs.size() > 1, n.opset >= 10);
  return Status::ok();
}

Status create_shape(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const Node &n = ctx.node;
  const bool ranged = n.opset >= 15;
  *out = std::make_unique<ShapeKernel>(ranged ? n.attr_int("start", 0) : 0,
                                       ranged && n.has_attr("end"), n.attr_int("end", 0));
  return Status::ok();
}

Status create_gather(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  SI_RETURN_IF_ERROR(require_input(ctx, 1, "indices"));
  *out = std::make_unique<GatherKernel>(ctx.node.attr_int("axis", 0));
  return Status::ok();
}

Status create_unsqueeze(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const bool from_attr = ctx.node.opset < 13;
  if (from_attr && !ctx.node.has_attr("axes")) return invalid_model("attribute axes is missing");
  if (!from_attr) SI_RETURN_IF_ERROR(require_input(ctx, 1, "axes"));
  *out = std::make_unique<UnsqueezeKernel>(from_attr, ctx.node.attr_ints("axes"));
  return Status::ok();
}

Status create_squeeze(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const bool from_attr = ctx.node.opset < 13;
  *out = std::make_unique<SqueezeKernel>(from_attr, ctx.node.attr_ints("axes"));
  return Status::ok();
}

Status create_concat(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  if (ctx.num_inputs() == 0) return invalid_model("expects at least one input");
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (!ctx.has_input(i)) return invalid_model("input " + std::to_string(i) + " is missing");
  if (n.opset >= 4 && !n.has_attr("axis")) return invalid_model("attribute axis is missing");
  *out = std::make_unique<ConcatKernel>(n.attr_int("axis", 1));
  return Status::ok();
}

// ---------------------------------------------------------------- Size, ConstantOfShape, Range

namespace {

class SizeKernel final : public OpKernel {
 public:
  Status reshape(const std::vector<const Tensor *> &, std::vector<OutputDesc> *out) const override {
    out->push_back(OutputDesc{DType::kInt64, {}, -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    *out[0]->data<int64_t>() = in[0]->numel();
    return Status::ok();
  }
};

class ConstantOfShapeKernel final : public OpKernel {
 public:
  explicit ConstantOfShapeKernel(Tensor value) : value_(std::move(value)) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Shape y;
    SI_RETURN_IF_ERROR(read_i64_vector(*in[0], "shape", &y));
    int64_t n = 0;
    Status s = checked_numel(y, &n);
    if (!s.is_ok()) return invalid_argument("shape " + shape_str(y) + ": " + s.message());
    out->push_back(OutputDesc{value_.dtype(), y, -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const size_t elem = dtype_size(value_.dtype());
    char *y = static_cast<char *>(out[0]->raw());
    for (int64_t i = 0; i < out[0]->numel(); ++i)
      std::memcpy(y + size_t(i) * elem, value_.raw(), elem);
    return Status::ok();
  }

 private:
  Tensor value_;
};

// Range over float32, int32 or int64 scalars: max(ceil((limit - start) / delta), 0)
// elements start + i * delta. Counts are computed wide (double, __int128) so no
// input can overflow them.
class RangeKernel final : public OpKernel {
 public:
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    int64_t n = 0;
    SI_RETURN_IF_ERROR(count(in, &n));
    out->push_back(OutputDesc{in[0]->dtype(), {n}, -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    int64_t n = 0;
    SI_RETURN_IF_ERROR(count(in, &n));
    switch (in[0]->dtype()) {
      case DType::kFloat32: {
        const double start = value<float>(in[0]), delta = value<float>(in[2]);
        float *y = out[0]->data<float>();
        for (int64_t i = 0; i < n; ++i) y[i] = float(start + double(i) * delta);
        break;
      }
      case DType::kInt32:
        fill_int<int32_t>(in, n, out[0]->data<int32_t>());
        break;
      default:
        fill_int<int64_t>(in, n, out[0]->data<int64_t>());
        break;
    }
    return Status::ok();
  }

 private:
  template <typename T>
  static T value(const Tensor *t) {
    return *t->data<T>();
  }
  template <typename T>
  static void fill_int(const std::vector<const Tensor *> &in, int64_t n, T *y) {
    const __int128 start = value<T>(in[0]), delta = value<T>(in[2]);
    for (int64_t i = 0; i < n; ++i) y[i] = T(start + __int128(i) * delta);
  }
  template <typename T>
  static __int128 int_count(const std::vector<const Tensor *> &in) {
    const __int128 diff = __int128(value<T>(in[1])) - value<T>(in[0]);
    const __int128 delta = value<T>(in[2]);
    if (delta > 0) return diff > 0 ? (diff + delta - 1) / delta : 0;
    return diff < 0 ? (-diff - delta - 1) / -delta : 0;
  }
  static Status count(const std::vector<const Tensor *> &in, int64_t *n) {
    const DType t = in[0]->dtype();
    const char *names[] = {"start", "limit", "delta"};
    for (size_t i = 0; i < 3; ++i) {
      if (in[i]->dtype() != t || in[i]->numel() != 1 || in[i]->rank() > 1)
        return invalid_argument(std::string(names[i]) + " must be a scalar of the start's dtype " +
                                dtype_name(t) + ", got " + dtype_name(in[i]->dtype()) +
                                shape_str(in[i]->shape()));
    }
    double c = 0;
    if (t == DType::kFloat32) {
      const double start = value<float>(in[0]), limit = value<float>(in[1]),
                   delta = value<float>(in[2]);
      if (!std::isfinite(start) || !std::isfinite(limit) || !std::isfinite(delta) || delta == 0)
        return invalid_argument("start, limit and delta must be finite with a non-zero delta");
      c = std::ceil((limit - start) / delta);
    } else if (t == DType::kInt32 || t == DType::kInt64) {
      const bool wide = t == DType::kInt64;
      if (wide ? value<int64_t>(in[2]) == 0 : value<int32_t>(in[2]) == 0)
        return invalid_argument("delta must not be 0");
      c = double(wide ? int_count<int64_t>(in) : int_count<int32_t>(in));
    } else {
      return unsupported(std::string("Range over ") + dtype_name(t));
    }
    if (c > double(kMaxElements))
      return invalid_argument("output would have " + std::to_string(c) + " elements, above " +
                              std::to_string(kMaxElements));
    *n = c > 0 ? int64_t(c) : 0;
    return Status::ok();
  }
};

}  // namespace

Status create_size(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  *out = std::make_unique<SizeKernel>();
  return Status::ok();
}

Status create_constant_of_shape(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "input"));
  Tensor value;
  auto it = ctx.node.attrs.find("value");
  if (it == ctx.node.attrs.end()) {
    SI_RETURN_IF_ERROR(Tensor::allocate(DType::kFloat32, {1}, &value));
  } else {
    if (it->second.kind != Attribute::Kind::kTensor || it->second.t.numel() != 1)
      return invalid_model("attribute value must be a one-element tensor");
    value = it->second.t;
  }
  *out = std::make_unique<ConstantOfShapeKernel>(value);
  return Status::ok();
}

Status create_range(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_input(ctx, 0, "start"));
  SI_RETURN_IF_ERROR(require_input(ctx, 1, "limit"));
  SI_RETURN_IF_ERROR(require_input(ctx, 2, "delta"));
  *out = std::make_unique<RangeKernel>();
  return Status::ok();
}

}  // namespace si
