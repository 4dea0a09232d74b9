#include "engine/plan.h"

#include <queue>
#include <string>

namespace si {

namespace {

std::string value_name(const Graph &g, int v) {
  return "\"" + g.values[size_t(v)].name + "\"";
}

}  // namespace

Status topological_order(const Graph &graph, std::vector<size_t> *order) {
  const size_t n_values = graph.values.size();
  std::vector<int> producer(n_values, -1);
  std::vector<bool> available(n_values, false);
  for (int v : graph.inputs) available[size_t(v)] = true;
  for (int v : graph.captures) available[size_t(v)] = true;
  for (const auto &kv : graph.constants) available[size_t(kv.first)] = true;

  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    for (int v : graph.nodes[i].outputs) {
      if (v < 0) continue;
      if (producer[size_t(v)] >= 0 || available[size_t(v)]) {
        return invalid_model("value " + value_name(graph, v) +
                             " is produced twice (second time by " + graph.nodes[i].describe() +
                             ")");
      }
      producer[size_t(v)] = int(i);
    }
  }

  std::vector<int> missing(graph.nodes.size(), 0);
  std::vector<std::vector<size_t>> readers(n_values);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    for (int v : graph.nodes[i].inputs) {
      if (v < 0 || available[size_t(v)]) continue;
      if (producer[size_t(v)] < 0) {
        return invalid_model(graph.nodes[i].describe() + " reads " + value_name(graph, v) +
                             ", which no node, graph input or initializer provides");
      }
      ++missing[i];
      readers[size_t(v)].push_back(i);
    }
  }

  std::queue<size_t> ready;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    if (missing[i] == 0) ready.push(i);
  order->clear();
  while (!ready.empty()) {
    size_t i = ready.front();
    ready.pop();
    order->push_back(i);
    for (int v : graph.nodes[i].outputs) {
      if (v < 0) continue;
      for (size_t r : readers[size_t(v)])
        if (--missing[r] == 0) ready.push(r);
    }
  }
  if (order->size() != graph.nodes.size()) {
    std::string stuck;
    for (size_t i = 0; i < graph.nodes.size() && stuck.size() < 400; ++i) {
      if (missing[i] > 0) stuck += (stuck.empty() ? "" : ", ") + graph.nodes[i].describe();
    }
    return invalid_model("graph has a cycle through: " + stuck);
  }
  for (int v : graph.outputs) {
    if (!available[size_t(v)] && producer[size_t(v)] < 0) {
      return invalid_model("graph output " + value_name(graph, v) + " is never produced");
    }
  }
  return Status::ok();
}

std::vector<std::vector<int>> release_points(const Graph &graph, const std::vector<size_t> &order) {
  const size_t n_values = graph.values.size();
  std::vector<int> last_use(n_values, -1);
  for (size_t pos = 0; pos < order.size(); ++pos) {
    for (int v : graph.nodes[order[pos]].inputs)
      if (v >= 0) last_use[size_t(v)] = int(pos);
    // An output nobody reads dies where it is made.
    for (int v : graph.nodes[order[pos]].outputs)
      if (v >= 0 && last_use[size_t(v)] < int(pos)) last_use[size_t(v)] = int(pos);
  }
  std::vector<bool> pinned(n_values, false);
  for (int v : graph.outputs) pinned[size_t(v)] = true;
  for (int v : graph.inputs) pinned[size_t(v)] = true;
  for (int v : graph.captures) pinned[size_t(v)] = true;
  for (const auto &kv : graph.constants) pinned[size_t(kv.first)] = true;

  std::vector<std::vector<int>> release(order.size());
  for (size_t v = 0; v < n_values; ++v) {
    if (!pinned[v] && last_use[v] >= 0) release[size_t(last_use[v])].push_back(int(v));
  }
  return release;
}

}  // namespace si
