// --profile and --trace: per-node times over one or many runs, with the path
// every consumer matmul took.
#pragma once

#include <string>
#include <vector>

#include "engine/profile_summary.h"
#include "engine/session.h"

namespace si::cli {

class ProfileReport {
 public:
  void add(const RunProfile &run);
  // A run with RunProfile::value_stats set, made apart from the profiled
  // ones: its exact-zero counts fill the activations' "zeros" column.
  void add_counted(const RunProfile &run);
  // The session profiled: the "not eligible" reasons and activation names.
  void set_session(const Session *session) { session_ = session; }
  // Calls the session made before the profiled ones (named in the header).
  void set_warmup_runs(long runs) { warmup_runs_ = runs; }

  // A header naming the runs (`median of 5 warm runs after 3 warm-up
  // runs`), one row per node (op, name, output shape, median µs, share,
  // density, path), then the summary lines: share of matmul work that ran
  // sparse and weight bytes read vs the dense equivalent.
  std::string table() const;
  // --profile --json: the same figures, full node names,
  // {"runs","warmup_runs","total_us","sparse_work_share","weight_bytes_read",
  //  "weight_bytes_dense","layers":[{"op","node","output_shape","time_us",
  //  "density","path","activation","zero_fraction"}]} (the keys of the Python
  // module's InferenceSession.profile), null where a value does not apply.
  std::string json() const;
  // Chrome trace (chrome://tracing, Perfetto; the format ONNX Runtime's
  // profiler writes): one complete event per node and run.
  std::string chrome_trace() const;

 private:
  ProfileSummary summary() const;

  std::vector<RunProfile> runs_, counted_;
  const Session *session_ = nullptr;
  long warmup_runs_ = 0;
};

}  // namespace si::cli
