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

// An If with a constant condition becomes the nodes of the branch it takes.
// Returns whether any did.
bool inline_constant_if(Graph *graph);

// Folds the epilogue of a MatMul/Gemm with a constant 2-D weight into one
// FusedGemm (com.sparse_infer) that keeps the matmul's node name:
// MatMul -> [Add(constant row vector)] -> [Relu] and Gemm(transA=0, constant
// row-vector C, beta folded into it) -> Relu. Each absorbed intermediate must
// have exactly one reader and must not be a graph output.
Status fuse_matmul_epilogues(Graph *graph);

// Keeps quantized weights quantized (issue 13): DequantizeLinear of a constant
// 2-D int8/uint8 (per tensor, or per axis 0/1; scale and zero point
// constant) whose only reader is a MatMul's B or a Gemm's B (transA 0, C
// absent or a constant of 1 or N values) becomes one QuantMatMul
// (com.sparse_infer, the matmul's name) holding the codes; a following
// Add of a constant [N] bias (MatMul) and a Relu are absorbed. A MatMulNBits
// followed by such an Add (when it has no bias) and/or a Relu becomes a
// QuantMatMul with source "MatMulNBits" and the same inputs. Must
// run before fold_constants. Same single-reader rule as the epilogues.
Status fuse_qdq_matmul(Graph *graph);

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

// Turns each Conv with constant weights (and bias) into a FusedConv
// (com.sparse_infer, the Conv's name and attributes) that also absorbs
// Conv -> [Add(a tensor of the same declared shape)] -> [Relu | Clip with
// constant bounds]: the addend becomes input 3, the activation the
// "activation" attribute ("", "Relu", "Clip" with clip_min/clip_max). Same
// single-reader rule as the matmul epilogues.
Status fuse_conv_epilogues(Graph *graph);

// Sets kSrcBlockAttr/kDstBlockAttr on every FusedConv, MaxPool and
// GlobalAveragePool: an edge
// is blocked (channels in blocks of `block`) when its declared float32 shape
// has rank 3-5 and channels divisible by `block`, its producer and every
// reader read blocked tensors (FusedConv's X and addend, a MaxPool without
// Indices; GlobalAveragePool reads them only), it is not a graph output, and the pairs that share a
// layout (a pool's input and output, a sum's addend and output) agree.
void assign_conv_layouts(Graph *graph, int block);

// Links sparsity producers to consumer matmuls, reading only each op's zero
// rule in the registry (engine/ops/registry.h; sparsity_rules.h reads them).
// A value is sparse when a producer makes it (its condition holding) or an op
// that keeps exact zeros carries them from its data inputs. A consumer with a
// constant 2-D float32 weight (no transA) reading a sparse value gets
// kSparseInputAttr; a producer it reaches through views gets
// kEmitActiveSetAttr (otherwise the consumer finds the active rows itself).
void mark_sparsity(Graph *graph);

Status optimize_graph(Graph *graph, const SessionOptions &options);

}  // namespace si
