// An inference BatchNormalization folded into the Conv, Gemm or MatMul that
// feeds it, so the model pays for one op instead of an extra pass over the
// activations. With a = gamma / sqrt(var + eps) per output channel:
//   W' = W * a,  b' = (b - mean) * a + beta.
#include <cmath>
#include <string>
#include <vector>

#include "engine/passes/match.h"
#include "engine/passes/passes.h"

namespace si {

namespace {

using match::f32_constant;
using match::is_onnx;

// Per-channel scale a and shift (-mean * a + beta) of an inference BN whose
// four parameters are constant [C] vectors; false if it is not one.
bool bn_affine(const Graph &g, const Node &bn, std::vector<float> *a, std::vector<float> *mean,
               std::vector<float> *beta) {
  if (bn.inputs.size() != 5 || bn.outputs.empty() || bn.outputs[0] < 0) return false;
  for (size_t i = 1; i < bn.outputs.size(); ++i)
    if (bn.outputs[i] >= 0) return false;
  if (bn.opset >= 14 && bn.attr_int("training_mode", 0) != 0) return false;
  if (bn.opset < 9 && bn.attr_int("spatial", 1) == 0) return false;
  const Tensor *p[4];
  for (size_t i = 0; i < 4; ++i) {
    p[i] = f32_constant(g, bn.inputs[i + 1]);
    if (p[i] == nullptr || p[i]->rank() != 1 || p[i]->dim(0) != p[0]->dim(0)) return false;
  }
  const float eps = bn.attr_float("epsilon", 1e-5f);
  const int64_t c = p[0]->dim(0);
  a->resize(size_t(c));
  mean->assign(p[2]->data<float>(), p[2]->data<float>() + c);
  beta->assign(p[1]->data<float>(), p[1]->data<float>() + c);
  for (int64_t i = 0; i < c; ++i)
    (*a)[size_t(i)] = p[0]->data<float>()[i] / std::sqrt(p[3]->data<float>()[i] + eps);
  return true;
}

// W scaled per output channel. Output channels are W's dim 0 (Conv, Gemm
// with transB) or its last dim (Gemm/MatMul [K, N]).
Status scaled_weights(const Tensor &w, bool channel_last, const std::vector<float> &a,
                      Tensor *out) {
  SI_RETURN_IF_ERROR(Tensor::allocate(DType::kFloat32, w.shape(), out));
  const int64_t c = int64_t(a.size());
  const int64_t inner = channel_last ? 1 : w.numel() / c;
  for (int64_t i = 0; i < w.numel(); ++i) {
    const int64_t ch = channel_last ? i % c : i / inner;
    out->data<float>()[i] = w.data<float>()[i] * a[size_t(ch)];
  }
  return Status::ok();
}

// The producer's bias as [C] values (scale * b), zeros if absent; false if
// it is not a constant that broadcasts along the channel alone.
bool bias_values(const Graph &g, const Node &n, size_t slot, float scale, int64_t c,
                 std::vector<float> *b) {
  b->assign(size_t(c), 0.f);
  if (n.inputs.size() <= slot || n.inputs[slot] < 0) return true;
  const Tensor *t = f32_constant(g, n.inputs[slot]);
  if (t == nullptr || t->rank() > 2 || (t->rank() == 2 && t->dim(0) != 1)) return false;
  if (t->numel() != 1 && t->numel() != c) return false;
  for (int64_t i = 0; i < c; ++i)
    (*b)[size_t(i)] = scale * t->data<float>()[t->numel() == 1 ? 0 : i];
  return true;
}

}  // namespace

Status fold_batchnorm(Graph *graph) {
  Graph &g = *graph;
  std::vector<int> readers(g.values.size(), 0), producer(g.values.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (int v : g.nodes[i].inputs)
      if (v >= 0) ++readers[size_t(v)];
    for (int v : g.nodes[i].outputs)
      if (v >= 0) producer[size_t(v)] = int(i);
  }
  for (int v : g.outputs) ++readers[size_t(v)];  // a graph output must stay as it is
  std::vector<bool> drop(g.nodes.size(), false);
  for (size_t bi = 0; bi < g.nodes.size(); ++bi) {
    const Node &bn = g.nodes[bi];
    if (!is_onnx(bn, "BatchNormalization") || bn.inputs.empty() || bn.inputs[0] < 0) continue;
    const int x = bn.inputs[0];
    const int pi = producer[size_t(x)];
    if (pi < 0 || readers[size_t(x)] != 1 || drop[size_t(pi)]) continue;
    Node &p = g.nodes[size_t(pi)];
    if (p.outputs.size() != 1 || p.inputs.size() < 2) continue;
    std::vector<float> a, mean, beta;
    if (!bn_affine(g, bn, &a, &mean, &beta)) continue;
    const int64_t c = int64_t(a.size());
    const Tensor *w = f32_constant(g, p.inputs[1]);
    if (w == nullptr) continue;

    bool channel_last = false;
    float bias_scale = 1.f;
    if (is_onnx(p, "Conv")) {
      if (w->rank() < 3 || w->dim(0) != c) continue;
    } else if (is_onnx(p, "Gemm")) {
      if (p.opset <= 6 || w->rank() != 2) continue;
      channel_last = p.attr_int("transB", 0) == 0;
      if (w->dim(channel_last ? 1 : 0) != c) continue;
      bias_scale = p.attr_float("beta", 1.f);
    } else if (is_onnx(p, "MatMul")) {
      // Becomes a Gemm, which needs A to be a matrix.
      const ValueInfo &ai = g.values[size_t(p.inputs[0])];
      if (p.opset < 7 || w->rank() != 2 || w->dim(1) != c || !ai.has_shape || ai.dims.size() != 2)
        continue;
      channel_last = true;
    } else {
      continue;
    }
    const size_t bias_slot = 2;
    std::vector<float> b;
    if (!bias_values(g, p, bias_slot, bias_scale, c, &b)) continue;

    Tensor w2, b2;
    SI_RETURN_IF_ERROR(scaled_weights(*w, channel_last, a, &w2));
    SI_RETURN_IF_ERROR(Tensor::allocate(DType::kFloat32, Shape{c}, &b2));
    for (int64_t i = 0; i < c; ++i) {
      const size_t k = size_t(i);
      b2.data<float>()[i] = (b[k] - mean[k]) * a[k] + beta[k];
    }
    const int w_id = match::add_constant(&g, p.name + "_bn_weight", std::move(w2));
    const int b_id = match::add_constant(&g, p.name + "_bn_bias", std::move(b2));
    // The replaced constants go when nothing else reads them: weights are
    // stored once.
    std::vector<int> released = {p.inputs[1], bn.inputs[1], bn.inputs[2], bn.inputs[3],
                                 bn.inputs[4]};
    if (p.inputs.size() > bias_slot && p.inputs[bias_slot] >= 0)
      released.push_back(p.inputs[bias_slot]);
    for (int v : released)
      if (--readers[size_t(v)] == 0) g.constants.erase(v);
    if (p.origins.empty()) p.origins = p.imported_nodes();
    match::add_origins(bn, &p);
    if (is_onnx(p, "MatMul")) {
      p.op_type = "Gemm";
      p.attrs.clear();
    }
    if (is_onnx(p, "Gemm")) p.attrs.erase("beta");  // folded into the new bias
    p.inputs.resize(3);
    p.inputs[1] = w_id;
    p.inputs[2] = b_id;
    p.outputs[0] = bn.outputs[0];
    drop[bi] = true;
  }
  match::remove_dropped(&g, drop);
  return Status::ok();
}

}  // namespace si
