#include "engine/session.h"

#include <omp.h>

#include <map>
#include <mutex>

#include "engine/ops/registry.h"

namespace si {

namespace {

void add_unsupported(const std::vector<Node> &nodes, const std::string &where,
                     std::vector<std::string> *out) {
  for (const Node &node : nodes) {
    if (find_op(node.domain, node.op_type, node.opset) == nullptr)
      out->push_back(node.describe() + where);
    for (const Subgraph &body : node.subgraphs) {
      add_unsupported(body.graph->nodes,
                      " in " + node.op_type + " (node \"" + node.name + "\") " + body.attr + where,
                      out);
    }
  }
}

std::string list_unsupported(const Graph &graph) {
  std::string msg;
  for (const std::string &op : unsupported_operators(graph))
    msg += (msg.empty() ? "" : "; ") + std::string("unsupported operator ") + op;
  return msg;
}

// oneDNN sizes its thread teams from the calling thread's OpenMP setting
// both when primitives are created (at load) and when they run: set it to
// the session's count for the session's work, and give the caller its own
// setting back afterwards.
class OmpThreadScope {
 public:
  explicit OmpThreadScope(int threads) : saved_(omp_get_max_threads()) {
    omp_set_num_threads(threads);
  }
  ~OmpThreadScope() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

}  // namespace

namespace {

std::string dims_str(const ValueInfo &info) {
  std::string s = "[";
  for (size_t i = 0; i < info.dims.size(); ++i) {
    if (i) s += ",";
    const Dim &d = info.dims[i];
    s += d.size >= 0 ? std::to_string(d.size) : (d.param.empty() ? "?" : d.param);
  }
  return s + "]";
}

// A sequence input: every element a tensor of the declared dtype, with data.
Status check_sequence_input(const ValueInfo &info, const Tensor &t) {
  if (!t.is_sequence() || !info.sequence) {
    return invalid_argument("input \"" + info.name + "\" expects a " + value_type_name(info) +
                            ", got a " + (t.is_sequence() ? "sequence" : "tensor"));
  }
  const std::vector<Tensor> &items = t.elements();
  for (size_t k = 0; k < items.size(); ++k) {
    const Tensor &e = items[k];
    if (e.is_sequence() || e.dtype() != info.dtype || (e.numel() > 0 && e.raw() == nullptr)) {
      return invalid_argument("input \"" + info.name + "\" expects a " + value_type_name(info) +
                              "; element " + std::to_string(k) + " is " +
                              (e.is_sequence() ? "a sequence" : dtype_name(e.dtype())) +
                              (e.raw() == nullptr && e.numel() > 0 ? " without data" : ""));
    }
  }
  return Status::ok();
}

}  // namespace

std::vector<std::string> unsupported_operators(const Graph &graph) {
  std::vector<std::string> out;
  add_unsupported(graph.nodes, "", &out);
  return out;
}

Status create_kernel(const Graph &graph, const Node &node, const SessionOptions &options,
                     std::unique_ptr<OpKernel> *out) {
  const OpRegistration *reg = find_op(node.domain, node.op_type, node.opset);
  if (reg == nullptr) return unsupported("unsupported operator " + node.describe());
  LoadContext ctx{graph, node, options};
  Status s = reg->create(ctx, out);
  if (!s.is_ok()) return Status(s.code(), node.describe() + ": " + s.message());
  return Status::ok();
}

Session::~Session() = default;

Status Session::create(Graph graph, const SessionOptions &options, std::unique_ptr<Session> *out) {
  std::unique_ptr<Session> s(new Session());
  s->options_ = options;
  if (s->options_.threads <= 0) s->options_.threads = omp_get_num_procs();
  OmpThreadScope threads(s->options_.threads);

  for (const auto &kv : graph.constants) s->model_constant_bytes_ += kv.second.size_bytes();
  std::string missing = list_unsupported(graph);
  if (!missing.empty()) return unsupported(missing);
  SI_RETURN_IF_ERROR(prepare_graph(&graph, s->options_));
  const uint64_t limit = memory_limit(s->options_);
  size_t constants = 0;
  for (const auto &kv : graph.constants)
    if (kv.second.raw() != nullptr) constants += kv.second.size_bytes();
  if (constants > limit) {
    return out_of_memory("model constants take " + std::to_string(constants) +
                         " bytes after optimisation, above the memory limit of " +
                         std::to_string(limit) + " bytes");
  }
  SI_RETURN_IF_ERROR(
      Executor::create(std::make_shared<Graph>(std::move(graph)), s->options_, &s->exec_));
  if (s->weight_bytes() > limit) {
    return out_of_memory("model weights take " + std::to_string(s->weight_bytes()) +
                         " bytes once packed, above the memory limit of " + std::to_string(limit) +
                         " bytes");
  }
  const Graph &g = s->graph();
  for (int v : g.inputs) s->input_infos_.push_back(g.values[size_t(v)]);
  for (int v : g.outputs) s->output_infos_.push_back(g.values[size_t(v)]);
  *out = std::move(s);
  return Status::ok();
}

Status Session::check_input(size_t i, const Tensor &t) const {
  const ValueInfo &info = input_infos_[i];
  if (info.sequence || t.is_sequence()) return check_sequence_input(info, t);
  if (t.dtype() != info.dtype) {
    return invalid_argument("input \"" + info.name + "\" expects " + dtype_name(info.dtype) +
                            ", got " + dtype_name(t.dtype()));
  }
  if (!info.has_shape) return Status::ok();
  bool ok = t.rank() == int64_t(info.dims.size());
  for (size_t d = 0; ok && d < info.dims.size(); ++d) {
    ok = info.dims[d].size < 0 || info.dims[d].size == t.shape()[d];
  }
  if (!ok) {
    return invalid_argument("input \"" + info.name + "\" expects shape " + dims_str(info) +
                            ", got " + shape_str(t.shape()));
  }
  if (t.numel() > 0 && t.raw() == nullptr) {
    return invalid_argument("input \"" + info.name + "\" has no data");
  }
  return Status::ok();
}

Status Session::run(const std::vector<Tensor> &inputs, std::vector<Tensor> *outputs,
                    RunProfile *profile) const {
  const Graph &g = graph();
  if (inputs.size() != g.inputs.size()) {
    return invalid_argument("model takes " + std::to_string(g.inputs.size()) + " inputs, got " +
                            std::to_string(inputs.size()));
  }
  std::vector<const Tensor *> bound;
  for (size_t i = 0; i < inputs.size(); ++i) {
    SI_RETURN_IF_ERROR(check_input(i, inputs[i]));
    bound.push_back(&inputs[i]);
  }

  OmpThreadScope threads(options_.threads);
  RunContext ctx;
  ctx.threads = options_.threads;
  ctx.mode = options_.mode;

  const uint64_t limit = memory_limit(options_), weights = weight_bytes();
  BufferPool pool(limit > weights ? limit - weights : 0);
  {
    // A call starts from the buffers the last finished one released, so a
    // steady stream of calls allocates (and zeroes, and page-faults) nothing.
    std::lock_guard<std::mutex> lock(spare_mu_);
    pool.adopt(std::move(spare_));
    spare_.clear();
  }
  if (profile != nullptr) profile->steps.clear();
  SI_RETURN_IF_ERROR(exec_->run(bound, outputs, pool, ctx, profile));
  std::lock_guard<std::mutex> lock(spare_mu_);
  if (spare_.empty()) spare_ = pool.take_free();  // a concurrent call's set may be there
  return Status::ok();
}

std::map<std::string, int> Session::op_histogram() const {
  return graph().op_histogram();
}

std::map<std::string, int> Session::dense_plans() const {
  return exec_->dense_plans();
}

size_t Session::constant_bytes() const {
  return exec_->constant_bytes();
}

size_t Session::weight_bytes() const {
  return exec_->weight_bytes();
}

}  // namespace si
