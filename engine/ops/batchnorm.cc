// BatchNormalization in inference mode (opsets 1-17), float32:
//   Y = (X - mean) * scale / sqrt(var + epsilon) + B   per channel (axis 1).
// Opsets before 9 may set spatial = 0: one statistic per (channel, position).
// Training (training_mode = 1, or before opset 14 any requested running
// statistics output) is not supported.
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/ops.h"
#include "kernels/ref/batchnorm_ref.h"

namespace si {

namespace {

class BatchNormOp final : public OpKernel {
 public:
  BatchNormOp(float eps, bool spatial, size_t num_outputs)
      : eps_(eps), spatial_(spatial), num_outputs_(num_outputs) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    int64_t outer = 0, channels = 0, inner = 0;
    SI_RETURN_IF_ERROR(check(in, &outer, &channels, &inner));
    out->assign(1, OutputDesc{DType::kFloat32, in[0]->shape(), -1});
    // Omitted optional outputs still get an (empty) buffer from the executor.
    for (size_t i = 1; i < num_outputs_; ++i)
      out->push_back(OutputDesc{DType::kFloat32, Shape{0}, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    int64_t outer = 0, channels = 0, inner = 0;
    SI_RETURN_IF_ERROR(check(in, &outer, &channels, &inner));
    ref::f32_batchnorm(in[0]->data<float>(), in[1]->data<float>(), in[2]->data<float>(),
                       in[3]->data<float>(), in[4]->data<float>(), eps_, out[0]->data<float>(),
                       outer, channels, inner, ctx.threads);
    return Status::ok();
  }

 private:
  // The [outer, channels, inner] view the kernel runs over.
  Status check(const std::vector<const Tensor *> &in, int64_t *outer, int64_t *channels,
               int64_t *inner) const {
    const Tensor &x = *in[0];
    if (x.dtype() != DType::kFloat32) {
      return unsupported(std::string("input X has dtype ") + dtype_name(x.dtype()) +
                         ", only float32 is supported");
    }
    if (x.rank() < 2)
      return invalid_argument("X " + shape_str(x.shape()) + " must be [N, C, ...] (rank >= 2)");
    const int64_t c = x.dim(1);
    const int64_t spatial_size = x.dim(0) > 0 && c > 0 ? x.numel() / (x.dim(0) * c) : 0;
    *outer = x.dim(0);
    *channels = spatial_ ? c : c * spatial_size;
    *inner = spatial_ ? spatial_size : 1;
    if (x.dim(0) == 0 || c == 0) *inner = 0;
    static const char *const kNames[] = {"X", "scale", "B", "input_mean", "input_var"};
    for (size_t i = 1; i < 5; ++i) {
      const Tensor &t = *in[i];
      if (t.dtype() != DType::kFloat32) {
        return invalid_argument(std::string(kNames[i]) + " has dtype " + dtype_name(t.dtype()) +
                                ", expected float32");
      }
      const bool ok = spatial_ ? t.shape() == Shape{c} : t.numel() == *channels;
      if (!ok) {
        return invalid_argument(std::string(kNames[i]) + " " + shape_str(t.shape()) + " must " +
                                (spatial_ ? "be [" + std::to_string(c) + "]"
                                          : "hold " + std::to_string(*channels) + " values") +
                                " for X " + shape_str(x.shape()));
      }
    }
    return Status::ok();
  }

  float eps_;
  bool spatial_;
  size_t num_outputs_;
};

}  // namespace

Status create_batch_normalization(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  if (ctx.num_inputs() != 5) {
    return invalid_model("expects five inputs X, scale, B, input_mean, input_var, got " +
                         std::to_string(ctx.num_inputs()));
  }
  for (size_t i = 0; i < 5; ++i)
    if (!ctx.has_input(i)) return invalid_model("input " + std::to_string(i) + " is required");
  if (n.outputs.empty() || n.outputs[0] < 0) return invalid_model("output Y is required");
  size_t extra = 0;
  for (size_t i = 1; i < n.outputs.size(); ++i) extra += n.outputs[i] >= 0;
  if (n.opset >= 14 && n.attr_int("training_mode", 0) != 0)
    return unsupported("training_mode = 1 (only inference is supported)");
  if (extra > 0) {
    return unsupported(
        "outputs beyond Y (running or saved statistics) are training outputs; "
        "only inference is supported");
  }
  const float eps = n.attr_float("epsilon", 1e-5f);
  if (!(eps >= 0.f)) return invalid_model("epsilon must be >= 0, got " + std::to_string(eps));
  const bool spatial = n.opset >= 9 || n.attr_int("spatial", 1) != 0;
  *out = std::make_unique<BatchNormOp>(eps, spatial, n.outputs.size());
  return Status::ok();
}

}  // namespace si
