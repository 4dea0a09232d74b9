// The single op registration table: (domain, op type, opset range) -> factory.
#pragma once

#include <string>
#include <vector>

#include "engine/op.h"

namespace si {

// What an op does to activation sparsity (used by the sparse passes and docs).
enum class SparseRole {
  kNone,           // output zeros carry no meaning
  kProducer,       // output has exact zeros by construction (Relu, ...)
  kConsumer,       // MatMul/Gemm that can skip zero rows of its input
  kZeroPreserving  // passes zeros of its input through (Reshape, MaxPool, ...)
};

struct OpRegistration {
  const char *domain;  // "" = ai.onnx
  const char *op_type;
  int since_opset;  // first opset this entry serves
  int until_opset;  // last opset this entry serves (inclusive)
  OpFactory create;
  SparseRole role;
};

const std::vector<OpRegistration> &op_table();
// nullptr if no entry serves (domain, op_type, opset).
const OpRegistration *find_op(const std::string &domain, const std::string &op_type, int opset);

}  // namespace si
