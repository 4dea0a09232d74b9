// Session: a loaded, optimised and planned model, ready to run.
// Thread-safety: run() is const and may be called from many threads at once;
// all per-call state lives inside the call.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/executor.h"
#include "engine/graph.h"
#include "engine/op.h"
#include "engine/options.h"
#include "engine/status.h"

namespace si {

class Session {
 public:
  // Takes the graph, runs the passes (when options.optimize), creates every
  // kernel and builds the plan. Fails listing every unsupported node at once.
  static Status create(Graph graph, const SessionOptions &options, std::unique_ptr<Session> *out);
  ~Session();

  const std::vector<ValueInfo> &inputs() const { return input_infos_; }
  const std::vector<ValueInfo> &outputs() const { return output_infos_; }

  // inputs[i] feeds model input i; dtype and shape are checked against the
  // model (dynamic dims accept any size). outputs is resized to the model's
  // output count and filled with fresh tensors.
  // With `profile`, each step is timed and described (slower: use for --profile).
  Status run(const std::vector<Tensor> &inputs, std::vector<Tensor> *outputs,
             RunProfile *profile = nullptr) const;

  // op type -> node count after optimisation, bodies included (for --info).
  std::map<std::string, int> op_histogram() const;
  // Dense implementation plan -> number of matmuls with constant weights that
  // follow it, e.g. "rows_gemv M<=4, dnnl_ip M>4" -> 8 (for --info).
  std::map<std::string, int> dense_plans() const;
  // Bytes held by constants (weights, folded values) after optimisation,
  // not counting those a kernel packed and the session freed.
  size_t constant_bytes() const;
  // Everything the session holds for weights: constant_bytes() plus every
  // kernel's packed copies. Compare with model_constant_bytes().
  size_t weight_bytes() const;
  // Bytes of the model's initializers and constants as loaded.
  size_t model_constant_bytes() const { return model_constant_bytes_; }
  const Graph &graph() const { return exec_->graph(); }
  const SessionOptions &options() const { return options_; }

 private:
  Session() = default;
  Status check_input(size_t i, const Tensor &t) const;

  std::unique_ptr<Executor> exec_;
  SessionOptions options_;
  std::vector<ValueInfo> input_infos_;
  std::vector<ValueInfo> output_infos_;
  size_t model_constant_bytes_ = 0;
  // Intermediate buffers the last finished call released, handed to the next
  // call (at most one call's worth is held between calls).
  mutable std::mutex spare_mu_;
  mutable std::vector<Tensor> spare_;
};

// Every operator of `graph` the registry lacks, one entry per node in graph
// order, each followed by those in its graph attributes' bodies (searched
// recursively), e.g. `LSTM (node "/lstm", ai.onnx opset 16) in If (node
// "/if_0") then_branch`. Empty when every node has a kernel.
std::vector<std::string> unsupported_operators(const Graph &graph);

// Creates the kernel for one node, or fails naming it (used by the session and
// by constant folding).
Status create_kernel(const Graph &graph, const Node &node, const SessionOptions &options,
                     std::unique_ptr<OpKernel> *out);

}  // namespace si
