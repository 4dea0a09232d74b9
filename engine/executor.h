// The executor: one planned graph (a model's main graph or the body of an
// If, Loop or Scan) with a kernel per node, run many times. Planned once at
// load; run() is const and thread-safe, every per-call value lives in the
// call (its value table and the BufferPool it is handed).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/op.h"
#include "engine/options.h"
#include "engine/status.h"

namespace si {

// Exact zeros and range of one float32 tensor (NaNs count as non-zero and
// are left out of min/max). count 0: not measured (not float32, or not asked).
struct ValueStats {
  int64_t count = 0;
  int64_t zeros = 0;  // +0.0 and -0.0
  float min = 0.f, max = 0.f;
  double zero_fraction() const { return count > 0 ? double(zeros) / double(count) : 0.0; }
};

// Measured with RunProfile::value_stats only.
struct StepStats {
  Shape input_shape;  // input 0
  ValueStats input;   // input 0, before the step ran (it may compute in place)
  ValueStats output;  // output 0
};

// One executed node, as --profile and --trace show it.
struct StepRecord {
  std::string op_type;
  std::string name;
  size_t node = 0;  // index into graph->nodes
  // The graph `node` indexes: Session::graph() for the main graph's steps,
  // the body's for a body step. Owned by the session, valid while it lives.
  const Graph *graph = nullptr;
  Shape output_shape;  // first output
  double time_us = 0;
  bool consumer = false;  // a matmul that may take the sparse path
  MatmulProfile matmul;   // meaningful when consumer
  StepStats stats;
  // For a step inside a body: which body, from the outermost, e.g.
  // `If "/if_0" then_branch` or `Loop "/loop" body / If "/if_1" else_branch`.
  std::string scope;
  // Steps of the bodies this step ran (If, Loop, Scan), in execution order,
  // nested bodies flattened in; `node` then indexes the body's nodes.
  std::vector<StepRecord> body_steps;
};

struct RunProfile {
  // Also count each step's input 0 and output 0 (StepRecord::stats), for
  // analyze: one more pass over both per step, outside the step's timer but
  // not outside the run's. Reads only: outputs stay bit-identical. Body
  // steps are counted too.
  bool value_stats = false;
  std::vector<StepRecord> steps;  // in execution order
};

// Buffers released during one call, kept for the values made later in it.
// Every buffer it allocates stays alive until the call ends (in use or in the
// free list), so the bytes allocated so far are the call's footprint, which
// the memory limit bounds. One pool serves a call and every body it runs.
class BufferPool {
 public:
  explicit BufferPool(uint64_t budget) : budget_(budget) {}
  // Buffers an earlier call left: reused as if this call had released them,
  // and counted against its budget as if it had allocated them.
  void adopt(std::vector<Tensor> spare);
  // The released buffers nobody else holds, for the next call.
  std::vector<Tensor> take_free();
  void give(Tensor t);
  Status take(DType dtype, const Shape &shape, Tensor *out);

 private:
  uint64_t budget_;
  uint64_t used_ = 0;
  std::multimap<size_t, Tensor> free_;
};

// Runs the passes over `graph` (when options.optimize), marks sparsity
// (unless dense), then does the same inside every body, each body after the
// graph that holds it. Checks the order first (names, cycles).
Status prepare_graph(Graph *graph, const SessionOptions &options);

class Executor {
 public:
  // `graph` as prepare_graph left it; creates every kernel (bodies' kernels
  // are created by their If/Loop/Scan kernel) and frees constants the kernels packed.
  static Status create(std::shared_ptr<Graph> graph, const SessionOptions &options,
                       std::unique_ptr<Executor> *out);
  ~Executor();

  const Graph &graph() const { return *graph_; }
  // bound[i] feeds graph().inputs[i], then graph().captures; not checked
  // against the declarations (the session checks a model's inputs). outputs
  // is resized to the graph's output count; they share storage with the
  // values computed (or bound) inside.
  Status run(const std::vector<const Tensor *> &bound, std::vector<Tensor> *outputs,
             BufferPool &pool, const RunContext &ctx, RunProfile *profile = nullptr) const;

  std::map<std::string, int> dense_plans() const;
  size_t constant_bytes() const;
  size_t weight_bytes() const;  // constant_bytes() plus every kernel's packed copies

 private:
  Executor() = default;
  struct Step {
    size_t node;  // index into graph_->nodes
    std::unique_ptr<OpKernel> kernel;
    std::vector<int> release_after;  // values whose last use is this step
    bool emit_active_set = false;    // attach an ActiveSet to output 0
    bool consumer = false;
  };
  bool can_take_over(const Step &step, const Node &node, int v, const std::vector<Tensor> &slots,
                     const OutputDesc &desc) const;
  Status run_step(const Step &step, std::vector<const Tensor *> &value, std::vector<Tensor> &slots,
                  BufferPool &pool, const RunContext &ctx) const;
  void free_packed_constants();

  std::shared_ptr<Graph> graph_;
  std::vector<Step> steps_;
};

}  // namespace si
