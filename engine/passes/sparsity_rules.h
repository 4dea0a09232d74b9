// Why a matmul or convolution cannot take the sparse path.
//
// MERGE NOTE (issue 11): a minimal stand-in written on branch `analyze`. The
// registry zero-rule refactor (branch `zero`) defines this same function
// from the registry's zero rules; keep that one and delete this file's body.
#pragma once

#include <string>

#include "engine/graph.h"

namespace si {

// "" when `node` is a sparse consumer that reads a value carrying exact
// zeros; otherwise why not, in words a user reads: "Conv is not a sparse
// consumer", "weight is not constant", "weight is not float32", "weight is
// not 2-D", "Gemm with transA", "input carries no zeros (no producer
// upstream)". `graph` is one mark_sparsity has run on (an auto or sparse
// session's); a fused node is named by the op it was imported as.
std::string sparse_ineligibility_reason(const Graph &graph, const Node &node);

}  // namespace si
