// Weight-only quantized matmuls kept quantized (issue 13): the pattern
// DequantizeLinear(constant int8/uint8) -> MatMul/Gemm becomes one
// QuantMatMul holding the codes, so fold_constants never widens them to
// float32; and the epilogues (bias Add, Relu) ride along as FusedGemm's do.
// The plain DequantizeLinear op (a separate registry entry) serves every
// other use of DequantizeLinear.
#include <string>
#include <vector>

#include "engine/passes/match.h"
#include "engine/passes/passes.h"

namespace si {

namespace {

using match::Uses;

bool is_int8(const Tensor *t) {
  return t != nullptr && (t->dtype() == DType::kInt8 || t->dtype() == DType::kUint8);
}

// The DequantizeLinear axis of a weight-only quantized 2-D constant (-1 per
// tensor), or -2 when `dq` is not one the quant kernels take.
int64_t qdq_axis(const Graph &g, const Node &dq) {
  if (!match::is_onnx(dq, "DequantizeLinear") || dq.opset < 10 || dq.inputs.size() < 2 ||
      dq.inputs.size() > 3 || dq.outputs.size() != 1)
    return -2;
  if (dq.attr_int("block_size", 0) != 0) return -2;  // opset 21 blocked form
  const Tensor *q = g.constant(dq.inputs[0]);
  const Tensor *scale = match::f32_constant(g, dq.inputs[1]);
  if (!is_int8(q) || q->rank() != 2 || scale == nullptr) return -2;
  const Tensor *zp =
      dq.inputs.size() == 3 && dq.inputs[2] >= 0 ? g.constant(dq.inputs[2]) : nullptr;
  if (dq.inputs.size() == 3 && dq.inputs[2] >= 0 &&
      (zp == nullptr || zp->dtype() != q->dtype() || zp->numel() != scale->numel()))
    return -2;
  if (scale->numel() == 1 && scale->rank() <= 1) return -1;
  if (dq.opset < 13 || scale->rank() != 1) return -2;  // per axis came with opset 13
  int64_t axis = dq.attr_int("axis", 1);
  if (axis < 0) axis += 2;
  if (axis < 0 || axis > 1 || scale->numel() != q->dim(axis)) return -2;
  return axis;
}

// Gemm's C as a bias: absent, or a constant of 1 or N values along a row.
bool row_bias(const Graph &g, const Node &gemm, int64_t n) {
  if (gemm.inputs.size() < 3 || gemm.inputs[2] < 0) return true;
  const Tensor *c = match::f32_constant(g, gemm.inputs[2]);
  if (c == nullptr || c->rank() > 2) return false;
  if (c->rank() == 2 && c->dim(0) != 1) return false;
  return c->numel() == 1 || c->numel() == n;
}

Attribute str(const std::string &s) {
  return attr_string(s);
}

// Absorbs what follows `*out` into `q`: an Add of a constant [N] (either
// side) into input `bias_slot` when that is > 0 and still empty; then a Relu.
// Appends the absorbed nodes to `nodes`.
void absorb_epilogue(const Graph &g, const Uses &uses, size_t bias_slot, int64_t n, Node *q,
                     std::vector<int> *nodes, int *out) {
  int next = uses.sole_reader(*out);
  const bool bias_free =
      bias_slot > 0 && (q->inputs.size() <= bias_slot || q->inputs[bias_slot] < 0);
  if (bias_free && match::is_op(g, next, "Add", 2)) {
    const Node &add = g.nodes[size_t(next)];
    const int other = add.inputs[0] == *out ? add.inputs[1] : add.inputs[0];
    const Tensor *b = match::f32_constant(g, other);
    if (other != *out && b != nullptr && b->rank() == 1 && b->numel() == n) {
      if (q->inputs.size() <= bias_slot) q->inputs.resize(bias_slot + 1, -1);
      q->inputs[bias_slot] = other;
      nodes->push_back(next);
      *out = add.outputs[0];
      next = uses.sole_reader(*out);
    }
  }
  if (match::is_op(g, next, "Relu", 1)) {
    q->attrs["activation"] = str("Relu");
    nodes->push_back(next);
    *out = g.nodes[size_t(next)].outputs[0];
  }
}

}  // namespace

Status fuse_qdq_matmul(Graph *graph) {
  Graph &g = *graph;
  const Uses uses(g);
  std::vector<bool> drop(g.nodes.size(), false);
  const size_t count = g.nodes.size();
  for (size_t i = 0; i < count; ++i) {
    if (drop[i]) continue;
    const Node &mm = g.nodes[i];
    const bool is_matmul = match::is_op(g, int(i), "MatMul", 2);
    const bool is_gemm = match::is_onnx(mm, "Gemm") && mm.inputs.size() >= 2 &&
                         mm.inputs.size() <= 3 && mm.outputs.size() == 1 &&
                         mm.attr_int("transA", 0) == 0 && mm.inputs[0] >= 0 && mm.inputs[1] >= 0;
    const bool is_nbits =
        mm.domain == "com.microsoft" && mm.op_type == "MatMulNBits" && mm.outputs.size() == 1;
    if (is_nbits) {
      Node q = mm;
      q.origins.clear();
      int out = mm.outputs[0];
      std::vector<int> nodes = {int(i)};
      absorb_epilogue(g, uses, 5, mm.attr_int("N", -1), &q, &nodes, &out);
      if (nodes.size() == 1) continue;  // nothing to absorb: MatMulNBits runs as it is
      q.domain = kEngineDomain;
      q.op_type = "QuantMatMul";
      q.opset = 1;
      q.attrs["source"] = str("MatMulNBits");
      q.outputs = {out};
      match::replace_match(&g, uses, nodes, out, q, &drop);
      continue;
    }
    if (!is_matmul && !is_gemm) continue;
    const int dq_node = uses.producer[size_t(mm.inputs[1])];
    if (dq_node < 0 || drop[size_t(dq_node)] || uses.sole_reader(mm.inputs[1]) != int(i)) continue;
    const Node &dq = g.nodes[size_t(dq_node)];
    const int64_t axis = qdq_axis(g, dq);
    if (axis < -1) continue;
    const Tensor *codes = g.constant(dq.inputs[0]);
    const bool trans_b = is_gemm && mm.attr_int("transB", 0) != 0;
    const int64_t k = codes->dim(trans_b ? 1 : 0), n = codes->dim(trans_b ? 0 : 1);
    // Gemm before opset 7 with broadcast 0 takes C as a whole [M, N].
    const bool legacy_c = mm.opset <= 6 && mm.attr_int("broadcast", 0) == 0;
    if (is_gemm && mm.inputs.size() == 3 && mm.inputs[2] >= 0 && legacy_c) continue;
    if (is_gemm && !row_bias(g, mm, n)) continue;
    Node q;
    q.domain = kEngineDomain;
    q.op_type = "QuantMatMul";
    q.name = mm.name;
    q.opset = 1;
    q.inputs = {mm.inputs[0], dq.inputs[0], dq.inputs[1],
                dq.inputs.size() == 3 ? dq.inputs[2] : -1};
    if (is_gemm && mm.inputs.size() == 3) q.inputs.push_back(mm.inputs[2]);
    q.attrs["source"] = str("DequantizeLinear");
    q.attrs["axis"] = attr_int(axis);
    q.attrs["transB"] = attr_int(trans_b ? 1 : 0);
    q.attrs["K"] = attr_int(k);
    q.attrs["N"] = attr_int(n);
    if (is_gemm) {
      q.attrs["gemm"] = attr_int(1);
      q.attrs["alpha"] = attr_float(mm.attr_float("alpha", 1.f));
      q.attrs["beta"] = attr_float(mm.attr_float("beta", 1.f));
    }
    int out = mm.outputs[0];
    std::vector<int> nodes = {dq_node, int(i)};
    absorb_epilogue(g, uses, is_matmul ? 4 : 0, n, &q, &nodes, &out);
    q.outputs = {out};
    match::replace_match(&g, uses, nodes, out, q, &drop);
  }
  match::remove_dropped(graph, drop);
  return Status::ok();
}

}  // namespace si
