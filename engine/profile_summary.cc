#include "engine/profile_summary.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "engine/analysis.h"
#include "engine/passes/sparsity_rules.h"

namespace si {

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

namespace {

// "sparse", "dense:rows_gemv", or "dense:rows_gemv 60/sparse 40" when calls
// differed.
std::string path_summary(const std::map<std::string, int> &paths) {
  if (paths.size() == 1) return paths.begin()->first;
  std::string s;
  for (const auto &kv : paths)
    s += (s.empty() ? "" : "/") + kv.first + " " + std::to_string(kv.second);
  return s;
}

}  // namespace

ProfileSummary summarize_profile(const std::vector<RunProfile> &runs) {
  ProfileSummary out;
  out.runs = runs.size();
  if (runs.empty()) return out;
  int64_t sparse_work = 0, all_work = 0, read = 0;
  for (size_t i = 0; i < runs[0].steps.size(); ++i) {
    const StepRecord &first = runs[0].steps[i];
    StepSummary s;
    s.op_type = first.op_type;
    s.name = first.name;
    s.output_shape = first.output_shape;
    s.consumer = first.consumer;
    std::vector<double> times, densities;
    std::map<std::string, int> paths;
    for (const RunProfile &r : runs) {
      const StepRecord &rec = r.steps[i];
      times.push_back(rec.time_us);
      if (!s.consumer) continue;
      const MatmulProfile &m = rec.matmul;
      if (m.density >= 0) densities.push_back(m.density);
      ++paths[m.path];
      all_work += m.weight_bytes_dense;
      if (std::strncmp(m.path, "sparse", 6) == 0) sparse_work += m.weight_bytes_dense;
      read += m.weight_bytes_read;
    }
    s.time_us = median_of(times);
    if (s.consumer) {
      s.density = densities.empty() ? -1 : median_of(densities);
      s.path = path_summary(paths);
    }
    out.total_us += s.time_us;
    out.steps.push_back(std::move(s));
  }
  // Then the steps inside bodies: one row per body node, named after its
  // body (`If "/if_0" then_branch / fc`), its time the median over the runs
  // of its total per run (a Loop's body runs once per iteration). Their time
  // is inside their If/Loop/Scan step's already, so total_us leaves it out.
  struct BodyStep {
    StepSummary s;
    std::vector<double> per_run, densities;
    std::map<std::string, int> paths;
  };
  std::map<std::string, size_t> index;
  std::vector<BodyStep> body;
  for (size_t r = 0; r < runs.size(); ++r) {
    for (const StepRecord &top : runs[r].steps) {
      for (const StepRecord &rec : top.body_steps) {
        const std::string key = rec.scope + " / " + rec.name;
        auto it = index.emplace(key, body.size()).first;
        if (it->second == body.size()) {
          BodyStep b;
          b.s.op_type = rec.op_type;
          b.s.name = key;
          b.s.output_shape = rec.output_shape;
          b.s.consumer = rec.consumer;
          b.per_run.assign(runs.size(), 0.0);
          body.push_back(std::move(b));
        }
        BodyStep &b = body[it->second];
        b.per_run[r] += rec.time_us;
        if (!b.s.consumer) continue;
        const MatmulProfile &m = rec.matmul;
        if (m.density >= 0) b.densities.push_back(m.density);
        ++b.paths[m.path];
        all_work += m.weight_bytes_dense;
        if (std::strncmp(m.path, "sparse", 6) == 0) sparse_work += m.weight_bytes_dense;
        read += m.weight_bytes_read;
      }
    }
  }
  for (BodyStep &b : body) {
    b.s.time_us = median_of(b.per_run);
    if (b.s.consumer) {
      b.s.density = b.densities.empty() ? -1 : median_of(b.densities);
      b.s.path = path_summary(b.paths);
    }
    out.steps.push_back(std::move(b.s));
  }
  if (all_work > 0) out.sparse_work_share = double(sparse_work) / double(all_work);
  out.weight_bytes_read = double(read) / double(runs.size());
  out.weight_bytes_dense = double(all_work) / double(runs.size());
  return out;
}

ProfileSummary summarize_profile(const std::vector<RunProfile> &runs, const Session &session,
                                 const std::vector<RunProfile> &counted) {
  ProfileSummary out = summarize_profile(runs);
  if (runs.empty()) return out;
  const bool forced_dense = session.options().mode == ExecMode::kDense;
  // The reasons and activation name of one row, from its node in the graph
  // holding it; a body's activation is named as its row, after its scope.
  auto describe = [&](const Graph &graph, const Node &node, const std::string &scope,
                      StepSummary *s) {
    NodeOrigin o;
    if (imported_layer(node, &o) && !(forced_dense && s->consumer)) {
      const std::string reason = sparse_ineligibility_reason(graph, node);
      const bool any_sparse = s->path.find("sparse") != std::string::npos;
      if (!reason.empty() && !any_sparse)
        s->path = s->path.empty() ? "not eligible: " + reason
                                  : s->path + " (not eligible: " + reason + ")";
    }
    if (!imported_activation(node, &o)) return false;
    s->activation = scope + o.name;
    return true;
  };
  // Exact zeros of the output, per counted run (a Loop body's iterations
  // pooled); the row's zero_fraction is their mean over the runs measuring it.
  struct Counts {
    std::vector<int64_t> zeros, count;
  };
  auto add = [&](Counts *c, size_t run, const StepRecord &rec) {
    c->zeros.resize(counted.size());
    c->count.resize(counted.size());
    c->zeros[run] += rec.stats.output.zeros;
    c->count[run] += rec.stats.output.count;
  };
  auto mean = [](const Counts &c, StepSummary *s) {
    double sum = 0;
    size_t n = 0;
    for (size_t r = 0; r < c.count.size(); ++r) {
      if (c.count[r] == 0) continue;
      sum += double(c.zeros[r]) / double(c.count[r]);
      ++n;
    }
    if (n > 0) s->zero_fraction = sum / double(n);
  };
  const size_t main_steps = runs[0].steps.size();
  for (size_t i = 0; i < out.steps.size() && i < main_steps; ++i) {
    StepSummary &s = out.steps[i];
    if (!describe(session.graph(), session.graph().nodes[runs[0].steps[i].node], "", &s)) continue;
    Counts c;
    for (size_t r = 0; r < counted.size(); ++r)
      if (i < counted[r].steps.size()) add(&c, r, counted[r].steps[i]);
    mean(c, &s);
  }
  // Rows past the main graph's steps are body steps, named by their key.
  std::map<std::string, const StepRecord *> first;
  for (const RunProfile &run : runs)
    for (const StepRecord &top : run.steps)
      for (const StepRecord &rec : top.body_steps)
        first.emplace(rec.scope + " / " + rec.name, &rec);
  std::map<std::string, Counts> body_counts;
  for (size_t r = 0; r < counted.size(); ++r)
    for (const StepRecord &top : counted[r].steps)
      for (const StepRecord &rec : top.body_steps)
        add(&body_counts[rec.scope + " / " + rec.name], r, rec);
  for (size_t i = main_steps; i < out.steps.size(); ++i) {
    StepSummary &s = out.steps[i];
    const StepRecord *rec = first.at(s.name);
    if (rec->graph == nullptr ||
        !describe(*rec->graph, rec->graph->nodes[rec->node], rec->scope + " / ", &s))
      continue;
    auto c = body_counts.find(s.name);
    if (c != body_counts.end()) mean(c->second, &s);
  }
  return out;
}

}  // namespace si
