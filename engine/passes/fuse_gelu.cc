// Decomposed GELU -> one Gelu (com.sparse_infer): five to nine elementwise
// passes, each writing a full-size intermediate, become one.
#include <algorithm>
#include <string>
#include <vector>

#include "engine/passes/match.h"
#include "engine/passes/passes.h"

namespace si {

namespace {

using match::is_op;
using match::Uses;

constexpr double kSqrt2 = 1.41421356237309505;
constexpr double kSqrtHalf = 0.70710678118654752;
constexpr double kSqrt2OverPi = 0.79788456080286536;
constexpr double kCubeCoeff = 0.044715;

struct Match {
  int x = -1;
  int out = -1;
  std::vector<int> nodes;
};

// Node `node` is Mul(a, c) or Mul(c, a) with c a scalar near `target`:
// returns a, else -1.
int mul_by(const Graph &g, int node, double target, int shape_of) {
  if (!is_op(g, node, "Mul", 2)) return -1;
  const Node &n = g.nodes[size_t(node)];
  for (int k = 0; k < 2; ++k) {
    const int a = n.inputs[size_t(k)], c = n.inputs[size_t(1 - k)];
    if (!g.is_constant(a) && match::scalar_near(g, c, shape_of < 0 ? a : shape_of, target))
      return a;
  }
  return -1;
}

// `v`'s only reader is Add(v, 1) in either order: returns its output.
int plus_one(const Graph &g, const Uses &u, int v, int x, Match *m) {
  const int add = u.sole_reader(v);
  if (!is_op(g, add, "Add", 2)) return -1;
  if (!match::scalar_near(g, match::other_operand(g.nodes[size_t(add)], v), x, 1.0)) return -1;
  m->nodes.push_back(add);
  return g.nodes[size_t(add)].outputs[0];
}

// 0.5 * x * p in any association: (x * p) * 0.5, (p * 0.5) * x, (x * 0.5) * p.
bool half_x_times(const Graph &g, const Uses &u, int p, Match *m) {
  const int x = m->x;
  const int m1 = u.sole_reader(p);
  if (!is_op(g, m1, "Mul", 2)) return false;
  const int o = match::other_operand(g.nodes[size_t(m1)], p);
  const int q = g.nodes[size_t(m1)].outputs[0];
  m->nodes.push_back(m1);
  if (o == x || match::scalar_near(g, o, x, 0.5)) {
    const int m2 = u.sole_reader(q);
    if (!is_op(g, m2, "Mul", 2)) return false;
    const int o2 = match::other_operand(g.nodes[size_t(m2)], q);
    if (o == x ? !match::scalar_near(g, o2, x, 0.5) : o2 != x) return false;
    m->nodes.push_back(m2);
    m->out = g.nodes[size_t(m2)].outputs[0];
    return true;
  }
  const int h = o >= 0 ? u.producer[size_t(o)] : -1;
  if (h < 0 || u.sole_reader(o) != m1 || mul_by(g, h, 0.5, x) != x) return false;
  m->nodes.push_back(h);
  m->out = q;
  return true;
}

// Erf(x / sqrt 2) or Erf(x * (1 / sqrt 2)), then the common tail.
bool match_erf(const Graph &g, const Uses &u, int erf, Match *m) {
  const int a = g.nodes[size_t(erf)].inputs[0];
  const int pa = a >= 0 ? u.producer[size_t(a)] : -1;
  if (pa < 0 || u.sole_reader(a) != erf) return false;
  const Node &pn = g.nodes[size_t(pa)];
  if (is_op(g, pa, "Div", 2) && !g.is_constant(pn.inputs[0]) &&
      match::scalar_near(g, pn.inputs[1], pn.inputs[0], kSqrt2)) {
    m->x = pn.inputs[0];
  } else {
    m->x = mul_by(g, pa, kSqrtHalf, -1);
    if (m->x < 0) return false;
  }
  m->nodes = {pa, erf};
  const int p = plus_one(g, u, g.nodes[size_t(erf)].outputs[0], m->x, m);
  return p >= 0 && half_x_times(g, u, p, m);
}

// x^3 as Pow(x, 3) or x * (x * x) in either order; the cube must feed only
// its Mul by 0.044715.
bool is_cube_of(const Graph &g, const Uses &u, int c, int x, Match *m) {
  const int pc = c >= 0 ? u.producer[size_t(c)] : -1;
  if (pc < 0 || u.sole_reader(c) < 0) return false;
  const Node &n = g.nodes[size_t(pc)];
  double e = 0;
  if (is_op(g, pc, "Pow", 2) && n.inputs[0] == x && match::scalar_number(g, n.inputs[1], &e) &&
      match::near(e, 3.0)) {
    m->nodes.push_back(pc);
    return true;
  }
  if (!is_op(g, pc, "Mul", 2)) return false;
  const int sq = match::other_operand(n, x);
  const int ps = sq >= 0 ? u.producer[size_t(sq)] : -1;
  if (ps < 0 || u.sole_reader(sq) != pc || !is_op(g, ps, "Mul", 2)) return false;
  const Node &s = g.nodes[size_t(ps)];
  if (s.inputs[0] != x || s.inputs[1] != x) return false;
  m->nodes.push_back(pc);
  m->nodes.push_back(ps);
  return true;
}

// Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)), then the common tail.
bool match_tanh(const Graph &g, const Uses &u, int tanh, Match *m) {
  const int arg = g.nodes[size_t(tanh)].inputs[0];
  const int pu = arg >= 0 ? u.producer[size_t(arg)] : -1;
  if (pu < 0 || u.sole_reader(arg) != tanh) return false;
  const int inner = mul_by(g, pu, kSqrt2OverPi, -1);
  const int ps = inner >= 0 ? u.producer[size_t(inner)] : -1;
  if (ps < 0 || u.sole_reader(inner) != pu || !is_op(g, ps, "Add", 2)) return false;
  const Node &sum = g.nodes[size_t(ps)];
  for (int k = 0; k < 2; ++k) {
    const int x = sum.inputs[size_t(k)], t = sum.inputs[size_t(1 - k)];
    const int pt = t >= 0 ? u.producer[size_t(t)] : -1;
    if (pt < 0 || u.sole_reader(t) != ps) continue;
    Match trial;
    trial.x = x;
    trial.nodes = {tanh, pu, ps, pt};
    const int cube = mul_by(g, pt, kCubeCoeff, x);
    if (cube < 0 || !is_cube_of(g, u, cube, x, &trial) || u.sole_reader(cube) != pt) continue;
    const int p = plus_one(g, u, g.nodes[size_t(tanh)].outputs[0], x, &trial);
    if (p >= 0 && half_x_times(g, u, p, &trial)) {
      *m = trial;
      return true;
    }
  }
  return false;
}

}  // namespace

Status fuse_gelu(Graph *graph) {
  Graph &g = *graph;
  const Uses uses(g);
  std::vector<bool> drop(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (drop[i]) continue;
    const bool erf = is_op(g, int(i), "Erf", 1), tanh = is_op(g, int(i), "Tanh", 1);
    if (!erf && !tanh) continue;
    Match m;
    if (!(erf ? match_erf(g, uses, int(i), &m) : match_tanh(g, uses, int(i), &m))) continue;
    if (std::any_of(m.nodes.begin(), m.nodes.end(), [&](int n) { return drop[size_t(n)]; }))
      continue;
    Node gelu;
    gelu.op_type = "Gelu";
    gelu.name = g.nodes[i].name;
    gelu.domain = kEngineDomain;
    gelu.opset = 1;
    gelu.inputs = {m.x};
    gelu.outputs = {m.out};
    gelu.attrs["approximate"] = attr_string(erf ? "none" : "tanh");
    match::replace_match(&g, uses, m.nodes, m.out, std::move(gelu), &drop);
  }
  match::remove_dropped(&g, drop);
  return Status::ok();
}

}  // namespace si
