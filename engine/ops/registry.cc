#include "engine/ops/registry.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/ops/ops.h"

namespace si {

namespace {

constexpr int kMaxOpset = 17;

// Rule constructors, so each table row reads as its rule.
ZeroRule none() {
  return {};
}
ZeroRule producer(ZeroPredicate when = nullptr, const char *condition = nullptr) {
  return {ZeroKind::kProducer, when, condition, 0};
}
ZeroRule consumer(ZeroPredicate output_zeros = nullptr, const char *condition = nullptr) {
  return {ZeroKind::kConsumer, output_zeros, condition, 0};
}
ZeroRule view() {
  return {ZeroKind::kView, nullptr, nullptr, 1};
}
ZeroRule zeros_if_all(int data_inputs, ZeroPredicate when = nullptr,
                      const char *condition = nullptr) {
  return {ZeroKind::kZerosIfAllInputsZero, when, condition, data_inputs};
}
ZeroRule zeros_if_any(int data_inputs) {
  return {ZeroKind::kZerosIfAnyInputZero, nullptr, nullptr, data_inputs};
}

// The value of input `slot` if it is a one-element float32 constant.
bool scalar_input(const Graph &g, const Node &n, size_t slot, float *out) {
  if (slot >= n.inputs.size() || n.inputs[slot] < 0) return false;
  const Tensor *t = g.constant(n.inputs[slot]);
  if (t == nullptr || t->dtype() != DType::kFloat32 || t->numel() != 1 ||
      t->data<float>() == nullptr)
    return false;
  *out = t->data<float>()[0];
  return true;
}

// Producer predicates. A producer maps a whole range of inputs to exactly 0;
// an op that is zero only at isolated points (Elu, Selu, Sign at 0), or only
// where float32 rounding underflows (Gelu below about -5.5), is not one. Each condition follows the
// ONNX spec of the op.

// Clip = min(max(x, lo), hi): every x <= 0 becomes 0 when lo is 0 (ReLU6);
// any other lower bound leaves no zeros by construction. The bound is the
// "min" attribute before opset 11 (default: lowest float), then input 1,
// which must be a constant to be known at load (absent: no lower bound).
bool clip_min_zero(const Graph &g, const Node &n) {
  float lo = 0.f;
  if (n.opset < 11) return n.attr_float("min", std::numeric_limits<float>::lowest()) == 0.f;
  return scalar_input(g, n, 1, &lo) && lo == 0.f;
}

// Max(x, 0) is how some exporters write a ReLU: 0 for every x <= 0. Max(x, c)
// for c != 0 has no zeros by construction.
bool max_with_zero(const Graph &g, const Node &n) {
  float v = 1.f;
  return n.inputs.size() == 2 &&
         ((scalar_input(g, n, 0, &v) && v == 0.f) || (scalar_input(g, n, 1, &v) && v == 0.f));
}

// LeakyRelu = x < 0 ? alpha * x : x: with alpha 0 it is a ReLU; any other
// alpha (the default is 0.01) leaves negative inputs non-zero.
bool leaky_relu_is_relu(const Graph &, const Node &n) {
  return n.attr_float("alpha", 0.01f) == 0.f;
}

// HardSigmoid = max(0, min(1, alpha * x + beta)) is 0 on the half-line
// alpha * x + beta <= 0 for any alpha != 0 (x <= -2.5 with the defaults 0.2,
// 0.5); with alpha 0 it is the constant clamp(beta, 0, 1), zero iff beta <= 0.
bool hard_sigmoid_zeros(const Graph &, const Node &n) {
  return n.attr_float("alpha", 0.2f) != 0.f || n.attr_float("beta", 0.5f) <= 0.f;
}
// HardSwish = x * HardSigmoid(x) with alpha 1/6, beta 0.5 fixed by the spec:
// 0 (or -0, equally skipped) for every x <= -3, so an unconditional producer.

// The fused ops carry the activation they absorbed as an attribute
// (engine/passes/fuse_matmul.cc, fuse_conv.cc): the same conditions apply.
bool fused_gemm_relu(const Graph &, const Node &n) {
  return n.attr_string("activation", "") == "Relu";
}
bool fused_conv_zeros(const Graph &, const Node &n) {
  const std::string act = n.attr_string("activation", "");
  return act == "Relu" || (act == "Clip" && n.attr_float("clip_min", 0.f) == 0.f);
}

// QuantizeLinear and DequantizeLinear map a 0 to 0 when the zero point is 0:
// round(0 / s) + 0 = 0 (0 / s is 0, or NaN for s = 0, which quantizes to the
// zero point), and (0 - 0) * s = 0 (or -0) for any finite s. An absent zero
// point is 0; a runtime one is unknown at load.
bool zero_point_is_zero(const Graph &g, const Node &n) {
  if (n.inputs.size() < 3 || n.inputs[2] < 0) return true;
  const Tensor *z = g.constant(n.inputs[2]);
  if (z == nullptr || z->raw() == nullptr) return false;
  const auto *bytes = static_cast<const uint8_t *>(z->raw());
  for (size_t i = 0; i < z->size_bytes(); ++i)
    if (bytes[i] != 0) return false;
  return true;
}
bool dequantize_keeps_zeros(const Graph &g, const Node &n) {
  if (!zero_point_is_zero(g, n) || n.inputs.size() < 2 || n.inputs[1] < 0) return false;
  const Tensor *s = g.constant(n.inputs[1]);
  if (s == nullptr || s->dtype() != DType::kFloat32 || s->data<float>() == nullptr) return false;
  for (int64_t i = 0; i < s->numel(); ++i)
    if (!std::isfinite(s->data<float>()[i])) return false;
  return true;
}

}  // namespace

const char *zero_kind_name(ZeroKind kind) {
  switch (kind) {
    case ZeroKind::kProducer:
      return "producer";
    case ZeroKind::kConsumer:
      return "consumer";
    case ZeroKind::kView:
      return "view";
    case ZeroKind::kZerosIfAllInputsZero:
      return "zero-preserving (all inputs)";
    case ZeroKind::kZerosIfAnyInputZero:
      return "zero-preserving (any input)";
    case ZeroKind::kNone:
      break;
  }
  return "none";
}

const std::vector<OpRegistration> &op_table() {
  static const std::vector<OpRegistration> table = {
      // {domain, op_type, since, until, factory, zero rule}. Ops whose f(0) is 0
      // (Neg, Sqrt, Sum, Gelu, ...) would keep zeros too, but the pass does not
      // carry zeros through them: their rule is none.
      // A sum is zero where both addends are: Add(relu, bias) is dense,
      // Add(relu, relu) keeps the zeros they share.
      {"", "Add", 1, kMaxOpset, create_add, zeros_if_all(2)},
      {"", "Sub", 1, kMaxOpset, create_sub, none()},
      // A zero factor zeroes the product whatever the other one holds.
      {"", "Mul", 1, kMaxOpset, create_mul, zeros_if_any(2)},
      {"", "Div", 1, kMaxOpset, create_div, none()},
      {"", "Abs", 1, kMaxOpset, create_abs, none()},
      {"", "Neg", 1, kMaxOpset, create_neg, none()},
      {"", "Sign", 9, kMaxOpset, create_sign, none()},
      {"", "Floor", 1, kMaxOpset, create_floor, none()},
      {"", "Ceil", 1, kMaxOpset, create_ceil, none()},
      {"", "Round", 11, kMaxOpset, create_round, none()},
      {"", "Sqrt", 1, kMaxOpset, create_sqrt, none()},
      {"", "Reciprocal", 1, kMaxOpset, create_reciprocal, none()},
      {"", "Exp", 1, kMaxOpset, create_exp, none()},
      {"", "Log", 1, kMaxOpset, create_log, none()},
      {"", "Erf", 9, kMaxOpset, create_erf, none()},
      {"", "Sin", 7, kMaxOpset, create_sin, none()},
      {"", "Cos", 7, kMaxOpset, create_cos, none()},
      {"", "Tan", 7, kMaxOpset, create_tan, none()},
      {"", "Asin", 7, kMaxOpset, create_asin, none()},
      {"", "Acos", 7, kMaxOpset, create_acos, none()},
      {"", "Atan", 7, kMaxOpset, create_atan, none()},
      {"", "Sinh", 9, kMaxOpset, create_sinh, none()},
      {"", "Cosh", 9, kMaxOpset, create_cosh, none()},
      {"", "Asinh", 9, kMaxOpset, create_asinh, none()},
      {"", "Acosh", 9, kMaxOpset, create_acosh, none()},
      {"", "Atanh", 9, kMaxOpset, create_atanh, none()},
      {"", "Softplus", 1, kMaxOpset, create_softplus, none()},
      {"", "Softsign", 1, kMaxOpset, create_softsign, none()},
      {"", "HardSigmoid", 1, kMaxOpset, create_hard_sigmoid,
       producer(hard_sigmoid_zeros, "unless alpha is 0 and beta > 0")},
      {"", "HardSwish", 14, kMaxOpset, create_hard_swish, producer()},
      {"", "Elu", 1, kMaxOpset, create_elu, none()},
      {"", "Selu", 1, kMaxOpset, create_selu, none()},
      {"", "PRelu", 1, kMaxOpset, create_prelu, none()},
      {"", "Pow", 1, kMaxOpset, create_pow, none()},
      {"", "Max", 1, kMaxOpset, create_max, producer(max_with_zero, "with a scalar 0 operand")},
      {"", "Min", 1, kMaxOpset, create_min, none()},
      {"", "Sum", 1, kMaxOpset, create_sum, none()},
      {"", "Mean", 1, kMaxOpset, create_mean, none()},
      {"", "Equal", 1, kMaxOpset, create_equal, none()},
      {"", "Less", 1, kMaxOpset, create_less, none()},
      {"", "Greater", 1, kMaxOpset, create_greater, none()},
      {"", "LessOrEqual", 12, kMaxOpset, create_less_or_equal, none()},
      {"", "GreaterOrEqual", 12, kMaxOpset, create_greater_or_equal, none()},
      {"", "And", 1, kMaxOpset, create_and, none()},
      {"", "Or", 1, kMaxOpset, create_or, none()},
      {"", "Xor", 1, kMaxOpset, create_xor, none()},
      {"", "Not", 1, kMaxOpset, create_not, none()},
      {"", "Where", 9, kMaxOpset, create_where, none()},
      {"", "Cast", 1, kMaxOpset, create_cast, none()},
      {"", "ReduceSum", 1, kMaxOpset, create_reduce_sum, none()},
      {"", "ReduceMean", 1, kMaxOpset, create_reduce_mean, none()},
      {"", "ReduceMax", 1, kMaxOpset, create_reduce_max, none()},
      {"", "ReduceMin", 1, kMaxOpset, create_reduce_min, none()},
      {"", "ReduceProd", 1, kMaxOpset, create_reduce_prod, none()},
      {"", "ReduceL1", 1, kMaxOpset, create_reduce_l1, none()},
      {"", "ReduceL2", 1, kMaxOpset, create_reduce_l2, none()},
      {"", "ReduceLogSum", 1, kMaxOpset, create_reduce_log_sum, none()},
      {"", "ReduceLogSumExp", 1, kMaxOpset, create_reduce_log_sum_exp, none()},
      {"", "ReduceSumSquare", 1, kMaxOpset, create_reduce_sum_square, none()},
      {"", "ArgMax", 1, kMaxOpset, create_arg_max, none()},
      {"", "ArgMin", 1, kMaxOpset, create_arg_min, none()},
      {"", "MatMul", 1, kMaxOpset, create_matmul, consumer()},
      {"", "Gemm", 1, kMaxOpset, create_gemm, consumer()},
      {kEngineDomain, "FusedGemm", 1, 1, create_fused_gemm,
       consumer(fused_gemm_relu, "and a producer with a Relu epilogue")},
      // Quantized weights (issue 13, quant_matmul.cc): consumers like MatMul.
      {"com.microsoft", "MatMulNBits", 1, 1, create_matmul_nbits, consumer()},
      {kEngineDomain, "QuantMatMul", 1, 1, create_quant_matmul,
       consumer(fused_gemm_relu, "and a producer with a Relu epilogue")},
      {"", "Relu", 1, kMaxOpset, create_relu, producer()},
      {"", "LeakyRelu", 1, kMaxOpset, create_leaky_relu,
       producer(leaky_relu_is_relu, "when alpha is 0")},
      {"", "ThresholdedRelu", 10, kMaxOpset, create_thresholded_relu, producer()},
      {"", "Clip", 1, kMaxOpset, create_clip, producer(clip_min_zero, "when min is 0")},
      {"", "Sigmoid", 1, kMaxOpset, create_sigmoid, none()},
      {"", "Tanh", 1, kMaxOpset, create_tanh, none()},
      {"", "Softmax", 1, kMaxOpset, create_softmax, none()},
      {"", "LogSoftmax", 1, kMaxOpset, create_log_softmax, none()},
      {"", "Conv", 1, kMaxOpset, create_conv, none()},
      {"", "ConvTranspose", 1, kMaxOpset, create_conv_transpose, none()},
      {kEngineDomain, "FusedConv", 1, 1, create_fused_conv,
       producer(fused_conv_zeros, "with a Relu or min-0 Clip epilogue")},
      // Zeros stay zeros through a max of a window of zeros (see pool.cc on
      // active sets). Average pools keep them too, but only where a whole
      // window is zero: after them a ReLU output is dense in practice (a
      // classifier after GlobalAveragePool saw 0.2% zeros), so none.
      {"", "MaxPool", 1, kMaxOpset, create_max_pool, zeros_if_all(1)},
      {"", "AveragePool", 1, kMaxOpset, create_average_pool, none()},
      {"", "GlobalAveragePool", 1, kMaxOpset, create_global_average_pool, none()},
      {"", "GlobalMaxPool", 1, kMaxOpset, create_global_max_pool, none()},
      {"", "BatchNormalization", 1, kMaxOpset, create_batch_normalization, none()},
      {"", "LayerNormalization", 17, kMaxOpset, create_layer_normalization, none()},
      {kEngineDomain, "Gelu", 1, 1, create_gelu, none()},
      // Views alias data input 0 (Reshape's shape, Squeeze's and Unsqueeze's axes,
      // Dropout's ratio are not data); Tensor::view drops the ActiveSet at run time
      // when the last axis changes.
      {"", "Flatten", 1, kMaxOpset, create_flatten, view()},
      {"", "Reshape", 1, kMaxOpset, create_reshape, view()},
      {"", "Identity", 1, kMaxOpset, create_identity, view()},
      {"", "Dropout", 1, kMaxOpset, create_dropout, view()},
      {"", "Shape", 1, kMaxOpset, create_shape, none()},
      {"", "Gather", 1, kMaxOpset, create_gather, none()},
      {"", "Unsqueeze", 1, kMaxOpset, create_unsqueeze, view()},
      {"", "Squeeze", 1, kMaxOpset, create_squeeze, view()},
      // Each part's zeros land in the output: sparse when any part is.
      {"", "Concat", 1, kMaxOpset, create_concat, zeros_if_any(kAllInputs)},
      {"", "Size", 1, kMaxOpset, create_size, none()},
      {"", "ConstantOfShape", 9, kMaxOpset, create_constant_of_shape, none()},
      {"", "Range", 11, kMaxOpset, create_range, none()},
      // Element moves: zeros of data input 0 stay zeros (Slice's starts, ends, axes
      // and steps are indices).
      {"", "Transpose", 1, kMaxOpset, create_transpose, zeros_if_all(1)},
      {"", "Slice", 1, kMaxOpset, create_slice, zeros_if_all(1)},
      {"", "Split", 1, kMaxOpset, create_split, none()},
      {"", "Expand", 8, kMaxOpset, create_expand, none()},
      {"", "Tile", 6, kMaxOpset, create_tile, none()},
      {"", "Pad", 1, kMaxOpset, create_pad, none()},
      {"", "Resize", 10, kMaxOpset, create_resize, none()},
      {"", "Upsample", 7, 10, create_upsample, none()},
      {"", "Einsum", 12, kMaxOpset, create_einsum, none()},
      // Recurrent layers (recurrent.cc): opset 7 and 14 (layout) semantics.
      {"", "LSTM", 7, kMaxOpset, create_lstm, none()},
      {"", "GRU", 7, kMaxOpset, create_gru, none()},
      {"", "RNN", 7, kMaxOpset, create_rnn, none()},
      // Sequence values (issue 14): no zeros are tracked through a sequence.
      {"", "SequenceEmpty", 11, kMaxOpset, create_sequence_empty, none()},
      {"", "SequenceConstruct", 11, kMaxOpset, create_sequence_construct, none()},
      {"", "SequenceInsert", 11, kMaxOpset, create_sequence_insert, none()},
      {"", "SequenceErase", 11, kMaxOpset, create_sequence_erase, none()},
      {"", "SequenceAt", 11, kMaxOpset, create_sequence_at, none()},
      {"", "SequenceLength", 11, kMaxOpset, create_sequence_length, none()},
      {"", "ConcatFromSequence", 11, kMaxOpset, create_concat_from_sequence, none()},
      {"", "SplitToSequence", 11, kMaxOpset, create_split_to_sequence, none()},
      // Indexing and scattering (issue 14). Gathers and scatters move elements by
      // index: none, as Gather. Trilu only adds zeros, and the block moves of
      // DepthToSpace/SpaceToDepth are transposes: zeros of x stay zeros.
      {"", "GatherElements", 11, kMaxOpset, create_gather_elements, none()},
      {"", "GatherND", 11, kMaxOpset, create_gather_nd, none()},
      {"", "OneHot", 9, kMaxOpset, create_one_hot, none()},
      {"", "NonZero", 9, kMaxOpset, create_non_zero, none()},
      {"", "TopK", 1, kMaxOpset, create_top_k, none()},
      {"", "CumSum", 11, kMaxOpset, create_cum_sum, none()},
      {"", "Trilu", 14, kMaxOpset, create_trilu, zeros_if_all(1)},
      {"", "Scatter", 9, 10, create_scatter_elements, none()},
      {"", "ScatterElements", 11, kMaxOpset, create_scatter_elements, none()},
      {"", "ScatterND", 11, kMaxOpset, create_scatter_nd, none()},
      {"", "DepthToSpace", 1, kMaxOpset, create_depth_to_space, zeros_if_all(1)},
      {"", "SpaceToDepth", 1, kMaxOpset, create_space_to_depth, zeros_if_all(1)},
      // Element-wise math (issue 14). Celu is zero only at x = 0: none.
      {"", "Celu", 12, kMaxOpset, create_celu, none()},
      {"", "Mod", 10, kMaxOpset, create_mod, none()},
      {"", "BitShift", 11, kMaxOpset, create_bit_shift, none()},
      {"", "IsNaN", 9, kMaxOpset, create_is_nan, none()},
      {"", "IsInf", 10, kMaxOpset, create_is_inf, none()},
      // Normalisations (issue 14). Hardmax's output is one-hot, but the pass
      // only tracks activation zeros from ReLU-like producers: none.
      {"", "Hardmax", 1, kMaxOpset, create_hardmax, none()},
      {"", "InstanceNormalization", 1, kMaxOpset, create_instance_normalization, none()},
      {"", "LpNormalization", 1, kMaxOpset, create_lp_normalization, none()},
      // Linear quantization (quantize.cc). A 0 stays 0 through Quantize and
      // Dequantize with a zero point of 0 (see zero_point_is_zero); after
      // DynamicQuantizeLinear a 0 is the zero point, not 0, so MatMulInteger
      // skips those terms itself, in integers (kernels/quant/matmul_integer.h).
      {"", "QuantizeLinear", 10, kMaxOpset, create_quantize_linear,
       zeros_if_all(1, zero_point_is_zero, "when the zero point is absent or a constant 0")},
      {"", "DequantizeLinear", 10, kMaxOpset, create_dequantize_linear,
       zeros_if_all(
           1, dequantize_keeps_zeros,
           "when the zero point is absent or a constant 0 and the scale constant and finite")},
      {"", "DynamicQuantizeLinear", 11, kMaxOpset, create_dynamic_quantize_linear, none()},
      {"", "MatMulInteger", 10, kMaxOpset, create_matmul_integer, none()},
      // Control flow (issue 14): bodies run by their own executor.
      {"", "If", 1, kMaxOpset, create_if, none()},
      {"", "Loop", 1, kMaxOpset, create_loop, none()},
      {"", "Scan", 9, kMaxOpset, create_scan, none()},
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
