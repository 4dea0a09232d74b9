// BatchNormalization against its formula, and the pass that folds it into a
// Conv/Gemm/MatMul: graph structure, refusals, and folded == unfolded.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/passes/passes.h"
#include "engine/session.h"
#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

std::vector<float> positive_floats(std::mt19937 &rng, int64_t n) {
  return random_floats(rng, n, 0.1f, 2.f);
}

// ---------------------------------------------------------- the op

TEST(BatchNormOp, MatchesFormula) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const std::vector<Shape> shapes = {{2, 3},       {1, 1, 1},       {2, 3, 5},
                                     {3, 4, 2, 7}, {1, 5, 2, 3, 2}, {0, 3, 4}};
  for (const Shape &s : shapes) {
    for (int opset : {6, 7, 9, 14, 15}) {
      const bool per_activation = opset <= 7 && s.size() > 2 && s[0] > 0 && (s[1] % 2 == 1);
      SCOPED_TRACE(shape_str(s) + " opset " + std::to_string(opset) +
                   (per_activation ? " spatial=0" : ""));
      const int64_t c = s[1];
      const int64_t inner = s[0] > 0 ? count(s) / (s[0] * c) : 1;
      const int64_t np = per_activation ? c * inner : c;
      const std::vector<float> x = random_floats(rng, count(s));
      const std::vector<float> sc = random_floats(rng, np), b = random_floats(rng, np),
                               mean = random_floats(rng, np), var = positive_floats(rng, np);
      const float eps = opset == 9 ? 1e-2f : 1e-5f;
      OpSpec spec;
      spec.op_type = "BatchNormalization";
      spec.opset = opset;
      spec.attrs["epsilon"] = attr_float(eps);
      if (opset <= 6) spec.attrs["is_test"] = attr_int(1);
      if (per_activation) spec.attrs["spatial"] = attr_int(0);
      const Shape ps = per_activation ? Shape(s.begin() + 1, s.end()) : Shape{c};
      spec.inputs = {make_f32(s, x), make_f32(ps, sc), make_f32(ps, b), make_f32(ps, mean),
                     make_f32(ps, var)};
      spec.constant = {false, true, false, true, false};
      std::vector<Tensor> out;
      Status st = run_op(spec, &out);
      ASSERT_TRUE(st.is_ok()) << st.message();
      ASSERT_EQ(out[0].shape(), s);
      const std::vector<float> got = to_vector_f32(out[0]);
      for (int64_t i = 0; i < count(s); ++i) {
        const int64_t k = per_activation ? i % (c * inner) : (i / inner) % c;
        const double want = (double(x[size_t(i)]) - mean[size_t(k)]) /
                                std::sqrt(double(var[size_t(k)]) + eps) * sc[size_t(k)] +
                            b[size_t(k)];
        ASSERT_NEAR(got[size_t(i)], want, 1e-5 + 1e-5 * std::fabs(want)) << "element " << i;
      }
    }
  }
}

TEST(BatchNormOp, Errors) {
  auto spec_for = [](int opset) {
    OpSpec spec;
    spec.op_type = "BatchNormalization";
    spec.opset = opset;
    spec.inputs = {make_f32({1, 2, 2}, {1, 2, 3, 4}), make_f32({2}, {1, 1}), make_f32({2}, {0, 0}),
                   make_f32({2}, {0, 0}), make_f32({2}, {1, 1})};
    spec.constant = {false, true, true, true, true};
    return spec;
  };
  std::vector<Tensor> out;
  OpSpec spec = spec_for(15);
  spec.attrs["training_mode"] = attr_int(1);
  Status st = run_op(spec, &out);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
  EXPECT_NE(st.message().find("training_mode"), std::string::npos) << st.message();

  spec = spec_for(9);
  spec.num_outputs = 3;  // running mean and var: training outputs
  st = run_op(spec, &out);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();

  spec = spec_for(15);
  spec.inputs[3] = make_f32({3}, {0, 0, 0});
  st = run_op(spec, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("input_mean [3]"), std::string::npos) << st.message();

  spec = spec_for(15);
  spec.inputs.pop_back();
  spec.constant.pop_back();
  st = run_op(spec, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidModel) << st.message();

  spec = spec_for(15);
  spec.inputs[0] = make_f32({4}, {1, 2, 3, 4});
  st = run_op(spec, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
}

// ---------------------------------------------------------- folding

struct Builder {
  Graph g;
  int value(const std::string &name, const Shape *shape = nullptr) {
    ValueInfo info;
    info.name = name;
    info.dtype = DType::kFloat32;
    if (shape != nullptr) {
      info.has_shape = true;
      for (int64_t d : *shape) info.dims.push_back(Dim{d, ""});
    }
    return g.add_value(info);
  }
  int constant(const std::string &name, const Tensor &t) {
    const int id = value(name, &t.shape());
    g.constants[id] = t;
    return id;
  }
  Node &node(const std::string &op, const std::string &name, std::vector<int> in,
             std::vector<int> out, int opset = 13) {
    Node n;
    n.op_type = op;
    n.name = name;
    n.opset = opset;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    g.nodes.push_back(n);
    return g.nodes.back();
  }
};

// BN with random constant parameters reading `x`; returns its output id.
int add_bn(Builder *b, std::mt19937 &rng, int x, int64_t c, const std::string &name) {
  const int s = b->constant(name + "_s", make_f32({c}, random_floats(rng, c)));
  const int bias = b->constant(name + "_b", make_f32({c}, random_floats(rng, c)));
  const int m = b->constant(name + "_m", make_f32({c}, random_floats(rng, c)));
  const int v = b->constant(name + "_v", make_f32({c}, positive_floats(rng, c)));
  const int y = b->value(name + "_y");
  Node &n = b->node("BatchNormalization", name, {x, s, bias, m, v}, {y}, 15);
  n.attrs["epsilon"] = attr_float(1e-3f);
  return y;
}

void run(const Graph &g, bool optimize, const std::vector<Tensor> &feeds,
         std::vector<Tensor> *out) {
  SessionOptions o;
  o.optimize = optimize;
  std::unique_ptr<Session> s;
  Status st = Session::create(g, o, &s);
  ASSERT_TRUE(st.is_ok()) << st.message();
  st = s->run(feeds, out);
  ASSERT_TRUE(st.is_ok()) << st.message();
}

void expect_same(const Graph &g, const std::vector<Tensor> &feeds) {
  std::vector<Tensor> folded, plain;
  run(g, true, feeds, &folded);
  run(g, false, feeds, &plain);
  ASSERT_EQ(folded.size(), plain.size());
  for (size_t k = 0; k < folded.size(); ++k) {
    const std::vector<float> a = to_vector_f32(folded[k]), b = to_vector_f32(plain[k]);
    ASSERT_EQ(a.size(), b.size());
    double scale = 0;
    for (float v : b) scale = std::max(scale, std::fabs(double(v)));
    for (size_t i = 0; i < a.size(); ++i)
      ASSERT_NEAR(a[i], b[i], 1e-5 * std::max(1.0, scale)) << "output " << k << " element " << i;
  }
}

int count_op(const Graph &g, const std::string &op) {
  int n = 0;
  for (const Node &node : g.nodes) n += node.op_type == op;
  return n;
}

TEST(FoldBatchNorm, ConvGemmMatMul) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  Builder b;
  // Conv (grouped, with bias) -> BN -> Relu
  const Shape xs = {2, 4, 7, 6};
  const int x = b.value("x", &xs);
  const int w = b.constant("w", make_f32({6, 2, 3, 3}, random_floats(rng, 108)));
  const int cb = b.constant("cb", make_f32({6}, random_floats(rng, 6)));
  const int c1 = b.value("c1");
  b.node("Conv", "conv", {x, w, cb}, {c1}, 13).attrs["group"] = attr_int(2);
  const int r1 = b.value("r1");
  b.node("Relu", "relu", {add_bn(&b, rng, c1, 6, "bn1")}, {r1});
  // Conv without bias -> BN, output of the graph
  const int w2 = b.constant("w2", make_f32({3, 6, 1, 1}, random_floats(rng, 18)));
  const int c2 = b.value("c2");
  b.node("Conv", "conv2", {r1, w2}, {c2}, 13);
  const int y1 = add_bn(&b, rng, c2, 3, "bn2");
  // Gemm (transB, alpha, beta, [1,N] C) -> BN
  const Shape as = {5, 8};
  const int a = b.value("a", &as);
  const int gw = b.constant("gw", make_f32({4, 8}, random_floats(rng, 32)));
  const int gc = b.constant("gc", make_f32({1, 4}, random_floats(rng, 4)));
  const int g1 = b.value("g1");
  Node &gemm = b.node("Gemm", "gemm", {a, gw, gc}, {g1}, 13);
  gemm.attrs["transB"] = attr_int(1);
  gemm.attrs["alpha"] = attr_float(0.5f);
  gemm.attrs["beta"] = attr_float(2.f);
  const int y2 = add_bn(&b, rng, g1, 4, "bn3");
  // MatMul [5,8]x[8,3] -> BN
  const int mw = b.constant("mw", make_f32({8, 3}, random_floats(rng, 24)));
  const int m1 = b.value("m1");
  b.node("MatMul", "matmul", {a, mw}, {m1}, 13);
  const int y3 = add_bn(&b, rng, m1, 3, "bn4");
  b.g.inputs = {x, a};
  b.g.outputs = {y1, y2, y3};

  Graph folded = b.g;
  ASSERT_TRUE(fold_batchnorm(&folded).is_ok());
  EXPECT_EQ(count_op(folded, "BatchNormalization"), 0);
  EXPECT_EQ(count_op(folded, "MatMul"), 0);
  EXPECT_EQ(count_op(folded, "Gemm"), 2);
  for (const Node &n : folded.nodes) {
    if (n.name == "conv2") {
      EXPECT_EQ(n.outputs[0], y1);
    }
    if (n.name == "matmul") {
      EXPECT_EQ(n.outputs[0], y3);
    }
  }
  // The unscaled weights are gone, not kept beside the scaled ones.
  EXPECT_FALSE(folded.is_constant(w));
  EXPECT_FALSE(folded.is_constant(mw));

  expect_same(b.g, {make_f32(xs, random_floats(rng, count(xs))),
                    make_f32(as, random_floats(rng, count(as)))});
}

TEST(FoldBatchNorm, Refusals) {
  std::mt19937 rng(test_seed());
  Builder b;
  const Shape xs = {1, 2, 5, 5};
  const int x = b.value("x", &xs);
  const int w = b.constant("w", make_f32({3, 2, 3, 3}, random_floats(rng, 54)));
  // 1: the conv output has a second reader.
  const int c1 = b.value("c1");
  b.node("Conv", "conv_shared", {x, w}, {c1});
  const int y1 = add_bn(&b, rng, c1, 3, "bn1");
  const int r = b.value("r");
  b.node("Relu", "relu", {c1}, {r});
  // 2: the conv output is itself a graph output.
  const int c2 = b.value("c2");
  b.node("Conv", "conv_out", {x, w}, {c2});
  const int y2 = add_bn(&b, rng, c2, 3, "bn2");
  // 3: the BN's mean is fed at run time.
  const int c3 = b.value("c3");
  b.node("Conv", "conv_rt", {x, w}, {c3});
  const Shape cs = {3};
  const int mean = b.value("mean", &cs);
  const int s = b.constant("s3", make_f32({3}, {1, 2, 3}));
  const int y3 = b.value("y3");
  b.node("BatchNormalization", "bn3", {c3, s, s, mean, s}, {y3}, 15);
  // 4: a runtime weight.
  const Shape ws = {3, 2, 3, 3};
  const int wr = b.value("wr", &ws);
  const int c4 = b.value("c4");
  b.node("Conv", "conv_wr", {x, wr}, {c4});
  const int y4 = add_bn(&b, rng, c4, 3, "bn4");
  b.g.inputs = {x, mean, wr};
  b.g.outputs = {y1, r, c2, y2, y3, y4};

  Graph folded = b.g;
  ASSERT_TRUE(fold_batchnorm(&folded).is_ok());
  EXPECT_EQ(count_op(folded, "BatchNormalization"), 4);
  expect_same(b.g, {make_f32(xs, random_floats(rng, count(xs))), make_f32({3}, {0.5f, -1, 2}),
                    make_f32(ws, random_floats(rng, count(ws)))});
}

}  // namespace
}  // namespace si::test
