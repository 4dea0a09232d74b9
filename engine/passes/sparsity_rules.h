// Reading the registry's zero rules (engine/ops/registry.h) for the nodes of a
// graph: what mark_sparsity decides, and why a matmul-like layer is left off
// the sparse path, for `sparse-infer analyze` and `--profile`.
#pragma once

#include <string>

#include "engine/graph.h"
#include "engine/ops/registry.h"

namespace si {

// The node's registry rule; the none rule for a node no entry serves.
const ZeroRule &zero_rule(const Node &node);

// Whether this node's outputs hold exact zeros by construction: a producer
// whose predicate holds for its attributes and constant inputs, or a consumer
// with a zero-producing epilogue (FusedGemm with a Relu).
bool produces_zeros(const Graph &graph, const Node &node);

// "" when mark_sparsity gives `node` (a MatMul, Gemm, FusedGemm, Conv,
// ConvTranspose, ... of `graph`) a sparse input, else the reason it does not,
// one of:
//   "<Op> is not a sparse consumer"  (Conv, ConvTranspose; a FusedConv is named Conv)
//   "has no weight input", "Gemm with transA", "weight is not constant",
//   "weight is not 2-D", "weight is not float32",
//   "input carries no zeros (no producer upstream)",
//   "reads a graph input but has under 128 output columns to count its zeros for".
// It states the graph, not the mode: a --dense session's graph gets the
// reasons an auto one would. Walks the whole graph (O(nodes)) unless `node`
// is already marked.
std::string sparse_ineligibility_reason(const Graph &graph, const Node &node);

}  // namespace si
