// MaxPool, AveragePool (1-D to 3-D), GlobalMaxPool and GlobalAveragePool
// (any rank >= 3) over plain NC[D]HW tensors. A MaxPool between two
// convolutions may instead be told (kSrcBlockAttr, assign_conv_layouts) that
// its input and output are channel-blocked; it then pools in that layout with
// kernels/vec/maxpool.h.
// A GlobalAveragePool may read a blocked input (its [N, C, 1...] output is
// the same bytes in both layouts).
//
// MaxPool is registered zero-preserving: a window of zeros stays zero. The
// executor's ActiveSet does not survive it automatically (its output is a
// new tensor with new rows); carrying sparsity through pooling is the
// sparsity propagation's job, not this op's.
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/ops.h"
#include "engine/ops/window.h"
#include "kernels/ref/pool_ref.h"
#include "kernels/vec/maxpool.h"

namespace si {

namespace {

Status pool_problem(const Tensor &x, const WindowAttrs &a, ref::PoolParams *p, Shape *y) {
  if (x.rank() < 3) {
    return invalid_argument("X " + shape_str(x.shape()) +
                            " must be [N, C, spatial...] with at least one spatial dim");
  }
  const size_t r = size_t(x.rank() - 2);
  if (r > size_t(ref::kMaxPoolSpatial)) {
    return unsupported(std::to_string(r) + "-D pooling of X " + shape_str(x.shape()) +
                       "; at most 3 spatial dims are supported");
  }
  std::vector<WindowDim> dims;
  SI_RETURN_IF_ERROR(resolve_window(a, Shape(x.shape().begin() + 2, x.shape().end()), a.kernel,
                                    "X " + shape_str(x.shape()), &dims));
  p->planes = x.dim(0) * x.dim(1);
  p->rank = int(r);
  *y = {x.dim(0), x.dim(1)};
  for (size_t i = 0; i < r; ++i) {
    p->in[i] = dims[i].in;
    p->out[i] = dims[i].out;
    p->kernel[i] = dims[i].kernel;
    p->stride[i] = dims[i].stride;
    p->dilation[i] = dims[i].dilation;
    p->pad_begin[i] = dims[i].pad_begin;
    p->pad_end[i] = dims[i].pad_end;
    y->push_back(dims[i].out);
  }
  return Status::ok();
}

Status read_pool_attrs(const LoadContext &ctx, WindowAttrs *a) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return invalid_model("expects one input X");
  SI_RETURN_IF_ERROR(read_window_attrs(ctx.node, a));
  if (a->kernel.empty()) return invalid_model("attribute kernel_shape is required");
  return Status::ok();
}

// ---------------------------------------------------------------- MaxPool

class MaxPoolOp final : public OpKernel {
 public:
  MaxPoolOp(WindowAttrs attrs, bool column_major, size_t num_outputs, bool indices, int block)
      : attrs_(std::move(attrs)),
        column_major_(column_major),
        num_outputs_(num_outputs),
        indices_(indices),
        block_(block) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    ref::PoolParams p;
    Shape y;
    SI_RETURN_IF_ERROR(check(*in[0], &p, &y));
    out->assign(1, OutputDesc{in[0]->dtype(), y, -1});
    // An omitted Indices output still gets a (empty) buffer from the executor.
    if (num_outputs_ > 1) out->push_back(OutputDesc{DType::kInt64, indices_ ? y : Shape{0}, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    const Tensor &x = *in[0];
    ref::PoolParams p;
    Shape y;
    SI_RETURN_IF_ERROR(check(x, &p, &y));
    int64_t *idx = indices_ ? out[1]->data<int64_t>() : nullptr;
    if (block_ != 0) {
      f32_max_pool_blocked(max_pool_kernels(), p, block_, x.data<float>(), out[0]->data<float>(),
                           ctx.threads);
      return Status::ok();
    }
    switch (x.dtype()) {
      case DType::kFloat32:
        ref::f32_max_pool(p, x.data<float>(), out[0]->data<float>(), idx, column_major_,
                          ctx.threads);
        break;
      case DType::kUint8:
        ref::u8_max_pool(p, x.data<uint8_t>(), out[0]->data<uint8_t>(), idx, column_major_,
                         ctx.threads);
        break;
      default:
        ref::i8_max_pool(p, x.data<int8_t>(), out[0]->data<int8_t>(), idx, column_major_,
                         ctx.threads);
        break;
    }
    return Status::ok();
  }

 private:
  Status check(const Tensor &x, ref::PoolParams *p, Shape *y) const {
    if (x.dtype() != DType::kFloat32 && x.dtype() != DType::kUint8 && x.dtype() != DType::kInt8) {
      return unsupported(std::string("input X has dtype ") + dtype_name(x.dtype()) +
                         ", supported: float32, uint8, int8");
    }
    if (block_ != 0 && (x.dtype() != DType::kFloat32 || x.rank() < 3 || x.dim(1) % block_ != 0)) {
      return internal_error("a channel-blocked MaxPool got " + std::string(dtype_name(x.dtype())) +
                            " " + shape_str(x.shape()));
    }
    return pool_problem(x, attrs_, p, y);
  }

  WindowAttrs attrs_;
  bool column_major_;
  size_t num_outputs_;
  bool indices_;
  int block_;
};

// ---------------------------------------------------------------- AveragePool

class AveragePoolOp final : public OpKernel {
 public:
  AveragePoolOp(WindowAttrs attrs, bool count_include_pad)
      : attrs_(std::move(attrs)), count_include_pad_(count_include_pad) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    ref::PoolParams p;
    Shape y;
    SI_RETURN_IF_ERROR(check(*in[0], &p, &y));
    out->assign(1, OutputDesc{DType::kFloat32, y, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    ref::PoolParams p;
    Shape y;
    SI_RETURN_IF_ERROR(check(*in[0], &p, &y));
    ref::f32_avg_pool(p, in[0]->data<float>(), out[0]->data<float>(), count_include_pad_,
                      ctx.threads);
    return Status::ok();
  }

 private:
  Status check(const Tensor &x, ref::PoolParams *p, Shape *y) const {
    if (x.dtype() != DType::kFloat32) {
      return unsupported(std::string("input X has dtype ") + dtype_name(x.dtype()) +
                         ", only float32 is supported");
    }
    return pool_problem(x, attrs_, p, y);
  }

  WindowAttrs attrs_;
  bool count_include_pad_;
};

// ---------------------------------------------------------------- Global pools

class GlobalPoolOp final : public OpKernel {
 public:
  // block != 0: a GlobalAveragePool reading a channel-blocked input.
  GlobalPoolOp(bool max, int block) : max_(max), block_(block) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor &x = *in[0];
    SI_RETURN_IF_ERROR(check(x));
    Shape y = x.shape();
    for (size_t i = 2; i < y.size(); ++i) y[i] = 1;
    out->assign(1, OutputDesc{DType::kFloat32, y, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    const Tensor &x = *in[0];
    SI_RETURN_IF_ERROR(check(x));
    const int64_t planes = x.dim(0) * x.dim(1);
    const int64_t size = planes > 0 ? x.numel() / planes : 0;
    if (block_ != 0) {
      if (x.dim(1) % block_ != 0)
        return internal_error("a channel-blocked pool got X " + shape_str(x.shape()));
      ref::f32_global_avg_pool_blocked(x.data<float>(), out[0]->data<float>(), x.dim(0), x.dim(1),
                                       size, block_, ctx.threads);
    } else if (max_) {
      ref::f32_global_max_pool(x.data<float>(), out[0]->data<float>(), planes, size, ctx.threads);
    } else {
      ref::f32_global_avg_pool(x.data<float>(), out[0]->data<float>(), planes, size, ctx.threads);
    }
    return Status::ok();
  }

 private:
  static Status check(const Tensor &x) {
    if (x.dtype() != DType::kFloat32) {
      return unsupported(std::string("input X has dtype ") + dtype_name(x.dtype()) +
                         ", only float32 is supported");
    }
    if (x.rank() < 3) {
      return invalid_argument("X " + shape_str(x.shape()) +
                              " must be [N, C, spatial...] with at least one spatial dim");
    }
    return Status::ok();
  }

  bool max_;
  int block_;
};

}  // namespace

Status create_max_pool(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  WindowAttrs a;
  SI_RETURN_IF_ERROR(read_pool_attrs(ctx, &a));
  const Node &n = ctx.node;
  if (n.outputs.empty() || n.outputs.size() > 2 || n.outputs[0] < 0)
    return invalid_model("expects output Y and optionally Indices");
  const int64_t order = n.attr_int("storage_order", 0);
  if (order != 0 && order != 1)
    return invalid_model("storage_order must be 0 or 1, got " + std::to_string(order));
  const bool indices = n.outputs.size() > 1 && n.outputs[1] >= 0;
  const int block = int(n.attr_int(kSrcBlockAttr, 0));
  if (block != 0 && indices)
    return invalid_model("a channel-blocked MaxPool has no Indices output");
  *out = std::make_unique<MaxPoolOp>(a, order == 1, n.outputs.size(), indices, block);
  return Status::ok();
}

Status create_average_pool(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  WindowAttrs a;
  SI_RETURN_IF_ERROR(read_pool_attrs(ctx, &a));
  if (ctx.node.outputs.size() != 1) return invalid_model("expects exactly one output Y");
  *out = std::make_unique<AveragePoolOp>(a, ctx.node.attr_int("count_include_pad", 0) != 0);
  return Status::ok();
}

Status create_global_average_pool(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return invalid_model("expects one input X");
  *out = std::make_unique<GlobalPoolOp>(false, int(ctx.node.attr_int(kSrcBlockAttr, 0)));
  return Status::ok();
}

Status create_global_max_pool(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return invalid_model("expects one input X");
  *out = std::make_unique<GlobalPoolOp>(true, 0);
  return Status::ok();
}

}  // namespace si
