#include "engine/passes/passes.h"
#include "kernels/dense/dnnl_conv.h"

namespace si {

Status optimize_graph(Graph *graph, const SessionOptions &options) {
  remove_dead_nodes(graph);
  SI_RETURN_IF_ERROR(fold_batchnorm(graph));
  // Before folding, which would turn the DequantizeLinear into float32
  // weights.
  SI_RETURN_IF_ERROR(fuse_qdq_matmul(graph));
  SI_RETURN_IF_ERROR(fold_constants(graph, options));
  // Folding may make a condition constant; the branch's own nodes fold next.
  if (inline_constant_if(graph)) SI_RETURN_IF_ERROR(fold_constants(graph, options));
  SI_RETURN_IF_ERROR(fuse_layernorm(graph));
  SI_RETURN_IF_ERROR(fuse_gelu(graph));
  SI_RETURN_IF_ERROR(fuse_matmul_epilogues(graph));
  SI_RETURN_IF_ERROR(fuse_conv_epilogues(graph));
  remove_dead_nodes(graph);
  assign_conv_layouts(graph, dnnl_channel_block());
  return Status::ok();
}

}  // namespace si
