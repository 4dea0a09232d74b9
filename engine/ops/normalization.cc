// LayerNormalization (opset 17), InstanceNormalization, LpNormalization.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/indices.h"
#include "engine/ops/ops.h"
#include "kernels/ref/broadcast.h"
#include "kernels/vec/layernorm.h"

namespace si {

namespace {

class LayerNormKernel final : public OpKernel {
 public:
  LayerNormKernel(int64_t axis, float eps, size_t num_outputs)
      : axis_(axis), eps_(eps), num_outputs_(num_outputs) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor &x = *in[0];
    int64_t axis = 0;
    SI_RETURN_IF_ERROR(check(in, &axis));
    out->push_back(OutputDesc{DType::kFloat32, x.shape(), -1});
    Shape stat = x.shape();
    for (size_t i = size_t(axis); i < stat.size(); ++i) stat[i] = 1;
    for (size_t i = 1; i < num_outputs_; ++i) out->push_back(OutputDesc{DType::kFloat32, stat, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    const Tensor &x = *in[0];
    int64_t axis = 0;
    SI_RETURN_IF_ERROR(check(in, &axis));
    const Shape norm(x.shape().begin() + axis, x.shape().end());
    int64_t rows = 1, cols = 1;
    for (int64_t i = 0; i < axis; ++i) rows *= x.dim(i);
    for (int64_t d : norm) cols *= d;
    // Scale and B may be any shape that broadcasts to the normalised dims;
    // the common exact-size case is used in place.
    std::vector<float> scale_buf, bias_buf;
    const float *scale = expanded(in[1], norm, cols, &scale_buf);
    const float *bias = in.size() > 2 ? expanded(in[2], norm, cols, &bias_buf) : nullptr;
    float *mean = num_outputs_ > 1 ? out[1]->data<float>() : nullptr;
    float *inv_std = num_outputs_ > 2 ? out[2]->data<float>() : nullptr;
    f32_layernorm(layernorm_kernels(), x.data<float>(), scale, bias, out[0]->data<float>(), mean,
                  inv_std, rows, cols, eps_, ctx.threads);
    return Status::ok();
  }

 private:
  Status check(const std::vector<const Tensor *> &in, int64_t *axis) const {
    const Tensor &x = *in[0];
    if (x.dtype() != DType::kFloat32)
      return unsupported(std::string("dtype ") + dtype_name(x.dtype()) + " is not supported");
    if (!ref::normalize_axis(axis_, x.rank(), axis)) {
      return invalid_argument("axis " + std::to_string(axis_) + " is out of range for X " +
                              shape_str(x.shape()));
    }
    const Shape norm(x.shape().begin() + *axis, x.shape().end());
    static const char *const kNames[] = {"X", "Scale", "B"};
    for (size_t i = 1; i < in.size() && i < 3; ++i) {
      if (in[i] == nullptr) continue;
      if (in[i]->dtype() != DType::kFloat32) {
        return invalid_argument(std::string(kNames[i]) + " has dtype " +
                                dtype_name(in[i]->dtype()) + ", expected float32");
      }
      Shape b;
      if (in[i]->rank() > int64_t(norm.size()) || !ref::broadcast_shape(in[i]->shape(), norm, &b) ||
          b != norm) {
        return invalid_argument(std::string(kNames[i]) + " " + shape_str(in[i]->shape()) +
                                " does not broadcast to the normalised dims " + shape_str(norm) +
                                " of X " + shape_str(x.shape()));
      }
    }
    return Status::ok();
  }

  static const float *expanded(const Tensor *t, const Shape &norm, int64_t cols,
                               std::vector<float> *buf) {
    if (t == nullptr) return nullptr;
    if (t->numel() == cols) return t->data<float>();
    buf->resize(size_t(cols));
    ref::broadcast_copy(t->raw(), t->shape(), buf->data(), norm, sizeof(float));
    return buf->data();
  }

  int64_t axis_;
  float eps_;
  size_t num_outputs_;
};

// InstanceNormalization: each (n, c) plane of X [N, C, D...] normalised by
// its own mean and variance, then scaled by scale[c] and shifted by B[c].
// The statistics come from the LayerNorm kernel over rows of the planes.
class InstanceNormKernel final : public OpKernel {
 public:
  explicit InstanceNormKernel(float eps) : eps_(eps) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    SI_RETURN_IF_ERROR(check(in));
    out->push_back(OutputDesc{DType::kFloat32, in[0]->shape(), -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    SI_RETURN_IF_ERROR(check(in));
    const Tensor &x = *in[0];
    const int64_t channels = x.dim(1), rows = x.dim(0) * channels;
    const int64_t cols = rows == 0 ? 0 : x.numel() / rows;
    if (x.numel() == 0) return Status::ok();
    const std::vector<float> ones(size_t(cols), 1.f);
    float *y = out[0]->data<float>();
    f32_layernorm(layernorm_kernels(), x.data<float>(), ones.data(), nullptr, y, nullptr, nullptr,
                  rows, cols, eps_, ctx.threads);
    const float *scale = in[1]->data<float>(), *bias = in[2]->data<float>();
    for (int64_t r = 0; r < rows; ++r) {
      const float s = scale[r % channels], b = bias[r % channels];
      for (int64_t j = 0; j < cols; ++j) y[r * cols + j] = y[r * cols + j] * s + b;
    }
    return Status::ok();
  }

 private:
  static Status check(const std::vector<const Tensor *> &in) {
    const Tensor &x = *in[0];
    if (x.dtype() != DType::kFloat32)
      return unsupported(std::string("dtype ") + dtype_name(x.dtype()) + " is not supported");
    if (x.rank() < 2)
      return invalid_argument("input must be [N, C, ...], got " + shape_str(x.shape()));
    static const char *const kNames[] = {"input", "scale", "B"};
    for (size_t i = 1; i < 3; ++i) {
      if (in[i]->dtype() != DType::kFloat32 || in[i]->shape() != Shape{x.dim(1)}) {
        return invalid_argument(std::string(kNames[i]) + " must be float32 [" +
                                std::to_string(x.dim(1)) + "] for input " + shape_str(x.shape()) +
                                ", got " + dtype_name(in[i]->dtype()) + " " +
                                shape_str(in[i]->shape()));
      }
    }
    return Status::ok();
  }
  float eps_;
};

// y = x / ||x||_p along one axis (p is 1 or 2), the norm summed in double. A
// line whose norm is 0 stays 0, as in ONNX Runtime (not 0 / 0).
void lp_normalize(const float *x, float *y, int64_t outer, int64_t n, int64_t inner, int p) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float *line = x + o * n * inner + i;
      double acc = 0;
      for (int64_t k = 0; k < n; ++k) {
        const double v = line[k * inner];
        acc += p == 1 ? std::fabs(v) : v * v;
      }
      const double norm = p == 1 ? acc : std::sqrt(acc);
      float *out = y + o * n * inner + i;
      for (int64_t k = 0; k < n; ++k)
        out[k * inner] = norm == 0 ? 0.f : float(double(line[k * inner]) / norm);
    }
}

class LpNormKernel final : public OpKernel {
 public:
  LpNormKernel(int64_t axis, int p) : axis_(axis), p_(p) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    int64_t axis;
    SI_RETURN_IF_ERROR(check(*in[0], &axis));
    out->push_back(OutputDesc{DType::kFloat32, in[0]->shape(), -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &x = *in[0];
    int64_t axis;
    SI_RETURN_IF_ERROR(check(x, &axis));
    int64_t outer, inner;
    split_at_axis(x.shape(), axis, &outer, &inner);
    lp_normalize(x.data<float>(), out[0]->data<float>(), outer, x.dim(axis), inner, p_);
    return Status::ok();
  }

 private:
  Status check(const Tensor &x, int64_t *axis) const {
    if (x.dtype() != DType::kFloat32)
      return unsupported(std::string("dtype ") + dtype_name(x.dtype()) + " is not supported");
    if (!ref::normalize_axis(axis_, x.rank(), axis)) {
      return invalid_argument("axis " + std::to_string(axis_) + " is out of range for input " +
                              shape_str(x.shape()));
    }
    return Status::ok();
  }
  int64_t axis_;
  int p_;
};

}  // namespace

Status create_layer_normalization(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1))
    return invalid_model("inputs X and Scale are required");
  if (ctx.num_inputs() > 3) return invalid_model("expects at most three inputs X, Scale, B");
  if (n.outputs.empty() || n.outputs.size() > 3)
    return invalid_model("expects one to three outputs Y, Mean, InvStdDev");
  const int64_t stash = n.attr_int("stash_type", 1);
  if (stash != 1) {
    return unsupported("stash_type " + std::to_string(stash) + " (only 1, float32, is supported)");
  }
  const float eps = n.attr_float("epsilon", 1e-5f);
  if (!(eps >= 0.f)) return invalid_model("epsilon must be >= 0, got " + std::to_string(eps));
  *out = std::make_unique<LayerNormKernel>(n.attr_int("axis", -1), eps, n.outputs.size());
  return Status::ok();
}

Status create_instance_normalization(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  if (ctx.num_inputs() != 3 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2))
    return invalid_model("expects inputs input, scale and B");
  const float eps = ctx.node.attr_float("epsilon", 1e-5f);
  if (!(eps >= 0.f)) return invalid_model("epsilon must be >= 0, got " + std::to_string(eps));
  *out = std::make_unique<InstanceNormKernel>(eps);
  return Status::ok();
}

Status create_lp_normalization(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return invalid_model("expects one input");
  const int64_t p = ctx.node.attr_int("p", 2);
  if (p != 1 && p != 2) return invalid_model("p must be 1 or 2, got " + std::to_string(p));
  *out = std::make_unique<LpNormKernel>(ctx.node.attr_int("axis", -1), int(p));
  return Status::ok();
}

}  // namespace si
