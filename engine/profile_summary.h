// Profiled runs of one session reduced to what a reader wants: per step the
// median time and density and the paths taken, plus the totals. One home for
// the arithmetic the CLI's --profile table (tools/profile_report.h) and the
// Python module's InferenceSession.profile (python/) both show.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/session.h"
#include "engine/tensor.h"

namespace si {

// Calls made before the profiled ones, and profiled calls, when the caller
// does not say: a first call pays one-time costs (page faults on fresh
// buffers, cold caches and weights) many times over a warm one.
constexpr size_t kDefaultProfileWarmupRuns = 3, kDefaultProfileRuns = 5;

struct StepSummary {
  std::string op_type;
  std::string name;
  Shape output_shape;  // first output, as the first run saw it
  double time_us = 0;  // median over the runs
  bool consumer = false;
  // Consumers only (-1 / "" otherwise): median input density over the runs
  // that measured it (-1 when none did), and the path taken: "sparse",
  // "dense", or per-path call counts when calls differed ("dense 2/sparse 3").
  double density = -1;
  std::string path;
  // With the graph (summarize_profile's second form): a MatMul/Gemm/Conv/
  // ConvTranspose that cannot take the sparse path says why, as path
  // "not eligible: <reason>" (a consumer keeps its dense path and gets the
  // reason after it); a step whose output is an activation of the model as
  // imported names it and, with counted runs, its mean exact-zero fraction.
  std::string activation;     // imported node name, "" if none
  double zero_fraction = -1;  // -1 when not counted
};

struct ProfileSummary {
  size_t runs = 0;
  // In execution order, then one row per node run inside a body (If, Loop,
  // Scan), named `<scope> / <node>`.
  std::vector<StepSummary> steps;
  double total_us = 0;  // sum of the main graph's steps' medians
  // Over the consumers of every run: the share of their dense-equivalent
  // weight bytes that took a sparse path (-1 when the model has none), and
  // the weight bytes read and a dense kernel would read, per run.
  double sparse_work_share = -1;
  double weight_bytes_read = 0;
  double weight_bytes_dense = 0;
};

// The upper median (v[n/2] once sorted; 0 for none): a sample that was measured.
double median_of(std::vector<double> v);

// `runs` must come from one session (same steps in the same order).
ProfileSummary summarize_profile(const std::vector<RunProfile> &runs);
// The same with what `session` (which made the runs) tells: path reasons
// (in --dense mode only those of non-consumers: a consumer's dense path is
// then forced, not a verdict), activation names, and the zero fractions of
// `counted`: runs of the same session with RunProfile::value_stats set, made
// apart from `runs` so that counting costs none of their time. Body rows get
// them too, a body's activation named `<scope> / <node>` like its row, its
// zero fraction pooled over a Loop's iterations.
ProfileSummary summarize_profile(const std::vector<RunProfile> &runs, const Session &session,
                                 const std::vector<RunProfile> &counted);

}  // namespace si
