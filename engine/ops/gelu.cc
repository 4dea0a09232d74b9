// Gelu (com.sparse_infer): what fuse_gelu turns the decomposed erf and tanh
// GELU sub-graphs of pre-opset-20 exports into. Same contract as ONNX
// opset-20 Gelu: one float input, attribute approximate = "none" | "tanh".
#include <memory>
#include <string>

#include "engine/ops/ops.h"
#include "kernels/vec/gelu.h"

namespace si {

namespace {

class GeluKernel final : public OpKernel {
 public:
  explicit GeluKernel(bool tanh_form) : tanh_form_(tanh_form) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    if (in[0]->dtype() != DType::kFloat32) {
      return unsupported(std::string("dtype ") + dtype_name(in[0]->dtype()) +
                         " of X is not supported (float32 only)");
    }
    out->push_back(OutputDesc{DType::kFloat32, in[0]->shape(), -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    f32_gelu(gelu_kernels(), tanh_form_, in[0]->data<float>(), out[0]->data<float>(),
             in[0]->numel(), ctx.threads);
    return Status::ok();
  }

 private:
  bool tanh_form_;
};

}  // namespace

Status create_gelu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  if (!ctx.has_input(0) || ctx.num_inputs() != 1) return invalid_model("expects one input X");
  if (ctx.node.outputs.size() != 1) return invalid_model("expects one output Y");
  const std::string approximate = ctx.node.attr_string("approximate", "none");
  if (approximate != "none" && approximate != "tanh") {
    return invalid_model("approximate must be \"none\" or \"tanh\", got \"" + approximate + "\"");
  }
  *out = std::make_unique<GeluKernel>(approximate == "tanh");
  return Status::ok();
}

}  // namespace si
