// Linear quantization: DequantizeLinear, QuantizeLinear, DynamicQuantizeLinear
// and MatMulInteger, int8/uint8 codes (int32 for DequantizeLinear) with
// float32 scales. The formulas live in kernels/ref/quantize.h and
// kernels/quant/matmul_integer.h; this file checks shapes and dtypes and maps
// zero points to the kernels' per-channel and per-row arrays.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/ops.h"
#include "kernels/quant/matmul_integer.h"
#include "kernels/ref/broadcast.h"
#include "kernels/ref/quantize.h"

namespace si {

namespace {

bool is_code_dtype(DType t) {
  return t == DType::kInt8 || t == DType::kUint8;
}

// The [outer, channels, inner] view of x for a scale of `scale` shape and a
// zero point of `zero` shape (nullptr: absent): per tensor when the scale has
// one element, else per axis along `axis` (a 1-D scale of x.shape[axis]
// entries; opset 10 knows only per-tensor).
Status quant_axis(const Shape &x, const Tensor &scale, const Tensor *zero, int64_t axis, int opset,
                  ref::QuantAxis *out) {
  if (scale.dtype() != DType::kFloat32)
    return unsupported(std::string("scale has dtype ") + dtype_name(scale.dtype()) +
                       ", only float32 is supported");
  if (zero != nullptr && zero->shape() != scale.shape())
    return invalid_argument("zero point " + shape_str(zero->shape()) + " and scale " +
                            shape_str(scale.shape()) + " differ in shape");
  const int64_t total = numel(x);
  if (scale.numel() == 1) {
    *out = ref::QuantAxis{1, 1, total};
    return Status::ok();
  }
  if (opset < 13 || scale.rank() != 1)
    return invalid_argument("scale " + shape_str(scale.shape()) + " must be a scalar" +
                            (opset < 13 ? " before opset 13" : " or 1-D"));
  int64_t a = 0;
  if (!ref::normalize_axis(axis, int64_t(x.size()), &a))
    return invalid_argument("axis " + std::to_string(axis) + " is out of range for x " +
                            shape_str(x));
  if (x[size_t(a)] != scale.numel())
    return invalid_argument("scale " + shape_str(scale.shape()) + " does not match x " +
                            shape_str(x) + " along axis " + std::to_string(axis));
  out->channels = x[size_t(a)];
  out->outer = 1;
  for (int64_t i = 0; i < a; ++i) out->outer *= x[size_t(i)];
  out->inner = 1;
  for (size_t i = size_t(a) + 1; i < x.size(); ++i) out->inner *= x[i];
  return Status::ok();
}

// What QuantizeLinear and DequantizeLinear share: axis, opset, and the
// [outer, channels, inner] view their inputs (x, scale, zero point) imply.
class LinearQuantOp : public OpKernel {
 public:
  LinearQuantOp(int64_t axis, int opset) : axis_(axis), opset_(opset) {}

 protected:
  static const Tensor *zero_point(const std::vector<const Tensor *> &in) {
    return in.size() > 2 ? in[2] : nullptr;
  }
  Status view(const std::vector<const Tensor *> &in, ref::QuantAxis *a) const {
    return quant_axis(in[0]->shape(), *in[1], zero_point(in), axis_, opset_, a);
  }

 private:
  int64_t axis_;
  int opset_;
};

// ------------------------------------------------------- DequantizeLinear

class DequantizeLinearOp : public LinearQuantOp {
 public:
  using LinearQuantOp::LinearQuantOp;

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor &x = *in[0];
    const Tensor *zero = zero_point(in);
    if (!is_code_dtype(x.dtype()) && x.dtype() != DType::kInt32)
      return unsupported(std::string("x has dtype ") + dtype_name(x.dtype()) +
                         ", supported: int8, uint8, int32");
    if (zero != nullptr && zero->dtype() != x.dtype())
      return invalid_argument(std::string("zero point has dtype ") + dtype_name(zero->dtype()) +
                              ", x has " + dtype_name(x.dtype()));
    ref::QuantAxis a;
    SI_RETURN_IF_ERROR(view(in, &a));
    out->assign(1, OutputDesc{DType::kFloat32, x.shape(), -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &x = *in[0];
    const Tensor *zero = zero_point(in);
    ref::QuantAxis a;
    SI_RETURN_IF_ERROR(view(in, &a));
    const float *s = in[1]->data<float>();
    float *y = out[0]->data<float>();
    switch (x.dtype()) {
      case DType::kInt8:
        ref::dequantize_linear(x.data<int8_t>(), s, zero ? zero->data<int8_t>() : nullptr, a, y);
        break;
      case DType::kUint8:
        ref::dequantize_linear(x.data<uint8_t>(), s, zero ? zero->data<uint8_t>() : nullptr, a, y);
        break;
      default:
        ref::dequantize_linear(x.data<int32_t>(), s, zero ? zero->data<int32_t>() : nullptr, a, y);
        break;
    }
    return Status::ok();
  }
};

// --------------------------------------------------------- QuantizeLinear

class QuantizeLinearOp : public LinearQuantOp {
 public:
  using LinearQuantOp::LinearQuantOp;

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor &x = *in[0];
    const Tensor *zero = zero_point(in);
    if (x.dtype() != DType::kFloat32)
      return unsupported(std::string("x has dtype ") + dtype_name(x.dtype()) +
                         ", only float32 is supported");
    if (zero != nullptr && !is_code_dtype(zero->dtype()))
      return unsupported(std::string("zero point has dtype ") + dtype_name(zero->dtype()) +
                         ", supported: int8, uint8");
    ref::QuantAxis a;
    SI_RETURN_IF_ERROR(view(in, &a));
    // Without a zero point the output is uint8 (the spec's default).
    out->assign(1, OutputDesc{zero ? zero->dtype() : DType::kUint8, x.shape(), -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &x = *in[0];
    const Tensor *zero = zero_point(in);
    ref::QuantAxis a;
    SI_RETURN_IF_ERROR(view(in, &a));
    const float *s = in[1]->data<float>();
    if (out[0]->dtype() == DType::kInt8) {
      ref::quantize_linear(x.data<float>(), s, zero->data<int8_t>(), a, out[0]->data<int8_t>());
    } else {
      ref::quantize_linear(x.data<float>(), s, zero ? zero->data<uint8_t>() : nullptr, a,
                           out[0]->data<uint8_t>());
    }
    return Status::ok();
  }
};

// -------------------------------------------------- DynamicQuantizeLinear

class DynamicQuantizeLinearOp : public OpKernel {
 public:
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor &x = *in[0];
    if (x.dtype() != DType::kFloat32)
      return unsupported(std::string("x has dtype ") + dtype_name(x.dtype()) +
                         ", only float32 is supported");
    out->assign(3, OutputDesc{});
    (*out)[0] = OutputDesc{DType::kUint8, x.shape(), -1};
    (*out)[1] = OutputDesc{DType::kFloat32, Shape{}, -1};
    (*out)[2] = OutputDesc{DType::kUint8, Shape{}, -1};
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    // Outputs 1 and 2 may be unread (nullptr); the kernel writes both.
    float scale = 0.f;
    uint8_t zero = 0;
    ref::dynamic_quantize_linear(in[0]->data<float>(), in[0]->numel(), out[0]->data<uint8_t>(),
                                 &scale, &zero);
    if (out.size() > 1 && out[1] != nullptr) out[1]->data<float>()[0] = scale;
    if (out.size() > 2 && out[2] != nullptr) out[2]->data<uint8_t>()[0] = zero;
    return Status::ok();
  }
};

// ---------------------------------------------------------- MatMulInteger

// Where a zero point's entries apply: one for all, one per row of the
// operand's matrix (A: [M] for 2-D A, or A's shape with K replaced by 1; B:
// [N], or B's shape with K replaced by 1), counted over all batch entries.
enum class ZeroLayout { kAbsent, kScalar, kPerMatrixRow, kPerFlatRow };

Status zero_layout(const char *name, const Tensor *zp, const Tensor &x, bool is_a,
                   ZeroLayout *out) {
  *out = ZeroLayout::kAbsent;
  if (zp == nullptr) return Status::ok();
  if (zp->dtype() != x.dtype())
    return invalid_argument(std::string(name) + " has dtype " + dtype_name(zp->dtype()) + ", " +
                            (is_a ? "A" : "B") + " has " + dtype_name(x.dtype()));
  const Shape &xs = x.shape(), &zs = zp->shape();
  if (zp->numel() == 1 && zs.size() <= 1) {
    *out = ZeroLayout::kScalar;
    return Status::ok();
  }
  // The dim the zero points run along: A's rows (M), B's columns (N).
  const int64_t along = is_a ? (xs.size() >= 2 ? xs[xs.size() - 2] : 1) : xs.back();
  if (zs.size() == 1 && zs[0] == along && (is_a ? xs.size() == 2 : xs.size() >= 1)) {
    *out = ZeroLayout::kPerMatrixRow;
    return Status::ok();
  }
  Shape full = xs;
  if (!full.empty()) full[is_a ? full.size() - 1 : (full.size() >= 2 ? full.size() - 2 : 0)] = 1;
  if (zs == full && xs.size() >= 2) {
    *out = ZeroLayout::kPerFlatRow;
    return Status::ok();
  }
  return invalid_argument(std::string(name) + " " + shape_str(zs) + " fits neither a scalar nor " +
                          (is_a ? "one per row of A " : "one per column of B ") + shape_str(xs));
}

int32_t code_at(const Tensor &t, int64_t i) {
  return t.dtype() == DType::kInt8 ? int32_t(t.data<int8_t>()[i]) : int32_t(t.data<uint8_t>()[i]);
}

// The zero points of `rows` entries of one batch matrix (batch index `bi`).
void fill_zero(const Tensor *zp, ZeroLayout layout, int64_t bi, int64_t rows,
               std::vector<int32_t> *out) {
  out->assign(size_t(rows), 0);
  for (int64_t i = 0; i < rows; ++i) {
    switch (layout) {
      case ZeroLayout::kScalar:
        (*out)[size_t(i)] = code_at(*zp, 0);
        break;
      case ZeroLayout::kPerMatrixRow:
        (*out)[size_t(i)] = code_at(*zp, i);
        break;
      case ZeroLayout::kPerFlatRow:
        (*out)[size_t(i)] = code_at(*zp, bi * rows + i);
        break;
      case ZeroLayout::kAbsent:
        break;
    }
  }
}

class MatMulIntegerOp : public OpKernel {
 public:
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Dims d;
    SI_RETURN_IF_ERROR(dims(in, &d));
    out->assign(1, OutputDesc{DType::kInt32, d.y, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    Dims d;
    SI_RETURN_IF_ERROR(dims(in, &d));
    const Tensor &a = *in[0], &b = *in[1];
    const Tensor *azp = in.size() > 2 ? in[2] : nullptr;
    const Tensor *bzp = in.size() > 3 ? in[3] : nullptr;
    int32_t *y = out[0]->data<int32_t>();
    if (out[0]->numel() == 0) return Status::ok();
    // Walk the broadcast batch: the plan's strides count whole matrices.
    const ref::BroadcastPlan plan = ref::make_broadcast_plan(d.a_batch, d.b_batch, d.y_batch);
    std::vector<int64_t> idx(plan.dims.size(), 0);
    std::vector<int32_t> za, zb;
    int64_t ia = 0, ib = 0;
    for (int64_t t = 0; t < plan.numel; ++t) {
      fill_zero(azp, d.a_zero, ia, d.m, &za);
      fill_zero(bzp, d.b_zero, ib, d.n, &zb);
      matmul(a, ia * d.m * d.k, b, ib * d.k * d.n, d, za.data(), zb.data(), y + t * d.m * d.n,
             ctx.threads);
      for (size_t i = plan.dims.size(); i-- > 0;) {
        ia += plan.a_strides[i];
        ib += plan.b_strides[i];
        if (++idx[i] < plan.dims[i]) break;
        ia -= plan.a_strides[i] * plan.dims[i];
        ib -= plan.b_strides[i] * plan.dims[i];
        idx[i] = 0;
      }
    }
    return Status::ok();
  }

 private:
  struct Dims {
    int64_t m = 1, k = 1, n = 1;
    Shape a_batch, b_batch, y_batch, y;
    ZeroLayout a_zero = ZeroLayout::kAbsent, b_zero = ZeroLayout::kAbsent;
  };

  // numpy.matmul's shapes (1-D operands get a unit dim the result drops,
  // batch dims broadcast) and the zero points' layouts.
  static Status dims(const std::vector<const Tensor *> &in, Dims *d) {
    const Tensor &a = *in[0], &b = *in[1];
    for (const Tensor *t : {&a, &b})
      if (!is_code_dtype(t->dtype()))
        return unsupported(std::string(t == &a ? "A" : "B") + " has dtype " +
                           dtype_name(t->dtype()) + ", supported: int8, uint8");
    const Shape &as = a.shape(), &bs = b.shape();
    const std::string both = "A " + shape_str(as) + " and B " + shape_str(bs);
    if (as.empty() || bs.empty()) return invalid_argument("MatMulInteger needs rank >= 1: " + both);
    d->k = as.back();
    d->m = as.size() >= 2 ? as[as.size() - 2] : 1;
    d->n = bs.size() >= 2 ? bs.back() : 1;
    const int64_t kb = bs.size() >= 2 ? bs[bs.size() - 2] : bs[0];
    if (kb != d->k) return invalid_argument("inner dimensions differ: " + both);
    d->a_batch.assign(as.begin(), as.end() - std::min<size_t>(as.size(), 2));
    d->b_batch.assign(bs.begin(), bs.end() - std::min<size_t>(bs.size(), 2));
    if (!ref::broadcast_shape(d->a_batch, d->b_batch, &d->y_batch))
      return invalid_argument("batch dimensions do not broadcast: " + both);
    d->y = d->y_batch;
    if (as.size() >= 2) d->y.push_back(d->m);
    if (bs.size() >= 2) d->y.push_back(d->n);
    SI_RETURN_IF_ERROR(
        zero_layout("a_zero_point", in.size() > 2 ? in[2] : nullptr, a, true, &d->a_zero));
    SI_RETURN_IF_ERROR(
        zero_layout("b_zero_point", in.size() > 3 ? in[3] : nullptr, b, false, &d->b_zero));
    return Status::ok();
  }

  static void matmul(const Tensor &a, int64_t a_off, const Tensor &b, int64_t b_off, const Dims &d,
                     const int32_t *za, const int32_t *zb, int32_t *y, int threads) {
    const bool a8 = a.dtype() == DType::kInt8, b8 = b.dtype() == DType::kInt8;
    if (a8 && b8)
      s32_matmul_integer(d.m, d.n, d.k, a.data<int8_t>() + a_off, d.k, za, b.data<int8_t>() + b_off,
                         d.n, zb, y, d.n, threads);
    else if (a8)
      s32_matmul_integer(d.m, d.n, d.k, a.data<int8_t>() + a_off, d.k, za,
                         b.data<uint8_t>() + b_off, d.n, zb, y, d.n, threads);
    else if (b8)
      s32_matmul_integer(d.m, d.n, d.k, a.data<uint8_t>() + a_off, d.k, za,
                         b.data<int8_t>() + b_off, d.n, zb, y, d.n, threads);
    else
      s32_matmul_integer(d.m, d.n, d.k, a.data<uint8_t>() + a_off, d.k, za,
                         b.data<uint8_t>() + b_off, d.n, zb, y, d.n, threads);
  }
};

Status quant_inputs(const LoadContext &ctx, const char *op) {
  if (!ctx.has_input(0) || !ctx.has_input(1) || ctx.num_inputs() > 3)
    return invalid_model(std::string(op) + " takes x, a scale and an optional zero point");
  return Status::ok();
}

}  // namespace

Status create_dequantize_linear(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(quant_inputs(ctx, "DequantizeLinear"));
  *out = std::make_unique<DequantizeLinearOp>(ctx.node.attr_int("axis", 1), ctx.node.opset);
  return Status::ok();
}

Status create_quantize_linear(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(quant_inputs(ctx, "QuantizeLinear"));
  *out = std::make_unique<QuantizeLinearOp>(ctx.node.attr_int("axis", 1), ctx.node.opset);
  return Status::ok();
}

Status create_dynamic_quantize_linear(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0))
    return invalid_model("DynamicQuantizeLinear takes one input");
  *out = std::make_unique<DynamicQuantizeLinearOp>();
  return Status::ok();
}

Status create_matmul_integer(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  if (!ctx.has_input(0) || !ctx.has_input(1) || ctx.num_inputs() > 4)
    return invalid_model("MatMulInteger takes A, B and optional a_zero_point, b_zero_point");
  *out = std::make_unique<MatMulIntegerOp>();
  return Status::ok();
}

}  // namespace si
