#include <string>

#include "engine/ops/const_matmul.h"
#include "engine/ops/registry.h"
#include "engine/passes/passes.h"
#include "engine/plan.h"

namespace si {

namespace {

SparseRole role_of(const Node &node) {
  const OpRegistration *reg = find_op(node.domain, node.op_type, node.opset);
  return reg == nullptr ? SparseRole::kNone : reg->role;
}

bool is_scalar_zero(const Tensor *t) {
  return t != nullptr && t->dtype() == DType::kFloat32 && t->numel() == 1 &&
         t->data<float>() != nullptr && t->data<float>()[0] == 0.f;
}

// Output has exact zeros by construction. A fused matmul+Relu both consumes
// and produces; Max(x, 0) is how some exporters write a ReLU.
bool is_producer(const Graph &g, const Node &node) {
  if (role_of(node) == SparseRole::kProducer) return true;
  if (node.domain == kEngineDomain && node.op_type == "FusedGemm") {
    return node.attr_string("activation", "") == "Relu";
  }
  if (node.domain == kEngineDomain && node.op_type == "FusedConv") {
    const std::string act = node.attr_string("activation", "");
    return act == "Relu" || act == "Clip";
  }
  return node.domain.empty() && node.op_type == "Max" && node.inputs.size() == 2 &&
         (is_scalar_zero(g.constant(node.inputs[0])) || is_scalar_zero(g.constant(node.inputs[1])));
}

// Aliasing views: the ActiveSet rides through them while the last axis is
// kept (Tensor::view drops it otherwise, so that part is decided at run time).
bool is_view(const Node &node) {
  const std::string &op = node.op_type;
  return node.domain.empty() && (op == "Identity" || op == "Dropout" || op == "Reshape" ||
                                 op == "Flatten" || op == "Squeeze" || op == "Unsqueeze");
}

// Whether a node's output keeps the exact zeros of sparse inputs: element
// moves (views, Transpose, Slice), MaxPool, Concat of any sparse part, Mul by
// anything, and Add of two sparse values (zero only where both are).
bool keeps_zeros(const Node &node, const std::vector<bool> &sparse) {
  auto in = [&](size_t i) {
    return i < node.inputs.size() && node.inputs[i] >= 0 && sparse[size_t(node.inputs[i])];
  };
  if (!node.domain.empty() || node.inputs.empty()) return false;
  const std::string &op = node.op_type;
  // Average and global pools keep exact zeros too, but only where a whole
  // window is zero: after them a ReLU output is dense in practice (a
  // classifier after GlobalAveragePool saw 0.2% zeros), so no sparse copy.
  if (is_view(node) || op == "Transpose" || op == "Slice" || op == "MaxPool") return in(0);
  if (op == "Concat" || op == "Mul") {
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (in(i)) return true;
    return false;
  }
  if (op == "Add") return node.inputs.size() == 2 && in(0) && in(1);
  return false;
}

bool is_eligible_consumer(const Graph &g, const Node &node) {
  if (role_of(node) != SparseRole::kConsumer || node.inputs.size() < 2) return false;
  if (node.op_type == "Gemm" && node.attr_int("transA", 0) != 0) return false;
  const Tensor *w = g.constant(node.inputs[1]);
  return w != nullptr && w->rank() == 2 && w->dtype() == DType::kFloat32;
}

// A float graph input reached through views only: data such as one-hot or
// bag-of-words features and images on a blank background hold exact zeros
// that only a count at run time can find, worth it for wide enough layers.
bool reads_graph_input(const Graph &g, const Node &consumer, const std::vector<int> &producer) {
  const Tensor *w = g.constant(consumer.inputs[1]);
  const bool trans_b = consumer.op_type != "MatMul" && consumer.attr_int("transB", 0) != 0;
  if (w->dim(trans_b ? 0 : 1) < kMinColsForInputScan) return false;
  int v = consumer.inputs[0];
  for (size_t hops = 0; v >= 0 && hops <= g.nodes.size(); ++hops) {
    const int p = producer[size_t(v)];
    if (p < 0) break;
    const Node &up = g.nodes[size_t(p)];
    if (!is_view(up)) return false;
    v = up.inputs[0];
  }
  for (int in : g.inputs)
    if (in == v) return g.values[size_t(v)].dtype == DType::kFloat32;
  return false;
}

Attribute flag() {
  Attribute on;
  on.kind = Attribute::Kind::kInt;
  on.i = 1;
  return on;
}

}  // namespace

void mark_sparsity(Graph *graph) {
  std::vector<size_t> order;
  if (!topological_order(*graph, &order).is_ok()) return;  // the session reports it
  std::vector<int> producer(graph->values.size(), -1);
  std::vector<bool> sparse(graph->values.size(), false);
  for (size_t idx : order) {
    const Node &node = graph->nodes[idx];
    const bool out_sparse = is_producer(*graph, node) || keeps_zeros(node, sparse);
    for (int v : node.outputs) {
      if (v < 0) continue;
      producer[size_t(v)] = int(idx);
      sparse[size_t(v)] = out_sparse;
    }
  }

  for (Node &consumer : graph->nodes) {
    if (!is_eligible_consumer(*graph, consumer)) continue;
    if (!sparse[size_t(consumer.inputs[0])]) {
      if (reads_graph_input(*graph, consumer, producer)) consumer.attrs[kSparseInputAttr] = flag();
      continue;
    }
    // The consumer finds its input's active rows itself unless a producer
    // reached through views attaches them (then shared by all its readers).
    consumer.attrs[kSparseInputAttr] = flag();
    int v = consumer.inputs[0];
    for (size_t hops = 0; v >= 0 && hops <= graph->nodes.size(); ++hops) {
      int p = producer[size_t(v)];
      if (p < 0) break;
      Node &up = graph->nodes[size_t(p)];
      if (is_producer(*graph, up) && up.outputs[0] == v) {
        up.attrs[kEmitActiveSetAttr] = flag();
        break;
      }
      if (!is_view(up)) break;
      v = up.inputs[0];
    }
  }
}

}  // namespace si
