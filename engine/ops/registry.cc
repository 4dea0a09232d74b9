#include "engine/ops/registry.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

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
      {"", "Abs", 1, kMaxOpset, create_abs, SparseRole::kNone},
      {"", "Neg", 1, kMaxOpset, create_neg, SparseRole::kNone},
      {"", "Sign", 9, kMaxOpset, create_sign, SparseRole::kNone},
      {"", "Floor", 1, kMaxOpset, create_floor, SparseRole::kNone},
      {"", "Ceil", 1, kMaxOpset, create_ceil, SparseRole::kNone},
      {"", "Round", 11, kMaxOpset, create_round, SparseRole::kNone},
      {"", "Sqrt", 1, kMaxOpset, create_sqrt, SparseRole::kNone},
      {"", "Reciprocal", 1, kMaxOpset, create_reciprocal, SparseRole::kNone},
      {"", "Exp", 1, kMaxOpset, create_exp, SparseRole::kNone},
      {"", "Log", 1, kMaxOpset, create_log, SparseRole::kNone},
      {"", "Erf", 9, kMaxOpset, create_erf, SparseRole::kNone},
      {"", "Sin", 7, kMaxOpset, create_sin, SparseRole::kNone},
      {"", "Cos", 7, kMaxOpset, create_cos, SparseRole::kNone},
      {"", "Tan", 7, kMaxOpset, create_tan, SparseRole::kNone},
      {"", "Asin", 7, kMaxOpset, create_asin, SparseRole::kNone},
      {"", "Acos", 7, kMaxOpset, create_acos, SparseRole::kNone},
      {"", "Atan", 7, kMaxOpset, create_atan, SparseRole::kNone},
      {"", "Sinh", 9, kMaxOpset, create_sinh, SparseRole::kNone},
      {"", "Cosh", 9, kMaxOpset, create_cosh, SparseRole::kNone},
      {"", "Asinh", 9, kMaxOpset, create_asinh, SparseRole::kNone},
      {"", "Acosh", 9, kMaxOpset, create_acosh, SparseRole::kNone},
      {"", "Atanh", 9, kMaxOpset, create_atanh, SparseRole::kNone},
      {"", "Softplus", 1, kMaxOpset, create_softplus, SparseRole::kNone},
      {"", "Softsign", 1, kMaxOpset, create_softsign, SparseRole::kNone},
      {"", "HardSigmoid", 1, kMaxOpset, create_hard_sigmoid, SparseRole::kNone},
      {"", "HardSwish", 14, kMaxOpset, create_hard_swish, SparseRole::kNone},
      {"", "Elu", 1, kMaxOpset, create_elu, SparseRole::kNone},
      {"", "Selu", 1, kMaxOpset, create_selu, SparseRole::kNone},
      {"", "PRelu", 1, kMaxOpset, create_prelu, SparseRole::kNone},
      {"", "Pow", 1, kMaxOpset, create_pow, SparseRole::kNone},
      {"", "Max", 1, kMaxOpset, create_max, SparseRole::kNone},
      {"", "Min", 1, kMaxOpset, create_min, SparseRole::kNone},
      {"", "Sum", 1, kMaxOpset, create_sum, SparseRole::kNone},
      {"", "Mean", 1, kMaxOpset, create_mean, SparseRole::kNone},
      {"", "Equal", 1, kMaxOpset, create_equal, SparseRole::kNone},
      {"", "Less", 1, kMaxOpset, create_less, SparseRole::kNone},
      {"", "Greater", 1, kMaxOpset, create_greater, SparseRole::kNone},
      {"", "LessOrEqual", 12, kMaxOpset, create_less_or_equal, SparseRole::kNone},
      {"", "GreaterOrEqual", 12, kMaxOpset, create_greater_or_equal, SparseRole::kNone},
      {"", "And", 1, kMaxOpset, create_and, SparseRole::kNone},
      {"", "Or", 1, kMaxOpset, create_or, SparseRole::kNone},
      {"", "Xor", 1, kMaxOpset, create_xor, SparseRole::kNone},
      {"", "Not", 1, kMaxOpset, create_not, SparseRole::kNone},
      {"", "Where", 9, kMaxOpset, create_where, SparseRole::kNone},
      {"", "Cast", 1, kMaxOpset, create_cast, SparseRole::kNone},
      {"", "ReduceSum", 1, kMaxOpset, create_reduce_sum, SparseRole::kNone},
      {"", "ReduceMean", 1, kMaxOpset, create_reduce_mean, SparseRole::kNone},
      {"", "ReduceMax", 1, kMaxOpset, create_reduce_max, SparseRole::kNone},
      {"", "ReduceMin", 1, kMaxOpset, create_reduce_min, SparseRole::kNone},
      {"", "ReduceProd", 1, kMaxOpset, create_reduce_prod, SparseRole::kNone},
      {"", "ReduceL1", 1, kMaxOpset, create_reduce_l1, SparseRole::kNone},
      {"", "ReduceL2", 1, kMaxOpset, create_reduce_l2, SparseRole::kNone},
      {"", "ReduceLogSum", 1, kMaxOpset, create_reduce_log_sum, SparseRole::kNone},
      {"", "ReduceLogSumExp", 1, kMaxOpset, create_reduce_log_sum_exp, SparseRole::kNone},
      {"", "ReduceSumSquare", 1, kMaxOpset, create_reduce_sum_square, SparseRole::kNone},
      {"", "ArgMax", 1, kMaxOpset, create_arg_max, SparseRole::kNone},
      {"", "ArgMin", 1, kMaxOpset, create_arg_min, SparseRole::kNone},
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
      // A producer when its activation is Relu or Clip (mark_sparsity reads the attribute).
      {kEngineDomain, "FusedConv", 1, 1, create_fused_conv, SparseRole::kNone},
      // Zeros stay zeros through a max (see pool.cc on active sets).
      {"", "MaxPool", 1, kMaxOpset, create_max_pool, SparseRole::kZeroPreserving},
      {"", "AveragePool", 1, kMaxOpset, create_average_pool, SparseRole::kNone},
      {"", "GlobalAveragePool", 1, kMaxOpset, create_global_average_pool, SparseRole::kNone},
      {"", "GlobalMaxPool", 1, kMaxOpset, create_global_max_pool, SparseRole::kNone},
      {"", "BatchNormalization", 1, kMaxOpset, create_batch_normalization, SparseRole::kNone},
      {"", "LayerNormalization", 17, kMaxOpset, create_layer_normalization, SparseRole::kNone},
      {kEngineDomain, "Gelu", 1, 1, create_gelu, SparseRole::kNone},
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
  // Every node of every load looks its op up: index the table once by
  // (domain, op_type) instead of comparing strings down all of it.
  using Key = std::pair<std::string, std::string>;
  static const std::map<Key, std::vector<const OpRegistration *>> index = [] {
    std::map<Key, std::vector<const OpRegistration *>> m;
    for (const OpRegistration &r : op_table()) m[Key(r.domain, r.op_type)].push_back(&r);
    return m;
  }();
  auto it = index.find(Key(domain, op_type));
  if (it == index.end()) return nullptr;
  for (const OpRegistration *r : it->second) {
    if (opset >= r->since_opset && opset <= r->until_opset) return r;
  }
  return nullptr;
}

}  // namespace si
