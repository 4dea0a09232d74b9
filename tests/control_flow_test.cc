// If and Loop on graphs built here: branches that read outer values, the
// sparse path inside a branch, a constant If inlined at load, loop-carried
// values and scan outputs, and bad bodies named in the error. Expected values
// come from naive loops in this file.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "engine/analysis.h"
#include "engine/graph.h"
#include "engine/session.h"
#include "tests/graph_builder.h"
#include "tests/op_runner.h"

namespace si {
namespace {

using test::make_f32;
using test::make_i64;
using test::to_vector_f32;

uint32_t test_seed() {
  const int flag = GTEST_FLAG_GET(random_seed);
  return flag != 0 ? uint32_t(flag) : 20261203u;
}

Tensor make_bool(bool v) {
  Tensor t;
  EXPECT_TRUE(Tensor::allocate(DType::kBool, {}, &t).is_ok());
  t.data<bool>()[0] = v;
  return t;
}

// `name` in body `b` bound to outer value `outer` of node `n` (appended to
// its inputs), as the importer binds a body's free names.
int capture(test::GraphBuilder *b, Node *n, Subgraph *sub, const std::string &name, int outer) {
  const int id = b->value(name);
  b->g.captures.push_back(id);
  sub->capture_inputs.push_back(n->inputs.size());
  n->inputs.push_back(outer);
  return id;
}

// x[2,8] -> If(c): then Gemm(Relu(x), W1) [2,4], else Gemm(x, W2) [2,4].
struct IfModel {
  Graph g;
  Tensor w1, w2;
};

IfModel if_model(bool constant_cond, bool cond_value) {
  IfModel m;
  test::GraphBuilder outer(test_seed());
  if (constant_cond) {
    const int c = outer.value("c");
    outer.g.values[size_t(c)].dtype = DType::kBool;
    outer.g.constants[c] = make_bool(cond_value);
  } else {
    outer.input("c", {});
    outer.g.values[size_t(outer.value("c"))].dtype = DType::kBool;
  }
  const int x = outer.input("x", {2, 8});
  Node n;
  n.op_type = "If";
  n.name = "/if_0";
  n.opset = 13;
  n.inputs = {outer.value("c")};
  n.outputs = {outer.value("y")};
  for (int branch = 0; branch < 2; ++branch) {
    test::GraphBuilder b(test_seed() + uint32_t(branch) + 1);
    Subgraph sub;
    sub.attr = branch == 0 ? "then_branch" : "else_branch";
    capture(&b, &n, &sub, "x", x);
    const int w = b.constant("w", {4, 8});
    if (branch == 0) {
      b.node("Relu", "relu", {"x"}, {"r"});
      b.node("Gemm", "fc", {"r", "w"}, {"out"}).attrs["transB"] = attr_int(1);
      m.w1 = b.g.constants[w];
    } else {
      b.node("Gemm", "fc_else", {"x", "w"}, {"out"}).attrs["transB"] = attr_int(1);
      m.w2 = b.g.constants[w];
    }
    b.output("out");
    sub.graph = std::make_shared<Graph>(std::move(b.g));
    n.subgraphs.push_back(std::move(sub));
  }
  // Both branches read x: it is one implicit input, not two.
  n.subgraphs[1].capture_inputs[0] = n.subgraphs[0].capture_inputs[0];
  n.inputs.pop_back();
  outer.g.nodes.push_back(std::move(n));
  outer.output("y");
  m.g = std::move(outer.g);
  return m;
}

std::vector<float> gemm_ref(const std::vector<float> &x, const Tensor &w, bool relu) {
  const std::vector<float> wv = to_vector_f32(w);
  std::vector<float> y(8, 0.f);
  for (int r = 0; r < 2; ++r)
    for (int o = 0; o < 4; ++o)
      for (int k = 0; k < 8; ++k) {
        const float a = x[size_t(r * 8 + k)];
        y[size_t(r * 4 + o)] += (relu ? std::max(a, 0.f) : a) * wv[size_t(o * 8 + k)];
      }
  return y;
}

void expect_near(const std::vector<float> &got, const std::vector<float> &want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5f) << "at " << i;
}

std::vector<float> mostly_negative_input() {
  std::vector<float> x(16);
  for (size_t i = 0; i < x.size(); ++i) x[i] = i % 5 == 0 ? 0.5f + float(i) * 0.1f : -1.f;
  return x;
}

TEST(ControlFlow, IfRunsTheChosenBranchReadingOuterValues) {
  const std::vector<float> x = mostly_negative_input();
  for (ExecMode mode : {ExecMode::kAuto, ExecMode::kDense, ExecMode::kSparse}) {
    IfModel m = if_model(false, false);
    SessionOptions o;
    o.threads = 1;
    o.mode = mode;
    std::unique_ptr<Session> s;
    Status st = Session::create(m.g, o, &s);
    ASSERT_TRUE(st.is_ok()) << st.message();
    for (bool c : {true, false}) {
      std::vector<Tensor> out;
      st = s->run({make_bool(c), make_f32({2, 8}, x)}, &out);
      ASSERT_TRUE(st.is_ok()) << st.message();
      expect_near(to_vector_f32(out[0]), gemm_ref(x, c ? m.w1 : m.w2, c));
    }
  }
}

TEST(ControlFlow, SparsePathInsideABranch) {
  IfModel m = if_model(false, false);
  SessionOptions o;
  o.threads = 1;
  o.mode = ExecMode::kSparse;
  std::unique_ptr<Session> s;
  ASSERT_TRUE(Session::create(m.g, o, &s).is_ok());
  // The passes ran in the branch: the Relu feeds the Gemm's sparse input.
  const Graph &then_branch = *s->graph().nodes[0].subgraphs[0].graph;
  bool marked = false;
  for (const Node &n : then_branch.nodes) marked |= n.attr_int(kSparseInputAttr, 0) != 0;
  EXPECT_TRUE(marked);
  RunProfile p;
  std::vector<Tensor> out;
  ASSERT_TRUE(
      s->run({make_bool(true), make_f32({2, 8}, mostly_negative_input())}, &out, &p).is_ok());
  ASSERT_EQ(p.steps.size(), 1u);
  const StepRecord &if_step = p.steps[0];
  EXPECT_EQ(if_step.op_type, "If");
  const StepRecord *gemm = nullptr;
  for (const StepRecord &r : if_step.body_steps)
    if (r.consumer) gemm = &r;
  ASSERT_NE(gemm, nullptr);
  EXPECT_EQ(gemm->scope, "If \"/if_0\" then_branch");
  EXPECT_EQ(std::string(gemm->matmul.path), "sparse");
}

TEST(ControlFlow, ConstantIfIsInlinedAtLoad) {
  const std::vector<float> x = mostly_negative_input();
  for (bool c : {true, false}) {
    IfModel m = if_model(true, c);
    SessionOptions o;
    o.threads = 1;
    std::unique_ptr<Session> s;
    Status st = Session::create(m.g, o, &s);
    ASSERT_TRUE(st.is_ok()) << st.message();
    for (const Node &n : s->graph().nodes) EXPECT_NE(n.op_type, "If");
    EXPECT_EQ(s->op_histogram().count("If"), 0u);
    std::vector<Tensor> out;
    ASSERT_TRUE(s->run({make_f32({2, 8}, x)}, &out).is_ok());
    expect_near(to_vector_f32(out[0]), gemm_ref(x, c ? m.w1 : m.w2, c));
  }
}

TEST(ControlFlow, BodyOpsCountInTheHistogram) {
  IfModel m = if_model(false, false);
  std::map<std::string, int> h = m.g.op_histogram();
  EXPECT_EQ(h["If"], 1);
  EXPECT_EQ(h["Gemm"], 2);
  EXPECT_EQ(h["Relu"], 1);
}

TEST(ControlFlow, BranchWithTooManyOutputsIsNamed) {
  IfModel m = if_model(false, false);
  Graph &then_branch = *m.g.nodes[0].subgraphs[0].graph;
  then_branch.outputs.push_back(then_branch.outputs[0]);
  std::unique_ptr<Session> s;
  Status st = Session::create(m.g, SessionOptions(), &s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidModel) << st.message();
  EXPECT_NE(st.message().find("\"/if_0\""), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("then_branch returns 2 outputs, the node has 1"), std::string::npos)
      << st.message();
}

TEST(ControlFlow, MissingBranchAndNonBoolCondAreNamed) {
  IfModel m = if_model(false, false);
  m.g.nodes[0].subgraphs.pop_back();
  std::unique_ptr<Session> s;
  Status st = Session::create(m.g, SessionOptions(), &s);
  EXPECT_NE(st.message().find("\"else_branch\" is missing"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("\"/if_0\""), std::string::npos) << st.message();

  IfModel f = if_model(false, false);
  f.g.values[size_t(f.g.find_value("c"))].dtype = DType::kFloat32;
  st = Session::create(f.g, SessionOptions(), &s);
  EXPECT_NE(st.message().find("cond is float32, must be bool"), std::string::npos) << st.message();
}

// Loop "/loop"(m, cond0 = true, x of `x_shape`) -> (x_final, scan), its
// body built by `fill(outer, node, sub, body)`: the body takes i, cond_in
// and x_in and must make c_out, x_out and s_out (it may capture outer values).
template <typename Fill>
Graph loop_graph(const Shape &x_shape, uint32_t body_seed, Fill fill) {
  test::GraphBuilder outer(test_seed());
  outer.input("m", {});
  outer.g.values[size_t(outer.value("m"))].dtype = DType::kInt64;
  outer.input("x", x_shape);
  const int cond = outer.value("cond0");
  outer.g.values[size_t(cond)].dtype = DType::kBool;
  outer.g.constants[cond] = make_bool(true);
  Node n;
  n.op_type = "Loop";
  n.name = "/loop";
  n.opset = 13;
  n.inputs = {outer.value("m"), cond, outer.value("x")};
  n.outputs = {outer.value("x_final"), outer.value("scan")};
  test::GraphBuilder b(test_seed() + body_seed);
  Subgraph sub;
  sub.attr = "body";
  b.input("i", {});
  b.g.values[size_t(b.value("i"))].dtype = DType::kInt64;
  b.input("cond_in", {});
  b.g.values[size_t(b.value("cond_in"))].dtype = DType::kBool;
  b.input("x_in", x_shape);
  fill(&outer, &n, &sub, &b);
  b.g.values[size_t(b.value("c_out"))].dtype = DType::kBool;
  b.output("c_out");
  b.output("x_out");
  b.output("s_out");
  sub.graph = std::make_shared<Graph>(std::move(b.g));
  n.subgraphs.push_back(std::move(sub));
  outer.g.nodes.push_back(std::move(n));
  outer.output("x_final");
  outer.output("scan");
  return std::move(outer.g);
}

// x[3] carried: x = x * 2 + i per step (i the iteration number), scan output
// x + 1 each step; trip count M an input, cond from the body: i < 4.
Graph loop_model() {
  return loop_graph({3}, 7,
                    [](test::GraphBuilder *outer, Node *n, Subgraph *sub, test::GraphBuilder *b) {
                      capture(b, n, sub, "one", outer->scalar("one", 1.f));
                      b->scalar("two", 2.f);
                      b->g.constants[b->value("four")] = make_i64({}, {4});
                      b->node("Cast", "cast", {"i"}, {"fi"}).attrs["to"] = attr_int(1);
                      b->node("Mul", "mul", {"x_in", "two"}, {"x2"});
                      b->node("Add", "add", {"x2", "fi"}, {"x_out"});
                      b->node("Add", "add1", {"x_out", "one"}, {"s_out"});
                      b->node("Less", "less", {"i", "four"}, {"c_out"});
                    });
}

TEST(ControlFlow, LoopCarriesValuesAndStacksScanOutputs) {
  // The "one" constant is bound as a capture in the body; that it is an outer
  // constant does not matter to the loop.
  const std::vector<float> x0 = {0.5f, -1.f, 2.f};
  for (int64_t m : {0, 2, 9}) {
    std::unique_ptr<Session> s;
    SessionOptions o;
    o.threads = 1;
    Status st = Session::create(loop_model(), o, &s);
    ASSERT_TRUE(st.is_ok()) << st.message();
    std::vector<Tensor> out;
    st = s->run({make_i64({}, {m}), make_f32({3}, x0)}, &out);
    ASSERT_TRUE(st.is_ok()) << st.message();
    std::vector<float> x = x0, scan;
    int64_t steps = 0;
    for (int64_t i = 0; i < m; ++i) {  // the body's cond stops it after i == 4
      for (float &v : x) v = v * 2.f + float(i);
      for (float v : x) scan.push_back(v + 1.f);
      ++steps;
      if (!(i < 4)) break;
    }
    expect_near(to_vector_f32(out[0]), x);
    // No iteration: 0 along the scan axis; the body does not declare the rest.
    EXPECT_EQ(out[1].shape(), steps > 0 ? (Shape{steps, 3}) : Shape{0}) << m;
    if (steps > 0) expect_near(to_vector_f32(out[1]), scan);
  }
}

TEST(ControlFlow, LoopWithANonBoolCondIsNamed) {
  std::unique_ptr<Session> s;
  ASSERT_TRUE(Session::create(loop_model(), SessionOptions(), &s).is_ok());
  Graph g = loop_model();
  Graph &body = *g.nodes[0].subgraphs[0].graph;
  body.outputs[0] = body.find_value("x_out");  // cond output is float32 now
  ASSERT_TRUE(Session::create(g, SessionOptions(), &s).is_ok());
  std::vector<Tensor> out;
  Status st = s->run({make_i64({}, {3}), make_f32({3}, {1.f, 2.f, 3.f})}, &out);
  EXPECT_NE(st.message().find("Loop (node \"/loop\""), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("iteration 0: the body's cond output must be a bool"),
            std::string::npos)
      << st.message();
}

// Loop over x[2,8], M iterations: x_out = x_in + 1 carried, scan output
// Gemm(Relu(x_in), W) [2,4] each iteration: a body consumer run many times.
Graph relu_gemm_loop_model() {
  return loop_graph({2, 8}, 11,
                    [](test::GraphBuilder *, Node *, Subgraph *, test::GraphBuilder *b) {
                      b->scalar("one", 1.f);
                      b->constant("w", {4, 8});
                      b->node("Identity", "keep", {"cond_in"}, {"c_out"});
                      b->node("Add", "next", {"x_in", "one"}, {"x_out"});
                      b->node("Relu", "relu", {"x_in"}, {"r"});
                      b->node("Gemm", "fc", {"r", "w"}, {"s_out"}).attrs["transB"] = attr_int(1);
                    });
}

// analyze (issue 14): a body's Relu and Gemm are rows named after their
// scope, counted over every iteration of the call.
TEST(ControlFlow, AnalyzeCountsEveryIterationOfALoopBody) {
  // 4 entries each at -2.5, -1.5, -0.5 and 0.5: Relu(x + k) is 12, 8 and 4
  // zeros of 16 in iterations 0, 1 and 2, so 24 of 48 over the call.
  std::vector<float> x(16);
  for (size_t i = 0; i < x.size(); ++i) x[i] = -2.5f + float(i % 4);
  SessionOptions o;
  o.threads = 1;
  AnalyzeOptions how;
  how.warmup = 0;
  how.iters = 1;
  AnalysisReport r;
  Status st =
      analyze_model(relu_gemm_loop_model(), o, {{make_i64({}, {3}), make_f32({2, 8}, x)}}, how, &r);
  ASSERT_TRUE(st.is_ok()) << st.message();
  ASSERT_EQ(r.activations.size(), 1u);
  EXPECT_EQ(r.activations[0].node, "Loop \"/loop\" body / relu");
  EXPECT_DOUBLE_EQ(r.activations[0].zero_fraction, 0.5);
  EXPECT_EQ(r.activations[0].min, 0.0);
  EXPECT_EQ(r.activations[0].max, 2.5);  // 0.5 + 2 in the last iteration
  ASSERT_EQ(r.layers.size(), 1u);
  const LayerReport &fc = r.layers[0];
  EXPECT_EQ(fc.node, "Loop \"/loop\" body / fc");
  EXPECT_EQ(fc.op, "Gemm");
  EXPECT_DOUBLE_EQ(fc.zero_input_fraction, 0.5);
  EXPECT_DOUBLE_EQ(fc.macs, 3.0 * 2 * 8 * 4);  // three iterations of [2,8] x [8,4]
  EXPECT_EQ(fc.path.rfind("not eligible", 0), std::string::npos) << fc.path;
  EXPECT_GE(fc.time_us_auto, 0.0);
  EXPECT_GE(fc.time_us_dense, 0.0);
  EXPECT_DOUBLE_EQ(r.mac_share_reading_zeros, 0.5);
}

}  // namespace
}  // namespace si
