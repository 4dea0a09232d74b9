#include "engine/analysis.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

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
  const Graph &g = s.sparse->graph();

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
  const size_t steps = counted[0].steps.size();
  const std::vector<StepRecord> &dense_steps0 = dense_prof[0].steps;
  std::map<std::string, size_t> dense_by_name;
  for (size_t j = 0; j < dense_steps0.size(); ++j) dense_by_name.emplace(dense_steps0[j].name, j);
  double total_macs = 0, zero_macs = 0, sparse_macs = 0;
  for (size_t j = 0; j < steps; ++j) {
    const Node &node = g.nodes[counted[0].steps[j].node];
    NodeOrigin o;
    if (imported_activation(node, &o)) {
      ActivationReport a{o.name, o.op_type, 0, INFINITY, -INFINITY};
      bool measured = false;
      for (const RunProfile &p : counted) {
        const ValueStats &v = p.steps[j].stats.output;
        measured = measured || v.count > 0;
        a.zero_fraction += v.zero_fraction() / double(counted.size());
        a.min = std::min(a.min, double(v.min));
        a.max = std::max(a.max, double(v.max));
      }
      if (!measured) a.min = a.max = NAN;
      r.activations.push_back(a);
    }
    if (!imported_layer(node, &o)) continue;
    LayerReport l;
    l.node = o.name;
    l.op = o.op_type;
    for (const RunProfile &p : counted) {
      l.macs += call_macs(g, node, p.steps[j]) / double(counted.size());
      l.zero_input_fraction += p.steps[j].stats.input.zero_fraction() / double(counted.size());
    }
    std::vector<double> ta, td;
    size_t sparse_calls = 0;
    for (const RunProfile &p : auto_prof) {
      ta.push_back(p.steps[j].time_us);
      if (p.steps[j].consumer && std::strncmp(p.steps[j].matmul.path, "sparse", 6) == 0)
        ++sparse_calls;
    }
    // Both sessions ran the same passes, so their steps line up; names
    // find the node if they do not (names may also be empty or repeated).
    size_t dj = j;
    if (dj >= dense_steps0.size() || dense_steps0[dj].name != node.name) {
      auto d = dense_by_name.find(node.name);
      dj = d == dense_by_name.end() ? SIZE_MAX : d->second;
    }
    if (dj != SIZE_MAX) {
      for (const RunProfile &p : dense_prof) td.push_back(p.steps[dj].time_us);
    }
    l.time_us_auto = median_of(ta);
    l.time_us_dense = td.empty() ? -1 : median_of(td);
    l.sparse_call_share = double(sparse_calls) / double(auto_prof.size());
    const std::string reason = sparse_ineligibility_reason(g, node);
    if (!reason.empty() && sparse_calls == 0) {
      l.path = "not eligible: " + reason;
    } else {
      l.path = sparse_calls == auto_prof.size() ? "sparse" : sparse_calls == 0 ? "dense" : "mixed";
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
