// MERGE NOTE (issue 11): stand-in for branch `zero`'s version; see the header.
#include "engine/passes/sparsity_rules.h"

#include "engine/ops/registry.h"

namespace si {

std::string sparse_ineligibility_reason(const Graph &graph, const Node &node) {
  const OpRegistration *reg = find_op(node.domain, node.op_type, node.opset);
  if (reg == nullptr || reg->role != SparseRole::kConsumer)
    return node.imported_nodes()[0].op_type + " is not a sparse consumer";
  const Tensor *w = node.inputs.size() < 2 ? nullptr : graph.constant(node.inputs[1]);
  if (w == nullptr) return "weight is not constant";
  if (w->dtype() != DType::kFloat32) return "weight is not float32";
  if (w->rank() != 2) return "weight is not 2-D";
  if (node.op_type == "Gemm" && node.attr_int("transA", 0) != 0) return "Gemm with transA";
  if (node.attr_int(kSparseInputAttr, 0) == 0)
    return "input carries no zeros (no producer upstream)";
  return "";
}

}  // namespace si
