// Graph passes run at load, in order, by optimize_graph().
#pragma once

#include "engine/graph.h"
#include "engine/options.h"
#include "engine/status.h"

namespace si {

// Evaluates every node whose inputs are all constants and turns its outputs
// into constants (shape sub-graphs, Constant nodes, weight transposes).
Status fold_constants(Graph *graph, const SessionOptions &options);

// Drops nodes none of whose outputs reach a graph output.
void remove_dead_nodes(Graph *graph);

// Folds the epilogue of a MatMul/Gemm with a constant 2-D weight into one
// FusedGemm (com.sparse_infer) that keeps the matmul's node name:
// MatMul -> [Add(constant row vector)] -> [Relu] and Gemm(transA=0, constant
// row-vector C, beta folded into it) -> Relu. Each absorbed intermediate must
// have exactly one reader and must not be a graph output.
Status fuse_matmul_epilogues(Graph *graph);

// Folds an inference BatchNormalization (constant [C] parameters) into the
// Conv, Gemm or MatMul (2-D A) with constant weights that feeds it: weights
// scaled per output channel, bias rewritten; the producer keeps its name and
// takes the BN's output. The intermediate must have no other reader and must
// not be a graph output. A MatMul becomes a Gemm.
Status fold_batchnorm(Graph *graph);

// Replaces the decomposed layer norm pre-opset-17 exporters emit,
//   d = x - ReduceMean(x); d / Sqrt(ReduceMean(d^2 or d*d) + eps) [* gamma] [+ beta]
// (last-axis means with keepdims, constant scalar eps, constant gamma/beta
// broadcasting along the last axis; Div or Mul by Reciprocal), by one
// LayerNormalization (axis -1) named after the first ReduceMean. Every
// absorbed intermediate must be read only inside the pattern and must not be
// a graph output.
Status fuse_layernorm(Graph *graph);

// Replaces the decomposed GELU sub-graphs by one Gelu (com.sparse_infer):
//   0.5 * x * (1 + Erf(x / sqrt 2))           -> approximate = "none"
//   0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))  -> "tanh"
// Operands of Add/Mul match in either order, the final products in any
// association, x / sqrt 2 also as x * (1/sqrt 2), x^3 as Pow(x, 3) or
// x * (x * x); constants within 1e-6 relative. Same single-reader rule; the
// Gelu is named after the Erf or Tanh node.
Status fuse_gelu(Graph *graph);

// Links sparsity producers to consumer matmuls. A value is sparse when a
// producer (Relu, Clip, ThresholdedRelu, Max(x, 0), a fused matmul+Relu)
// makes it, or ops that keep exact zeros carry them (views, Transpose, Slice,
// MaxPool, Concat or Mul of a sparse part, Add of two sparse values). A
// MatMul/Gemm/FusedGemm with a constant 2-D weight reading a sparse value gets
// kSparseInputAttr; a producer it reaches through views gets
// kEmitActiveSetAttr (otherwise the consumer finds the active rows itself).
void mark_sparsity(Graph *graph);

Status optimize_graph(Graph *graph, const SessionOptions &options);

}  // namespace si
