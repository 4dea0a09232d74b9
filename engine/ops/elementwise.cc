// Add, Sub, Mul, Div: numpy broadcasting (opset >= 7) and the legacy
// `broadcast`/`axis` form (opset 1-6).
#include <memory>
#include <string>

#include "engine/ops/binary_broadcast.h"
#include "engine/ops/ops.h"
#include "kernels/ref/broadcast.h"
#include "kernels/ref/elementwise.h"

namespace si {

namespace {

bool binary_dtype_supported(DType t) {
  return t == DType::kFloat32 || t == DType::kInt32 || t == DType::kInt64 || t == DType::kUint8;
}

template <typename T>
bool has_zero(const Tensor &t) {
  const T *p = t.data<T>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (p[i] == 0) return true;
  return false;
}

class BinaryKernel final : public OpKernel {
 public:
  BinaryKernel(ref::BinaryOp op, BinaryBroadcast bc) : op_(op), bc_(bc) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor &a = *in[0], &b = *in[1];
    if (a.dtype() != b.dtype()) {
      return invalid_argument(std::string("inputs A and B differ in dtype: ") +
                              dtype_name(a.dtype()) + " vs " + dtype_name(b.dtype()));
    }
    if (!binary_dtype_supported(a.dtype()))
      return unsupported(std::string("dtype ") + dtype_name(a.dtype()) + " is not supported");
    Shape y, b_eff;
    SI_RETURN_IF_ERROR(bc_.shapes(a.shape(), b.shape(), &y, &b_eff));
    out->push_back(OutputDesc{a.dtype(), y, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    const Tensor &a = *in[0], &b = *in[1];
    Tensor &y = *out[0];
    Shape y_shape, b_eff;
    SI_RETURN_IF_ERROR(bc_.shapes(a.shape(), b.shape(), &y_shape, &b_eff));
    if (y.numel() == 0) return Status::ok();
    ref::BroadcastPlan plan = ref::make_broadcast_plan(a.shape(), b_eff, y_shape);
    const int t = ctx.threads;
    switch (a.dtype()) {
      case DType::kFloat32:
        ref::binary_f32(op_, plan, a.data<float>(), b.data<float>(), y.data<float>(), t);
        break;
      case DType::kInt32:
        if (op_ == ref::BinaryOp::kDiv && has_zero<int32_t>(b))
          return invalid_argument("integer division by zero (divisor B contains 0)");
        ref::binary_i32(op_, plan, a.data<int32_t>(), b.data<int32_t>(), y.data<int32_t>(), t);
        break;
      case DType::kInt64:
        if (op_ == ref::BinaryOp::kDiv && has_zero<int64_t>(b))
          return invalid_argument("integer division by zero (divisor B contains 0)");
        ref::binary_i64(op_, plan, a.data<int64_t>(), b.data<int64_t>(), y.data<int64_t>(), t);
        break;
      case DType::kUint8:
        if (op_ == ref::BinaryOp::kDiv && has_zero<uint8_t>(b))
          return invalid_argument("integer division by zero (divisor B contains 0)");
        ref::binary_u8(op_, plan, a.data<uint8_t>(), b.data<uint8_t>(), y.data<uint8_t>(), t);
        break;
      default:
        return unsupported(std::string("dtype ") + dtype_name(a.dtype()) + " is not supported");
    }
    return Status::ok();
  }

 private:
  ref::BinaryOp op_;
  BinaryBroadcast bc_;
};

template <ref::BinaryOp kOp>
Status create_binary(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  if (!ctx.has_input(0) || !ctx.has_input(1) || ctx.num_inputs() != 2)
    return invalid_model("expects exactly two inputs A and B");
  BinaryBroadcast bc;
  SI_RETURN_IF_ERROR(BinaryBroadcast::from_node(ctx.node, &bc));
  *out = std::make_unique<BinaryKernel>(kOp, bc);
  return Status::ok();
}

}  // namespace

Status BinaryBroadcast::from_node(const Node &n, BinaryBroadcast *out) {
  out->legacy = n.opset < 7;
  const int64_t broadcast = out->legacy ? n.attr_int("broadcast", 0) : 0;
  if (broadcast != 0 && broadcast != 1) {
    return invalid_model("attribute broadcast must be 0 or 1, got " + std::to_string(broadcast));
  }
  out->legacy_broadcast = broadcast == 1;
  out->has_axis = n.has_attr("axis");
  out->axis = n.attr_int("axis", 0);
  return Status::ok();
}

// Legacy: B broadcasts onto A only when `broadcast` is set, aligned at `axis`
// (suffix-aligned when there is no axis).
Status BinaryBroadcast::shapes(const Shape &a, const Shape &b, Shape *y, Shape *b_eff) const {
  if (!legacy) {
    if (!ref::broadcast_shape(a, b, y)) {
      return invalid_argument("shapes A " + shape_str(a) + " and B " + shape_str(b) +
                              " are not broadcastable");
    }
    *b_eff = b;
    return Status::ok();
  }
  *y = a;
  if (!legacy_broadcast) {
    if (a != b) {
      return invalid_argument("shapes A " + shape_str(a) + " and B " + shape_str(b) +
                              " differ and attribute broadcast is 0");
    }
    *b_eff = b;
    return Status::ok();
  }
  const int64_t ra = int64_t(a.size()), rb = int64_t(b.size());
  int64_t at = ra - rb;
  if (has_axis) at = axis < 0 ? axis + ra : axis;
  if (at < 0 || at + rb > ra) {
    return invalid_argument("B " + shape_str(b) + " does not fit into A " + shape_str(a) +
                            " at axis " + std::to_string(at));
  }
  b_eff->assign(size_t(ra), 1);
  for (int64_t i = 0; i < rb; ++i) {
    int64_t db = b[size_t(i)], da = a[size_t(at + i)];
    if (db != da && db != 1) {
      return invalid_argument("B " + shape_str(b) + " cannot broadcast onto A " + shape_str(a) +
                              " at axis " + std::to_string(at));
    }
    (*b_eff)[size_t(at + i)] = db;
  }
  return Status::ok();
}

Status create_add(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_binary<ref::BinaryOp::kAdd>(ctx, out);
}
Status create_sub(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_binary<ref::BinaryOp::kSub>(ctx, out);
}
Status create_mul(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_binary<ref::BinaryOp::kMul>(ctx, out);
}
Status create_div(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_binary<ref::BinaryOp::kDiv>(ctx, out);
}

}  // namespace si
