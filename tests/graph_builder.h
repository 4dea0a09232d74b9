// Graph building for the pass tests: a float32 graph assembled by value name,
// nodes in the order given, constants drawn from a seeded generator.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "tests/op_runner.h"

namespace si::test {

inline Tensor random_tensor(std::mt19937 &rng, const Shape &shape, float lo = -1.f,
                            float hi = 1.f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(size_t(numel(shape)));
  for (float &x : v) x = dist(rng);
  return make_f32(shape, v);
}

struct GraphBuilder {
  explicit GraphBuilder(uint32_t seed) : rng(seed) {}

  Graph g;
  std::mt19937 rng;

  int value(const std::string &name) {
    const int id = g.find_value(name);
    if (id >= 0) return id;
    ValueInfo v;
    v.name = name;
    v.dtype = DType::kFloat32;
    return g.add_value(v);
  }
  // A runtime input; dims < 0 are dynamic.
  int input(const std::string &name, const Shape &dims, bool declare_shape = true) {
    const int id = value(name);
    ValueInfo &v = g.values[size_t(id)];
    v.has_shape = declare_shape;
    for (int64_t d : dims) v.dims.push_back(Dim{d, d < 0 ? "batch" : ""});
    g.inputs.push_back(id);
    return id;
  }
  int constant(const std::string &name, const Shape &shape) {
    const int id = value(name);
    g.constants[id] = random_tensor(rng, shape);
    return id;
  }
  // A rank-0 float constant, as exporters write them.
  int scalar(const std::string &name, float v) {
    const int id = value(name);
    g.constants[id] = make_f32({}, {v});
    return id;
  }
  Node &node(const std::string &op, const std::string &name, const std::vector<std::string> &in,
             const std::vector<std::string> &out) {
    Node n;
    n.op_type = op;
    n.name = name;
    n.opset = 13;
    for (const std::string &s : in) n.inputs.push_back(value(s));
    for (const std::string &s : out) n.outputs.push_back(value(s));
    g.nodes.push_back(n);
    return g.nodes.back();
  }
  void output(const std::string &name) { g.outputs.push_back(value(name)); }
};

inline std::vector<std::string> op_types(const Graph &g) {
  std::vector<std::string> ops;
  for (const Node &n : g.nodes) ops.push_back(n.op_type);
  return ops;
}

}  // namespace si::test
