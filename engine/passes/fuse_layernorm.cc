// Decomposed layer norm -> one LayerNormalization: nine elementwise and
// reduction passes over the activations become one two-pass kernel that keeps
// its statistics in double.
#include <algorithm>
#include <string>
#include <vector>

#include "engine/passes/match.h"
#include "engine/passes/passes.h"

namespace si {

namespace {

using match::is_op;
using match::Uses;

// ReduceMean over the last axis only, keepdims, axes as an attribute (the
// opset-18 axes input is not matched).
bool last_axis_mean(const Graph &g, int node, int x) {
  if (!is_op(g, node, "ReduceMean", 1)) return false;
  const Node &n = g.nodes[size_t(node)];
  if (n.attr_int("keepdims", 1) != 1) return false;
  const std::vector<int64_t> axes = n.attr_ints("axes");
  if (axes.size() != 1) return false;
  const int64_t rank = match::declared_rank(g, x);
  return axes[0] == -1 || (rank > 0 && axes[0] == rank - 1);
}

// gamma or beta: a float32 constant that varies at most along the last axis
// and cannot widen x's shape. Its last dim must be 1 or x's (known) last dim.
bool row_constant(const Graph &g, int v, int x) {
  const Tensor *t = g.constant(v);
  if (t == nullptr || t->dtype() != DType::kFloat32) return false;
  const int64_t rank = match::declared_rank(g, x);
  if (t->rank() > std::max<int64_t>(rank, 1)) return false;
  for (int64_t i = 0; i + 1 < t->rank(); ++i)
    if (t->dim(i) != 1) return false;
  const int64_t last = t->rank() == 0 ? 1 : t->shape().back();
  return last == 1 || last == match::declared_last_dim(g, x);
}

// A [n] float32 constant: a copy of `src` (whose numel is n) or `fill`.
int add_vector_constant(Graph *g, const std::string &name, int64_t n, const Tensor *src,
                        float fill) {
  Tensor t;
  if (!Tensor::allocate(DType::kFloat32, Shape{n}, &t).is_ok()) return -1;
  for (int64_t j = 0; j < n; ++j) t.data<float>()[j] = src ? src->data<float>()[j] : fill;
  return match::add_constant(g, name, std::move(t));
}

struct Match {
  int x = -1;
  int gamma = -1, beta = -1;  // constants, -1 when absent
  float eps = 0;
  int out = -1;
  std::vector<int> nodes;  // absorbed, first is the leading ReduceMean
};

bool match_at(const Graph &g, const Uses &u, int mean_node, Match *m) {
  const Node &r1 = g.nodes[size_t(mean_node)];
  if (r1.inputs.size() != 1 || r1.inputs[0] < 0) return false;
  const int x = r1.inputs[0];
  if (!last_axis_mean(g, mean_node, x)) return false;
  m->x = x;
  m->nodes = {mean_node};

  const int sub = u.sole_reader(r1.outputs[0]);
  if (!is_op(g, sub, "Sub", 2)) return false;
  const Node &sub_n = g.nodes[size_t(sub)];
  if (sub_n.inputs[0] != x || sub_n.inputs[1] != r1.outputs[0]) return false;
  m->nodes.push_back(sub);
  const int d = sub_n.outputs[0];
  if (u.is_output[size_t(d)]) return false;

  // d feeds the square and the normalising Div/Mul, nothing else.
  int square = -1, norm = -1;
  for (int r : u.reader[size_t(d)]) {
    const Node &n = g.nodes[size_t(r)];
    double e = 0;
    const bool squares = (is_op(g, r, "Mul", 2) && n.inputs[0] == d && n.inputs[1] == d) ||
                         (is_op(g, r, "Pow", 2) && n.inputs[0] == d &&
                          match::scalar_number(g, n.inputs[1], &e) && e == 2.0);
    if (squares && (square < 0 || square == r)) {
      square = r;
    } else if (!squares && (norm < 0 || norm == r)) {
      norm = r;
    } else {
      return false;
    }
  }
  if (square < 0 || norm < 0) return false;
  m->nodes.push_back(square);

  const int r2 = u.sole_reader(g.nodes[size_t(square)].outputs[0]);
  if (!last_axis_mean(g, r2, x)) return false;
  m->nodes.push_back(r2);

  const int add = u.sole_reader(g.nodes[size_t(r2)].outputs[0]);
  if (!is_op(g, add, "Add", 2)) return false;
  double eps = 0;
  const int eps_v = match::other_operand(g.nodes[size_t(add)], g.nodes[size_t(r2)].outputs[0]);
  // LayerNormalization rejects a negative or NaN epsilon; such a model keeps its ops.
  if (!match::scalar_f32(g, eps_v, x, &eps) || !(eps >= 0.0) || !std::isfinite(eps)) return false;
  m->eps = float(eps);
  m->nodes.push_back(add);

  const int sqrt_n = u.sole_reader(g.nodes[size_t(add)].outputs[0]);
  if (!is_op(g, sqrt_n, "Sqrt", 1)) return false;
  m->nodes.push_back(sqrt_n);
  const int std_v = g.nodes[size_t(sqrt_n)].outputs[0];

  const Node &norm_n = g.nodes[size_t(norm)];
  if (is_op(g, norm, "Div", 2)) {
    if (norm_n.inputs[0] != d || norm_n.inputs[1] != std_v || u.sole_reader(std_v) != norm)
      return false;
  } else {
    const int recip = u.sole_reader(std_v);
    if (!is_op(g, recip, "Reciprocal", 1) || !is_op(g, norm, "Mul", 2)) return false;
    const int inv = g.nodes[size_t(recip)].outputs[0];
    if (match::other_operand(norm_n, d) != inv || u.sole_reader(inv) != norm) return false;
    m->nodes.push_back(recip);
  }
  m->nodes.push_back(norm);
  int out = norm_n.outputs[0];

  const int mul = u.sole_reader(out);
  if (is_op(g, mul, "Mul", 2)) {
    const int gamma = match::other_operand(g.nodes[size_t(mul)], out);
    if (gamma != out && row_constant(g, gamma, x)) {
      m->gamma = gamma;
      m->nodes.push_back(mul);
      out = g.nodes[size_t(mul)].outputs[0];
    }
  }
  const int bias = u.sole_reader(out);
  if (is_op(g, bias, "Add", 2)) {
    const int beta = match::other_operand(g.nodes[size_t(bias)], out);
    if (beta != out && row_constant(g, beta, x)) {
      m->beta = beta;
      m->nodes.push_back(bias);
      out = g.nodes[size_t(bias)].outputs[0];
    }
  }
  m->out = out;
  return true;
}

// Scale/B as LayerNormalization wants them: rank 1 over the last axis.
Status as_vector(Graph *g, int v, const std::string &name, int64_t cols, float fill, int *id) {
  const Tensor *t = v >= 0 ? g->constant(v) : nullptr;
  if (t != nullptr && t->rank() == 1) {
    *id = v;
    return Status::ok();
  }
  const int64_t n = t != nullptr ? t->numel() : (cols > 0 ? cols : 1);
  *id = add_vector_constant(g, name, n, t, fill);
  if (*id < 0) return out_of_memory("cannot allocate " + name + " " + shape_str(Shape{n}));
  return Status::ok();
}

}  // namespace

Status fuse_layernorm(Graph *graph) {
  Graph &g = *graph;
  const Uses uses(g);
  std::vector<bool> drop(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (drop[i] || !is_op(g, int(i), "ReduceMean", 1)) continue;
    Match m;
    if (!match_at(g, uses, int(i), &m)) continue;
    if (std::any_of(m.nodes.begin(), m.nodes.end(), [&](int n) { return drop[size_t(n)]; }))
      continue;
    const std::string name = g.nodes[i].name;
    const int64_t cols = match::declared_last_dim(g, m.x);
    int scale = -1, bias = -1;
    SI_RETURN_IF_ERROR(as_vector(&g, m.gamma, name + "_scale", cols, 1.f, &scale));
    if (m.beta >= 0) SI_RETURN_IF_ERROR(as_vector(&g, m.beta, name + "_bias", cols, 0.f, &bias));

    Node ln;
    ln.op_type = "LayerNormalization";
    ln.name = name;
    ln.domain = kOnnxDomain;
    ln.opset = 17;
    ln.inputs = {m.x, scale};
    if (bias >= 0) ln.inputs.push_back(bias);
    ln.outputs = {m.out};
    ln.attrs["axis"] = attr_int(-1);
    ln.attrs["epsilon"] = attr_float(m.eps);
    match::replace_match(&g, uses, m.nodes, m.out, std::move(ln), &drop);
  }
  match::remove_dropped(&g, drop);
  return Status::ok();
}

}  // namespace si
