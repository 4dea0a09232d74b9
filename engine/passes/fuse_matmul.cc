// MatMul/Gemm epilogues folded into one FusedGemm node, so bias and ReLU run
// inside the oneDNN primitive instead of as two more passes over the output.
#include <algorithm>
#include <string>
#include <vector>

#include "engine/passes/match.h"
#include "engine/passes/passes.h"

namespace si {

namespace {

struct Readers {
  std::vector<int> count;       // per value: input slots reading it
  std::vector<int> reader;      // per value: the last node index reading it
  std::vector<bool> is_output;  // per value: a graph output
};

Readers find_readers(const Graph &g) {
  Readers r;
  r.count.assign(g.values.size(), 0);
  r.reader.assign(g.values.size(), -1);
  r.is_output.assign(g.values.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (int v : g.nodes[i].inputs)
      if (v >= 0) {
        ++r.count[size_t(v)];
        r.reader[size_t(v)] = int(i);
      }
  for (int v : g.outputs) r.is_output[size_t(v)] = true;
  return r;
}

// The node that alone reads `v` (which no caller sees), or -1.
int sole_reader(const Readers &r, int v) {
  if (v < 0 || r.is_output[size_t(v)] || r.count[size_t(v)] != 1) return -1;
  return r.reader[size_t(v)];
}

using match::declared_rank;
using match::f32_constant;
using match::is_onnx;

// A constant that adds the same length-n vector to every row of an output of
// rank `out_rank` (-1: unknown) without changing its shape: all dims 1 except
// the last, which is n or 1, and no more dims than the output.
bool row_vector_bias(const Tensor &b, int64_t n, int64_t out_rank) {
  if (b.rank() > 1 && (out_rank < 0 || b.rank() > out_rank)) return false;
  for (int64_t i = 0; i + 1 < b.rank(); ++i)
    if (b.dim(i) != 1) return false;
  const int64_t last = b.rank() == 0 ? 1 : b.shape().back();
  return last == n || last == 1;
}

// A new [n] constant holding scale * b broadcast along the row.
Status add_bias_constant(Graph *g, const std::string &name, const Tensor &b, int64_t n, float scale,
                         int *id) {
  Tensor t;
  SI_RETURN_IF_ERROR(Tensor::allocate(DType::kFloat32, Shape{n}, &t));
  const bool splat = b.numel() == 1;
  for (int64_t j = 0; j < n; ++j) t.data<float>()[j] = scale * b.data<float>()[splat ? 0 : j];
  *id = match::add_constant(g, name, std::move(t));
  return Status::ok();
}

}  // namespace

Status fuse_matmul_epilogues(Graph *graph) {
  Graph &g = *graph;
  const Readers readers = find_readers(g);
  std::vector<bool> drop(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (drop[i]) continue;
    const Node &mm = g.nodes[i];
    const bool is_matmul = is_onnx(mm, "MatMul");
    const bool is_gemm = is_onnx(mm, "Gemm");
    if (!is_matmul && !is_gemm) continue;
    if (mm.inputs.size() < 2 || mm.inputs[0] < 0 || mm.outputs.size() != 1) continue;
    const Tensor *w = f32_constant(g, mm.inputs[1]);
    if (w == nullptr || w->rank() != 2) continue;
    const bool trans_b = is_gemm && mm.attr_int("transB", 0) != 0;
    const int64_t n = w->dim(trans_b ? 0 : 1);
    float alpha = 1.f;
    const Tensor *bias = nullptr;
    float bias_scale = 1.f;
    int bias_id = -1;
    if (is_gemm) {
      // Gemm's A must be 2-D and untransposed for FusedGemm's [..., K] view.
      if (mm.attr_int("transA", 0) != 0) continue;
      if (mm.opset <= 6 && mm.attr_int("broadcast", 0) == 0) continue;
      alpha = mm.attr_float("alpha", 1.f);
      if (mm.inputs.size() > 2 && mm.inputs[2] >= 0) {
        bias = f32_constant(g, mm.inputs[2]);
        if (bias == nullptr || !row_vector_bias(*bias, n, 2)) continue;
        bias_id = mm.inputs[2];
        bias_scale = mm.attr_float("beta", 1.f);
      }
    }
    // Walk the epilogue: [Add(const row vector)] (MatMul only), then [Relu].
    std::vector<size_t> absorbed;
    int out = mm.outputs[0];
    if (is_matmul) {
      const int r = sole_reader(readers, out);
      const int64_t a_rank = declared_rank(g, mm.inputs[0]);
      const int64_t out_rank = a_rank < 0 ? -1 : std::max<int64_t>(a_rank, 1);
      if (r >= 0 && is_onnx(g.nodes[size_t(r)], "Add") && g.nodes[size_t(r)].opset >= 7 &&
          g.nodes[size_t(r)].inputs.size() == 2 && g.nodes[size_t(r)].outputs.size() == 1) {
        const Node &add = g.nodes[size_t(r)];
        const int other = add.inputs[0] == out ? add.inputs[1] : add.inputs[0];
        const Tensor *b = f32_constant(g, other);
        if (b != nullptr && row_vector_bias(*b, n, out_rank)) {
          bias = b;
          bias_id = other;
          absorbed.push_back(size_t(r));
          out = add.outputs[0];
        }
      }
    }
    const int r = sole_reader(readers, out);
    bool relu = false;
    if (r >= 0 && is_onnx(g.nodes[size_t(r)], "Relu") && g.nodes[size_t(r)].outputs.size() == 1) {
      relu = true;
      absorbed.push_back(size_t(r));
      out = g.nodes[size_t(r)].outputs[0];
    }
    // A Gemm alone already packs its bias; fusing only pays with an epilogue.
    if (absorbed.empty() || (is_gemm && !relu)) continue;

    if (bias != nullptr && (bias->rank() != 1 || bias->dim(0) != n || bias_scale != 1.f)) {
      SI_RETURN_IF_ERROR(
          add_bias_constant(&g, mm.name + "_fused_bias", *bias, n, bias_scale, &bias_id));
    }
    Node fused;
    fused.op_type = "FusedGemm";
    fused.name = mm.name;
    fused.domain = kEngineDomain;
    fused.opset = 1;
    fused.inputs = {mm.inputs[0], mm.inputs[1]};
    if (bias_id >= 0) fused.inputs.push_back(bias_id);
    fused.outputs = {out};
    fused.attrs["transB"] = attr_int(trans_b ? 1 : 0);
    fused.attrs["alpha"] = attr_float(alpha);
    fused.attrs["activation"] = attr_string(relu ? "Relu" : "");
    match::add_origins(mm, &fused);
    for (size_t a : absorbed) match::add_origins(g.nodes[a], &fused);
    g.nodes[i] = std::move(fused);
    for (size_t a : absorbed) drop[a] = true;
  }
  match::remove_dropped(&g, drop);
  return Status::ok();
}

}  // namespace si
