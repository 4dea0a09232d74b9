// The sub-graph fusions for real models: decomposed LayerNorm and GELU. The
// Gelu kernel against double-precision formulas; each pass on the exact
// graphs PyTorch exports (and their commuted/associated variants): what it
// rewrites, what it must leave alone, and that the fused session computes
// what the unfused one does.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/passes/passes.h"
#include "engine/session.h"
#include "kernels/ref/gelu.h"
#include "tests/graph_builder.h"
#include "tests/op_runner.h"

namespace si {
namespace {

uint32_t test_seed() {
  const int flag = GTEST_FLAG_GET(random_seed);
  return flag != 0 ? uint32_t(flag) : 20240613u;
}

#define SI_TRACE_SEED() \
  SCOPED_TRACE("replay with --gtest_random_seed=" + std::to_string(test_seed()))

using test::op_types;
using test::random_tensor;

// ---------------------------------------------------------------- kernels

double gelu_exact(double x) {
  // erfc keeps the negative tail's relative precision that 1 + erf loses.
  return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
}

double gelu_tanh_exact(double x) {
  const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return 0.5 * x * (1.0 + std::tanh(u));
}

TEST(GeluKernel, RationalErfAndTanhWithinTheirBounds) {
  double worst_erf = 0, worst_tanh = 0;
  for (int i = -2000000; i <= 2000000; ++i) {
    const float x = float(i) * 6e-6f;  // [-12, 12]
    worst_erf = std::max(worst_erf, std::fabs(ref::erf_rational_f32(x) - std::erf(double(x))));
    worst_tanh = std::max(worst_tanh, std::fabs(ref::tanh_rational_f32(x) - std::tanh(double(x))));
  }
  for (float x : {0.f, -0.f, 1e-30f, -1e-38f, 1e30f, -1e30f, std::numeric_limits<float>::infinity(),
                  -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::max(),
                  std::numeric_limits<float>::denorm_min()}) {
    worst_erf = std::max(worst_erf, std::fabs(ref::erf_rational_f32(x) - std::erf(double(x))));
    worst_tanh = std::max(worst_tanh, std::fabs(ref::tanh_rational_f32(x) - std::tanh(double(x))));
  }
  EXPECT_LE(worst_erf, 5e-7);
  EXPECT_LE(worst_tanh, 4e-7);
  EXPECT_TRUE(std::isnan(ref::erf_rational_f32(std::nanf(""))));
  EXPECT_TRUE(std::isnan(ref::tanh_rational_f32(std::nanf(""))));
  // Odd functions, so a sign error anywhere in the fit shows here.
  EXPECT_EQ(ref::erf_rational_f32(-0.37f), -ref::erf_rational_f32(0.37f));
}

void expect_gelu_matches(const std::vector<float> &x, const std::vector<float> &y, bool tanh_form) {
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    if (std::isnan(v)) {
      EXPECT_TRUE(std::isnan(y[i])) << "at " << i;
      continue;
    }
    if (std::isinf(v)) {
      EXPECT_EQ(y[i], v > 0 ? v : 0.0) << "x " << v;
      continue;
    }
    const double want = tanh_form ? gelu_tanh_exact(v) : gelu_exact(v);
    ASSERT_NEAR(y[i], want, 1e-6 * (1.0 + std::fabs(v))) << "x " << v << " at " << i;
  }
}

TEST(GeluKernel, MatchesFormulaOnRandomSizesAndSpecialValues) {
  SI_TRACE_SEED();
  std::mt19937 rng(test_seed());
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t n :
       {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{33}, int64_t{4097}, int64_t{70001}}) {
    for (int tanh_form = 0; tanh_form < 2; ++tanh_form) {
      std::uniform_real_distribution<float> wide(-12.f, 12.f);
      std::vector<float> x(static_cast<size_t>(n));
      for (float &v : x) v = wide(rng);
      const std::vector<float> special = {0.f,   -0.f,  inf,   -inf,  std::nanf(""), 1e-40f,
                                          -5.7f, -5.6f, -5.2f, -5.1f, 3e38f,         -3e38f};
      for (size_t i = 0; i < special.size() && i < x.size(); ++i) x[i] = special[i];
      std::vector<float> y(size_t(n), 123.f);
      for (int threads : {1, 2}) {
        if (tanh_form) {
          ref::gelu_tanh_f32(x.data(), y.data(), n, threads);
        } else {
          ref::gelu_f32(x.data(), y.data(), n, threads);
        }
        SCOPED_TRACE("n " + std::to_string(n) + " tanh " + std::to_string(tanh_form) + " threads " +
                     std::to_string(threads));
        expect_gelu_matches(x, y, tanh_form != 0);
      }
    }
  }
}

TEST(GeluOp, RejectsBadAttributeAndDtype) {
  test::OpSpec spec;
  spec.op_type = "Gelu";
  spec.domain = kEngineDomain;
  spec.opset = 1;
  spec.inputs = {test::make_f32({2}, {1.f, -1.f})};
  spec.attrs["approximate"] = attr_string("erf");
  std::vector<Tensor> out;
  Status st = test::run_op(spec, &out);
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("approximate"), std::string::npos) << st.message();

  spec.attrs.clear();
  spec.inputs = {test::make_i64({2}, {1, -1})};
  st = test::run_op(spec, &out);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
  EXPECT_NE(st.message().find("int64"), std::string::npos) << st.message();

  spec.inputs = {test::make_f32({1, 3}, {-1.f, 0.f, 2.f})};
  spec.attrs["approximate"] = attr_string("tanh");
  st = test::run_op(spec, &out);
  ASSERT_TRUE(st.is_ok()) << st.message();
  ASSERT_EQ(out[0].shape(), (Shape{1, 3}));
  expect_gelu_matches({-1.f, 0.f, 2.f}, test::to_vector_f32(out[0]), true);
}

// ---------------------------------------------------------------- graphs

struct Builder : test::GraphBuilder {
  Builder() : GraphBuilder(test_seed()) {}

  Node &mean(const std::string &name, const std::string &in, const std::string &out,
             int64_t axis = -1) {
    Node &n = node("ReduceMean", name, {in}, {out});
    n.attrs["axes"] = attr_ints({axis});
    return n;
  }
};

// Runs the graph optimised and not and compares every output.
void expect_fused_equals_unfused(const Graph &g, const std::vector<Tensor> &feeds,
                                 const std::map<std::string, int> &fused_ops) {
  std::vector<Tensor> results[2];
  for (int optimize = 0; optimize < 2; ++optimize) {
    SessionOptions options;
    options.optimize = optimize == 1;
    options.threads = 1;
    std::unique_ptr<Session> s;
    Status st = Session::create(g, options, &s);
    ASSERT_TRUE(st.is_ok()) << st.message();
    if (optimize) {
      const std::map<std::string, int> hist = s->op_histogram();
      for (const auto &[op, count] : fused_ops) {
        EXPECT_EQ(hist.count(op) ? hist.at(op) : 0, count) << op;
      }
    }
    st = s->run(feeds, &results[optimize]);
    ASSERT_TRUE(st.is_ok()) << st.message();
  }
  ASSERT_EQ(results[0].size(), results[1].size());
  for (size_t i = 0; i < results[0].size(); ++i) {
    ASSERT_EQ(results[0][i].shape(), results[1][i].shape()) << "output " << i;
    const auto a = test::to_vector_f32(results[0][i]), b = test::to_vector_f32(results[1][i]);
    for (size_t j = 0; j < a.size(); ++j) {
      ASSERT_EQ(std::isnan(a[j]), std::isnan(b[j])) << "output " << i << " at " << j;
      if (std::isnan(a[j])) continue;
      ASSERT_NEAR(a[j], b[j], 1e-5f * (1.f + std::fabs(a[j]))) << "output " << i << " at " << j;
    }
  }
}

// -------------------------------------------------------- LayerNorm pattern

enum class Square { kPow, kMul };
enum class Normalise { kDiv, kReciprocalMul };

struct LnVariant {
  Square square = Square::kPow;
  Normalise norm = Normalise::kDiv;
  bool gamma = true, beta = true;
  bool gamma_left = false;  // Mul(gamma, n) instead of Mul(n, gamma)
  Shape gamma_shape{16}, beta_shape{16};
  int64_t axis = -1;
  float eps = 1e-5f;
};

// What torch.onnx.export writes for nn.LayerNorm(16) at opset < 17, on
// x [batch, 5, 16]; y is the output.
Builder layernorm_graph(const LnVariant &v) {
  Builder b;
  b.input("x", {-1, 5, 16});
  b.mean("ln/ReduceMean", "x", "mean", v.axis);
  b.node("Sub", "ln/Sub", {"x", "mean"}, {"d"});
  if (v.square == Square::kPow) {
    b.scalar("two", 2.f);
    b.node("Pow", "ln/Pow", {"d", "two"}, {"sq"});
  } else {
    b.node("Mul", "ln/Square", {"d", "d"}, {"sq"});
  }
  b.mean("ln/ReduceMean_1", "sq", "var", v.axis);
  b.scalar("eps", v.eps);
  b.node("Add", "ln/Add", {"var", "eps"}, {"var_eps"});
  b.node("Sqrt", "ln/Sqrt", {"var_eps"}, {"std"});
  const std::string normed = v.gamma || v.beta ? "normed" : "y";
  if (v.norm == Normalise::kDiv) {
    b.node("Div", "ln/Div", {"d", "std"}, {normed});
  } else {
    b.node("Reciprocal", "ln/Reciprocal", {"std"}, {"inv_std"});
    b.node("Mul", "ln/Mul_inv", {"inv_std", "d"}, {normed});
  }
  std::string cur = normed;
  if (v.gamma) {
    b.constant("gamma", v.gamma_shape);
    const std::string out = v.beta ? "scaled" : "y";
    if (v.gamma_left) {
      b.node("Mul", "ln/Mul", {"gamma", cur}, {out});
    } else {
      b.node("Mul", "ln/Mul", {cur, "gamma"}, {out});
    }
    cur = out;
  }
  if (v.beta) {
    b.constant("beta", v.beta_shape);
    b.node("Add", "ln/Add_1", {cur, "beta"}, {"y"});
  }
  b.output("y");
  return b;
}

void expect_layernorm_fused(const LnVariant &v, const std::string &label) {
  SCOPED_TRACE(label);
  Builder b = layernorm_graph(v);
  const Graph original = b.g;
  ASSERT_TRUE(fuse_layernorm(&b.g).is_ok());
  ASSERT_EQ(op_types(b.g), std::vector<std::string>{"LayerNormalization"});
  const Node &ln = b.g.nodes[0];
  EXPECT_EQ(ln.domain, kOnnxDomain);
  EXPECT_EQ(ln.name, "ln/ReduceMean");
  EXPECT_EQ(ln.attr_int("axis", 0), -1);
  EXPECT_EQ(ln.attr_float("epsilon", -1.f), v.eps);
  ASSERT_EQ(ln.inputs.size(), v.beta ? 3u : 2u);
  EXPECT_EQ(ln.inputs[0], b.value("x"));
  EXPECT_EQ(ln.outputs, std::vector<int>{b.value("y")});
  const Tensor *scale = b.g.constant(ln.inputs[1]);
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(scale->rank(), 1);
  if (!v.gamma) {
    ASSERT_EQ(scale->shape(), Shape{16}) << "ones of the row length";
    for (int j = 0; j < 16; ++j) EXPECT_EQ(scale->data<float>()[j], 1.f);
  }
  expect_fused_equals_unfused(original, {random_tensor(b.rng, {3, 5, 16}, -3.f, 5.f)},
                              {{"LayerNormalization", 1}, {"ReduceMean", 0}});
}

TEST(FuseLayerNorm, TorchExportBecomesOneLayerNormalization) {
  expect_layernorm_fused(LnVariant{}, "torch");
}

TEST(FuseLayerNorm, Variants) {
  LnVariant v;
  v.square = Square::kMul;
  expect_layernorm_fused(v, "d * d");
  v = LnVariant{};
  v.norm = Normalise::kReciprocalMul;
  v.gamma_left = true;
  expect_layernorm_fused(v, "Mul by Reciprocal, gamma on the left");
  v = LnVariant{};
  v.axis = 2;
  v.eps = 0.1f;
  v.gamma_shape = {1, 1, 16};
  v.beta_shape = {1, 16};
  expect_layernorm_fused(v, "positive axis, broadcast-shaped gamma and beta, large eps");
  v = LnVariant{};
  v.gamma_shape = {1};
  v.beta_shape = {};
  expect_layernorm_fused(v, "scalar-like gamma and beta");
  v = LnVariant{};
  v.gamma = false;
  expect_layernorm_fused(v, "no gamma");
  v = LnVariant{};
  v.beta = false;
  expect_layernorm_fused(v, "no beta");
  v = LnVariant{};
  v.gamma = v.beta = false;
  v.eps = 0.f;
  expect_layernorm_fused(v, "neither, eps 0");
}

// The pass must leave `b` as it is, and the model must still run.
void expect_untouched(Builder b, const Shape &feed_shape, std::vector<Status (*)(Graph *)> passes,
                      const std::string &label) {
  SCOPED_TRACE(label);
  const std::vector<std::string> before = op_types(b.g);
  for (auto pass : passes) ASSERT_TRUE(pass(&b.g).is_ok());
  EXPECT_EQ(op_types(b.g), before);
  std::vector<Tensor> feeds;
  for (size_t i = 0; i < b.g.inputs.size(); ++i) feeds.push_back(random_tensor(b.rng, feed_shape));
  expect_fused_equals_unfused(b.g, feeds, {{"LayerNormalization", 0}, {"Gelu", 0}});
}

TEST(FuseLayerNorm, LeavesNonMatchingGraphsAlone) {
  const Shape feed{2, 5, 16};
  LnVariant v;
  v.axis = 1;
  expect_untouched(layernorm_graph(v), feed, {fuse_layernorm}, "middle axis");
  v.axis = 0;
  expect_untouched(layernorm_graph(v), feed, {fuse_layernorm}, "first axis");
  {
    Builder b = layernorm_graph(LnVariant{});
    // The [b, 5] variance does not broadcast against d: structure only.
    b.g.nodes[3].attrs["keepdims"] = attr_int(0);
    const auto before = op_types(b.g);
    ASSERT_TRUE(fuse_layernorm(&b.g).is_ok());
    EXPECT_EQ(op_types(b.g), before) << "keepdims=0";
  }
  {
    Builder b = layernorm_graph(LnVariant{});
    // eps as a runtime input instead of a constant.
    b.g.constants.erase(b.value("eps"));
    b.g.values[size_t(b.value("eps"))].has_shape = true;
    b.g.inputs.push_back(b.value("eps"));
    const auto before = op_types(b.g);
    ASSERT_TRUE(fuse_layernorm(&b.g).is_ok());
    EXPECT_EQ(op_types(b.g), before) << "eps not constant";
  }
  {
    Builder b = layernorm_graph(LnVariant{});
    b.output("mean");
    expect_untouched(b, feed, {fuse_layernorm}, "mean is a graph output");
  }
  {
    Builder b = layernorm_graph(LnVariant{});
    b.node("Relu", "other_reader", {"d"}, {"d_relu"});
    b.output("d_relu");
    expect_untouched(b, feed, {fuse_layernorm}, "d has a third reader");
  }
  {
    Builder b = layernorm_graph(LnVariant{});
    b.node("Neg", "other_reader", {"std"}, {"neg_std"});
    b.output("neg_std");
    expect_untouched(b, feed, {fuse_layernorm}, "std has two readers");
  }
  {
    Builder b = layernorm_graph(LnVariant{});
    b.g.constants[b.value("two")] = test::make_f32({}, {3.f});
    expect_untouched(b, feed, {fuse_layernorm}, "Pow 3");
  }
  {
    Builder b = layernorm_graph(LnVariant{});
    b.g.constants[b.value("eps")] = test::make_f32({}, {-1e-5f});
    const auto before = op_types(b.g);
    ASSERT_TRUE(fuse_layernorm(&b.g).is_ok());
    EXPECT_EQ(op_types(b.g), before) << "negative eps";
  }
  {
    Builder b = layernorm_graph(LnVariant{});
    // Sub(mean, x) is -d: its square is the same but the output's sign is not.
    std::swap(b.g.nodes[1].inputs[0], b.g.nodes[1].inputs[1]);
    expect_untouched(b, feed, {fuse_layernorm}, "Sub reversed");
  }
  {
    LnVariant w;
    w.gamma_shape = {5, 16};  // varies along a non-normalised axis
    Builder b = layernorm_graph(w);
    const Graph original = b.g;
    ASSERT_TRUE(fuse_layernorm(&b.g).is_ok());
    // The core still fuses; the [5,16] Mul stays outside and so must beta's Add.
    EXPECT_EQ(op_types(b.g), (std::vector<std::string>{"LayerNormalization", "Mul", "Add"}));
    expect_fused_equals_unfused(original, {random_tensor(b.rng, feed)},
                                {{"LayerNormalization", 1}, {"Mul", 1}});
  }
}

// ------------------------------------------------------------ GELU patterns

// torch F.gelu(x) at opset < 20: Div(x, 1.4142135) -> Erf -> Add(1) -> Mul(x, .) -> Mul(., 0.5).
Builder torch_gelu() {
  Builder b;
  b.input("x", {-1, 24});
  b.scalar("sqrt2", 1.4142135f);
  b.scalar("one", 1.f);
  b.scalar("half", 0.5f);
  b.node("Div", "/Div", {"x", "sqrt2"}, {"a"});
  b.node("Erf", "/Erf", {"a"}, {"e"});
  b.node("Add", "/Add", {"e", "one"}, {"p"});
  b.node("Mul", "/Mul", {"x", "p"}, {"q"});
  b.node("Mul", "/Mul_1", {"q", "half"}, {"y"});
  b.output("y");
  return b;
}

// HF BERT's x * 0.5 * (1.0 + erf(x * 0.70710678)), constants on the left.
Builder hf_gelu() {
  Builder b;
  b.input("x", {-1, 24});
  b.scalar("half", 0.5f);
  b.scalar("rsqrt2", 0.70710678f);
  b.scalar("one", 1.f);
  b.node("Mul", "/Mul", {"half", "x"}, {"h"});
  b.node("Mul", "/Mul_1", {"rsqrt2", "x"}, {"a"});
  b.node("Erf", "/Erf", {"a"}, {"e"});
  b.node("Add", "/Add", {"one", "e"}, {"p"});
  b.node("Mul", "/Mul_2", {"p", "h"}, {"y"});
  b.output("y");
  return b;
}

// torch F.gelu(x, approximate="tanh") at opset < 20.
Builder torch_gelu_tanh() {
  Builder b;
  b.input("x", {-1, 24});
  b.scalar("c", 0.044715f);
  b.scalar("k", 0.7978846f);
  b.scalar("one", 1.f);
  b.scalar("half", 0.5f);
  b.node("Mul", "/Mul", {"x", "x"}, {"x2"});
  b.node("Mul", "/Mul_1", {"x", "x2"}, {"x3"});
  b.node("Mul", "/Mul_2", {"c", "x3"}, {"cx3"});
  b.node("Add", "/Add", {"x", "cx3"}, {"s"});
  b.node("Mul", "/Mul_3", {"k", "s"}, {"u"});
  b.node("Tanh", "/Tanh", {"u"}, {"t"});
  b.node("Add", "/Add_1", {"one", "t"}, {"p"});
  b.node("Mul", "/Mul_4", {"x", "p"}, {"q"});
  b.node("Mul", "/Mul_5", {"half", "q"}, {"y"});
  b.output("y");
  return b;
}

// GPT-2's NewGELU: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * pow(x, 3)))),
// with (p * 0.5) * x as the final association.
Builder new_gelu() {
  Builder b;
  b.input("x", {-1, 24});
  b.scalar("three", 3.f);
  b.scalar("c", 0.044715f);
  b.scalar("k", 0.7978846f);
  b.scalar("one", 1.f);
  b.scalar("half", 0.5f);
  b.node("Pow", "/Pow", {"x", "three"}, {"x3"});
  b.node("Mul", "/Mul_1", {"x3", "c"}, {"cx3"});
  b.node("Add", "/Add", {"cx3", "x"}, {"s"});
  b.node("Mul", "/Mul_2", {"s", "k"}, {"u"});
  b.node("Tanh", "/Tanh", {"u"}, {"t"});
  b.node("Add", "/Add_1", {"t", "one"}, {"p"});
  b.node("Mul", "/Mul_3", {"p", "half"}, {"ph"});
  b.node("Mul", "/Mul_4", {"ph", "x"}, {"y"});
  b.output("y");
  return b;
}

void expect_gelu_fused(Builder b, const std::string &approximate, const std::string &label) {
  SCOPED_TRACE(label);
  const Graph original = b.g;
  ASSERT_TRUE(fuse_gelu(&b.g).is_ok());
  ASSERT_EQ(op_types(b.g), std::vector<std::string>{"Gelu"});
  const Node &gelu = b.g.nodes[0];
  EXPECT_EQ(gelu.domain, kEngineDomain);
  EXPECT_EQ(gelu.name, approximate == "tanh" ? "/Tanh" : "/Erf");
  EXPECT_EQ(gelu.attr_string("approximate", "?"), approximate);
  EXPECT_EQ(gelu.inputs, std::vector<int>{b.value("x")});
  EXPECT_EQ(gelu.outputs, std::vector<int>{b.value("y")});
  expect_fused_equals_unfused(original, {random_tensor(b.rng, {7, 24}, -8.f, 8.f)},
                              {{"Gelu", 1}, {"Mul", 0}, {"Erf", 0}, {"Tanh", 0}});
}

TEST(FuseGelu, ErfForms) {
  expect_gelu_fused(torch_gelu(), "none", "torch");
  expect_gelu_fused(hf_gelu(), "none", "HF: x * 0.5 first, Mul by 1/sqrt 2");
  Builder b = torch_gelu();
  // (0.5 * p) * x: the middle association.
  b.g.nodes[3].inputs = {b.value("half"), b.value("p")};
  b.g.nodes[4].inputs = {b.value("x"), b.value("q")};
  expect_gelu_fused(b, "none", "(0.5 * p) * x");
}

TEST(FuseGelu, TanhForms) {
  expect_gelu_fused(torch_gelu_tanh(), "tanh", "torch approximate=tanh");
  expect_gelu_fused(new_gelu(), "tanh", "GPT-2 NewGELU with Pow");
  Builder b = torch_gelu_tanh();
  std::swap(b.g.nodes[1].inputs[0], b.g.nodes[1].inputs[1]);  // (x * x) * x
  expect_gelu_fused(b, "tanh", "(x * x) * x");
}

TEST(FuseGelu, LeavesNonMatchingGraphsAlone) {
  const Shape feed{3, 24};
  {
    Builder b = torch_gelu();
    b.g.constants[b.value("sqrt2")] = test::make_f32({}, {1.5f});
    expect_untouched(b, feed, {fuse_gelu}, "x / 1.5");
  }
  {
    Builder b = torch_gelu();
    // 1e-5 relative is outside the tolerance.
    b.g.constants[b.value("sqrt2")] = test::make_f32({}, {float(1.41421356 * (1 + 1e-5))});
    expect_untouched(b, feed, {fuse_gelu}, "sqrt 2 off by 1e-5");
  }
  {
    Builder b = torch_gelu();
    std::swap(b.g.nodes[0].inputs[0], b.g.nodes[0].inputs[1]);  // sqrt2 / x
    expect_untouched(b, feed, {fuse_gelu}, "Div reversed");
  }
  {
    Builder b = torch_gelu();
    b.output("e");
    expect_untouched(b, feed, {fuse_gelu}, "erf is a graph output");
  }
  {
    Builder b = torch_gelu();
    b.node("Neg", "/Neg", {"q"}, {"nq"});
    b.output("nq");
    expect_untouched(b, feed, {fuse_gelu}, "x * p has a second reader");
  }
  {
    Builder b = torch_gelu();
    b.input("z", {-1, 24});
    b.g.nodes[3].inputs = {b.value("z"), b.value("p")};  // z * (1 + erf(x / sqrt 2))
    expect_untouched(b, feed, {fuse_gelu}, "other tensor in the product");
  }
  {
    Builder b = torch_gelu();
    b.g.constants[b.value("half")] = test::make_f32({1, 1, 1}, {0.5f});  // would widen y
    const auto before = op_types(b.g);
    ASSERT_TRUE(fuse_gelu(&b.g).is_ok());
    EXPECT_EQ(op_types(b.g), before) << "rank-3 constant";
  }
  {
    Builder b = torch_gelu_tanh();
    b.g.constants[b.value("c")] = test::make_f32({}, {0.044f});
    expect_untouched(b, feed, {fuse_gelu}, "cube coefficient 0.044");
  }
  {
    Builder b = new_gelu();
    b.g.constants[b.value("three")] = test::make_f32({}, {2.f});
    expect_untouched(b, feed, {fuse_gelu}, "Pow 2");
  }
  {
    Builder b = torch_gelu_tanh();
    b.output("x3");
    expect_untouched(b, feed, {fuse_gelu}, "cube is a graph output");
  }
}

// A transformer FFN block as torch exports it: LayerNorm -> Linear -> GELU ->
// Linear. All three fusions apply and the result is unchanged.
TEST(FusePatterns, TransformerFfnBlock) {
  Builder b = layernorm_graph(LnVariant{});
  b.g.outputs.clear();
  b.constant("w1", {16, 24});
  b.constant("b1", {24});
  b.constant("w2", {24, 16});
  b.constant("b2", {16});
  b.node("MatMul", "fc1", {"y", "w1"}, {"h0"});
  b.node("Add", "fc1_add", {"h0", "b1"}, {"x1"});
  b.scalar("sqrt2", 1.4142135f);
  b.scalar("one", 1.f);
  b.scalar("half", 0.5f);
  b.node("Div", "/Div", {"x1", "sqrt2"}, {"a"});
  b.node("Erf", "/Erf", {"a"}, {"e"});
  b.node("Add", "/Add", {"e", "one"}, {"p"});
  b.node("Mul", "/Mul", {"x1", "p"}, {"q"});
  b.node("Mul", "/Mul_1", {"q", "half"}, {"g"});
  b.node("MatMul", "fc2", {"g", "w2"}, {"h2"});
  b.node("Add", "fc2_add", {"h2", "b2"}, {"out"});
  b.output("out");
  expect_fused_equals_unfused(
      b.g, {random_tensor(b.rng, {2, 5, 16}, -2.f, 2.f)},
      {{"LayerNormalization", 1}, {"Gelu", 1}, {"FusedGemm", 2}, {"Add", 0}, {"Mul", 0}});
}

}  // namespace
}  // namespace si
