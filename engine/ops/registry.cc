#include "engine/ops/registry.h"

#include "engine/ops/ops.h"

namespace si {

namespace {
constexpr int kMaxOpset = 17;
}  // namespace

const std::vector<OpRegistration> &op_table() {
  static const std::vector<OpRegistration> table = {
      // {domain, op_type, since, until, factory, sparse role}
      {"", "Add", 1, kMaxOpset, create_add, SparseRole::kNone},
      {"", "Sub", 1, kMaxOpset, create_sub, SparseRole::kNone},
      {"", "Mul", 1, kMaxOpset, create_mul, SparseRole::kNone},
      {"", "Div", 1, kMaxOpset, create_div, SparseRole::kNone},
      {"", "MatMul", 1, kMaxOpset, create_matmul, SparseRole::kConsumer},
      {"", "Gemm", 1, kMaxOpset, create_gemm, SparseRole::kConsumer},
      {kEngineDomain, "FusedGemm", 1, 1, create_fused_gemm, SparseRole::kConsumer},
      {"", "Relu", 1, kMaxOpset, create_relu, SparseRole::kProducer},
      {"", "LeakyRelu", 1, kMaxOpset, create_leaky_relu, SparseRole::kNone},
      {"", "ThresholdedRelu", 10, kMaxOpset, create_thresholded_relu, SparseRole::kProducer},
      // Sparse by construction when min is 0 (ReLU6); other bounds just give a dense active set.
      {"", "Clip", 1, kMaxOpset, create_clip, SparseRole::kProducer},
      {"", "Sigmoid", 1, kMaxOpset, create_sigmoid, SparseRole::kNone},
      {"", "Tanh", 1, kMaxOpset, create_tanh, SparseRole::kNone},
      {"", "Softmax", 1, kMaxOpset, create_softmax, SparseRole::kNone},
      {"", "LogSoftmax", 1, kMaxOpset, create_log_softmax, SparseRole::kNone},
      {"", "Conv", 1, kMaxOpset, create_conv, SparseRole::kNone},
      {"", "ConvTranspose", 1, kMaxOpset, create_conv_transpose, SparseRole::kNone},
      // Zeros stay zeros through a max (see pool.cc on active sets).
      {"", "MaxPool", 1, kMaxOpset, create_max_pool, SparseRole::kZeroPreserving},
      {"", "AveragePool", 1, kMaxOpset, create_average_pool, SparseRole::kNone},
      {"", "GlobalAveragePool", 1, kMaxOpset, create_global_average_pool, SparseRole::kNone},
      {"", "GlobalMaxPool", 1, kMaxOpset, create_global_max_pool, SparseRole::kNone},
      {"", "BatchNormalization", 1, kMaxOpset, create_batch_normalization, SparseRole::kNone},
      {"", "LayerNormalization", 17, kMaxOpset, create_layer_normalization, SparseRole::kNone},
      {"", "Flatten", 1, kMaxOpset, create_flatten, SparseRole::kZeroPreserving},
      {"", "Reshape", 1, kMaxOpset, create_reshape, SparseRole::kZeroPreserving},
      {"", "Identity", 1, kMaxOpset, create_identity, SparseRole::kZeroPreserving},
      {"", "Dropout", 1, kMaxOpset, create_dropout, SparseRole::kZeroPreserving},
      {"", "Shape", 1, kMaxOpset, create_shape, SparseRole::kNone},
      {"", "Gather", 1, kMaxOpset, create_gather, SparseRole::kNone},
      {"", "Unsqueeze", 1, kMaxOpset, create_unsqueeze, SparseRole::kNone},
      {"", "Squeeze", 1, kMaxOpset, create_squeeze, SparseRole::kNone},
      {"", "Concat", 1, kMaxOpset, create_concat, SparseRole::kNone},
      {"", "Size", 1, kMaxOpset, create_size, SparseRole::kNone},
      {"", "ConstantOfShape", 9, kMaxOpset, create_constant_of_shape, SparseRole::kNone},
      {"", "Range", 11, kMaxOpset, create_range, SparseRole::kNone},
      {"", "Transpose", 1, kMaxOpset, create_transpose, SparseRole::kNone},
      {"", "Slice", 1, kMaxOpset, create_slice, SparseRole::kNone},
      {"", "Split", 1, kMaxOpset, create_split, SparseRole::kNone},
      {"", "Expand", 8, kMaxOpset, create_expand, SparseRole::kNone},
      {"", "Tile", 6, kMaxOpset, create_tile, SparseRole::kNone},
      {"", "Pad", 1, kMaxOpset, create_pad, SparseRole::kNone},
      {"", "Resize", 10, kMaxOpset, create_resize, SparseRole::kNone},
      {"", "Upsample", 7, 10, create_upsample, SparseRole::kNone},
      {"", "Einsum", 12, kMaxOpset, create_einsum, SparseRole::kNone},
  };
  return table;
}

const OpRegistration *find_op(const std::string &domain, const std::string &op_type, int opset) {
  for (const OpRegistration &r : op_table()) {
    if (domain == r.domain && op_type == r.op_type && opset >= r.since_opset &&
        opset <= r.until_opset) {
      return &r;
    }
  }
  return nullptr;
}

}  // namespace si
