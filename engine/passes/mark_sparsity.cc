// mark_sparsity and the zero rules it reads: every fact about which op makes,
// carries or skips exact zeros comes from the registry entry's ZeroRule
// (engine/ops/registry.cc); this file only walks the graph with them.
#include <string>
#include <vector>

#include "engine/ops/const_matmul.h"
#include "engine/passes/passes.h"
#include "engine/passes/sparsity_rules.h"
#include "engine/plan.h"

namespace si {

const ZeroRule &zero_rule(const Node &node) {
  static const ZeroRule kNoRule;
  const OpRegistration *reg = find_op(node.domain, node.op_type, node.opset);
  return reg == nullptr ? kNoRule : reg->zeros;
}

bool produces_zeros(const Graph &graph, const Node &node) {
  const ZeroRule &rule = zero_rule(node);
  switch (rule.kind) {
    case ZeroKind::kProducer:
      return rule.produces == nullptr || rule.produces(graph, node);
    case ZeroKind::kConsumer:
      return rule.produces != nullptr && rule.produces(graph, node);
    default:
      return false;
  }
}

namespace {

bool is_view(const Node &node) {
  return zero_rule(node).kind == ZeroKind::kView && !node.inputs.empty();
}

// Whether the node's output keeps exact zeros its data inputs carry.
bool keeps_zeros(const Graph &g, const Node &node, const std::vector<bool> &sparse) {
  const ZeroRule &rule = zero_rule(node);
  if (rule.produces != nullptr && !rule.produces(g, node)) return false;
  const size_t n = rule.data_inputs == kAllInputs ? node.inputs.size() : size_t(rule.data_inputs);
  if (n == 0 || n > node.inputs.size()) return false;
  size_t carrying = 0;
  for (size_t i = 0; i < n; ++i)
    if (node.inputs[i] >= 0 && sparse[size_t(node.inputs[i])]) ++carrying;
  switch (rule.kind) {
    case ZeroKind::kView:
    case ZeroKind::kZerosIfAllInputsZero:
      return carrying == n;
    case ZeroKind::kZerosIfAnyInputZero:
      return carrying > 0;
    default:
      return false;
  }
}

// Per value: the node that writes it (-1 for inputs and constants) and
// whether it carries exact zeros, in one topological sweep.
struct ZeroFlow {
  std::vector<int> producer;
  std::vector<bool> sparse;
};

bool trace_zeros(const Graph &g, ZeroFlow *flow) {
  std::vector<size_t> order;
  if (!topological_order(g, &order).is_ok()) return false;  // the session reports it
  flow->producer.assign(g.values.size(), -1);
  flow->sparse.assign(g.values.size(), false);
  for (size_t idx : order) {
    const Node &node = g.nodes[idx];
    const bool out_sparse = produces_zeros(g, node) || keeps_zeros(g, node, flow->sparse);
    for (int v : node.outputs) {
      if (v < 0) continue;
      flow->producer[size_t(v)] = int(idx);
      flow->sparse[size_t(v)] = out_sparse;
    }
  }
  return true;
}

// MatMulNBits and QuantMatMul hold int4/int8 codes (quant_matmul.cc) and
// state N as an attribute.
bool quantized_weight(const Node &node) {
  return (node.domain == "com.microsoft" && node.op_type == "MatMulNBits") ||
         (node.domain == kEngineDomain && node.op_type == "QuantMatMul");
}

// Why a registry consumer cannot take a sparse input whatever it reads: the
// weight must be a constant 2-D float32 matrix the sparse kernels gather rows
// of, and A must have K last (no transA). "" when it can.
std::string weight_ineligibility(const Graph &g, const Node &node) {
  if (zero_rule(node).kind != ZeroKind::kConsumer) {
    // The passes name what they fuse "Fused" + the op it started as.
    std::string op = node.op_type;
    if (node.domain == kEngineDomain && op.rfind("Fused", 0) == 0) op = op.substr(5);
    return op + " is not a sparse consumer";
  }
  if (node.inputs.size() < 2 || node.inputs[1] < 0) return "has no weight input";
  if (node.attr_int("transA", 0) != 0) return "Gemm with transA";
  const Tensor *w = g.constant(node.inputs[1]);
  if (w == nullptr) return "weight is not constant";
  if (quantized_weight(node)) return "";  // its factory checks the codes' layout
  if (w->rank() != 2) return "weight is not 2-D";
  if (w->dtype() != DType::kFloat32) return "weight is not float32";
  return "";
}

// The value `v` is reached from, walking up through views only.
int through_views(const Graph &g, const ZeroFlow &flow, int v) {
  for (size_t hops = 0; v >= 0 && hops <= g.nodes.size(); ++hops) {
    const int p = flow.producer[size_t(v)];
    if (p < 0 || !is_view(g.nodes[size_t(p)])) break;
    v = g.nodes[size_t(p)].inputs[0];
  }
  return v;
}

// A float graph input reached through views only: data such as one-hot or
// bag-of-words features and images on a blank background hold exact zeros
// that only a count at run time can find, worth it for wide enough layers.
bool reads_graph_input(const Graph &g, const ZeroFlow &flow, const Node &consumer) {
  const int v = through_views(g, flow, consumer.inputs[0]);
  if (v < 0 || flow.producer[size_t(v)] >= 0) return false;
  for (int in : g.inputs)
    if (in == v) return g.values[size_t(v)].dtype == DType::kFloat32;
  return false;
}

bool wide_enough_to_count(const Graph &g, const Node &consumer) {
  if (quantized_weight(consumer)) return consumer.attr_int("N", 0) >= kMinColsForInputScan;
  const Tensor *w = g.constant(consumer.inputs[1]);
  const bool trans_b = consumer.attr_int("transB", 0) != 0;
  return w->dim(trans_b ? 0 : 1) >= kMinColsForInputScan;
}

Attribute flag() {
  Attribute on;
  on.kind = Attribute::Kind::kInt;
  on.i = 1;
  return on;
}

}  // namespace

std::string sparse_ineligibility_reason(const Graph &graph, const Node &node) {
  std::string reason = weight_ineligibility(graph, node);
  if (!reason.empty() || node.attr_int(kSparseInputAttr, 0) != 0) return reason;
  ZeroFlow flow;
  if (node.inputs.empty() || node.inputs[0] < 0 || !trace_zeros(graph, &flow))
    return "input carries no zeros (no producer upstream)";
  if (flow.sparse[size_t(node.inputs[0])]) return "";
  if (reads_graph_input(graph, flow, node)) {
    if (wide_enough_to_count(graph, node)) return "";
    return "reads a graph input but has under " + std::to_string(kMinColsForInputScan) +
           " output columns to count its zeros for";
  }
  return "input carries no zeros (no producer upstream)";
}

void mark_sparsity(Graph *graph) {
  ZeroFlow flow;
  if (!trace_zeros(*graph, &flow)) return;
  for (Node &consumer : graph->nodes) {
    if (!weight_ineligibility(*graph, consumer).empty()) continue;
    if (consumer.inputs[0] < 0) continue;
    if (!flow.sparse[size_t(consumer.inputs[0])]) {
      if (reads_graph_input(*graph, flow, consumer) && wide_enough_to_count(*graph, consumer))
        consumer.attrs[kSparseInputAttr] = flag();
      continue;
    }
    // The consumer finds its input's active rows itself unless a producer
    // reached through views attaches them (then shared by all its readers).
    consumer.attrs[kSparseInputAttr] = flag();
    const int v = through_views(*graph, flow, consumer.inputs[0]);
    const int p = v < 0 ? -1 : flow.producer[size_t(v)];
    if (p < 0) continue;
    Node &up = graph->nodes[size_t(p)];
    if (produces_zeros(*graph, up) && up.outputs[0] == v) up.attrs[kEmitActiveSetAttr] = flag();
  }
}

}  // namespace si
