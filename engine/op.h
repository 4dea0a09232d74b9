// The contract between the executor and an op. An op has three stages:
//   create  (once, at load): read attributes, check constant inputs, pack weights;
//   reshape (per call): output dtypes and shapes from the actual inputs;
//   run     (per call): compute into outputs the executor allocated.
// reshape and run are const: one kernel object serves concurrent runs, so any
// per-call scratch lives on the stack or in the RunContext, never in the kernel.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/options.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace si {

struct LoadContext {
  const Graph &graph;
  const Node &node;
  const SessionOptions &options;

  size_t num_inputs() const { return node.inputs.size(); }
  bool has_input(size_t i) const { return i < node.inputs.size() && node.inputs[i] >= 0; }
  // The input's value if it is a constant (initializer or folded), else nullptr.
  const Tensor *constant_input(size_t i) const {
    return has_input(i) ? graph.constant(node.inputs[i]) : nullptr;
  }
  const ValueInfo *input_info(size_t i) const {
    return has_input(i) ? &graph.values[static_cast<size_t>(node.inputs[i])] : nullptr;
  }
};

// What a consumer matmul reports about one call when profiling is on.
struct MatmulProfile {
  double density = -1;  // active fraction of the input; -1 if not measured
  // "sparse", or "dense:" and the dense implementation (dense_impl_name):
  // "dense:rows_gemv", "dense:panels", "dense:dnnl_ip", "dense:dnnl_matmul".
  const char *path = "dense";
  int64_t weight_bytes_read = 0;   // bytes of weights the chosen path read
  int64_t weight_bytes_dense = 0;  // bytes a dense kernel reads for the same call
};

class BufferPool;
struct StepRecord;

struct RunContext {
  int threads = 1;
  ExecMode mode = ExecMode::kAuto;
  MatmulProfile *profile = nullptr;  // non-null only while profiling this step
  // The call's buffers; a kernel that runs a body (If, Loop, Scan) runs it
  // from the same pool, so the memory limit covers the whole call.
  BufferPool *pool = nullptr;
  // Non-null only while profiling this step: where a kernel that runs a body
  // records the body's steps.
  std::vector<StepRecord> *body_steps = nullptr;
  bool value_stats = false;  // with body_steps: count the body steps' values too
};

struct OutputDesc {
  DType dtype = DType::kUndefined;
  Shape shape;
  // >= 0: the output is a view of that input's buffer (Reshape, Identity),
  // the executor allocates nothing and run() is still called.
  int alias_input = -1;
  // >= 0: the output may take over that input's buffer (same dtype and
  // size) when this step is the input's last reader; run() then computes in
  // place and sees it by comparing the two data pointers.
  int reuse_input = -1;
  // true: run() assigns the output Tensor itself and the executor allocates
  // nothing: the value is a sequence or an element a sequence holds, or its
  // shape is known only once run() has run (If, Loop, Scan run a body).
  // dtype and shape are then informative only.
  bool set_by_run = false;
};

class OpKernel {
 public:
  virtual ~OpKernel() = default;
  // `in` has one entry per node input, nullptr for an omitted optional one;
  // data is readable (shape ops read int64 inputs). Fills one desc per node output.
  virtual Status reshape(const std::vector<const Tensor *> &in,
                         std::vector<OutputDesc> *out) const = 0;
  virtual Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
                     const RunContext &ctx) const = 0;

  // Bytes of weights held in the kernel's own layouts (packed at create).
  virtual size_t packed_bytes() const { return 0; }
  // For a matmul with constant weights, which dense implementation serves
  // which batch sizes (ConstWeightMatmul::dense_plan); empty otherwise.
  virtual std::string dense_plan() const { return ""; }
  // True when create() kept its own copy of constant input i and neither
  // reshape nor run reads that input's data: the session then frees the
  // constant and keeps only its dtype and shape (weights are stored once).
  virtual bool packs_input(size_t i) const {
    (void)i;
    return false;
  }
};

using OpFactory = Status (*)(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

}  // namespace si
