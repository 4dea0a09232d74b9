// "Is my model worth it?": one model run over the caller's input sets by two
// sessions, auto and dense, in the same process, reduced to what decides
// whether activation sparsity pays: where the exact zeros are, which layers
// read them, which of those can take the sparse path, and the measured
// latency of both. The one home of that arithmetic and of its JSON form;
// `sparse-infer analyze` (tools/) prints it as a table, the Python module's
// sparse_infer.analyze returns the JSON as a dict.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/options.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace si {

struct AnalyzeOptions {
  size_t warmup = 3;  // calls of each session before any timed one
  // Timed calls of each session, auto and dense interleaved (their order
  // swapped every call), then as many profiled calls of each for the
  // per-layer times. The input sets are cycled through.
  size_t iters = 20;
};

// One activation-like node of the model as imported (Relu, Clip,
// LeakyRelu, HardSwish, Gelu, every zero producer, ...), named as in the
// file even when a pass fused it into a Gemm or Conv: its output is then
// the fused node's output. A node inside an If/Loop/Scan body is named
// `<scope> / <node>` as --profile names it (StepRecord::scope), e.g.
// `If "/if_0" then_branch / relu`; its means are over the input sets that
// ran it, a Loop body's iterations pooled within a call.
struct ActivationReport {
  std::string node, op;
  double zero_fraction = 0;  // exact zeros of its output, mean over the input sets
  double min = 0, max = 0;   // over all sets (NaN when the output is not float32)
};

// One MatMul/Gemm/Conv/ConvTranspose of the model, as the file names it
// (in a body, after its scope as above).
struct LayerReport {
  std::string node, op;
  // Multiply-accumulates per call, mean over the input sets (a body's: over
  // all its executions in the call, 0 in a call that did not run it).
  double macs = 0;
  // The share of those MACs whose activation operand (input 0) is exactly
  // zero: a matmul's A operand takes part in N MACs per element, so this is
  // exactly the zero fraction of A; a convolution's input elements take
  // part in equally many MACs except where padding and stride edges leave
  // some out, so its input's zero fraction is this share up to those edges.
  double zero_input_fraction = 0;
  // "sparse", "dense" or "mixed" (calls differed) as the auto session ran it,
  // or "not eligible: <reason>" (sparse_ineligibility_reason).
  std::string path;
  double sparse_call_share = 0;  // of its runs in the profiled auto calls, those on a sparse path
  // Medians over the profiled calls that ran it of its time per call; -1 unknown.
  double time_us_auto = -1, time_us_dense = -1;
};

struct AnalysisReport {
  // In execution order, a body's nodes after the step that ran them.
  std::vector<ActivationReport> activations;
  std::vector<LayerReport> layers;
  // Model-wide, weighted by each layer's MACs.
  double mac_share_reading_zeros = 0;
  double mac_share_sparse_path = 0;
  double auto_p50_us = 0, dense_p50_us = 0;  // whole calls, not profiled
  double speedup = 0;                        // dense_p50 / auto_p50
  std::string verdict;                       // one sentence
  int threads = 0;                           // of each session (not in the JSON)
};

// `options` sets threads, memory and weight copies of both sessions (its
// mode is ignored). Every input set must feed every model input.
Status analyze_model(const Graph &graph, const SessionOptions &options,
                     const std::vector<std::vector<Tensor>> &input_sets, const AnalyzeOptions &how,
                     AnalysisReport *out);

// {"activations":[{"node","op","zero_fraction","min","max"}...],
//  "layers":[{"node","op","macs","zero_input_fraction","path","time_us_auto",
//  "time_us_dense"}...],"mac_share_reading_zeros","mac_share_sparse_path",
//  "latency_us":{"auto_p50","dense_p50"},"speedup","verdict"}: exactly these
// keys (issue 11), full node names, null for a value not measured.
std::string analysis_json(const AnalysisReport &report);

// Whether `op` (ai.onnx or com.sparse_infer) is one analyze lists as an
// activation beyond the registry's producers.
bool is_activation_op(const std::string &op);

// Whether node `n` (of a session's graph) computes a MatMul/Gemm/Conv/
// ConvTranspose of the model as imported: *out is its op and name there
// (a FusedGemm reads as its MatMul or Gemm, a FusedConv as its Conv).
bool imported_layer(const Node &n, NodeOrigin *out);
// Whether `n`'s output 0 is an activation's of the model as imported (a
// FusedGemm's Relu, a FusedConv's Clip, a Relu): *out names it.
bool imported_activation(const Node &n, NodeOrigin *out);

}  // namespace si
