// Small helpers the graph passes share: who produces and who reads each value,
// how constants are recognised, and how matched nodes are replaced.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/graph.h"

namespace si::match {

// Producers and readers of every value, taken once before a pass rewrites.
struct Uses {
  std::vector<int> producer;             // node index, -1 for inputs and constants
  std::vector<std::vector<int>> reader;  // node index per input slot that reads it
  std::vector<bool> is_output;

  explicit Uses(const Graph &g)
      : producer(g.values.size(), -1), reader(g.values.size()), is_output(g.values.size()) {
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      for (int v : g.nodes[i].inputs)
        if (v >= 0) reader[size_t(v)].push_back(int(i));
      for (int v : g.nodes[i].outputs)
        if (v >= 0) producer[size_t(v)] = int(i);
    }
    for (int v : g.outputs) is_output[size_t(v)] = true;
  }

  // The one node reading `v` once, if no caller sees `v`; else -1.
  int sole_reader(int v) const {
    if (v < 0 || is_output[size_t(v)] || reader[size_t(v)].size() != 1) return -1;
    return reader[size_t(v)][0];
  }
};

inline bool is_onnx(const Node &n, const char *op) {
  return n.domain.empty() && n.op_type == op;
}

// An ai.onnx node of type `op` with `inputs` inputs and one output.
inline bool is_op(const Graph &g, int node, const char *op, size_t inputs) {
  if (node < 0) return false;
  const Node &n = g.nodes[size_t(node)];
  return is_onnx(n, op) && n.inputs.size() == inputs && n.outputs.size() == 1 && n.outputs[0] >= 0;
}

// Rank of a value as the model declares it, or -1 when unknown.
inline int64_t declared_rank(const Graph &g, int v) {
  const ValueInfo &info = g.values[size_t(v)];
  return info.has_shape ? int64_t(info.dims.size()) : -1;
}

// The declared size of the last axis of `v`, or -1 when unknown.
inline int64_t declared_last_dim(const Graph &g, int v) {
  const ValueInfo &info = g.values[size_t(v)];
  return info.has_shape && !info.dims.empty() ? info.dims.back().size : -1;
}

// The constant `v` if it is float32, else nullptr.
inline const Tensor *f32_constant(const Graph &g, int v) {
  const Tensor *t = g.constant(v);
  return t != nullptr && t->dtype() == DType::kFloat32 ? t : nullptr;
}

// The value of a one-element float32 constant that, combined elementwise with
// `x`, leaves x's shape alone (rank 0, or no more dims than x declares).
inline bool scalar_f32(const Graph &g, int v, int x, double *out) {
  const Tensor *t = g.constant(v);
  if (t == nullptr || t->dtype() != DType::kFloat32 || t->numel() != 1) return false;
  if (t->rank() > 0 && t->rank() > declared_rank(g, x)) return false;
  *out = double(t->data<float>()[0]);
  return true;
}

// Scalar exponents come as float or integer constants.
inline bool scalar_number(const Graph &g, int v, double *out) {
  const Tensor *t = g.constant(v);
  if (t == nullptr || t->numel() != 1 || t->rank() > 1) return false;
  switch (t->dtype()) {
    case DType::kFloat32:
      *out = double(t->data<float>()[0]);
      return true;
    case DType::kInt32:
      *out = double(t->data<int32_t>()[0]);
      return true;
    case DType::kInt64:
      *out = double(t->data<int64_t>()[0]);
      return true;
    default:
      return false;
  }
}

// Exporters print constants to float precision; 1e-6 relative absorbs that.
inline bool near(double v, double target) {
  return std::fabs(v - target) <= 1e-6 * std::fabs(target);
}

inline bool scalar_near(const Graph &g, int v, int x, double target) {
  double c = 0;
  return scalar_f32(g, v, x, &c) && near(c, target);
}

// For a two-input node reading `v`: the other operand (v itself for v op v),
// or -1 when `v` is not an operand.
inline int other_operand(const Node &n, int v) {
  if (n.inputs.size() != 2) return -1;
  if (n.inputs[0] == v) return n.inputs[1];
  if (n.inputs[1] == v) return n.inputs[0];
  return -1;
}

// Adds `t` as a new constant named `name` (with a numeric suffix if that name
// is taken) and returns its value id.
inline int add_constant(Graph *g, const std::string &name, Tensor t) {
  std::string unique = name;
  for (int suffix = 1; g->find_value(unique) >= 0; ++suffix)
    unique = name + "_" + std::to_string(suffix);
  const int id = g->add_value(exact_value_info(unique, t));
  g->constants[id] = std::move(t);
  return id;
}

// Appends the imported nodes `n` stands for to `fused`'s provenance.
inline void add_origins(const Node &n, Node *fused) {
  for (NodeOrigin &o : n.imported_nodes()) fused->origins.push_back(std::move(o));
}

// Puts `fused` in place of the matched `nodes` (recorded, in that order, as
// its origins): the node that wrote `out` keeps its slot, so the order stays
// topological; the others are marked in `drop` for remove_dropped.
inline void replace_match(Graph *g, const Uses &uses, const std::vector<int> &nodes, int out,
                          Node fused, std::vector<bool> *drop) {
  for (int n : nodes) add_origins(g->nodes[size_t(n)], &fused);
  const int last = uses.producer[size_t(out)];
  for (int n : nodes) (*drop)[size_t(n)] = true;
  g->nodes[size_t(last)] = std::move(fused);
  (*drop)[size_t(last)] = false;
}

// Removes the nodes marked in `drop`; the others keep their order.
inline void remove_dropped(Graph *g, const std::vector<bool> &drop) {
  std::vector<Node> kept;
  for (size_t i = 0; i < g->nodes.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(g->nodes[i]));
  g->nodes = std::move(kept);
}

}  // namespace si::match
