// LayerNormalization (opset 17).
#include <memory>
#include <string>
#include <vector>

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

}  // namespace si
