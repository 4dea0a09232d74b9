#include <string>

#include "engine/ops/registry.h"
#include "engine/passes/passes.h"

namespace si {

namespace {

SparseRole role_of(const Node &node) {
  const OpRegistration *reg = find_op(node.domain, node.op_type, node.opset);
  return reg == nullptr ? SparseRole::kNone : reg->role;
}

// A fused matmul+Relu both consumes and produces.
bool is_producer(const Node &node) {
  if (role_of(node) == SparseRole::kProducer) return true;
  return node.domain == kEngineDomain && node.op_type == "FusedGemm" &&
         node.attr_string("activation", "") == "Relu";
}

bool is_eligible_consumer(const Graph &g, const Node &node) {
  if (role_of(node) != SparseRole::kConsumer || node.inputs.size() < 2) return false;
  if (node.op_type == "Gemm" && node.attr_int("transA", 0) != 0) return false;
  const Tensor *w = g.constant(node.inputs[1]);
  return w != nullptr && w->rank() == 2 && w->dtype() == DType::kFloat32;
}

// Views the executor aliases; the ActiveSet survives them whenever the last
// axis is kept (Tensor::view drops it otherwise, so the check is at run time).
bool passes_zeros_through(const Node &node) {
  return role_of(node) == SparseRole::kZeroPreserving && !node.inputs.empty();
}

}  // namespace

void mark_sparsity(Graph *graph) {
  std::vector<int> producer(graph->values.size(), -1);
  for (size_t i = 0; i < graph->nodes.size(); ++i)
    for (int v : graph->nodes[i].outputs)
      if (v >= 0) producer[size_t(v)] = int(i);

  for (Node &consumer : graph->nodes) {
    if (!is_eligible_consumer(*graph, consumer)) continue;
    int v = consumer.inputs[0];
    // Bounded walk: a chain of views cannot be longer than the graph.
    for (size_t hops = 0; v >= 0 && hops <= graph->nodes.size(); ++hops) {
      int p = producer[size_t(v)];
      if (p < 0) break;
      Node &up = graph->nodes[size_t(p)];
      if (is_producer(up) && up.outputs[0] == v) {
        Attribute on;
        on.kind = Attribute::Kind::kInt;
        on.i = 1;
        up.attrs[kEmitActiveSetAttr] = on;
        consumer.attrs[kSparseInputAttr] = on;
        break;
      }
      if (!passes_zeros_through(up)) break;
      v = up.inputs[0];
    }
  }
}

}  // namespace si
