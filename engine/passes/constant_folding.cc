#include <memory>

#include "engine/passes/match.h"
#include "engine/passes/passes.h"
#include "engine/plan.h"
#include "engine/session.h"

namespace si {

namespace {

// Folding materialises outputs; beyond this size a folded value would cost
// more memory than the node it replaces (Expand/Tile of a small constant).
constexpr int64_t kMaxFoldedElements = int64_t{1} << 24;

bool all_inputs_constant(const Graph &g, const Node &node) {
  for (int v : node.inputs)
    if (v >= 0 && !g.is_constant(v)) return false;
  return true;
}

// Returns true and fills `outputs` when the node was evaluated. A node whose
// outputs would take more than `budget` bytes is left to run time, where the
// run's memory limit applies: a chain of small nodes can fold into any size.
Status try_fold(const Graph &g, const Node &node, const SessionOptions &options, uint64_t budget,
                std::vector<Tensor> *outputs, bool *folded) {
  *folded = false;
  std::unique_ptr<OpKernel> kernel;
  Status s = create_kernel(g, node, options, &kernel);
  if (!s.is_ok()) return s;
  std::vector<const Tensor *> in;
  for (int v : node.inputs) in.push_back(v >= 0 ? g.constant(v) : nullptr);
  std::vector<OutputDesc> descs;
  SI_RETURN_IF_ERROR(kernel->reshape(in, &descs));
  outputs->assign(descs.size(), Tensor());
  std::vector<Tensor *> out;
  uint64_t bytes = 0;
  for (size_t i = 0; i < descs.size(); ++i) {
    // Sequence values stay run-time values: constants are tensors.
    if (descs[i].set_by_run) return Status::ok();
    int64_t n = 0;
    SI_RETURN_IF_ERROR(checked_numel(descs[i].shape, &n));
    if (n > kMaxFoldedElements) return Status::ok();
    bytes += uint64_t(n) * dtype_size(descs[i].dtype);
    if (bytes > budget) return Status::ok();
    if (descs[i].alias_input >= 0) {
      (*outputs)[i] = in[size_t(descs[i].alias_input)]->view(descs[i].shape);
    } else {
      SI_RETURN_IF_ERROR(Tensor::allocate(descs[i].dtype, descs[i].shape, &(*outputs)[i]));
    }
    out.push_back(&(*outputs)[i]);
  }
  RunContext ctx;
  ctx.threads = 1;
  ctx.mode = options.mode;
  SI_RETURN_IF_ERROR(kernel->run(in, out, ctx));
  *folded = true;
  return Status::ok();
}

}  // namespace

Status fold_constants(Graph *graph, const SessionOptions &options) {
  std::vector<size_t> order;
  SI_RETURN_IF_ERROR(topological_order(*graph, &order));
  std::vector<bool> drop(graph->nodes.size(), false);
  const uint64_t limit = memory_limit(options);
  uint64_t used = 0;
  for (const auto &kv : graph->constants) used += kv.second.size_bytes();
  for (size_t idx : order) {
    const Node &node = graph->nodes[idx];
    // A node with bodies is left to its own pass (inline_constant_if) and to run time.
    if (!node.subgraphs.empty() || !all_inputs_constant(*graph, node)) continue;
    std::vector<Tensor> outputs;
    bool folded = false;
    Status s = try_fold(*graph, node, options, used < limit ? limit - used : 0, &outputs, &folded);
    if (!s.is_ok()) {
      if (s.code() == StatusCode::kUnsupported) continue;  // reported by the session
      return Status(s.code(), node.describe() + ": " + s.message());
    }
    if (!folded) continue;
    for (size_t i = 0; i < node.outputs.size() && i < outputs.size(); ++i) {
      int v = node.outputs[i];
      if (v < 0) continue;
      ValueInfo &info = graph->values[size_t(v)];
      info.dtype = outputs[i].dtype();
      info.has_shape = true;
      info.dims.clear();
      for (int64_t d : outputs[i].shape()) info.dims.push_back(Dim{d, ""});
      graph->constants[v] = outputs[i];
      used += outputs[i].size_bytes();
    }
    drop[idx] = true;
  }
  match::remove_dropped(graph, drop);
  return Status::ok();
}

void remove_dead_nodes(Graph *graph) {
  std::vector<int> producer(graph->values.size(), -1);
  for (size_t i = 0; i < graph->nodes.size(); ++i)
    for (int v : graph->nodes[i].outputs)
      if (v >= 0) producer[size_t(v)] = int(i);
  std::vector<bool> live(graph->values.size(), false);
  std::vector<bool> keep(graph->nodes.size(), false);
  std::vector<int> work(graph->outputs.begin(), graph->outputs.end());
  while (!work.empty()) {
    int v = work.back();
    work.pop_back();
    if (live[size_t(v)]) continue;
    live[size_t(v)] = true;
    int p = producer[size_t(v)];
    if (p < 0 || keep[size_t(p)]) continue;
    keep[size_t(p)] = true;
    for (int in : graph->nodes[size_t(p)].inputs)
      if (in >= 0) work.push_back(in);
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < graph->nodes.size(); ++i)
    if (keep[i]) kept.push_back(std::move(graph->nodes[i]));
  graph->nodes = std::move(kept);
  for (auto it = graph->constants.begin(); it != graph->constants.end();) {
    it = live[size_t(it->first)] ? std::next(it) : graph->constants.erase(it);
  }
}

}  // namespace si
