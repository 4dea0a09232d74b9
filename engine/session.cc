#include "engine/session.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>

#include "engine/active_set.h"

#include "engine/ops/registry.h"
#include "engine/passes/passes.h"
#include "engine/passes/sparsity_rules.h"
#include "engine/plan.h"

namespace si {

namespace {

void add_unsupported(const std::vector<Node> &nodes, const std::string &where,
                     std::vector<std::string> *out) {
  for (const Node &node : nodes) {
    if (find_op(node.domain, node.op_type, node.opset) == nullptr)
      out->push_back(node.describe() + where);
    for (const Subgraph &body : node.subgraphs) {
      add_unsupported(body.nodes,
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

// Buffers released during one call, kept for the values made later in it.
// Every buffer it allocates stays alive until the call ends (in use or in the
// free list), so the bytes allocated so far are the call's footprint, which
// the memory limit bounds.
class BufferPool {
 public:
  explicit BufferPool(uint64_t budget) : budget_(budget) {}
  // Buffers an earlier call left: reused as if this call had released them,
  // and counted against its budget as if it had allocated them.
  void adopt(std::vector<Tensor> spare) {
    for (Tensor &t : spare) {
      used_ += t.capacity_bytes();
      free_.emplace(t.capacity_bytes(), std::move(t));
    }
  }
  // The released buffers nobody else holds, for the next call.
  std::vector<Tensor> take_free() {
    std::vector<Tensor> out;
    for (auto &kv : free_)
      if (kv.second.owns_storage_exclusively()) out.push_back(std::move(kv.second));
    free_.clear();
    return out;
  }
  void give(Tensor t) {
    if (t.owns_storage_exclusively()) free_.emplace(t.capacity_bytes(), std::move(t));
  }
  Status take(DType dtype, const Shape &shape, Tensor *out) {
    int64_t n = 0;
    SI_RETURN_IF_ERROR(checked_numel(shape, &n));
    size_t bytes = size_t(n) * dtype_size(dtype);
    auto it = free_.lower_bound(bytes);
    // Only reuse a buffer of comparable size so one huge buffer is not pinned
    // by a tiny value.
    if (it != free_.end() && it->first <= 2 * bytes + 4096) {
      *out = it->second.recycle(dtype, shape);
      free_.erase(it);
      return Status::ok();
    }
    if ((bytes > budget_ || used_ > budget_ - bytes) && !free_.empty()) {
      // Buffers nobody uses (an earlier call's, or sizes this call no longer
      // needs) go first: holding them must not fail a call that fits alone.
      for (auto &kv : free_) used_ -= kv.second.capacity_bytes();
      free_.clear();
    }
    if (bytes > budget_ || used_ > budget_ - bytes) {
      return out_of_memory("allocating " + std::to_string(bytes) + " bytes for a " +
                           dtype_name(dtype) + " tensor " + shape_str(shape) +
                           " would exceed the memory limit (" + std::to_string(budget_) +
                           " bytes left after the weights, " + std::to_string(used_) +
                           " already allocated by this run)");
    }
    SI_RETURN_IF_ERROR(Tensor::allocate(dtype, shape, out));
    used_ += out->capacity_bytes();
    return Status::ok();
  }

 private:
  uint64_t budget_;
  uint64_t used_ = 0;
  std::multimap<size_t, Tensor> free_;
};

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

// Channel-blocked tensors hold the same elements in another order, so the
// counts do not depend on the layout.
ValueStats value_stats(const Tensor &t) {
  ValueStats s;
  if (t.dtype() != DType::kFloat32 || t.numel() == 0 || t.raw() == nullptr) return s;
  const float *p = t.data<float>();
  const int64_t n = t.numel();
  float lo = INFINITY, hi = -INFINITY;
  int64_t zeros = 0;
  for (int64_t i = 0; i < n; ++i) {
    zeros += p[i] == 0.f;
    lo = std::min(lo, p[i]);  // a NaN loses both comparisons
    hi = std::max(hi, p[i]);
  }
  s.count = n;
  s.zeros = zeros;
  s.min = lo;
  s.max = hi;
  return s;
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
  // Validate structure before any pass touches it.
  std::vector<size_t> order;
  if (options.optimize) {
    SI_RETURN_IF_ERROR(topological_order(graph, &order));
    // A DequantizeLinear of weight codes becomes part of its matmul's op
    // before ops are checked: that pattern needs no DequantizeLinear kernel.
    SI_RETURN_IF_ERROR(fuse_qdq_matmul(&graph));
  }
  std::string missing = list_unsupported(graph);
  if (!missing.empty()) return unsupported(missing);
  SI_RETURN_IF_ERROR(topological_order(graph, &order));
  if (options.optimize) {
    SI_RETURN_IF_ERROR(optimize_graph(&graph, s->options_));
    SI_RETURN_IF_ERROR(topological_order(graph, &order));
  }
  if (s->options_.mode != ExecMode::kDense) mark_sparsity(&graph);
  s->graph_ = std::move(graph);
  const Graph &g = s->graph_;
  const uint64_t limit = memory_limit(s->options_);
  if (s->constant_bytes() > limit) {
    return out_of_memory("model constants take " + std::to_string(s->constant_bytes()) +
                         " bytes after optimisation, above the memory limit of " +
                         std::to_string(limit) + " bytes");
  }

  std::vector<std::vector<int>> release = release_points(g, order);
  for (size_t pos = 0; pos < order.size(); ++pos) {
    Step step;
    step.node = order[pos];
    SI_RETURN_IF_ERROR(create_kernel(g, g.nodes[step.node], s->options_, &step.kernel));
    step.release_after = std::move(release[pos]);
    const Node &node = g.nodes[step.node];
    step.emit_active_set = node.attr_int(kEmitActiveSetAttr, 0) != 0;
    step.consumer = zero_rule(node).kind == ZeroKind::kConsumer;
    s->steps_.push_back(std::move(step));
  }
  s->free_packed_constants();
  if (s->weight_bytes() > limit) {
    return out_of_memory("model weights take " + std::to_string(s->weight_bytes()) +
                         " bytes once packed, above the memory limit of " + std::to_string(limit) +
                         " bytes");
  }
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
  const Graph &g = graph_;
  if (inputs.size() != g.inputs.size()) {
    return invalid_argument("model takes " + std::to_string(g.inputs.size()) + " inputs, got " +
                            std::to_string(inputs.size()));
  }
  for (size_t i = 0; i < inputs.size(); ++i) SI_RETURN_IF_ERROR(check_input(i, inputs[i]));

  OmpThreadScope threads(options_.threads);
  RunContext ctx;
  ctx.threads = options_.threads;
  ctx.mode = options_.mode;

  std::vector<Tensor> slots(g.values.size());
  std::vector<const Tensor *> value(g.values.size(), nullptr);
  for (const auto &kv : g.constants) value[size_t(kv.first)] = &kv.second;
  for (size_t i = 0; i < inputs.size(); ++i) value[size_t(g.inputs[i])] = &inputs[i];

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
  for (const Step &step : steps_) {
    if (profile == nullptr) {
      SI_RETURN_IF_ERROR(run_step(step, value, slots, pool, ctx));
      continue;
    }
    const Node &node = g.nodes[step.node];
    StepRecord rec;
    rec.op_type = node.op_type;
    rec.name = node.name;
    rec.node = step.node;
    rec.consumer = step.consumer;
    const Tensor *input =
        node.inputs.empty() || node.inputs[0] < 0 ? nullptr : value[size_t(node.inputs[0])];
    if (profile->value_stats && input != nullptr) {
      rec.stats.input_shape = input->shape();
      rec.stats.input = value_stats(*input);
    }
    ctx.profile = &rec.matmul;
    auto t0 = std::chrono::steady_clock::now();
    Status s = run_step(step, value, slots, pool, ctx);
    auto t1 = std::chrono::steady_clock::now();
    ctx.profile = nullptr;
    SI_RETURN_IF_ERROR(s);
    rec.time_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
    if (!node.outputs.empty() && node.outputs[0] >= 0 &&
        value[size_t(node.outputs[0])] != nullptr) {
      rec.output_shape = value[size_t(node.outputs[0])]->shape();
      if (profile->value_stats) rec.stats.output = value_stats(*value[size_t(node.outputs[0])]);
    }
    profile->steps.push_back(std::move(rec));
  }

  outputs->assign(g.outputs.size(), Tensor());
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    const Tensor *t = value[size_t(g.outputs[i])];
    if (t == nullptr)
      return internal_error("output \"" + output_infos_[i].name + "\" was not computed");
    (*outputs)[i] = *t;
  }
  std::lock_guard<std::mutex> lock(spare_mu_);
  if (spare_.empty()) spare_ = pool.take_free();  // a concurrent call's set may be there
  return Status::ok();
}

// Whether a step's output may take over input value v's buffer: v dies at
// this step, is held by this call alone (not a graph input, a constant or a
// view), is read by no other slot of the node, and the output fits.
bool Session::can_take_over(const Step &step, const Node &node, int v,
                            const std::vector<Tensor> &slots, const OutputDesc &desc) const {
  const Tensor &t = slots[size_t(v)];
  if (!t.owns_storage_exclusively() || t.dtype() != desc.dtype) return false;
  int64_t n = 0;
  if (!checked_numel(desc.shape, &n).is_ok() ||
      size_t(n) * dtype_size(desc.dtype) != t.size_bytes())
    return false;
  if (std::count(node.inputs.begin(), node.inputs.end(), v) != 1) return false;
  return std::find(step.release_after.begin(), step.release_after.end(), v) !=
         step.release_after.end();
}

Status Session::run_step(const Step &step, std::vector<const Tensor *> &value,
                         std::vector<Tensor> &slots, BufferPool &pool, RunContext &ctx) const {
  const Node &node = graph_.nodes[step.node];
  std::vector<const Tensor *> in;
  in.reserve(node.inputs.size());
  for (int v : node.inputs) in.push_back(v >= 0 ? value[size_t(v)] : nullptr);
  std::vector<OutputDesc> descs;
  Status s = step.kernel->reshape(in, &descs);
  if (!s.is_ok()) return Status(s.code(), node.describe() + ": " + s.message());
  if (descs.size() != node.outputs.size()) {
    return internal_error(node.describe() + ": kernel described " + std::to_string(descs.size()) +
                          " outputs, node has " + std::to_string(node.outputs.size()));
  }
  std::vector<Tensor> scratch(descs.size());  // for omitted optional outputs
  std::vector<Tensor *> out;
  out.reserve(descs.size());
  for (size_t i = 0; i < descs.size(); ++i) {
    int v = node.outputs[i];
    Tensor &t = v >= 0 ? slots[size_t(v)] : scratch[i];
    const int reuse = descs[i].reuse_input >= 0 ? node.inputs[size_t(descs[i].reuse_input)] : -1;
    if (descs[i].set_by_run) {
      t = Tensor();
    } else if (descs[i].alias_input >= 0) {
      t = in[size_t(descs[i].alias_input)]->view(descs[i].shape);
    } else if (reuse >= 0 && can_take_over(step, node, reuse, slots, descs[i])) {
      // The input's slot keeps its handle until the release below, which
      // then sees the storage shared and leaves it to the output.
      t = slots[size_t(reuse)].recycle(descs[i].dtype, descs[i].shape);
    } else {
      s = pool.take(descs[i].dtype, descs[i].shape, &t);
      if (!s.is_ok()) return Status(s.code(), node.describe() + ": " + s.message());
    }
    if (v >= 0) value[size_t(v)] = &t;
    out.push_back(&t);
  }
  s = step.kernel->run(in, out, ctx);
  if (s.is_ok() && step.emit_active_set && !out.empty() && !out[0]->active_set()) {
    s = attach_active_set(out[0]);
  }
  if (!s.is_ok()) return Status(s.code(), node.describe() + ": " + s.message());
  for (int v : step.release_after) {
    pool.give(std::move(slots[size_t(v)]));
    slots[size_t(v)] = Tensor();
    value[size_t(v)] = nullptr;
  }
  return Status::ok();
}

std::map<std::string, int> Session::op_histogram() const {
  std::map<std::string, int> h;
  for (const Node &n : graph_.nodes) ++h[n.op_type];
  return h;
}

std::map<std::string, int> Session::dense_plans() const {
  std::map<std::string, int> plans;
  for (const Step &step : steps_) {
    const std::string plan = step.kernel->dense_plan();
    if (!plan.empty()) ++plans[plan];
  }
  return plans;
}

size_t Session::constant_bytes() const {
  size_t bytes = 0;
  for (const auto &kv : graph_.constants)
    if (kv.second.raw() != nullptr) bytes += kv.second.size_bytes();
  return bytes;
}

size_t Session::weight_bytes() const {
  size_t bytes = constant_bytes();
  for (const Step &step : steps_) bytes += step.kernel->packed_bytes();
  return bytes;
}

void Session::free_packed_constants() {
  std::unordered_map<int, bool> packed_by_all;
  for (const Step &step : steps_) {
    const Node &node = graph_.nodes[step.node];
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int v = node.inputs[i];
      if (!graph_.is_constant(v)) continue;
      auto it = packed_by_all.emplace(v, true).first;
      it->second = it->second && step.kernel->packs_input(i);
    }
  }
  for (int v : graph_.outputs) packed_by_all[v] = false;
  for (const auto &kv : packed_by_all) {
    if (!kv.second || !graph_.is_constant(kv.first)) continue;
    Tensor &t = graph_.constants[kv.first];
    t = Tensor::borrow(t.dtype(), t.shape(), nullptr);  // shape kept for reshape()
  }
}

}  // namespace si
