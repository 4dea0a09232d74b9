// An If whose condition is a load-time constant is replaced by the nodes of
// the branch it always takes: no body executor at run time, and the passes
// that follow (folding, fusion, sparsity) see the branch's nodes as the
// graph's own.
#include <string>

#include "engine/passes/passes.h"

namespace si {

namespace {

bool constant_cond(const Graph &g, const Node &n, bool *cond) {
  if (n.op_type != "If" || !n.domain.empty() || n.inputs.empty() || n.subgraphs.size() != 2)
    return false;
  const Tensor *t = g.constant(n.inputs[0]);
  if (t == nullptr || t->dtype() != DType::kBool || t->numel() != 1 || t->raw() == nullptr)
    return false;
  *cond = t->data<bool>()[0];
  return true;
}

// A name no value of `g` has yet, from `base`.
std::string fresh_name(const Graph &g, const std::string &base) {
  std::string name = base;
  for (int k = 1; g.find_value(name) >= 0; ++k) name = base + "_" + std::to_string(k);
  return name;
}

// Adds the branch's values, constants and nodes to `g`, then an Identity
// per output from the branch's value to the If's.
void inline_branch(Graph *g, const Node &if_node, const Subgraph &branch) {
  const Graph &b = *branch.graph;
  std::vector<int> map(b.values.size(), -1);
  for (size_t k = 0; k < b.captures.size(); ++k)
    map[size_t(b.captures[k])] = if_node.inputs[branch.capture_inputs[k]];
  for (size_t v = 0; v < b.values.size(); ++v) {
    if (map[v] >= 0) continue;
    ValueInfo info = b.values[v];
    info.name = fresh_name(*g, if_node.name + "/" + info.name);
    map[v] = g->add_value(std::move(info));
    if (const Tensor *t = b.constant(int(v))) g->constants[map[v]] = *t;
  }
  for (const Node &bn : b.nodes) {
    Node n = bn;
    for (int &v : n.inputs)
      if (v >= 0) v = map[size_t(v)];
    for (int &v : n.outputs)
      if (v >= 0) v = map[size_t(v)];
    g->nodes.push_back(std::move(n));
  }
  for (size_t i = 0; i < if_node.outputs.size() && i < b.outputs.size(); ++i) {
    if (if_node.outputs[i] < 0) continue;
    Node id;
    id.op_type = "Identity";
    id.name = if_node.name + "/" + branch.attr + "/output_" + std::to_string(i);
    id.opset = if_node.opset;
    id.inputs = {map[size_t(b.outputs[i])]};
    id.outputs = {if_node.outputs[i]};
    g->nodes.push_back(std::move(id));
  }
}

}  // namespace

bool inline_constant_if(Graph *graph) {
  bool changed = false;
  for (size_t i = 0; i < graph->nodes.size();) {
    bool cond = false;
    const Node &n = graph->nodes[i];
    int branch = -1;
    if (constant_cond(*graph, n, &cond)) {
      const std::string want = cond ? "then_branch" : "else_branch";
      for (size_t k = 0; k < n.subgraphs.size(); ++k)
        if (n.subgraphs[k].attr == want) branch = int(k);
    }
    // A branch that does not fit the node is left for the If kernel to reject.
    if (branch < 0 || !n.subgraphs[size_t(branch)].graph->inputs.empty() ||
        n.subgraphs[size_t(branch)].graph->outputs.size() != n.outputs.size()) {
      ++i;
      continue;
    }
    Node if_node = std::move(graph->nodes[i]);
    graph->nodes.erase(graph->nodes.begin() + std::ptrdiff_t(i));
    inline_branch(graph, if_node, if_node.subgraphs[size_t(branch)]);
    changed = true;
  }
  return changed;
}

}  // namespace si
