// DepthToSpace and SpaceToDepth: each is a reshape to 6-D, a transpose and a
// reshape back (the ONNX spec's own definition), run as one transpose_bytes.
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/ops.h"
#include "kernels/ref/transpose.h"

namespace si {

namespace {

enum class Layout { kDepthToSpaceDCR, kDepthToSpaceCRD, kSpaceToDepth };

class BlockLayoutKernel final : public OpKernel {
 public:
  BlockLayoutKernel(Layout kind, int64_t block) : kind_(kind), bs_(block) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Shape y, six, perm;
    SI_RETURN_IF_ERROR(plan(*in[0], &y, &six, &perm));
    out->push_back(OutputDesc{in[0]->dtype(), y, -1});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    Shape y, six, perm;
    SI_RETURN_IF_ERROR(plan(*in[0], &y, &six, &perm));
    if (in[0]->numel() == 0) return Status::ok();
    ref::transpose_bytes(in[0]->raw(), six.data(), perm.data(), 6, dtype_size(in[0]->dtype()),
                         out[0]->raw());
    return Status::ok();
  }

 private:
  // Output shape, the 6-D view of the input and the permutation (ONNX spec).
  Status plan(const Tensor &x, Shape *y, Shape *six, Shape *perm) const {
    if (x.rank() != 4)
      return invalid_argument("input must be 4-D NCHW, got " + shape_str(x.shape()));
    const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), b = bs_;
    if (kind_ == Layout::kSpaceToDepth) {
      if (h % b != 0 || w % b != 0) {
        return invalid_argument("H and W of " + shape_str(x.shape()) +
                                " must be multiples of blocksize " + std::to_string(b));
      }
      *six = {n, c, h / b, b, w / b, b};
      *perm = {0, 3, 5, 1, 2, 4};
      *y = {n, c * b * b, h / b, w / b};
      return Status::ok();
    }
    if (c % (b * b) != 0) {
      return invalid_argument("C of " + shape_str(x.shape()) +
                              " must be a multiple of blocksize^2 " + std::to_string(b * b));
    }
    if (kind_ == Layout::kDepthToSpaceDCR) {
      *six = {n, b, b, c / (b * b), h, w};
      *perm = {0, 3, 4, 1, 5, 2};
    } else {
      *six = {n, c / (b * b), b, b, h, w};
      *perm = {0, 1, 4, 2, 5, 3};
    }
    *y = {n, c / (b * b), h * b, w * b};
    return Status::ok();
  }
  Layout kind_;
  int64_t bs_;
};

Status create_block_layout(const LoadContext &ctx, Layout kind, std::unique_ptr<OpKernel> *out) {
  if (ctx.num_inputs() != 1 || !ctx.has_input(0)) return invalid_model("expects one input");
  if (!ctx.node.has_attr("blocksize")) return invalid_model("attribute blocksize is missing");
  const int64_t b = ctx.node.attr_int("blocksize", 0);
  if (b < 1 || b > (int64_t{1} << 20))
    return invalid_model("blocksize must be >= 1, got " + std::to_string(b));
  *out = std::make_unique<BlockLayoutKernel>(kind, b);
  return Status::ok();
}

}  // namespace

Status create_depth_to_space(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const std::string mode = ctx.node.attr_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD")
    return invalid_model("mode must be DCR or CRD, got \"" + mode + "\"");
  return create_block_layout(
      ctx, mode == "DCR" ? Layout::kDepthToSpaceDCR : Layout::kDepthToSpaceCRD, out);
}

Status create_space_to_depth(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_block_layout(ctx, Layout::kSpaceToDepth, out);
}

}  // namespace si
