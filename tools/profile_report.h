// --profile and --trace: per-node times over one or many runs, with the path
// every consumer matmul took.
#pragma once

#include <string>
#include <vector>

#include "engine/session.h"

namespace si::cli {

class ProfileReport {
 public:
  void add(const RunProfile &run);
  // Calls the session made before the profiled ones (named in the header).
  void set_warmup_runs(long runs) { warmup_runs_ = runs; }

  // A header naming the runs (`median of 5 warm runs after 3 warm-up
  // runs`), one row per node (op, name, output shape, median µs, share,
  // density, path), then the summary lines: share of matmul work that ran
  // sparse and weight bytes read vs the dense equivalent.
  std::string table() const;
  // Chrome trace (chrome://tracing, Perfetto; the format ONNX Runtime's
  // profiler writes): one complete event per node and run.
  std::string chrome_trace() const;

 private:
  std::vector<RunProfile> runs_;
  long warmup_runs_ = 0;
};

}  // namespace si::cli
