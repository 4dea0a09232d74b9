#include "engine/single_node.h"

#include <memory>
#include <string>

#include "engine/session.h"

namespace si {

namespace {

// The graph of `spec`; *feeds receives the runtime inputs in graph order.
Graph single_node_graph(const SingleNode &spec, std::vector<Tensor> *feeds) {
  Graph g;
  Node node;
  node.op_type = spec.op_type;
  node.name = spec.name;
  node.domain = spec.domain;
  node.opset = spec.opset;
  node.attrs = spec.attrs;
  node.subgraphs = spec.subgraphs;
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    const Tensor &t = spec.inputs[i];
    if (t.empty()) {
      node.inputs.push_back(-1);
      continue;
    }
    const int id = g.add_value(exact_value_info("in" + std::to_string(i), t));
    node.inputs.push_back(id);
    if (i < spec.constant.size() && spec.constant[i]) {
      g.constants[id] = t;
    } else {
      g.inputs.push_back(id);
      feeds->push_back(t);
    }
  }
  for (int i = 0; i < spec.num_outputs; ++i) {
    ValueInfo info;
    info.name = "out" + std::to_string(i);
    const int id = g.add_value(info);
    node.outputs.push_back(id);
    g.outputs.push_back(id);
  }
  g.nodes.push_back(node);
  return g;
}

}  // namespace

Status run_single_node(const SingleNode &spec, const SessionOptions &options,
                       std::vector<Tensor> *outputs) {
  std::vector<Tensor> feeds;
  Graph g = single_node_graph(spec, &feeds);
  std::unique_ptr<Session> session;
  SI_RETURN_IF_ERROR(Session::create(std::move(g), options, &session));
  return session->run(feeds, outputs);
}

}  // namespace si
