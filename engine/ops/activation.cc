// Relu, LeakyRelu, ThresholdedRelu, Clip, Sigmoid, Tanh, Softmax, LogSoftmax,
// Hardmax.
#include <algorithm>
#include <limits>
#include <memory>
#include <string>

#include "engine/ops/ops.h"
#include "kernels/ref/activation.h"
#include "kernels/ref/reduce.h"
#include "kernels/ref/softmax.h"
#include "kernels/vec/softmax.h"

namespace si {

namespace {

Status require_f32(const Tensor &x) {
  if (x.dtype() != DType::kFloat32)
    return unsupported(std::string("dtype ") + dtype_name(x.dtype()) + " is not supported");
  return Status::ok();
}

Status require_one_input(const LoadContext &ctx) {
  if (!ctx.has_input(0)) return invalid_model("input X is missing");
  return Status::ok();
}

enum class Unary { kRelu, kLeakyRelu, kThresholdedRelu, kSigmoid, kTanh };

class UnaryKernel final : public OpKernel {
 public:
  UnaryKernel(Unary kind, float alpha) : kind_(kind), alpha_(alpha) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    SI_RETURN_IF_ERROR(require_f32(*in[0]));
    out->push_back(OutputDesc{DType::kFloat32, in[0]->shape(), -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    const float *x = in[0]->data<float>();
    float *y = out[0]->data<float>();
    const int64_t n = in[0]->numel();
    switch (kind_) {
      case Unary::kRelu:
        ref::relu_f32(x, y, n, ctx.threads);
        break;
      case Unary::kLeakyRelu:
        ref::leaky_relu_f32(x, y, n, alpha_, ctx.threads);
        break;
      case Unary::kThresholdedRelu:
        ref::thresholded_relu_f32(x, y, n, alpha_, ctx.threads);
        break;
      case Unary::kSigmoid:
        ref::sigmoid_f32(x, y, n, ctx.threads);
        break;
      case Unary::kTanh:
        ref::tanh_f32(x, y, n, ctx.threads);
        break;
    }
    return Status::ok();
  }

 private:
  Unary kind_;
  float alpha_;
};

Status create_unary(const LoadContext &ctx, Unary kind, float alpha,
                    std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_one_input(ctx));
  *out = std::make_unique<UnaryKernel>(kind, alpha);
  return Status::ok();
}

// Clip bounds: attributes before opset 11, optional scalar inputs after.
class ClipKernel final : public OpKernel {
 public:
  // Attribute form; the opset 6 spec defaults are the float extremes, not
  // infinities, so +-inf inputs are clamped to them.
  ClipKernel(float lo, float hi) : from_inputs_(false), lo_(lo), hi_(hi) {}
  ClipKernel() : from_inputs_(true), lo_(0.f), hi_(0.f) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor &x = *in[0];
    bool ok = x.dtype() == DType::kFloat32 || x.dtype() == DType::kInt32 ||
              x.dtype() == DType::kInt64 || x.dtype() == DType::kUint8 || x.dtype() == DType::kInt8;
    if (!ok || (!from_inputs_ && x.dtype() != DType::kFloat32))
      return unsupported(std::string("dtype ") + dtype_name(x.dtype()) + " is not supported");
    static const char *const kNames[] = {"", "min", "max"};
    for (size_t i = 1; from_inputs_ && i < in.size() && i < 3; ++i) {
      if (in[i] == nullptr) continue;
      if (in[i]->dtype() != x.dtype()) {
        return invalid_argument(std::string("input ") + kNames[i] + " has dtype " +
                                dtype_name(in[i]->dtype()) + ", X has " + dtype_name(x.dtype()));
      }
      if (in[i]->numel() != 1) {
        return invalid_argument(std::string("input ") + kNames[i] + " must be a scalar, got " +
                                shape_str(in[i]->shape()));
      }
    }
    out->push_back(OutputDesc{x.dtype(), x.shape(), -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    const Tensor &x = *in[0];
    const int64_t n = x.numel();
    const int t = ctx.threads;
    switch (x.dtype()) {
      case DType::kFloat32: {
        float lo = lo_, hi = hi_;
        if (from_inputs_) {
          lo = bound(in, 1, -std::numeric_limits<float>::infinity());
          hi = bound(in, 2, std::numeric_limits<float>::infinity());
        }
        ref::clip_f32(x.data<float>(), out[0]->data<float>(), n, lo, hi, t);
        break;
      }
      case DType::kInt32:
        ref::clip_i32(x.data<int32_t>(), out[0]->data<int32_t>(), n, bound_int<int32_t>(in, 1),
                      bound_int<int32_t>(in, 2), t);
        break;
      case DType::kInt64:
        ref::clip_i64(x.data<int64_t>(), out[0]->data<int64_t>(), n, bound_int<int64_t>(in, 1),
                      bound_int<int64_t>(in, 2), t);
        break;
      case DType::kUint8:
        ref::clip_u8(x.data<uint8_t>(), out[0]->data<uint8_t>(), n, bound_int<uint8_t>(in, 1),
                     bound_int<uint8_t>(in, 2), t);
        break;
      case DType::kInt8:
        ref::clip_i8(x.data<int8_t>(), out[0]->data<int8_t>(), n, bound_int<int8_t>(in, 1),
                     bound_int<int8_t>(in, 2), t);
        break;
      default:
        return unsupported(std::string("dtype ") + dtype_name(x.dtype()) + " is not supported");
    }
    return Status::ok();
  }

 private:
  static float bound(const std::vector<const Tensor *> &in, size_t i, float fallback) {
    return i < in.size() && in[i] != nullptr ? in[i]->data<float>()[0] : fallback;
  }
  template <typename T>
  static T bound_int(const std::vector<const Tensor *> &in, size_t i) {
    if (i < in.size() && in[i] != nullptr) return in[i]->data<T>()[0];
    return i == 1 ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }

  bool from_inputs_;
  float lo_, hi_;
};

enum class SoftmaxKind { kSoftmax, kLogSoftmax, kHardmax };

// Softmax, LogSoftmax and Hardmax: one view of the input as [outer, n,
// inner] (opset < 13 coerces to 2-D at axis), normalised along n.
class SoftmaxKernel final : public OpKernel {
 public:
  // flatten: opset < 13, normalise over the block of dims [axis, rank).
  SoftmaxKernel(SoftmaxKind kind, bool flatten, int64_t axis)
      : kind_(kind), flatten_(flatten), axis_(axis) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    SI_RETURN_IF_ERROR(require_f32(*in[0]));
    int64_t outer, n, inner;
    SI_RETURN_IF_ERROR(view(in[0]->shape(), &outer, &n, &inner));
    out->push_back(OutputDesc{DType::kFloat32, in[0]->shape(), -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    int64_t outer, n, inner;
    SI_RETURN_IF_ERROR(view(in[0]->shape(), &outer, &n, &inner));
    const float *x = in[0]->data<float>();
    float *y = out[0]->data<float>();
    if (kind_ == SoftmaxKind::kHardmax) return hardmax(x, y, outer, n, inner, ctx.threads);
    const bool log = kind_ == SoftmaxKind::kLogSoftmax;
    // The vectorised kernels normalise contiguous rows; a softmax over an
    // inner axis keeps the reference loops.
    if (inner == 1) {
      f32_softmax_rows(softmax_kernels(), log, x, y, outer, n, ctx.threads);
      return Status::ok();
    }
    if (log) {
      ref::log_softmax_f32(x, y, outer, n, inner, ctx.threads);
    } else {
      ref::softmax_f32(x, y, outer, n, inner, ctx.threads);
    }
    return Status::ok();
  }

 private:
  Status view(const Shape &s, int64_t *outer, int64_t *n, int64_t *inner) const {
    const int64_t rank = int64_t(s.size());
    // The 2-D coercion also accepts axis == rank (an empty trailing block).
    const int64_t max_axis = flatten_ ? rank : rank - 1;
    if (axis_ < -rank || axis_ > max_axis) {
      return invalid_argument("axis " + std::to_string(axis_) + " is out of range for input " +
                              shape_str(s));
    }
    const int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
    *outer = 1;
    for (int64_t i = 0; i < axis; ++i) *outer *= s[size_t(i)];
    int64_t rest = 1;
    for (int64_t i = axis + 1; i < rank; ++i) rest *= s[size_t(i)];
    const int64_t d = axis < rank ? s[size_t(axis)] : 1;
    *n = flatten_ ? d * rest : d;
    *inner = flatten_ ? 1 : rest;
    return Status::ok();
  }

  // 1 at the first largest element of each line, 0 elsewhere: ArgMax's
  // choice, so a NaN counts as the largest (the first NaN wins).
  static Status hardmax(const float *x, float *y, int64_t outer, int64_t n, int64_t inner,
                        int threads) {
    if (outer * n * inner == 0) return Status::ok();
    std::vector<int64_t> arg(size_t(outer * inner));
    ref::arg_reduce_f32(true, false, x, outer, n, inner, arg.data(), threads);
    std::fill(y, y + outer * n * inner, 0.f);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) y[(o * n + arg[size_t(o * inner + i)]) * inner + i] = 1.f;
    return Status::ok();
  }

  SoftmaxKind kind_;
  bool flatten_;
  int64_t axis_;
};

Status create_softmax_family(const LoadContext &ctx, SoftmaxKind kind,
                             std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_one_input(ctx));
  const bool flatten = ctx.node.opset < 13;
  const int64_t axis = ctx.node.attr_int("axis", flatten ? 1 : -1);
  *out = std::make_unique<SoftmaxKernel>(kind, flatten, axis);
  return Status::ok();
}

}  // namespace

Status create_relu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_unary(ctx, Unary::kRelu, 0.f, out);
}
Status create_leaky_relu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_unary(ctx, Unary::kLeakyRelu, ctx.node.attr_float("alpha", 0.01f), out);
}
Status create_thresholded_relu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_unary(ctx, Unary::kThresholdedRelu, ctx.node.attr_float("alpha", 1.0f), out);
}
Status create_sigmoid(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_unary(ctx, Unary::kSigmoid, 0.f, out);
}
Status create_tanh(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_unary(ctx, Unary::kTanh, 0.f, out);
}

Status create_clip(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_one_input(ctx));
  if (ctx.node.opset < 11) {
    const float lo = ctx.node.attr_float("min", std::numeric_limits<float>::lowest());
    const float hi = ctx.node.attr_float("max", std::numeric_limits<float>::max());
    *out = std::make_unique<ClipKernel>(lo, hi);
    return Status::ok();
  }
  if (ctx.num_inputs() > 3) return invalid_model("expects at most three inputs X, min, max");
  static const char *const kNames[] = {"", "min", "max"};
  for (size_t i = 1; i < 3; ++i) {
    const Tensor *c = ctx.constant_input(i);
    if (c != nullptr && c->numel() != 1) {
      return invalid_model(std::string("input ") + kNames[i] + " must be a scalar, got " +
                           shape_str(c->shape()));
    }
  }
  *out = std::make_unique<ClipKernel>();
  return Status::ok();
}

Status create_softmax(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_softmax_family(ctx, SoftmaxKind::kSoftmax, out);
}
Status create_log_softmax(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_softmax_family(ctx, SoftmaxKind::kLogSoftmax, out);
}
Status create_hardmax(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_softmax_family(ctx, SoftmaxKind::kHardmax, out);
}

}  // namespace si
