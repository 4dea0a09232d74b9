// Unary math, PRelu, Pow, Mod, BitShift, IsNaN/IsInf, the variadic
// Max/Min/Sum/Mean, comparisons, boolean logic, Where and Cast.
#include <memory>
#include <string>

#include "engine/ops/binary_broadcast.h"
#include "engine/ops/ops.h"
#include "kernels/ref/binary_math.h"
#include "kernels/ref/broadcast.h"
#include "kernels/ref/compare.h"
#include "kernels/ref/elementwise.h"
#include "kernels/ref/unary.h"

namespace si {

namespace {

Status bad_dtype(const char *what, DType t) {
  return unsupported(std::string(what) + " has dtype " + dtype_name(t) +
                     ", which is not supported");
}

bool to_elem(DType t, ref::ElemType *out) {
  switch (t) {
    case DType::kFloat32:
      *out = ref::ElemType::kF32;
      return true;
    case DType::kUint8:
      *out = ref::ElemType::kU8;
      return true;
    case DType::kInt8:
      *out = ref::ElemType::kI8;
      return true;
    case DType::kInt32:
      *out = ref::ElemType::kI32;
      return true;
    case DType::kInt64:
      *out = ref::ElemType::kI64;
      return true;
    case DType::kBool:
      *out = ref::ElemType::kBool;
      return true;
    case DType::kUndefined:
      break;
  }
  return false;
}

Status require_inputs(const LoadContext &ctx, size_t n, const char *names) {
  if (ctx.num_inputs() != n) return invalid_model(std::string("expects inputs ") + names);
  for (size_t i = 0; i < n; ++i)
    if (!ctx.has_input(i)) return invalid_model(std::string("expects inputs ") + names);
  return Status::ok();
}

Status same_dtype(const Tensor &a, const Tensor &b, const char *na, const char *nb) {
  if (a.dtype() == b.dtype()) return Status::ok();
  return invalid_argument(std::string("inputs ") + na + " and " + nb + " differ in dtype: " +
                          dtype_name(a.dtype()) + " vs " + dtype_name(b.dtype()));
}

// ---- Unary ----------------------------------------------------------------

class UnaryMathKernel final : public OpKernel {
 public:
  UnaryMathKernel(ref::UnaryOp op, ref::UnaryParams p) : op_(op), p_(p) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const DType t = in[0]->dtype();
    const bool int_ok = t == DType::kInt8 || t == DType::kInt32 || t == DType::kInt64;
    if (t != DType::kFloat32 && !(int_ok && ref::unary_int_supported(op_)))
      return bad_dtype("input X", t);
    out->push_back(OutputDesc{t, in[0]->shape(), -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    const Tensor &x = *in[0];
    Tensor &y = *out[0];
    const int64_t n = x.numel();
    switch (x.dtype()) {
      case DType::kFloat32:
        ref::unary_f32(op_, p_, x.data<float>(), y.data<float>(), n, ctx.threads);
        break;
      case DType::kInt8:
        ref::unary_i8(op_, x.data<int8_t>(), y.data<int8_t>(), n, ctx.threads);
        break;
      case DType::kInt32:
        ref::unary_i32(op_, x.data<int32_t>(), y.data<int32_t>(), n, ctx.threads);
        break;
      case DType::kInt64:
        ref::unary_i64(op_, x.data<int64_t>(), y.data<int64_t>(), n, ctx.threads);
        break;
      default:
        return bad_dtype("input X", x.dtype());
    }
    return Status::ok();
  }

 private:
  ref::UnaryOp op_;
  ref::UnaryParams p_;
};

Status create_unary(const LoadContext &ctx, ref::UnaryOp op, ref::UnaryParams p,
                    std::unique_ptr<OpKernel> *out) {
  if (!ctx.has_input(0) || ctx.num_inputs() != 1) return invalid_model("expects one input X");
  *out = std::make_unique<UnaryMathKernel>(op, p);
  return Status::ok();
}

// ---- PRelu ----------------------------------------------------------------

class PReluKernel final : public OpKernel {
 public:
  explicit PReluKernel(bool legacy) : legacy_(legacy) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    SI_RETURN_IF_ERROR(check(*in[0], *in[1], nullptr));
    out->push_back(OutputDesc{DType::kFloat32, in[0]->shape(), -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    const Tensor &x = *in[0], &slope = *in[1];
    Shape slope_eff;
    SI_RETURN_IF_ERROR(check(x, slope, &slope_eff));
    if (x.numel() == 0) return Status::ok();
    ref::prelu_f32(ref::make_broadcast_plan(x.shape(), slope_eff, x.shape()), x.data<float>(),
                   slope.data<float>(), out[0]->data<float>(), ctx.threads);
    return Status::ok();
  }

 private:
  // The slope's shape as it broadcasts onto X: unidirectional numpy
  // broadcasting, and before opset 7 also a 1-D slope of X's channel count
  // (dim 1), which is how those models give one slope per channel.
  Status check(const Tensor &x, const Tensor &slope, Shape *slope_eff) const {
    if (x.dtype() != DType::kFloat32) return bad_dtype("input X", x.dtype());
    SI_RETURN_IF_ERROR(same_dtype(x, slope, "X", "slope"));
    const Shape &xs = x.shape(), &ss = slope.shape();
    if (legacy_ && ss.size() == 1 && xs.size() >= 2 && ss[0] == xs[1] && ss[0] != 1) {
      if (slope_eff) {
        slope_eff->assign(xs.size() - 1, 1);
        (*slope_eff)[0] = ss[0];
      }
      return Status::ok();
    }
    Shape y;
    if (!ref::broadcast_shape(xs, ss, &y) || y != xs) {
      return invalid_argument("slope " + shape_str(ss) + " does not broadcast to X " +
                              shape_str(xs));
    }
    if (slope_eff) *slope_eff = ss;
    return Status::ok();
  }

  bool legacy_;
};

// ---- Pow ------------------------------------------------------------------

class PowKernel final : public OpKernel {
 public:
  explicit PowKernel(BinaryBroadcast bc) : bc_(bc) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    ref::ElemType tb, te;
    SI_RETURN_IF_ERROR(types(*in[0], *in[1], &tb, &te));
    Shape y, b_eff;
    SI_RETURN_IF_ERROR(bc_.shapes(in[0]->shape(), in[1]->shape(), &y, &b_eff));
    out->push_back(OutputDesc{in[0]->dtype(), y, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    const Tensor &x = *in[0], &e = *in[1];
    ref::ElemType tb, te;
    SI_RETURN_IF_ERROR(types(x, e, &tb, &te));
    Shape y, b_eff;
    SI_RETURN_IF_ERROR(bc_.shapes(x.shape(), e.shape(), &y, &b_eff));
    if (out[0]->numel() == 0) return Status::ok();
    ref::pow(ref::make_broadcast_plan(x.shape(), b_eff, y), tb, x.raw(), te, e.raw(), out[0]->raw(),
             ctx.threads);
    return Status::ok();
  }

 private:
  static Status types(const Tensor &x, const Tensor &e, ref::ElemType *tb, ref::ElemType *te) {
    if (!to_elem(x.dtype(), tb) || !to_elem(e.dtype(), te) || !ref::pow_supported(*tb, *te)) {
      return unsupported(std::string("Pow of ") + dtype_name(x.dtype()) + " base and " +
                         dtype_name(e.dtype()) +
                         " exponent is not supported (each must be float32, int32 or int64)");
    }
    return Status::ok();
  }

  BinaryBroadcast bc_;
};

// ---- Max, Min, Sum, Mean --------------------------------------------------

enum class Variadic { kMax, kMin, kSum, kMean };

class VariadicKernel final : public OpKernel {
 public:
  // equal_shapes: before opset 8 these ops did not broadcast.
  VariadicKernel(Variadic kind, bool equal_shapes) : kind_(kind), equal_shapes_(equal_shapes) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Shape y;
    SI_RETURN_IF_ERROR(check(in, &y));
    out->push_back(OutputDesc{in[0]->dtype(), y, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    Shape ys;
    SI_RETURN_IF_ERROR(check(in, &ys));
    Tensor &y = *out[0];
    if (y.numel() == 0) return Status::ok();
    // Fold left: y = in0 (op) in1, then y = y (op) in_k in place, which is
    // safe because y has the output's own shape.
    size_t k = 1;
    Shape first;
    if (in.size() >= 2 && ref::broadcast_shape(in[0]->shape(), in[1]->shape(), &first) &&
        first == ys) {
      apply(ref::make_broadcast_plan(in[0]->shape(), in[1]->shape(), ys), in[0]->raw(),
            in[1]->raw(), y, ctx.threads);
      k = 2;
    } else {
      ref::broadcast_copy(in[0]->raw(), in[0]->shape(), y.raw(), ys, dtype_size(y.dtype()));
    }
    for (; k < in.size(); ++k) {
      apply(ref::make_broadcast_plan(ys, in[k]->shape(), ys), y.raw(), in[k]->raw(), y,
            ctx.threads);
    }
    if (kind_ == Variadic::kMean) {
      const float n = float(in.size());
      ref::binary_f32(ref::BinaryOp::kDiv, ref::make_broadcast_plan(ys, {}, ys), y.data<float>(),
                      &n, y.data<float>(), ctx.threads);
    }
    return Status::ok();
  }

 private:
  Status check(const std::vector<const Tensor *> &in, Shape *y) const {
    const DType t = in[0]->dtype();
    const bool is_float = t == DType::kFloat32;
    const bool minmax_int =
        t == DType::kInt8 || t == DType::kUint8 || t == DType::kInt32 || t == DType::kInt64;
    const bool minmax = kind_ == Variadic::kMax || kind_ == Variadic::kMin;
    if (!is_float && !(minmax && minmax_int)) return bad_dtype("input 0", t);
    *y = in[0]->shape();
    for (size_t i = 1; i < in.size(); ++i) {
      const std::string name = "input " + std::to_string(i);
      if (in[i]->dtype() != t) {
        return invalid_argument(name + " has dtype " + dtype_name(in[i]->dtype()) +
                                ", input 0 has " + dtype_name(t));
      }
      Shape next;
      if (equal_shapes_ ? in[i]->shape() != *y : !ref::broadcast_shape(*y, in[i]->shape(), &next)) {
        return invalid_argument(name + " " + shape_str(in[i]->shape()) +
                                (equal_shapes_ ? " differs from " : " does not broadcast with ") +
                                shape_str(*y) +
                                (equal_shapes_ ? " (no broadcasting before opset 8)" : ""));
      }
      if (!equal_shapes_) *y = next;
    }
    return Status::ok();
  }

  void apply(const ref::BroadcastPlan &p, const void *a, const void *b, Tensor &y,
             int threads) const {
    if (kind_ == Variadic::kSum || kind_ == Variadic::kMean) {
      ref::binary_f32(ref::BinaryOp::kAdd, p, static_cast<const float *>(a),
                      static_cast<const float *>(b), y.data<float>(), threads);
      return;
    }
    const ref::MinMaxOp op = kind_ == Variadic::kMax ? ref::MinMaxOp::kMax : ref::MinMaxOp::kMin;
    switch (y.dtype()) {
      case DType::kFloat32:
        return ref::minmax_f32(op, p, static_cast<const float *>(a), static_cast<const float *>(b),
                               y.data<float>(), threads);
      case DType::kInt8:
        return ref::minmax_i8(op, p, static_cast<const int8_t *>(a), static_cast<const int8_t *>(b),
                              y.data<int8_t>(), threads);
      case DType::kUint8:
        return ref::minmax_u8(op, p, static_cast<const uint8_t *>(a),
                              static_cast<const uint8_t *>(b), y.data<uint8_t>(), threads);
      case DType::kInt32:
        return ref::minmax_i32(op, p, static_cast<const int32_t *>(a),
                               static_cast<const int32_t *>(b), y.data<int32_t>(), threads);
      case DType::kInt64:
        return ref::minmax_i64(op, p, static_cast<const int64_t *>(a),
                               static_cast<const int64_t *>(b), y.data<int64_t>(), threads);
      default:
        return;  // rejected by check()
    }
  }

  Variadic kind_;
  bool equal_shapes_;
};

Status create_variadic(const LoadContext &ctx, Variadic kind, std::unique_ptr<OpKernel> *out) {
  if (ctx.num_inputs() == 0) return invalid_model("expects at least one input");
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (!ctx.has_input(i)) return invalid_model("input " + std::to_string(i) + " is missing");
  *out = std::make_unique<VariadicKernel>(kind, ctx.node.opset < 8);
  return Status::ok();
}

// ---- Comparisons and logic ------------------------------------------------

// Two inputs that broadcast (numpy, or the legacy axis form) to a bool
// output. Comparisons and logic ops differ only in the dtypes they accept and
// the kernel they run.
class BoolResultKernel : public OpKernel {
 public:
  explicit BoolResultKernel(BinaryBroadcast bc) : bc_(bc) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Shape y, b_eff;
    SI_RETURN_IF_ERROR(check(*in[0], *in[1], &y, &b_eff));
    out->push_back(OutputDesc{DType::kBool, y, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    const Tensor &a = *in[0], &b = *in[1];
    Shape ys, b_eff;
    SI_RETURN_IF_ERROR(check(a, b, &ys, &b_eff));
    if (out[0]->numel() == 0) return Status::ok();
    return compute(ref::make_broadcast_plan(a.shape(), b_eff, ys), a, b, out[0]->data<uint8_t>(),
                   ctx.threads);
  }

 protected:
  virtual Status check_dtypes(const Tensor &a, const Tensor &b) const = 0;
  virtual Status compute(const ref::BroadcastPlan &p, const Tensor &a, const Tensor &b, uint8_t *y,
                         int threads) const = 0;

 private:
  Status check(const Tensor &a, const Tensor &b, Shape *y, Shape *b_eff) const {
    SI_RETURN_IF_ERROR(check_dtypes(a, b));
    return bc_.shapes(a.shape(), b.shape(), y, b_eff);
  }

  BinaryBroadcast bc_;
};

class CompareKernel final : public BoolResultKernel {
 public:
  CompareKernel(ref::CompareOp op, BinaryBroadcast bc) : BoolResultKernel(bc), op_(op) {}

 private:
  Status check_dtypes(const Tensor &a, const Tensor &b) const override {
    SI_RETURN_IF_ERROR(same_dtype(a, b, "A", "B"));
    // Only Equal is defined on bool.
    if (a.dtype() == DType::kUndefined ||
        (a.dtype() == DType::kBool && op_ != ref::CompareOp::kEqual))
      return bad_dtype("input A", a.dtype());
    return Status::ok();
  }

  Status compute(const ref::BroadcastPlan &p, const Tensor &a, const Tensor &b, uint8_t *y,
                 int t) const override {
    switch (a.dtype()) {
      case DType::kFloat32:
        ref::compare_f32(op_, p, a.data<float>(), b.data<float>(), y, t);
        break;
      case DType::kInt8:
        ref::compare_i8(op_, p, a.data<int8_t>(), b.data<int8_t>(), y, t);
        break;
      case DType::kUint8:
      case DType::kBool:
        ref::compare_u8(op_, p, a.data<uint8_t>(), b.data<uint8_t>(), y, t);
        break;
      case DType::kInt32:
        ref::compare_i32(op_, p, a.data<int32_t>(), b.data<int32_t>(), y, t);
        break;
      case DType::kInt64:
        ref::compare_i64(op_, p, a.data<int64_t>(), b.data<int64_t>(), y, t);
        break;
      default:
        return bad_dtype("input A", a.dtype());
    }
    return Status::ok();
  }

  ref::CompareOp op_;
};

class LogicKernel final : public BoolResultKernel {
 public:
  LogicKernel(ref::LogicOp op, BinaryBroadcast bc) : BoolResultKernel(bc), op_(op) {}

 private:
  Status check_dtypes(const Tensor &a, const Tensor &b) const override {
    if (a.dtype() != DType::kBool) return bad_dtype("input A", a.dtype());
    if (b.dtype() != DType::kBool) return bad_dtype("input B", b.dtype());
    return Status::ok();
  }

  Status compute(const ref::BroadcastPlan &p, const Tensor &a, const Tensor &b, uint8_t *y,
                 int threads) const override {
    ref::logic_bool(op_, p, a.data<uint8_t>(), b.data<uint8_t>(), y, threads);
    return Status::ok();
  }

  ref::LogicOp op_;
};

template <typename Kernel, typename OpEnum>
Status create_broadcasting(const LoadContext &ctx, OpEnum op, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_inputs(ctx, 2, "A and B"));
  BinaryBroadcast bc;
  SI_RETURN_IF_ERROR(BinaryBroadcast::from_node(ctx.node, &bc));
  *out = std::make_unique<Kernel>(op, bc);
  return Status::ok();
}

class NotKernel final : public OpKernel {
 public:
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    if (in[0]->dtype() != DType::kBool) return bad_dtype("input X", in[0]->dtype());
    out->push_back(OutputDesc{DType::kBool, in[0]->shape(), -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    ref::not_bool(in[0]->data<uint8_t>(), out[0]->data<uint8_t>(), in[0]->numel(), ctx.threads);
    return Status::ok();
  }
};

// ---- Where ----------------------------------------------------------------

class WhereKernel final : public OpKernel {
 public:
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Shape y;
    SI_RETURN_IF_ERROR(check(in, &y));
    out->push_back(OutputDesc{in[1]->dtype(), y, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    Shape ys;
    SI_RETURN_IF_ERROR(check(in, &ys));
    Tensor &y = *out[0];
    if (y.numel() == 0) return Status::ok();
    const size_t es = dtype_size(y.dtype());
    // The else-branch first, then the selected X elements over it.
    ref::broadcast_copy(in[2]->raw(), in[2]->shape(), y.raw(), ys, es);
    ref::where_select(ref::make_broadcast_plan(in[0]->shape(), in[1]->shape(), ys),
                      in[0]->data<uint8_t>(), in[1]->raw(), y.raw(), es, ctx.threads);
    return Status::ok();
  }

 private:
  static Status check(const std::vector<const Tensor *> &in, Shape *y) {
    if (in[0]->dtype() != DType::kBool) {
      return invalid_argument(std::string("condition must be bool, got ") +
                              dtype_name(in[0]->dtype()));
    }
    SI_RETURN_IF_ERROR(same_dtype(*in[1], *in[2], "X", "Y"));
    if (dtype_size(in[1]->dtype()) == 0) return bad_dtype("input X", in[1]->dtype());
    Shape xy;
    if (!ref::broadcast_shape(in[1]->shape(), in[2]->shape(), &xy) ||
        !ref::broadcast_shape(in[0]->shape(), xy, y)) {
      return invalid_argument("shapes condition " + shape_str(in[0]->shape()) + ", X " +
                              shape_str(in[1]->shape()) + " and Y " + shape_str(in[2]->shape()) +
                              " are not broadcastable");
    }
    return Status::ok();
  }
};

// ---- Mod, BitShift --------------------------------------------------------

// Same-dtype operands that broadcast to an output of that dtype; Mod and
// BitShift differ in the dtypes they take and the kernel they run.
class IntegerBinaryKernel final : public OpKernel {
 public:
  enum class Kind { kMod, kFmod, kShiftLeft, kShiftRight };
  IntegerBinaryKernel(Kind kind, BinaryBroadcast bc) : kind_(kind), bc_(bc) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Shape y, b_eff;
    SI_RETURN_IF_ERROR(check(*in[0], *in[1], &y, &b_eff));
    out->push_back(OutputDesc{in[0]->dtype(), y, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    const Tensor &a = *in[0], &b = *in[1];
    Shape ys, b_eff;
    SI_RETURN_IF_ERROR(check(a, b, &ys, &b_eff));
    if (out[0]->numel() == 0) return Status::ok();
    const ref::BroadcastPlan p = ref::make_broadcast_plan(a.shape(), b_eff, ys);
    if (kind_ == Kind::kShiftLeft || kind_ == Kind::kShiftRight) {
      ref::bit_shift_u8(p, kind_ == Kind::kShiftLeft, a.data<uint8_t>(), b.data<uint8_t>(),
                        out[0]->data<uint8_t>(), ctx.threads);
      return Status::ok();
    }
    ref::ElemType t = ref::ElemType::kF32;
    to_elem(a.dtype(), &t);
    if (a.dtype() != DType::kFloat32) {
      bool zero = false;
      visit_int(b, [&](auto *v, int64_t n) {
        for (int64_t i = 0; i < n && !zero; ++i) zero = v[i] == 0;
      });
      if (zero) return invalid_argument("integer Mod with a zero divisor in B");
    }
    ref::mod(p, t, kind_ == Kind::kFmod, a.raw(), b.raw(), out[0]->raw(), ctx.threads);
    return Status::ok();
  }

 private:
  template <typename F>
  static void visit_int(const Tensor &t, F f) {
    switch (t.dtype()) {
      case DType::kUint8:
        return f(t.data<uint8_t>(), t.numel());
      case DType::kInt8:
        return f(t.data<int8_t>(), t.numel());
      case DType::kInt32:
        return f(t.data<int32_t>(), t.numel());
      case DType::kInt64:
        return f(t.data<int64_t>(), t.numel());
      default:
        return;
    }
  }

  Status check(const Tensor &a, const Tensor &b, Shape *y, Shape *b_eff) const {
    SI_RETURN_IF_ERROR(same_dtype(a, b, "A", "B"));
    ref::ElemType t;
    const bool shift = kind_ == Kind::kShiftLeft || kind_ == Kind::kShiftRight;
    if (shift && a.dtype() != DType::kUint8) return bad_dtype("input X", a.dtype());
    if (!shift && (!to_elem(a.dtype(), &t) || !ref::mod_supported(t, kind_ == Kind::kFmod))) {
      if (a.dtype() == DType::kFloat32)
        return invalid_argument("Mod of float32 needs fmod = 1 (the spec's rule)");
      return bad_dtype("input A", a.dtype());
    }
    return bc_.shapes(a.shape(), b.shape(), y, b_eff);
  }

  Kind kind_;
  BinaryBroadcast bc_;
};

// ---- IsNaN, IsInf ---------------------------------------------------------

class ClassifyKernel final : public OpKernel {
 public:
  ClassifyKernel(ref::FloatClass c, bool pos, bool neg) : c_(c), pos_(pos), neg_(neg) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    if (in[0]->dtype() != DType::kFloat32) return bad_dtype("input X", in[0]->dtype());
    out->push_back(OutputDesc{DType::kBool, in[0]->shape(), -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    ref::classify_f32(c_, pos_, neg_, in[0]->data<float>(), out[0]->data<uint8_t>(), in[0]->numel(),
                      ctx.threads);
    return Status::ok();
  }

 private:
  ref::FloatClass c_;
  bool pos_, neg_;
};

// ---- Cast -----------------------------------------------------------------

const char *onnx_type_name(int64_t t) {
  static const char *const kNames[] = {"UNDEFINED",  "FLOAT",   "UINT8",  "INT8",   "UINT16",
                                       "INT16",      "INT32",   "INT64",  "STRING", "BOOL",
                                       "FLOAT16",    "DOUBLE",  "UINT32", "UINT64", "COMPLEX64",
                                       "COMPLEX128", "BFLOAT16"};
  return t >= 0 && t < int64_t(sizeof(kNames) / sizeof(kNames[0])) ? kNames[t] : "unknown";
}

class CastKernel final : public OpKernel {
 public:
  explicit CastKernel(DType to) : to_(to) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    ref::ElemType from;
    if (!to_elem(in[0]->dtype(), &from)) return bad_dtype("input", in[0]->dtype());
    out->push_back(OutputDesc{to_, in[0]->shape(), -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    ref::ElemType from, to;
    if (!to_elem(in[0]->dtype(), &from) || !to_elem(to_, &to))
      return bad_dtype("input", in[0]->dtype());
    ref::cast(from, in[0]->raw(), to, out[0]->raw(), in[0]->numel(), ctx.threads);
    return Status::ok();
  }

 private:
  DType to_;
};

}  // namespace

Status create_cast(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  if (!ctx.has_input(0) || ctx.num_inputs() != 1) return invalid_model("expects one input");
  auto it = ctx.node.attrs.find("to");
  if (it == ctx.node.attrs.end()) return invalid_model("attribute to is missing");
  int64_t code = -1;
  if (it->second.kind == Attribute::Kind::kString) {
    // Opset 1 names the type ("FLOAT"); later opsets give its number.
    for (int64_t t = 0; t <= 16; ++t)
      if (it->second.s == onnx_type_name(t)) code = t;
    if (code < 0) return invalid_model("attribute to names unknown type \"" + it->second.s + "\"");
  } else if (it->second.kind == Attribute::Kind::kInt) {
    code = it->second.i;
  } else {
    return invalid_model("attribute to must be an int or a type name");
  }
  DType to;
  if (code > INT32_MAX || !dtype_from_onnx(int32_t(code), &to)) {
    return unsupported(std::string("Cast to ") + onnx_type_name(code) + " (" +
                       std::to_string(code) + ") is not supported");
  }
  *out = std::make_unique<CastKernel>(to);
  return Status::ok();
}

#define SI_UNARY(fn, op)                                                 \
  Status fn(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {    \
    return create_unary(ctx, ref::UnaryOp::op, ref::UnaryParams{}, out); \
  }
SI_UNARY(create_abs, kAbs)
SI_UNARY(create_neg, kNeg)
SI_UNARY(create_sign, kSign)
SI_UNARY(create_floor, kFloor)
SI_UNARY(create_ceil, kCeil)
SI_UNARY(create_round, kRound)
SI_UNARY(create_sqrt, kSqrt)
SI_UNARY(create_reciprocal, kReciprocal)
SI_UNARY(create_exp, kExp)
SI_UNARY(create_log, kLog)
SI_UNARY(create_erf, kErf)
SI_UNARY(create_sin, kSin)
SI_UNARY(create_cos, kCos)
SI_UNARY(create_tan, kTan)
SI_UNARY(create_asin, kAsin)
SI_UNARY(create_acos, kAcos)
SI_UNARY(create_atan, kAtan)
SI_UNARY(create_sinh, kSinh)
SI_UNARY(create_cosh, kCosh)
SI_UNARY(create_asinh, kAsinh)
SI_UNARY(create_acosh, kAcosh)
SI_UNARY(create_atanh, kAtanh)
SI_UNARY(create_softplus, kSoftplus)
SI_UNARY(create_softsign, kSoftsign)
SI_UNARY(create_hard_swish, kHardSwish)
#undef SI_UNARY

Status create_hard_sigmoid(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  ref::UnaryParams p;
  p.alpha = ctx.node.attr_float("alpha", 0.2f);
  p.beta = ctx.node.attr_float("beta", 0.5f);
  return create_unary(ctx, ref::UnaryOp::kHardSigmoid, p, out);
}
Status create_elu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  ref::UnaryParams p;
  p.alpha = ctx.node.attr_float("alpha", 1.0f);
  return create_unary(ctx, ref::UnaryOp::kElu, p, out);
}
Status create_selu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  ref::UnaryParams p;
  p.alpha = ctx.node.attr_float("alpha", 1.67326319217681884765625f);
  p.gamma = ctx.node.attr_float("gamma", 1.05070102214813232421875f);
  return create_unary(ctx, ref::UnaryOp::kSelu, p, out);
}

Status create_celu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  ref::UnaryParams p;
  p.alpha = ctx.node.attr_float("alpha", 1.0f);
  if (p.alpha == 0.f) return invalid_model("alpha must be non-zero (Celu divides by it)");
  return create_unary(ctx, ref::UnaryOp::kCelu, p, out);
}

Status create_mod(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_inputs(ctx, 2, "A and B"));
  const int64_t fmod = ctx.node.attr_int("fmod", 0);
  if (fmod != 0 && fmod != 1) return invalid_model("attribute fmod must be 0 or 1");
  BinaryBroadcast bc;
  SI_RETURN_IF_ERROR(BinaryBroadcast::from_node(ctx.node, &bc));
  using K = IntegerBinaryKernel::Kind;
  *out = std::make_unique<IntegerBinaryKernel>(fmod ? K::kFmod : K::kMod, bc);
  return Status::ok();
}

Status create_bit_shift(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_inputs(ctx, 2, "X and Y"));
  const std::string dir = ctx.node.attr_string("direction", "");
  if (dir != "LEFT" && dir != "RIGHT")
    return invalid_model("attribute direction must be LEFT or RIGHT, got \"" + dir + "\"");
  BinaryBroadcast bc;
  SI_RETURN_IF_ERROR(BinaryBroadcast::from_node(ctx.node, &bc));
  using K = IntegerBinaryKernel::Kind;
  *out = std::make_unique<IntegerBinaryKernel>(dir == "LEFT" ? K::kShiftLeft : K::kShiftRight, bc);
  return Status::ok();
}

Status create_is_nan(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  if (!ctx.has_input(0) || ctx.num_inputs() != 1) return invalid_model("expects one input X");
  *out = std::make_unique<ClassifyKernel>(ref::FloatClass::kNaN, false, false);
  return Status::ok();
}

Status create_is_inf(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  if (!ctx.has_input(0) || ctx.num_inputs() != 1) return invalid_model("expects one input X");
  const bool pos = ctx.node.attr_int("detect_positive", 1) != 0;
  const bool neg = ctx.node.attr_int("detect_negative", 1) != 0;
  *out = std::make_unique<ClassifyKernel>(ref::FloatClass::kInf, pos, neg);
  return Status::ok();
}

Status create_prelu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_inputs(ctx, 2, "X and slope"));
  *out = std::make_unique<PReluKernel>(ctx.node.opset < 7);
  return Status::ok();
}

Status create_pow(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_inputs(ctx, 2, "X and Y"));
  BinaryBroadcast bc;
  SI_RETURN_IF_ERROR(BinaryBroadcast::from_node(ctx.node, &bc));
  *out = std::make_unique<PowKernel>(bc);
  return Status::ok();
}

Status create_max(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_variadic(ctx, Variadic::kMax, out);
}
Status create_min(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_variadic(ctx, Variadic::kMin, out);
}
Status create_sum(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_variadic(ctx, Variadic::kSum, out);
}
Status create_mean(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_variadic(ctx, Variadic::kMean, out);
}

Status create_equal(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_broadcasting<CompareKernel>(ctx, ref::CompareOp::kEqual, out);
}
Status create_less(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_broadcasting<CompareKernel>(ctx, ref::CompareOp::kLess, out);
}
Status create_greater(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_broadcasting<CompareKernel>(ctx, ref::CompareOp::kGreater, out);
}
Status create_less_or_equal(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_broadcasting<CompareKernel>(ctx, ref::CompareOp::kLessOrEqual, out);
}
Status create_greater_or_equal(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_broadcasting<CompareKernel>(ctx, ref::CompareOp::kGreaterOrEqual, out);
}
Status create_and(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_broadcasting<LogicKernel>(ctx, ref::LogicOp::kAnd, out);
}
Status create_or(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_broadcasting<LogicKernel>(ctx, ref::LogicOp::kOr, out);
}
Status create_xor(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_broadcasting<LogicKernel>(ctx, ref::LogicOp::kXor, out);
}
Status create_not(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  if (!ctx.has_input(0) || ctx.num_inputs() != 1) return invalid_model("expects one input X");
  *out = std::make_unique<NotKernel>();
  return Status::ok();
}

Status create_where(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_inputs(ctx, 3, "condition, X and Y"));
  *out = std::make_unique<WhereKernel>();
  return Status::ok();
}

}  // namespace si
