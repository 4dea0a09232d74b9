// Sequence ops (ONNX opset 11+): SequenceEmpty, SequenceConstruct,
// SequenceInsert, SequenceErase, SequenceAt, SequenceLength,
// ConcatFromSequence, SplitToSequence.
//
// A sequence is an immutable Tensor::sequence value: ops that make one build
// a new list whose elements share storage with their sources (no copy), and
// set their output themselves (OutputDesc::set_by_run). SequenceAt returns
// the element's handle. The references the lists hold keep the executor from
// recycling an element's buffer while any sequence still holds it.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/ops.h"
#include "kernels/ref/broadcast.h"
#include "kernels/ref/copy.h"
#include "kernels/ref/transpose.h"

namespace si {

namespace {

std::string str(int64_t v) {
  return std::to_string(v);
}

std::string kind_of(const Tensor &t) {
  return t.is_sequence() ? "a sequence" : std::string("a ") + dtype_name(t.dtype()) + " tensor";
}

Status sequence_input(const Tensor *t, const char *what, const Tensor **out) {
  if (t == nullptr || !t->is_sequence())
    return invalid_argument(std::string(what) + " must be a sequence, got " +
                            (t == nullptr ? "nothing" : kind_of(*t)));
  *out = t;
  return Status::ok();
}

Status tensor_input(const Tensor *t, const char *what) {
  if (t == nullptr || t->is_sequence())
    return invalid_argument(std::string(what) + " must be a tensor, got " +
                            (t == nullptr ? "nothing" : "a sequence"));
  return Status::ok();
}

// The position input: a one-element int32/int64 tensor.
Status read_position(const Tensor &t, int64_t *out) {
  SI_RETURN_IF_ERROR(tensor_input(&t, "position"));
  if (t.dtype() != DType::kInt64 && t.dtype() != DType::kInt32)
    return invalid_argument(std::string("position must be int32 or int64, got ") +
                            dtype_name(t.dtype()));
  if (t.numel() != 1)
    return invalid_argument("position must be a scalar, got shape " + shape_str(t.shape()));
  *out = t.dtype() == DType::kInt64 ? t.data<int64_t>()[0] : t.data<int32_t>()[0];
  return Status::ok();
}

// A position into n elements, accepted in [-n, n - 1] (or [-n, n] when
// `one_past_end`, SequenceInsert's), as an index in [0, n] after adding n to
// a negative one.
Status resolve_position(int64_t pos, int64_t n, bool one_past_end, int64_t *out) {
  const int64_t hi = one_past_end ? n : n - 1;
  if (pos < -n || pos > hi) {
    return invalid_argument("position " + str(pos) + " is out of range for a sequence of " +
                            str(n) + " tensors (accepted: " + str(-n) + " to " + str(hi) + ")");
  }
  *out = pos < 0 ? pos + n : pos;
  return Status::ok();
}

Status same_element_dtype(DType want, const Tensor &t, const std::string &what) {
  if (t.dtype() == want) return Status::ok();
  return invalid_argument(what + " is " + dtype_name(t.dtype()) + ", the sequence holds " +
                          dtype_name(want));
}

// A kernel whose only output is a sequence it builds in run().
class SequenceOutputKernel : public OpKernel {
 public:
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    SI_RETURN_IF_ERROR(check(in));  // bad input fails before run
    OutputDesc d;
    d.set_by_run = true;
    out->push_back(d);
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    return build(in, out[0]);
  }

 protected:
  virtual Status build(const std::vector<const Tensor *> &in, Tensor *out) const = 0;
  // The inputs as build() would check them; by default by building a list
  // of handles, which costs no copy of data.
  virtual Status check(const std::vector<const Tensor *> &in) const {
    Tensor scratch;
    return build(in, &scratch);
  }
};

class SequenceEmptyKernel final : public SequenceOutputKernel {
 public:
  explicit SequenceEmptyKernel(DType dtype) : dtype_(dtype) {}

 private:
  Status build(const std::vector<const Tensor *> &, Tensor *out) const override {
    *out = Tensor::sequence(dtype_, {});
    return Status::ok();
  }
  DType dtype_;
};

class SequenceConstructKernel final : public SequenceOutputKernel {
  Status build(const std::vector<const Tensor *> &in, Tensor *out) const override {
    std::vector<Tensor> items;
    for (size_t k = 0; k < in.size(); ++k) {
      const std::string what = "input " + str(int64_t(k));
      SI_RETURN_IF_ERROR(tensor_input(in[k], what.c_str()));
      SI_RETURN_IF_ERROR(same_element_dtype(in[0]->dtype(), *in[k], what));
      items.push_back(*in[k]);
    }
    *out = Tensor::sequence(in[0]->dtype(), std::move(items));
    return Status::ok();
  }
};

class SequenceInsertKernel final : public SequenceOutputKernel {
  Status build(const std::vector<const Tensor *> &in, Tensor *out) const override {
    const Tensor *seq = nullptr;
    SI_RETURN_IF_ERROR(sequence_input(in[0], "input_sequence", &seq));
    SI_RETURN_IF_ERROR(tensor_input(in[1], "tensor"));
    SI_RETURN_IF_ERROR(same_element_dtype(seq->element_dtype(), *in[1], "tensor"));
    std::vector<Tensor> items = seq->elements();
    const int64_t n = int64_t(items.size());
    int64_t at = n;  // no position: append
    if (in.size() > 2 && in[2] != nullptr) {
      int64_t pos = 0;
      SI_RETURN_IF_ERROR(read_position(*in[2], &pos));
      SI_RETURN_IF_ERROR(resolve_position(pos, n, true, &at));
    }
    items.insert(items.begin() + at, *in[1]);
    *out = Tensor::sequence(seq->element_dtype(), std::move(items));
    return Status::ok();
  }
};

class SequenceEraseKernel final : public SequenceOutputKernel {
  Status build(const std::vector<const Tensor *> &in, Tensor *out) const override {
    const Tensor *seq = nullptr;
    SI_RETURN_IF_ERROR(sequence_input(in[0], "input_sequence", &seq));
    std::vector<Tensor> items = seq->elements();
    const int64_t n = int64_t(items.size());
    int64_t pos = -1;  // no position: the last
    if (in.size() > 1 && in[1] != nullptr) SI_RETURN_IF_ERROR(read_position(*in[1], &pos));
    int64_t at = 0;
    SI_RETURN_IF_ERROR(resolve_position(pos, n, false, &at));
    items.erase(items.begin() + at);
    *out = Tensor::sequence(seq->element_dtype(), std::move(items));
    return Status::ok();
  }
};

// The element's own handle: no copy, the output shares its storage.
class SequenceAtKernel final : public OpKernel {
 public:
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor *e = nullptr;
    SI_RETURN_IF_ERROR(element(in, &e));
    OutputDesc d{e->dtype(), e->shape()};
    d.set_by_run = true;
    out->push_back(d);
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor *e = nullptr;
    SI_RETURN_IF_ERROR(element(in, &e));
    *out[0] = *e;
    return Status::ok();
  }

 private:
  static Status element(const std::vector<const Tensor *> &in, const Tensor **out) {
    const Tensor *seq = nullptr;
    SI_RETURN_IF_ERROR(sequence_input(in[0], "input_sequence", &seq));
    int64_t pos = 0, at = 0;
    SI_RETURN_IF_ERROR(read_position(*in[1], &pos));
    SI_RETURN_IF_ERROR(resolve_position(pos, int64_t(seq->elements().size()), false, &at));
    *out = &seq->elements()[size_t(at)];
    return Status::ok();
  }
};

class SequenceLengthKernel final : public OpKernel {
 public:
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor *seq = nullptr;
    SI_RETURN_IF_ERROR(sequence_input(in[0], "input_sequence", &seq));
    out->push_back(OutputDesc{DType::kInt64, {}});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    out[0]->data<int64_t>()[0] = int64_t(in[0]->elements().size());
    return Status::ok();
  }
};

// Concat of the elements along `axis`, or (new_axis) stacked on a new axis
// inserted at `axis`.
class ConcatFromSequenceKernel final : public OpKernel {
 public:
  ConcatFromSequenceKernel(int64_t axis, bool new_axis) : axis_(axis), new_axis_(new_axis) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Shape y;
    int64_t axis = 0;
    SI_RETURN_IF_ERROR(plan(in, &y, &axis));
    out->push_back(OutputDesc{in[0]->element_dtype(), y});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    Shape y;
    int64_t axis = 0;
    SI_RETURN_IF_ERROR(plan(in, &y, &axis));
    const std::vector<Tensor> &items = in[0]->elements();
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= y[size_t(i)];
    if (outer == 0) return Status::ok();
    const size_t elem = dtype_size(in[0]->element_dtype());
    std::vector<const void *> srcs;
    std::vector<size_t> block;
    for (const Tensor &t : items) {
      srcs.push_back(t.raw());
      block.push_back(size_t(t.numel() / outer) * elem);
    }
    ref::concat_bytes(srcs.data(), block.data(), srcs.size(), outer, out[0]->raw());
    return Status::ok();
  }

 private:
  Status plan(const std::vector<const Tensor *> &in, Shape *y, int64_t *axis) const {
    const Tensor *seq = nullptr;
    SI_RETURN_IF_ERROR(sequence_input(in[0], "input_sequence", &seq));
    const std::vector<Tensor> &items = seq->elements();
    if (items.empty())
      return invalid_argument("cannot concatenate an empty sequence (no output shape)");
    const Tensor &first = items[0];
    const int64_t out_rank = first.rank() + (new_axis_ ? 1 : 0);
    if (!ref::normalize_axis(axis_, out_rank, axis)) {
      return invalid_argument("axis " + str(axis_) + " is out of range for elements of shape " +
                              shape_str(first.shape()) + (new_axis_ ? " with new_axis" : ""));
    }
    for (size_t k = 0; k < items.size(); ++k) {
      const Tensor &t = items[k];
      bool ok = t.rank() == first.rank();
      for (int64_t d = 0; ok && d < t.rank(); ++d)
        ok = d == *axis && !new_axis_ ? true : t.dim(d) == first.dim(d);
      if (!ok) {
        return invalid_argument("element " + str(int64_t(k)) + " has shape " +
                                shape_str(t.shape()) + ", element 0 " + shape_str(first.shape()) +
                                (new_axis_ ? " (stacking needs equal shapes)"
                                           : " (only axis " + str(*axis) + " may differ)"));
      }
    }
    *y = first.shape();
    if (new_axis_) {
      y->insert(y->begin() + *axis, int64_t(items.size()));
    } else {
      int64_t sum = 0;
      for (const Tensor &t : items) sum += t.dim(*axis);
      (*y)[size_t(*axis)] = sum;
    }
    return Status::ok();
  }
  int64_t axis_;
  bool new_axis_;
};

// Copies of slices of the input along `axis`: one per split length; without
// `split`, length-1 slices, the axis dropped unless keepdims.
class SplitToSequenceKernel final : public SequenceOutputKernel {
 public:
  SplitToSequenceKernel(int64_t axis, bool keepdims) : axis_(axis), keepdims_(keepdims) {}

 private:
  Status check(const std::vector<const Tensor *> &in) const override {
    int64_t axis = 0;
    std::vector<int64_t> parts;
    bool squeeze = false;
    return plan(in, &axis, &parts, &squeeze);
  }
  Status build(const std::vector<const Tensor *> &in, Tensor *out) const override {
    int64_t axis = 0;
    std::vector<int64_t> parts;
    bool squeeze = false;
    SI_RETURN_IF_ERROR(plan(in, &axis, &parts, &squeeze));
    const Tensor &x = *in[0];
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
    for (int64_t i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
    const size_t elem = dtype_size(x.dtype());
    const int64_t row = x.dim(axis) * inner;
    std::vector<Tensor> items(parts.size());
    int64_t offset = 0;
    for (size_t k = 0; k < parts.size(); ++k) {
      Shape s = x.shape();
      s[size_t(axis)] = parts[k];
      if (squeeze) s.erase(s.begin() + axis);
      // Elements are new buffers, so a run's memory limit does not count them.
      SI_RETURN_IF_ERROR(Tensor::allocate(x.dtype(), s, &items[k]));
      const int64_t dims[2] = {outer, parts[k] * inner};
      const int64_t strides[2] = {row, 1};
      if (items[k].numel() > 0) {
        ref::strided_copy_bytes(static_cast<const char *>(x.raw()) + offset * int64_t(elem), dims,
                                strides, 2, elem, items[k].raw());
      }
      offset += parts[k] * inner;
    }
    *out = Tensor::sequence(x.dtype(), std::move(items));
    return Status::ok();
  }
  Status plan(const std::vector<const Tensor *> &in, int64_t *axis, std::vector<int64_t> *parts,
              bool *squeeze) const {
    SI_RETURN_IF_ERROR(tensor_input(in[0], "input"));
    const Tensor &x = *in[0];
    if (!ref::normalize_axis(axis_, x.rank(), axis))
      return invalid_argument("axis " + str(axis_) + " is out of range for input " +
                              shape_str(x.shape()));
    const int64_t dim = x.dim(*axis);
    if (in.size() < 2 || in[1] == nullptr) {
      parts->assign(size_t(dim), 1);
      *squeeze = !keepdims_;
      return Status::ok();
    }
    const Tensor &split = *in[1];
    SI_RETURN_IF_ERROR(tensor_input(&split, "split"));
    if (split.dtype() != DType::kInt64 && split.dtype() != DType::kInt32)
      return invalid_argument(std::string("split must be int32 or int64, got ") +
                              dtype_name(split.dtype()));
    if (split.rank() > 1)
      return invalid_argument("split must be a scalar or 1-D, got shape " +
                              shape_str(split.shape()));
    std::vector<int64_t> v(size_t(split.numel()));
    for (int64_t i = 0; i < split.numel(); ++i)
      v[size_t(i)] =
          split.dtype() == DType::kInt64 ? split.data<int64_t>()[i] : split.data<int32_t>()[i];
    if (split.rank() == 0) {
      // One length for every part; the last takes what is left.
      if (v[0] <= 0) return invalid_argument("split " + str(v[0]) + " must be positive");
      for (int64_t done = 0; done < dim; done += v[0]) parts->push_back(std::min(v[0], dim - done));
      return Status::ok();
    }
    int64_t sum = 0;
    for (int64_t s : v) {
      if (s < 0 || s > dim - sum)
        return invalid_argument("split " + shape_str(v) + " does not sum to the axis size " +
                                str(dim));
      sum += s;
    }
    if (sum != dim)
      return invalid_argument("split " + shape_str(v) + " does not sum to the axis size " +
                              str(dim));
    *parts = std::move(v);
    return Status::ok();
  }
  int64_t axis_;
  bool keepdims_;
};

// A kernel without attributes whose first `required` inputs must be given.
template <typename Kernel>
Status create_plain(const LoadContext &ctx, size_t required, const char *usage,
                    std::unique_ptr<OpKernel> *out) {
  for (size_t i = 0; i < required; ++i)
    if (!ctx.has_input(i)) return invalid_model(std::string("expects inputs ") + usage);
  *out = std::make_unique<Kernel>();
  return Status::ok();
}

}  // namespace

Status create_sequence_empty(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const int64_t onnx_type = ctx.node.attr_int("dtype", 1);  // default float
  DType dtype = DType::kUndefined;
  if (!dtype_from_onnx(int32_t(onnx_type), &dtype))
    return unsupported("dtype " + str(onnx_type) + " (ONNX TensorProto.DataType) not supported");
  *out = std::make_unique<SequenceEmptyKernel>(dtype);
  return Status::ok();
}

Status create_sequence_construct(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  if (ctx.num_inputs() == 0) return invalid_model("expects at least one input");
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (!ctx.has_input(i)) return invalid_model("input " + str(int64_t(i)) + " is missing");
  *out = std::make_unique<SequenceConstructKernel>();
  return Status::ok();
}

Status create_sequence_insert(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_plain<SequenceInsertKernel>(ctx, 2, "input_sequence, tensor[, position]", out);
}

Status create_sequence_erase(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_plain<SequenceEraseKernel>(ctx, 1, "input_sequence[, position]", out);
}

Status create_sequence_at(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_plain<SequenceAtKernel>(ctx, 2, "input_sequence, position", out);
}

Status create_sequence_length(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_plain<SequenceLengthKernel>(ctx, 1, "input_sequence", out);
}

Status create_concat_from_sequence(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  if (!ctx.has_input(0)) return invalid_model("expects inputs input_sequence");
  if (!n.has_attr("axis")) return invalid_model("attribute axis is required");
  const int64_t new_axis = n.attr_int("new_axis", 0);
  if (new_axis != 0 && new_axis != 1)
    return invalid_model("new_axis must be 0 or 1, got " + str(new_axis));
  *out = std::make_unique<ConcatFromSequenceKernel>(n.attr_int("axis", 0), new_axis == 1);
  return Status::ok();
}

Status create_split_to_sequence(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  if (!ctx.has_input(0)) return invalid_model("expects inputs input[, split]");
  const int64_t keepdims = n.attr_int("keepdims", 1);
  if (keepdims != 0 && keepdims != 1)
    return invalid_model("keepdims must be 0 or 1, got " + str(keepdims));
  *out = std::make_unique<SplitToSequenceKernel>(n.attr_int("axis", 0), keepdims == 1);
  return Status::ok();
}

}  // namespace si
