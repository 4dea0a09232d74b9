// ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare and
// ArgMax/ArgMin. Axes come from the `axes` attribute, or for ReduceSum from
// opset 13 on from an optional int64 input (the form every Reduce takes from
// opset 18, past this engine's opset 17).
#include <memory>
#include <string>

#include "engine/ops/ops.h"
#include "kernels/ref/broadcast.h"
#include "kernels/ref/reduce.h"

namespace si {

namespace {

std::string axes_str(const std::vector<int64_t> &axes) {
  std::string s = "[";
  for (size_t i = 0; i < axes.size(); ++i) s += (i ? "," : "") + std::to_string(axes[i]);
  return s + "]";
}

class ReduceKernel final : public OpKernel {
 public:
  // axes_from_input: ReduceSum opset >= 13. noop_empty: noop_with_empty_axes.
  ReduceKernel(ref::ReduceOp op, bool keepdims, bool axes_from_input, bool noop_empty,
               std::vector<int64_t> axes)
      : op_(op),
        keepdims_(keepdims),
        axes_from_input_(axes_from_input),
        noop_empty_(noop_empty),
        axes_(std::move(axes)) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const DType t = in[0]->dtype();
    const bool int_ok =
        (t == DType::kInt32 || t == DType::kInt64) && ref::reduce_int_supported(op_);
    if (t != DType::kFloat32 && !int_ok) {
      return unsupported(std::string("input data has dtype ") + dtype_name(t) +
                         ", which this reduction does not support");
    }
    std::vector<bool> reduced;
    bool noop = false;
    SI_RETURN_IF_ERROR(reduced_axes(in, &reduced, &noop));
    if (noop) {
      out->push_back(OutputDesc{t, in[0]->shape(), 0});
      return Status::ok();
    }
    Shape y;
    for (size_t d = 0; d < reduced.size(); ++d) {
      if (!reduced[d])
        y.push_back(in[0]->shape()[d]);
      else if (keepdims_)
        y.push_back(1);
    }
    out->push_back(OutputDesc{t, y, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    std::vector<bool> reduced;
    bool noop = false;
    SI_RETURN_IF_ERROR(reduced_axes(in, &reduced, &noop));
    if (noop) return Status::ok();  // the output aliases the input
    const Tensor &x = *in[0];
    Tensor &y = *out[0];
    switch (x.dtype()) {
      case DType::kFloat32:
        ref::reduce_f32(op_, x.shape(), reduced, x.data<float>(), y.data<float>());
        break;
      case DType::kInt32:
        ref::reduce_i32(op_, x.shape(), reduced, x.data<int32_t>(), y.data<int32_t>());
        break;
      case DType::kInt64:
        ref::reduce_i64(op_, x.shape(), reduced, x.data<int64_t>(), y.data<int64_t>());
        break;
      default:
        return unsupported(std::string("dtype ") + dtype_name(x.dtype()) + " is not supported");
    }
    return Status::ok();
  }

 private:
  Status reduced_axes(const std::vector<const Tensor *> &in, std::vector<bool> *reduced,
                      bool *noop) const {
    const Shape &s = in[0]->shape();
    const int64_t rank = int64_t(s.size());
    std::vector<int64_t> axes = axes_;
    if (axes_from_input_ && in.size() > 1 && in[1] != nullptr) {
      const Tensor &a = *in[1];
      if (a.dtype() != DType::kInt64 || a.rank() > 1) {
        return invalid_argument(std::string("input axes must be a 1-D int64 tensor, got ") +
                                dtype_name(a.dtype()) + " " + shape_str(a.shape()));
      }
      axes.assign(a.data<int64_t>(), a.data<int64_t>() + a.numel());
    }
    *noop = axes.empty() && noop_empty_;
    reduced->assign(size_t(rank), axes.empty());
    for (int64_t axis : axes) {
      int64_t d;
      if (!ref::normalize_axis(axis, rank, &d)) {
        return invalid_argument("axes " + axes_str(axes) + " out of range for input " +
                                shape_str(s));
      }
      if ((*reduced)[size_t(d)])
        return invalid_argument("axes " + axes_str(axes) + " name an axis twice");
      (*reduced)[size_t(d)] = true;
    }
    return Status::ok();
  }

  ref::ReduceOp op_;
  bool keepdims_;
  bool axes_from_input_;
  bool noop_empty_;
  std::vector<int64_t> axes_;
};

Status create_reduce(const LoadContext &ctx, ref::ReduceOp op, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  const bool from_input = op == ref::ReduceOp::kSum && n.opset >= 13;
  const size_t max_inputs = from_input ? 2 : 1;
  if (!ctx.has_input(0) || ctx.num_inputs() > max_inputs) {
    return invalid_model(from_input ? "expects input data and optional axes"
                                    : "expects one input data");
  }
  if (from_input && n.has_attr("axes"))
    return invalid_model("axes is an input from opset 13 on, not an attribute");
  const int64_t keepdims = n.attr_int("keepdims", 1);
  const int64_t noop = from_input ? n.attr_int("noop_with_empty_axes", 0) : 0;
  if ((keepdims != 0 && keepdims != 1) || (noop != 0 && noop != 1)) {
    return invalid_model("attributes keepdims and noop_with_empty_axes must be 0 or 1");
  }
  *out =
      std::make_unique<ReduceKernel>(op, keepdims == 1, from_input, noop == 1, n.attr_ints("axes"));
  return Status::ok();
}

class ArgReduceKernel final : public OpKernel {
 public:
  ArgReduceKernel(bool is_max, int64_t axis, bool keepdims, bool select_last)
      : is_max_(is_max), axis_(axis), keepdims_(keepdims), select_last_(select_last) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    int64_t axis;
    SI_RETURN_IF_ERROR(check(*in[0], &axis));
    Shape y = in[0]->shape();
    if (keepdims_)
      y[size_t(axis)] = 1;
    else
      y.erase(y.begin() + axis);
    out->push_back(OutputDesc{DType::kInt64, y, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    const Tensor &x = *in[0];
    int64_t axis;
    SI_RETURN_IF_ERROR(check(x, &axis));
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    const int64_t n = x.dim(axis);
    if (outer * inner == 0) return Status::ok();
    int64_t *y = out[0]->data<int64_t>();
    const bool m = is_max_, l = select_last_;
    const int t = ctx.threads;
    switch (x.dtype()) {
      case DType::kFloat32:
        ref::arg_reduce_f32(m, l, x.data<float>(), outer, n, inner, y, t);
        break;
      case DType::kInt8:
        ref::arg_reduce_i8(m, l, x.data<int8_t>(), outer, n, inner, y, t);
        break;
      case DType::kUint8:
        ref::arg_reduce_u8(m, l, x.data<uint8_t>(), outer, n, inner, y, t);
        break;
      case DType::kInt32:
        ref::arg_reduce_i32(m, l, x.data<int32_t>(), outer, n, inner, y, t);
        break;
      case DType::kInt64:
        ref::arg_reduce_i64(m, l, x.data<int64_t>(), outer, n, inner, y, t);
        break;
      default:
        return unsupported(std::string("dtype ") + dtype_name(x.dtype()) + " is not supported");
    }
    return Status::ok();
  }

 private:
  Status check(const Tensor &x, int64_t *axis) const {
    const DType t = x.dtype();
    if (t != DType::kFloat32 && t != DType::kInt8 && t != DType::kUint8 && t != DType::kInt32 &&
        t != DType::kInt64) {
      return unsupported(std::string("input data has dtype ") + dtype_name(t) +
                         ", which is not supported");
    }
    if (!ref::normalize_axis(axis_, x.rank(), axis)) {
      return invalid_argument("axis " + std::to_string(axis_) + " is out of range for input " +
                              shape_str(x.shape()));
    }
    if (x.dim(*axis) == 0) {
      return invalid_argument("axis " + std::to_string(axis_) + " of input " +
                              shape_str(x.shape()) + " is empty: no element to pick");
    }
    return Status::ok();
  }

  bool is_max_;
  int64_t axis_;
  bool keepdims_;
  bool select_last_;
};

Status create_arg_reduce(const LoadContext &ctx, bool is_max, std::unique_ptr<OpKernel> *out) {
  if (!ctx.has_input(0) || ctx.num_inputs() != 1) return invalid_model("expects one input data");
  const Node &n = ctx.node;
  const int64_t keepdims = n.attr_int("keepdims", 1);
  const int64_t last = n.attr_int("select_last_index", 0);
  if ((keepdims != 0 && keepdims != 1) || (last != 0 && last != 1))
    return invalid_model("attributes keepdims and select_last_index must be 0 or 1");
  *out = std::make_unique<ArgReduceKernel>(is_max, n.attr_int("axis", 0), keepdims == 1, last == 1);
  return Status::ok();
}

}  // namespace

Status create_reduce_sum(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_reduce(ctx, ref::ReduceOp::kSum, out);
}
Status create_reduce_mean(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_reduce(ctx, ref::ReduceOp::kMean, out);
}
Status create_reduce_max(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_reduce(ctx, ref::ReduceOp::kMax, out);
}
Status create_reduce_min(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_reduce(ctx, ref::ReduceOp::kMin, out);
}
Status create_reduce_prod(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_reduce(ctx, ref::ReduceOp::kProd, out);
}
Status create_reduce_l1(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_reduce(ctx, ref::ReduceOp::kL1, out);
}
Status create_reduce_l2(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_reduce(ctx, ref::ReduceOp::kL2, out);
}
Status create_reduce_log_sum(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_reduce(ctx, ref::ReduceOp::kLogSum, out);
}
Status create_reduce_log_sum_exp(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_reduce(ctx, ref::ReduceOp::kLogSumExp, out);
}
Status create_reduce_sum_square(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_reduce(ctx, ref::ReduceOp::kSumSquare, out);
}
Status create_arg_max(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_arg_reduce(ctx, true, out);
}
Status create_arg_min(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_arg_reduce(ctx, false, out);
}

}  // namespace si
