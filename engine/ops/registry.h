// The single op registration table: (domain, op type, opset range) -> factory
// and zero rule.
#pragma once

#include <string>
#include <vector>

#include "engine/op.h"

namespace si {

// What an op does to the exact zeros of activations. This is the only
// statement of it: mark_sparsity, `sparse-infer analyze`, docs/operators.md
// and the tests all read it from the table below (through
// engine/passes/sparsity_rules.h).
enum class ZeroKind {
  kNone,      // the pass does not carry zeros through the output
  kProducer,  // output 0 is exactly zero for a whole range of inputs, by construction
  kConsumer,  // MatMul/Gemm-family: can skip the zero rows of input 0
  kView,      // aliases data input 0 and keeps its last axis: the ActiveSet rides through
  // The output is zero where every data input is zero, so it carries zeros
  // when all data inputs do: Add, and element moves with one data input
  // (Transpose, Slice, MaxPool).
  kZerosIfAllInputsZero,
  // The output keeps the zeros of each data input, so it carries zeros when
  // any data input does: Mul (a zero factor zeroes the product), Concat (each
  // part's zeros land in the output).
  kZerosIfAnyInputZero,
};

// Whether one node's output has exact zeros: for ops whose zeros depend on
// attributes or constant inputs (Clip's min, Max(x, 0), a fused activation).
using ZeroPredicate = bool (*)(const Graph &graph, const Node &node);

// How many leading inputs of a kZerosIf* or kView op carry data; the rest
// (shapes, axes, starts/ends, ratios) say nothing about zeros.
constexpr int kAllInputs = -1;  // every input is data (Concat)

struct ZeroRule {
  ZeroKind kind = ZeroKind::kNone;
  // kProducer: nullptr = always a producer, else whether this node is one.
  // kConsumer: nullptr = its output is dense, else whether the output also
  // has exact zeros (FusedGemm with a Relu epilogue).
  // kZerosIf*: nullptr = always, else whether this node keeps zeros
  // (QuantizeLinear with a zero point of 0).
  ZeroPredicate produces = nullptr;
  const char *condition = nullptr;  // `produces` in words, for docs/operators.md
  int data_inputs = 0;              // kView: 1; kZerosIf*: a count or kAllInputs
};

// The rule's name as docs/operators.md and `analyze` print it.
const char *zero_kind_name(ZeroKind kind);

struct OpRegistration {
  const char *domain;  // "" = ai.onnx
  const char *op_type;
  int since_opset;  // first opset this entry serves
  int until_opset;  // last opset this entry serves (inclusive)
  OpFactory create;
  ZeroRule zeros;
};

const std::vector<OpRegistration> &op_table();
// nullptr if no entry serves (domain, op_type, opset).
const OpRegistration *find_op(const std::string &domain, const std::string &op_type, int opset);

}  // namespace si
