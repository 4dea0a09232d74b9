#include "engine/analysis.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <utility>

#include "engine/json_text.h"
#include "engine/ops/registry.h"
#include "engine/passes/sparsity_rules.h"
#include "engine/profile_summary.h"
#include "engine/session.h"

namespace si {

namespace {

using Clock = std::chrono::steady_clock;

bool is_layer_op(const std::string &op) {
  return op == "MatMul" || op == "Gemm" || op == "Conv" || op == "ConvTranspose";
}

double numel_of(const Shape &s) {
  double v = 1;
  for (int64_t d : s) v *= double(d);
  return v;
}

// Multiply-accumulates of one call, from the shapes it ran with.
double call_macs(const Graph &g, const Node &n, const StepRecord &rec) {
  const Shape &in = rec.stats.input_shape;
  const std::string &op = n.op_type;
  if (op == "MatMul" || op == "Gemm" || op == "FusedGemm") {
    if (in.empty()) return 0;
    const int64_t k = op == "Gemm" && n.attr_int("transA", 0) != 0 ? in[0] : in.back();
    return numel_of(rec.output_shape) * double(k);
  }
  // A constant keeps its shape after a kernel packed it and freed the data.
  const Tensor *w = n.inputs.size() > 1 ? g.constant(n.inputs[1]) : nullptr;
  if (w == nullptr || w->rank() < 3 || w->dim(0) <= 0) return 0;
  const double per = numel_of(w->shape()) / double(w->dim(0));
  // Conv: each output element sums Cin/group x kernel products; ConvTranspose
  // ([Cin, Cout/group, k...]): each input element is spread over as many.
  return (op == "ConvTranspose" ? numel_of(in) : numel_of(rec.output_shape)) * per;
}

// What the runs of one list recorded of one node, per run: one record for
// a main-graph node; for a body's node none (its branch did not run), one,
// or one per iteration (Loop, Scan).
using PerRun = std::vector<std::vector<const StepRecord *>>;

// One node of the session's graph or of one of its bodies.
struct NodeRuns {
  const Graph *graph = nullptr;  // holds the node
  size_t node = 0;
  std::string scope;  // StepRecord::scope: "" in the main graph
  PerRun counted, timed_auto, timed_dense;
};

// Every node that ran, in execution order: each step of the main graph,
// then the nodes its bodies ran, in the order they first ran. The counted
// and auto runs come from one session, so a body node is the same graph
// and index in both; the dense session's bodies are other graphs, found by
// scope and name.
std::vector<NodeRuns> nodes_that_ran(const std::vector<RunProfile> &counted,
                                     const std::vector<RunProfile> &timed_auto,
                                     const std::vector<RunProfile> &timed_dense) {
  std::vector<NodeRuns> out;
  const std::vector<StepRecord> &dense0 = timed_dense[0].steps;
  std::map<std::string, size_t> dense_by_name;
  for (size_t j = 0; j < dense0.size(); ++j) dense_by_name.emplace(dense0[j].name, j);
  for (size_t j = 0; j < counted[0].steps.size(); ++j) {
    const StepRecord &first = counted[0].steps[j];
    // Both sessions ran the same passes, so their steps line up; names
    // find the node if they do not (names may also be empty or repeated).
    size_t dj = j;
    if (dj >= dense0.size() || dense0[dj].name != first.name) {
      auto d = dense_by_name.find(first.name);
      dj = d == dense_by_name.end() ? SIZE_MAX : d->second;
    }
    NodeRuns top;
    top.graph = first.graph;
    top.node = first.node;
    top.counted.resize(counted.size());
    top.timed_auto.resize(timed_auto.size());
    top.timed_dense.resize(timed_dense.size());
    for (size_t r = 0; r < counted.size(); ++r) top.counted[r] = {&counted[r].steps[j]};
    for (size_t r = 0; r < timed_auto.size(); ++r) top.timed_auto[r] = {&timed_auto[r].steps[j]};
    if (dj != SIZE_MAX)
      for (size_t r = 0; r < timed_dense.size(); ++r)
        top.timed_dense[r] = {&timed_dense[r].steps[dj]};
    out.push_back(std::move(top));

    const size_t base = out.size();
    std::map<std::pair<const Graph *, size_t>, size_t> row;  // body node -> out index
    std::map<std::string, size_t> row_by_name;               // scope + "\n" + name -> out index
    auto record = [&](const std::vector<RunProfile> &runs, size_t step, PerRun NodeRuns::*list) {
      for (size_t r = 0; r < runs.size(); ++r) {
        for (const StepRecord &rec : runs[r].steps[step].body_steps) {
          auto it = row.emplace(std::make_pair(rec.graph, rec.node), out.size()).first;
          if (it->second == out.size()) {
            NodeRuns n;
            n.graph = rec.graph;
            n.node = rec.node;
            n.scope = rec.scope;
            n.counted.resize(counted.size());
            n.timed_auto.resize(timed_auto.size());
            n.timed_dense.resize(timed_dense.size());
            row_by_name.emplace(rec.scope + "\n" + rec.name, out.size());
            out.push_back(std::move(n));
          }
          (out[it->second].*list)[r].push_back(&rec);
        }
      }
    };
    record(counted, j, &NodeRuns::counted);
    record(timed_auto, j, &NodeRuns::timed_auto);
    if (dj == SIZE_MAX) continue;
    for (size_t r = 0; r < timed_dense.size(); ++r) {
      for (const StepRecord &rec : timed_dense[r].steps[dj].body_steps) {
        auto it = row_by_name.find(rec.scope + "\n" + rec.name);
        if (it != row_by_name.end() && it->second >= base)
          out[it->second].timed_dense[r].push_back(&rec);
      }
    }
  }
  return out;
}

// The exact-zero fraction of `which` (a step's input 0 or output 0): per
// run over all its records (a Loop body's iterations pooled), then the mean
// over the runs that measured it; *lo and *hi over all (NaN if none did).
void mean_zero_fraction(const PerRun &runs, ValueStats StepStats::*which, double *fraction,
                        double *lo, double *hi) {
  *fraction = 0;
  *lo = INFINITY;
  *hi = -INFINITY;
  size_t measured = 0;
  for (const std::vector<const StepRecord *> &recs : runs) {
    int64_t zeros = 0, count = 0;
    for (const StepRecord *rec : recs) {
      const ValueStats &v = rec->stats.*which;
      if (v.count == 0) continue;
      zeros += v.zeros;
      count += v.count;
      *lo = std::min(*lo, double(v.min));
      *hi = std::max(*hi, double(v.max));
    }
    if (count == 0) continue;
    *fraction += double(zeros) / double(count);
    ++measured;
  }
  if (measured > 0) {
    *fraction /= double(measured);
  } else {
    *lo = *hi = NAN;
  }
}

// The median over the runs that ran the node of its time per run (a Loop
// body's iterations summed); -1 when none did.
double median_per_call(const PerRun &runs) {
  std::vector<double> t;
  for (const std::vector<const StepRecord *> &recs : runs) {
    if (recs.empty()) continue;
    double sum = 0;
    for (const StepRecord *rec : recs) sum += rec->time_us;
    t.push_back(sum);
  }
  return t.empty() ? -1 : median_of(t);
}

struct Sessions {
  std::unique_ptr<Session> sparse, dense;
};

Status run_each(const Session &s, const std::vector<std::vector<Tensor>> &sets, size_t i,
                RunProfile *profile, double *us) {
  std::vector<Tensor> outputs;
  const Clock::time_point t0 = Clock::now();
  Status st = s.run(sets[i % sets.size()], &outputs, profile);
  if (us != nullptr) *us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  return st;
}

std::string percent(double share) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", 100.0 * share);
  return buf;
}

// Why almost no MACs take the sparse path, from where the zeros are read.
std::string why_not_sparse(const AnalysisReport &r, double total_macs) {
  double zero_macs = 0, eligible_zero_macs = 0;
  std::map<std::string, double> by_reason;
  for (const LayerReport &l : r.layers) {
    const double z = l.macs * l.zero_input_fraction;
    zero_macs += z;
    if (l.path.rfind("not eligible: ", 0) == 0) {
      by_reason[l.path.substr(std::strlen("not eligible: "))] += z;
    } else {
      eligible_zero_macs += z;
    }
  }
  if (zero_macs < 0.01 * total_macs) return "the layers' inputs hold almost no exact zeros";
  std::string reason;
  double most = eligible_zero_macs;
  for (const auto &kv : by_reason)
    if (kv.second > most) {
      most = kv.second;
      reason = kv.first;
    }
  if (reason.empty()) return "the eligible layers' inputs are too dense for the sparse kernels";
  const std::string suffix = " is not a sparse consumer";
  if (reason.size() > suffix.size() &&
      reason.compare(reason.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return "the zeros feed " + reason.substr(0, reason.size() - suffix.size()) +
           " layers, which have no sparse kernel";
  }
  return "the layers reading the zeros are not eligible: " + reason;
}

std::string verdict(const AnalysisReport &r, double total_macs) {
  char buf[160];
  if (total_macs <= 0) return "no gain: the model has no MatMul, Gemm or Conv layers";
  const std::string zeros = percent(r.mac_share_reading_zeros),
                    sparse = percent(r.mac_share_sparse_path);
  // With no work on a sparse path both sessions run the same kernels: any
  // difference in their latencies is noise, whatever its size.
  if (r.mac_share_sparse_path < 0.005) {
    return "no gain: " + sparse + " of MACs are on a sparse path (" +
           why_not_sparse(r, total_macs) + ")";
  }
  if (r.speedup >= 1.1) {
    std::snprintf(buf, sizeof buf, "%.1fx faster than dense: ", r.speedup);
    return buf + zeros + " of MACs read exact zeros and " + sparse + " run on the sparse path";
  }
  std::snprintf(buf, sizeof buf, "%.2fx of dense speed", r.speedup);
  return (r.speedup >= 0.95 ? "no clear gain (" : "slower than dense (") + std::string(buf) +
         "): " + sparse + " of MACs run on the sparse path, " + zeros + " read exact zeros";
}

}  // namespace

bool imported_layer(const Node &n, NodeOrigin *out) {
  if (!n.domain.empty() && n.domain != kEngineDomain) return false;
  for (const NodeOrigin &o : n.imported_nodes()) {
    if (is_layer_op(o.op_type) && o.name == n.name) {
      *out = o;
      return true;
    }
  }
  return false;
}

// The last node fused into it (FusedGemm/FusedConv end with their Relu or
// Clip), or `n` itself (an activation, a producer, or a Gelu a pass
// assembled from Erf or Tanh).
bool imported_activation(const Node &n, NodeOrigin *out) {
  const std::vector<NodeOrigin> origins = n.imported_nodes();
  if (is_activation_op(origins.back().op_type)) {
    *out = origins.back();
    return true;
  }
  if (is_activation_op(n.op_type) || zero_rule(n).kind == ZeroKind::kProducer) {
    *out = NodeOrigin{n.op_type, n.name};
    return true;
  }
  return false;
}

bool is_activation_op(const std::string &op) {
  static const char *const kOps[] = {"Relu", "Clip",        "LeakyRelu",      "PRelu", "HardSwish",
                                     "Gelu", "Elu",         "Selu",           "Celu",  "Softplus",
                                     "Mish", "HardSigmoid", "ThresholdedRelu"};
  for (const char *o : kOps)
    if (op == o) return true;
  return false;
}

Status analyze_model(const Graph &graph, const SessionOptions &options,
                     const std::vector<std::vector<Tensor>> &sets, const AnalyzeOptions &how,
                     AnalysisReport *out) {
  if (sets.empty()) return invalid_argument("analyze: no input sets");
  if (how.iters == 0) return invalid_argument("analyze: iters must be at least 1");
  Sessions s;
  SessionOptions opt = options;
  opt.mode = ExecMode::kAuto;
  SI_RETURN_IF_ERROR(Session::create(graph, opt, &s.sparse));
  opt.mode = ExecMode::kDense;
  SI_RETURN_IF_ERROR(Session::create(graph, opt, &s.dense));

  // Counted once per set, apart from every timed call.
  std::vector<RunProfile> counted(sets.size());
  for (size_t i = 0; i < sets.size(); ++i) {
    counted[i].value_stats = true;
    SI_RETURN_IF_ERROR(run_each(*s.sparse, sets, i, &counted[i], nullptr));
  }
  for (size_t i = 0; i < how.warmup; ++i) {
    SI_RETURN_IF_ERROR(run_each(*s.sparse, sets, i, nullptr, nullptr));
    SI_RETURN_IF_ERROR(run_each(*s.dense, sets, i, nullptr, nullptr));
  }
  std::vector<double> auto_us(how.iters), dense_us(how.iters);
  std::vector<RunProfile> auto_prof(how.iters), dense_prof(how.iters);
  for (int profiled = 0; profiled < 2; ++profiled) {
    for (size_t i = 0; i < how.iters; ++i) {
      // Swapping the order each call keeps either session from always
      // running right after the other has flushed its weights from cache.
      for (int k = 0; k < 2; ++k) {
        const bool dense = (k == 1) != (i % 2 == 1);
        const Session &session = dense ? *s.dense : *s.sparse;
        RunProfile *p = profiled ? &(dense ? dense_prof : auto_prof)[i] : nullptr;
        double *us = profiled ? nullptr : &(dense ? dense_us : auto_us)[i];
        SI_RETURN_IF_ERROR(run_each(session, sets, i, p, us));
      }
    }
  }

  AnalysisReport r;
  double total_macs = 0, zero_macs = 0, sparse_macs = 0;
  for (const NodeRuns &n : nodes_that_ran(counted, auto_prof, dense_prof)) {
    const Node &node = n.graph->nodes[n.node];
    const std::string scope = n.scope.empty() ? "" : n.scope + " / ";
    NodeOrigin o;
    if (imported_activation(node, &o)) {
      ActivationReport a{scope + o.name, o.op_type, 0, NAN, NAN};
      mean_zero_fraction(n.counted, &StepStats::output, &a.zero_fraction, &a.min, &a.max);
      r.activations.push_back(a);
    }
    if (!imported_layer(node, &o)) continue;
    LayerReport l;
    l.node = scope + o.name;
    l.op = o.op_type;
    for (const std::vector<const StepRecord *> &recs : n.counted)
      for (const StepRecord *rec : recs)
        l.macs += call_macs(*n.graph, node, *rec) / double(n.counted.size());
    double lo, hi;
    mean_zero_fraction(n.counted, &StepStats::input, &l.zero_input_fraction, &lo, &hi);
    l.time_us_auto = median_per_call(n.timed_auto);
    l.time_us_dense = median_per_call(n.timed_dense);
    // A body node that no timed call ran (its branch was taken only by
    // input sets past --iters) is judged from the counted calls.
    size_t calls = 0, sparse_calls = 0;
    for (const auto *runs : {&n.timed_auto, &n.counted}) {
      for (const std::vector<const StepRecord *> &recs : *runs)
        for (const StepRecord *rec : recs) {
          ++calls;
          sparse_calls += rec->consumer && std::strncmp(rec->matmul.path, "sparse", 6) == 0;
        }
      if (calls > 0) break;
    }
    l.sparse_call_share = calls > 0 ? double(sparse_calls) / double(calls) : 0;
    const std::string reason = sparse_ineligibility_reason(*n.graph, node);
    if (!reason.empty() && sparse_calls == 0) {
      l.path = "not eligible: " + reason;
    } else {
      l.path = sparse_calls == calls ? "sparse" : sparse_calls == 0 ? "dense" : "mixed";
    }
    total_macs += l.macs;
    zero_macs += l.macs * l.zero_input_fraction;
    sparse_macs += l.macs * l.sparse_call_share;
    r.layers.push_back(std::move(l));
  }
  r.mac_share_reading_zeros = total_macs > 0 ? zero_macs / total_macs : 0;
  r.mac_share_sparse_path = total_macs > 0 ? sparse_macs / total_macs : 0;
  r.auto_p50_us = median_of(auto_us);
  r.dense_p50_us = median_of(dense_us);
  r.speedup = r.auto_p50_us > 0 ? r.dense_p50_us / r.auto_p50_us : 0;
  r.verdict = verdict(r, total_macs);
  r.threads = s.sparse->options().threads;
  *out = std::move(r);
  return Status::ok();
}

std::string analysis_json(const AnalysisReport &r) {
  auto known = [](double v) { return v >= 0 ? v : NAN; };
  std::string s = "{\n  \"activations\": [";
  for (size_t i = 0; i < r.activations.size(); ++i) {
    const ActivationReport &a = r.activations[i];
    s += std::string(i ? "," : "") + "\n    {\"node\": " + json_string(a.node) +
         ", \"op\": " + json_string(a.op) +
         ", \"zero_fraction\": " + json_number(a.zero_fraction, 9) +
         ", \"min\": " + json_number(a.min, 9) + ", \"max\": " + json_number(a.max, 9) + "}";
  }
  s += std::string(r.activations.empty() ? "" : "\n  ") + "],\n  \"layers\": [";
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const LayerReport &l = r.layers[i];
    s += std::string(i ? "," : "") + "\n    {\"node\": " + json_string(l.node) +
         ", \"op\": " + json_string(l.op) + ", \"macs\": " + json_number(std::round(l.macs), 17) +
         ", \"zero_input_fraction\": " + json_number(l.zero_input_fraction, 9) +
         ", \"path\": " + json_string(l.path) +
         ", \"time_us_auto\": " + json_number(known(l.time_us_auto)) +
         ", \"time_us_dense\": " + json_number(known(l.time_us_dense)) + "}";
  }
  s += std::string(r.layers.empty() ? "" : "\n  ") + "],\n";
  s += "  \"mac_share_reading_zeros\": " + json_number(r.mac_share_reading_zeros) + ",\n";
  s += "  \"mac_share_sparse_path\": " + json_number(r.mac_share_sparse_path) + ",\n";
  s += "  \"latency_us\": {\"auto_p50\": " + json_number(r.auto_p50_us) +
       ", \"dense_p50\": " + json_number(r.dense_p50_us) + "},\n";
  s += "  \"speedup\": " + json_number(r.speedup, 4) + ",\n";
  s += "  \"verdict\": " + json_string(r.verdict) + "\n}\n";
  return s;
}

}  // namespace si
