// Convolution epilogues and activation layouts.
//
// fuse_conv_epilogues turns each Conv with constant weights into a FusedConv
// that also does what follows it: Conv -> [Add(same-shaped tensor)] ->
// [Relu | Clip(constant bounds)], the ResNet block end and MobileNet's ReLU6
// and projection + residual. oneDNN applies them as post-ops on values still
// in registers, saving a pass over the activations per absorbed op.
//
// assign_conv_layouts then decides, per edge, whether activations travel in
// the channel-blocked layout oneDNN's convolutions compute in: an edge is
// blocked when every op on it understands blocked tensors (FusedConv,
// MaxPool, and GlobalAveragePool as a reader), so a chain of convolutions and
// pools pays no reorder between its links; the first conv reads plain input
// and the last one writes plain for whoever comes next.
#include <cfloat>
#include <string>
#include <vector>

#include "engine/passes/match.h"
#include "engine/passes/passes.h"

namespace si {

namespace {

using match::f32_constant;
using match::is_onnx;

// Declared shapes equal dim by dim: known sizes equal, unknown ones the same
// named parameter. What lets an Add become a sum with no broadcast.
bool same_declared_shape(const Graph &g, int a, int b) {
  const ValueInfo &x = g.values[size_t(a)], &y = g.values[size_t(b)];
  if (!x.has_shape || !y.has_shape || x.dims.size() != y.dims.size()) return false;
  for (size_t i = 0; i < x.dims.size(); ++i) {
    const Dim &p = x.dims[i], &q = y.dims[i];
    if (p.size >= 0 ? p.size != q.size : (q.size >= 0 || p.param.empty() || p.param != q.param))
      return false;
  }
  return true;
}

// The bound in Clip's input `slot` (absent: `fallback`); false when it is
// given but is not a one-element float32 constant.
bool clip_bound(const Graph &g, const Node &clip, size_t slot, float fallback, float *out) {
  *out = fallback;
  if (clip.inputs.size() <= slot || clip.inputs[slot] < 0) return true;
  const Tensor *t = f32_constant(g, clip.inputs[slot]);
  if (t == nullptr || t->numel() != 1) return false;
  *out = t->data<float>()[0];
  return true;
}

bool clip_bounds(const Graph &g, const Node &clip, float *lo, float *hi) {
  if (clip.outputs.size() != 1 || clip.inputs.empty()) return false;
  if (clip.opset < 11) {
    *lo = clip.attr_float("min", -FLT_MAX);
    *hi = clip.attr_float("max", FLT_MAX);
  } else if (!clip_bound(g, clip, 1, -FLT_MAX, lo) || !clip_bound(g, clip, 2, FLT_MAX, hi)) {
    return false;
  }
  return *lo <= *hi;
}

bool is_fused_conv(const Node &n) {
  return n.domain == kEngineDomain && n.op_type == "FusedConv";
}

// MaxPool computing only its output: the one oneDNN runs and blocks.
bool is_plain_max_pool(const Node &n) {
  return is_onnx(n, "MaxPool") && n.inputs.size() == 1 && !n.outputs.empty() &&
         (n.outputs.size() == 1 || n.outputs[1] < 0);
}

bool understands_blocked(const Node &n, size_t slot) {
  if (is_fused_conv(n)) return slot == 0 || slot == 3;
  return (is_plain_max_pool(n) || is_onnx(n, "GlobalAveragePool")) && slot == 0;
}

}  // namespace

Status fuse_conv_epilogues(Graph *graph) {
  Graph &g = *graph;
  const match::Uses uses(g);
  std::vector<bool> drop(g.nodes.size(), false);
  // Nodes already absorbed: an Add of two Conv outputs goes to one of them.
  std::vector<bool> taken(g.nodes.size(), false);
  auto free_reader = [&](int v) {
    const int r = uses.sole_reader(v);
    return r >= 0 && !taken[size_t(r)] ? r : -1;
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node &conv = g.nodes[i];
    if (taken[i] || !is_onnx(conv, "Conv") || conv.inputs.size() < 2 || conv.inputs.size() > 3 ||
        conv.inputs[0] < 0 || conv.outputs.size() != 1 || conv.outputs[0] < 0)
      continue;
    const Tensor *w = f32_constant(g, conv.inputs[1]);
    if (w == nullptr || w->rank() < 3) continue;
    if (conv.inputs.size() == 3 && conv.inputs[2] >= 0 &&
        f32_constant(g, conv.inputs[2]) == nullptr)
      continue;
    std::vector<int> matched = {int(i)};
    int out = conv.outputs[0], addend = -1;
    int r = free_reader(out);
    if (r >= 0 && match::is_op(g, r, "Add", 2) && g.nodes[size_t(r)].opset >= 7) {
      const int other = match::other_operand(g.nodes[size_t(r)], out);
      if (other != out && same_declared_shape(g, other, out)) {
        addend = other;
        matched.push_back(r);
        out = g.nodes[size_t(r)].outputs[0];
        r = free_reader(out);
      }
    }
    std::string act;
    float lo = 0.f, hi = 0.f;
    if (r >= 0 && match::is_op(g, r, "Relu", 1)) {
      act = "Relu";
    } else if (r >= 0 && is_onnx(g.nodes[size_t(r)], "Clip") &&
               clip_bounds(g, g.nodes[size_t(r)], &lo, &hi)) {
      act = "Clip";
    }
    if (!act.empty()) {
      matched.push_back(r);
      out = g.nodes[size_t(r)].outputs[0];
    }
    for (int m : matched) taken[size_t(m)] = true;
    Node fused;
    fused.op_type = "FusedConv";
    fused.name = conv.name;
    fused.domain = kEngineDomain;
    fused.opset = 1;
    fused.inputs = {conv.inputs[0], conv.inputs[1], conv.inputs.size() > 2 ? conv.inputs[2] : -1};
    if (addend >= 0) fused.inputs.push_back(addend);
    fused.outputs = {out};
    fused.attrs = conv.attrs;
    fused.attrs["activation"] = attr_string(act);
    if (act == "Clip") {
      fused.attrs["clip_min"] = attr_float(lo);
      fused.attrs["clip_max"] = attr_float(hi);
    }
    // In the last matched node's slot: the addend may be computed after the Conv.
    match::replace_match(&g, uses, matched, out, std::move(fused), &drop);
  }
  match::remove_dropped(&g, drop);
  return Status::ok();
}

void assign_conv_layouts(Graph *graph, int block) {
  Graph &g = *graph;
  const match::Uses uses(g);
  std::vector<bool> blocked(g.values.size(), false);
  for (size_t v = 0; v < g.values.size(); ++v) {
    const ValueInfo &info = g.values[v];
    const int p = uses.producer[v];
    if (p < 0 || uses.is_output[v] || uses.reader[v].empty() || info.dtype != DType::kFloat32 ||
        !info.has_shape || info.dims.size() < 3 || info.dims.size() > 5 || info.dims[1].size <= 0 ||
        info.dims[1].size % block != 0)
      continue;
    const Node &prod = g.nodes[size_t(p)];
    if (!(is_fused_conv(prod) || is_plain_max_pool(prod)) || prod.outputs[0] != int(v)) continue;
    bool ok = true;
    for (int r : uses.reader[v]) {
      const Node &n = g.nodes[size_t(r)];
      for (size_t s = 0; s < n.inputs.size(); ++s)
        if (n.inputs[s] == int(v)) ok = ok && understands_blocked(n, s);
    }
    blocked[v] = ok;
  }
  // A pool keeps its input's layout, and a sum's addend is read in place of
  // the output: both ends of such a pair take the same layout.
  for (bool changed = true; changed;) {
    changed = false;
    for (const Node &n : g.nodes) {
      int a = -1, b = n.outputs.empty() ? -1 : n.outputs[0];
      if (is_plain_max_pool(n)) a = n.inputs[0];
      if (is_fused_conv(n) && n.inputs.size() > 3) a = n.inputs[3];
      if (a < 0 || b < 0 || blocked[size_t(a)] == blocked[size_t(b)]) continue;
      blocked[size_t(a)] = blocked[size_t(b)] = false;
      changed = true;
    }
  }
  for (Node &n : g.nodes) {
    const bool conv = is_fused_conv(n);
    if (!conv && !is_plain_max_pool(n) && !is_onnx(n, "GlobalAveragePool")) continue;
    n.attrs[kSrcBlockAttr] = attr_int(n.inputs[0] >= 0 && blocked[size_t(n.inputs[0])] ? block : 0);
    if (conv) n.attrs[kDstBlockAttr] = attr_int(blocked[size_t(n.outputs[0])] ? block : 0);
  }
}

}  // namespace si
