#include "engine/executor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <unordered_map>

#include "engine/active_set.h"
#include "engine/passes/passes.h"
#include "engine/passes/sparsity_rules.h"
#include "engine/plan.h"
#include "engine/session.h"

namespace si {

namespace {

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

void BufferPool::adopt(std::vector<Tensor> spare) {
  for (Tensor &t : spare) {
    used_ += t.capacity_bytes();
    free_.emplace(t.capacity_bytes(), std::move(t));
  }
}

std::vector<Tensor> BufferPool::take_free() {
  std::vector<Tensor> out;
  for (auto &kv : free_)
    if (kv.second.owns_storage_exclusively()) out.push_back(std::move(kv.second));
  free_.clear();
  return out;
}

void BufferPool::give(Tensor t) {
  if (t.owns_storage_exclusively()) free_.emplace(t.capacity_bytes(), std::move(t));
}

Status BufferPool::take(DType dtype, const Shape &shape, Tensor *out) {
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

Status prepare_graph(Graph *graph, const SessionOptions &options) {
  std::vector<size_t> order;
  // Validate structure before any pass touches it.
  SI_RETURN_IF_ERROR(topological_order(*graph, &order));
  if (options.optimize) {
    SI_RETURN_IF_ERROR(optimize_graph(graph, options));
    SI_RETURN_IF_ERROR(topological_order(*graph, &order));
  }
  if (options.mode != ExecMode::kDense) mark_sparsity(graph);
  for (Node &node : graph->nodes) {
    for (Subgraph &body : node.subgraphs) {
      // A copy: a body may be shared with the graph as imported.
      auto prepared = std::make_shared<Graph>(*body.graph);
      Status s = prepare_graph(prepared.get(), options);
      if (!s.is_ok())
        return Status(s.code(), node.describe() + " " + body.attr + ": " + s.message());
      body.graph = std::move(prepared);
    }
  }
  return Status::ok();
}

Executor::~Executor() = default;

Status Executor::create(std::shared_ptr<Graph> graph, const SessionOptions &options,
                        std::unique_ptr<Executor> *out) {
  std::unique_ptr<Executor> e(new Executor());
  e->graph_ = std::move(graph);
  const Graph &g = *e->graph_;
  std::vector<size_t> order;
  SI_RETURN_IF_ERROR(topological_order(g, &order));
  std::vector<std::vector<int>> release = release_points(g, order);
  for (size_t pos = 0; pos < order.size(); ++pos) {
    Step step;
    step.node = order[pos];
    SI_RETURN_IF_ERROR(create_kernel(g, g.nodes[step.node], options, &step.kernel));
    step.release_after = std::move(release[pos]);
    const Node &node = g.nodes[step.node];
    step.emit_active_set = node.attr_int(kEmitActiveSetAttr, 0) != 0;
    step.consumer = zero_rule(node).kind == ZeroKind::kConsumer;
    e->steps_.push_back(std::move(step));
  }
  e->free_packed_constants();
  *out = std::move(e);
  return Status::ok();
}

Status Executor::run(const std::vector<const Tensor *> &bound, std::vector<Tensor> *outputs,
                     BufferPool &pool, const RunContext &call_ctx, RunProfile *profile) const {
  const Graph &g = *graph_;
  if (bound.size() != g.inputs.size() + g.captures.size()) {
    return internal_error("graph takes " + std::to_string(g.inputs.size()) + " inputs and " +
                          std::to_string(g.captures.size()) + " captures, got " +
                          std::to_string(bound.size()) + " tensors");
  }
  RunContext ctx = call_ctx;
  ctx.pool = &pool;
  ctx.profile = nullptr;  // both are per step
  ctx.body_steps = nullptr;
  ctx.value_stats = false;
  std::vector<Tensor> slots(g.values.size());
  std::vector<const Tensor *> value(g.values.size(), nullptr);
  for (const auto &kv : g.constants) value[size_t(kv.first)] = &kv.second;
  for (size_t i = 0; i < g.inputs.size(); ++i) value[size_t(g.inputs[i])] = bound[i];
  for (size_t i = 0; i < g.captures.size(); ++i)
    value[size_t(g.captures[i])] = bound[g.inputs.size() + i];

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
    rec.graph = &g;
    rec.consumer = step.consumer;
    const Tensor *input =
        node.inputs.empty() || node.inputs[0] < 0 ? nullptr : value[size_t(node.inputs[0])];
    if (profile->value_stats && input != nullptr) {
      rec.stats.input_shape = input->shape();
      rec.stats.input = value_stats(*input);
    }
    ctx.profile = &rec.matmul;
    ctx.body_steps = &rec.body_steps;
    ctx.value_stats = profile->value_stats;
    auto t0 = std::chrono::steady_clock::now();
    Status s = run_step(step, value, slots, pool, ctx);
    auto t1 = std::chrono::steady_clock::now();
    ctx.profile = nullptr;
    ctx.body_steps = nullptr;
    ctx.value_stats = false;
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
    if (t == nullptr) {
      return internal_error("output \"" + g.values[size_t(g.outputs[i])].name +
                            "\" was not computed");
    }
    (*outputs)[i] = *t;
  }
  // Values nobody read (an unused output of a node) go back to the pool;
  // those the outputs hold stay with them.
  for (Tensor &t : slots)
    if (!t.empty()) pool.give(std::move(t));
  return Status::ok();
}

// Whether a step's output may take over input value v's buffer: v dies at
// this step, is held by this call alone (not a graph input, a constant or a
// view), is read by no other slot of the node, and the output fits.
bool Executor::can_take_over(const Step &step, const Node &node, int v,
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

Status Executor::run_step(const Step &step, std::vector<const Tensor *> &value,
                          std::vector<Tensor> &slots, BufferPool &pool,
                          const RunContext &ctx) const {
  const Node &node = graph_->nodes[step.node];
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
  for (size_t i = 0; s.is_ok() && i < descs.size(); ++i) {
    if (descs[i].set_by_run && out[i]->empty())
      s = internal_error("output " + std::to_string(i) + " was not set");
  }
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

std::map<std::string, int> Executor::dense_plans() const {
  std::map<std::string, int> plans;
  for (const Step &step : steps_) {
    const std::string plan = step.kernel->dense_plan();
    if (!plan.empty()) ++plans[plan];
  }
  return plans;
}

size_t Executor::constant_bytes() const {
  size_t bytes = 0;
  for (const auto &kv : graph_->constants)
    if (kv.second.raw() != nullptr) bytes += kv.second.size_bytes();
  return bytes;
}

size_t Executor::weight_bytes() const {
  size_t bytes = constant_bytes();
  for (const Step &step : steps_) bytes += step.kernel->packed_bytes();
  return bytes;
}

void Executor::free_packed_constants() {
  std::unordered_map<int, bool> packed_by_all;
  for (const Step &step : steps_) {
    const Node &node = graph_->nodes[step.node];
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int v = node.inputs[i];
      if (!graph_->is_constant(v)) continue;
      auto it = packed_by_all.emplace(v, true).first;
      it->second = it->second && step.kernel->packs_input(i);
    }
  }
  for (int v : graph_->outputs) packed_by_all[v] = false;
  for (const auto &kv : packed_by_all) {
    if (!kv.second || !graph_->is_constant(kv.first)) continue;
    Tensor &t = graph_->constants[kv.first];
    t = Tensor::borrow(t.dtype(), t.shape(), nullptr);  // shape kept for reshape()
  }
}

}  // namespace si
