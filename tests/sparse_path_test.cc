// Whole models on the sparse path: equal to the dense path (up to float
// summation order) and to independent references, on every batch size, with
// the sparse path really taken, and under concurrent runs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <random>
#include <thread>

#include "engine/ops/const_matmul.h"
#include "engine/session.h"
#include "importers/onnx/onnx_importer.h"
#include "kernels/dense/dnnl_matmul.h"
#include "tests/ops_test_util.h"

namespace si {
namespace {

using test::test_seed;

std::string source_dir() {
  const char *d = std::getenv("SI_SOURCE_DIR");
  return d ? d : ".";
}

std::vector<float> read_floats(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

Tensor f32(const Shape &shape, std::vector<float> values) {
  return test::make_tensor<float>(DType::kFloat32, shape, values);
}

std::vector<float> floats(const Tensor &t) {
  return test::values_of<float>(t);
}

// max |a - b| / max(1, |b|) over all elements.
double max_rel_error(const std::vector<float> &a, const std::vector<float> &b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    worst =
        std::max(worst, std::fabs(double(a[i]) - b[i]) / std::max(1.0, std::fabs(double(b[i]))));
  }
  return worst;
}

std::unique_ptr<Session> load_digits(ExecMode mode) {
  SessionOptions o;
  o.mode = mode;
  std::unique_ptr<Session> s;
  Status st = load_session_file(source_dir() + "/models/digits_mlp.onnx", o, &s);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return s;
}

std::vector<float> run1(const Session &s, const Tensor &x, RunProfile *profile = nullptr) {
  std::vector<Tensor> out;
  Status st = s.run({x}, &out, profile);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return out.empty() ? std::vector<float>{} : floats(out[0]);
}

TEST(SparsePath, DigitsMlpMatchesPyTorchInEveryMode) {
  const std::string dir = source_dir() + "/models/digits_mlp/";
  for (ExecMode mode : {ExecMode::kAuto, ExecMode::kDense, ExecMode::kSparse}) {
    auto s = load_digits(mode);
    ASSERT_NE(s, nullptr);
    for (int i = 0; i < 8; ++i) {
      Tensor x = f32({1, 64}, read_floats(dir + "input_" + std::to_string(i) + ".bin"));
      std::vector<float> want = read_floats(dir + "expected_" + std::to_string(i) + ".bin");
      EXPECT_LE(max_rel_error(run1(*s, x), want), 1e-4) << "mode " << int(mode) << " input " << i;
    }
    Tensor batch = f32({16, 64}, read_floats(dir + "batch_16.bin"));
    EXPECT_LE(max_rel_error(run1(*s, batch), read_floats(dir + "expected_batch_16.bin")), 1e-4);
  }
}

// analyze's counting (issue 11): reads only, so the outputs stay bit for bit
// what a plain run gives; the counts match a count of the same tensor; and
// each FusedGemm names the Gemm and Relu of the file it stands for.
TEST(SparsePath, ValueStatsLeaveOutputsAloneAndCountExactZeros) {
  auto s = load_digits(ExecMode::kAuto);
  ASSERT_NE(s, nullptr);
  Tensor x = f32({1, 64}, read_floats(source_dir() + "/models/digits_mlp/input_0.bin"));
  std::vector<Tensor> plain, counted;
  ASSERT_TRUE(s->run({x}, &plain).is_ok());
  RunProfile profile;
  profile.value_stats = true;
  ASSERT_TRUE(s->run({x}, &counted, &profile).is_ok());
  ASSERT_EQ(plain[0].numel(), counted[0].numel());
  EXPECT_EQ(std::memcmp(plain[0].raw(), counted[0].raw(), plain[0].size_bytes()), 0);
  ASSERT_EQ(profile.steps.size(), 3u);
  const StepStats &first = profile.steps[0].stats;
  int64_t zeros = 0;
  for (int64_t i = 0; i < x.numel(); ++i) zeros += x.data<float>()[i] == 0.f;
  EXPECT_EQ(first.input.count, 64);
  EXPECT_EQ(first.input.zeros, zeros);
  EXPECT_EQ(first.input_shape, (Shape{1, 64}));
  EXPECT_EQ(first.output.count, 256);
  EXPECT_EQ(first.output.min, 0.f);  // a Relu's output
  EXPECT_GT(first.output.max, 0.f);
  // The second Gemm reads what the first (fused with its Relu) wrote.
  EXPECT_EQ(profile.steps[1].stats.input.zeros, first.output.zeros);
  const Node &fused = s->graph().nodes[profile.steps[0].node];
  ASSERT_EQ(fused.op_type, "FusedGemm");
  ASSERT_EQ(fused.origins.size(), 2u);
  EXPECT_EQ(fused.origins[0].op_type + " " + fused.origins[0].name, "Gemm /0/Gemm");
  EXPECT_EQ(fused.origins[1].op_type + " " + fused.origins[1].name, "Relu /1/Relu");
  // Without value_stats nothing is counted.
  RunProfile timed;
  ASSERT_TRUE(s->run({x}, &counted, &timed).is_ok());
  EXPECT_EQ(timed.steps[0].stats.output.count, 0);
}

TEST(SparsePath, DigitsMlpTakesTheSparsePathAfterEachRelu) {
  auto s = load_digits(ExecMode::kAuto);
  ASSERT_NE(s, nullptr);
  Tensor x = f32({1, 64}, read_floats(source_dir() + "/models/digits_mlp/input_0.bin"));
  RunProfile profile;
  run1(*s, x, &profile);
  int consumers = 0, sparse = 0;
  for (const StepRecord &r : profile.steps) {
    if (!r.consumer) continue;
    ++consumers;
    if (std::string(r.matmul.path) == "sparse") {
      ++sparse;
      EXPECT_GE(r.matmul.density, 0.0);
      EXPECT_LT(r.matmul.weight_bytes_read, r.matmul.weight_bytes_dense);
    }
  }
  // Three Gemms: two read a Relu, the first the raw pixels (about half of
  // them 0, counted on every call), and all three take the sparse path.
  EXPECT_EQ(consumers, 3);
  EXPECT_EQ(sparse, 3);
}

// ---- random MLPs built in C++ and checked against a naive double reference.

struct Builder {
  Graph g;
  int value(const std::string &name) {
    ValueInfo v;
    v.name = name;
    v.dtype = DType::kFloat32;
    return g.add_value(v);
  }
  int constant(const std::string &name, const Tensor &t) {
    int id = value(name);
    g.constants[id] = t;
    return id;
  }
  int node(const std::string &op, std::vector<int> in,
           std::map<std::string, Attribute> attrs = {}) {
    Node n;
    n.op_type = op;
    n.name = op + std::to_string(g.nodes.size());
    n.opset = 17;
    n.inputs = std::move(in);
    n.attrs = std::move(attrs);
    int out = value(n.name + "_out");
    n.outputs = {out};
    g.nodes.push_back(n);
    return out;
  }
};

// A profile path's family: "sparse", or "dense" for any "dense:<impl>".
std::string path_kind(const char *path) {
  const std::string s(path);
  return s.substr(0, s.find(':'));
}

std::vector<float> random_values(std::mt19937 &rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float &x : v) x = d(rng);
  return v;
}

enum class Act { kRelu, kRelu6, kThresholded };

double activate(Act act, double v) {
  switch (act) {
    case Act::kRelu:
      return v > 0 ? v : 0;
    case Act::kRelu6:
      return std::min(6.0, std::max(0.0, v));
    case Act::kThresholded:
      return v > 0.3 ? v : 0;
  }
  return v;
}

// x[M,K] -> Gemm(transB=1, alpha, beta, bias) -> act -> MatMul(W2) + b2 -> act -> Gemm(W3)
struct RandomMlp {
  int64_t k, h, n;
  Act act;
  float alpha = 0.75f, beta = 1.5f;
  std::vector<float> w1, b1, w2, b2, w3;  // w1 is [h, k] (transB), w2 [h, h], w3 [h, n]

  RandomMlp(std::mt19937 &rng, int64_t k_, int64_t h_, int64_t n_, Act a)
      : k(k_), h(h_), n(n_), act(a) {
    // Scaled by 1/sqrt(fan_in) as trained layers are, so activations stay O(1).
    const float s1 = 1.f / std::sqrt(float(k)), s2 = 1.f / std::sqrt(float(h));
    w1 = random_values(rng, size_t(h * k), -s1, s1);
    b1 = random_values(rng, size_t(h), -0.5f, 0.2f);  // negative bias: most units off
    w2 = random_values(rng, size_t(h * h), -s2, s2);
    b2 = random_values(rng, size_t(h), -0.5f, 0.2f);
    w3 = random_values(rng, size_t(h * n), -s2, s2);
  }

  Graph graph() const {
    Builder b;
    int x = b.value("x");
    b.g.values[size_t(x)].has_shape = true;
    b.g.values[size_t(x)].dims = {Dim{-1, "batch"}, Dim{k, ""}};
    b.g.inputs = {x};
    int l1 =
        b.node("Gemm", {x, b.constant("w1", f32({h, k}, w1)), b.constant("b1", f32({h}, b1))},
               {{"transB", attr_int(1)}, {"alpha", attr_float(alpha)}, {"beta", attr_float(beta)}});
    int a1 = activation(b, l1);
    int l2 = b.node("MatMul", {a1, b.constant("w2", f32({h, h}, w2))});
    int s2 = b.node("Add", {l2, b.constant("b2", f32({h}, b2))});
    int a2 = activation(b, s2);
    int y = b.node("Gemm", {a2, b.constant("w3", f32({h, n}, w3))});
    b.g.outputs = {y};
    return b.g;
  }

  int activation(Builder &b, int v) const {
    switch (act) {
      case Act::kRelu:
        return b.node("Relu", {v});
      case Act::kRelu6:
        return b.node("Clip", {v, b.constant("lo" + std::to_string(v), f32({}, {0.f})),
                               b.constant("hi" + std::to_string(v), f32({}, {6.f}))});
      case Act::kThresholded:
        return b.node("ThresholdedRelu", {v}, {{"alpha", attr_float(0.3f)}});
    }
    return v;
  }

  std::vector<float> reference(const std::vector<float> &x, int64_t m) const {
    std::vector<float> y(static_cast<size_t>(m * n));
    for (int64_t r = 0; r < m; ++r) {
      std::vector<double> a1(static_cast<size_t>(h)), a2(static_cast<size_t>(h));
      for (int64_t j = 0; j < h; ++j) {
        double acc = 0;
        for (int64_t i = 0; i < k; ++i) acc += double(x[size_t(r * k + i)]) * w1[size_t(j * k + i)];
        a1[size_t(j)] = activate(act, alpha * acc + beta * b1[size_t(j)]);
      }
      for (int64_t j = 0; j < h; ++j) {
        double acc = b2[size_t(j)];
        for (int64_t i = 0; i < h; ++i) acc += a1[size_t(i)] * w2[size_t(i * h + j)];
        a2[size_t(j)] = activate(act, acc);
      }
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t i = 0; i < h; ++i) acc += a2[size_t(i)] * w3[size_t(i * n + j)];
        y[size_t(r * n + j)] = float(acc);
      }
    }
    return y;
  }
};

std::unique_ptr<Session> session_for(Graph g, ExecMode mode, int threads = 1) {
  SessionOptions o;
  o.mode = mode;
  o.threads = threads;
  std::unique_ptr<Session> s;
  Status st = Session::create(std::move(g), o, &s);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return s;
}

TEST(SparsePath, RandomMlpsSparseEqualsDenseAndReference) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (Act act : {Act::kRelu, Act::kRelu6, Act::kThresholded}) {
    for (auto [k, h, n] :
         {std::tuple<int64_t, int64_t, int64_t>{17, 33, 5}, {64, 100, 10}, {1, 15, 1}}) {
      RandomMlp mlp(rng, k, h, n, act);
      auto sparse = session_for(mlp.graph(), ExecMode::kSparse, 2);
      auto dense = session_for(mlp.graph(), ExecMode::kDense);
      auto automatic = session_for(mlp.graph(), ExecMode::kAuto);
      for (int64_t m : {1, 2, 7, 65}) {
        std::vector<float> x = random_values(rng, size_t(m * k), -1, 1);
        Tensor in = f32({m, k}, x);
        std::vector<float> want = mlp.reference(x, m);
        std::vector<float> ys = run1(*sparse, in), yd = run1(*dense, in), ya = run1(*automatic, in);
        SCOPED_TRACE("act " + std::to_string(int(act)) + " k=" + std::to_string(k) +
                     " h=" + std::to_string(h) + " m=" + std::to_string(m));
        EXPECT_LE(max_rel_error(ys, yd), 1e-5);
        EXPECT_LE(max_rel_error(ya, yd), 1e-5);
        EXPECT_LE(max_rel_error(yd, want), 1e-4);
      }
    }
  }
}

TEST(SparsePath, BatchedMatMulThroughReshapeKeepsTheActiveSet) {
  // x [2,3,K] -> Relu -> Reshape [6,K] -> MatMul W[K,N]: the reshape keeps the
  // last axis, so the consumer still sees the producer's active set.
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const int64_t k = 40, n = 9;
  std::vector<float> w = random_values(rng, size_t(k * n), -1, 1);
  auto build = [&] {
    Builder b;
    int x = b.value("x");
    b.g.inputs = {x};
    int r = b.node("Relu", {x});
    int shaped =
        b.node("Reshape",
               {r, b.constant("shape", test::make_tensor<int64_t>(DType::kInt64, {2}, {-1, k}))});
    int y = b.node("MatMul", {shaped, b.constant("w", f32({k, n}, w))});
    b.g.outputs = {y};
    return b.g;
  };
  auto sparse = session_for(build(), ExecMode::kAuto);
  auto dense = session_for(build(), ExecMode::kDense);
  Tensor in = f32({2, 3, k}, random_values(rng, size_t(6 * k), -1, 0.05f));  // ~95% zeros
  RunProfile profile;
  std::vector<float> ys = run1(*sparse, in, &profile);
  EXPECT_LE(max_rel_error(ys, run1(*dense, in)), 1e-5);
  ASSERT_EQ(profile.steps.back().op_type, "MatMul");
  EXPECT_STREQ(profile.steps.back().matmul.path, "sparse");
}

// Which matmuls the sparsity pass marks, for the ways zeros travel in real
// graphs; and in every case the marked session equals the dense one.
TEST(SparsePath, ZerosAreTrackedThroughConcatAddTransposeAndPools) {
  std::mt19937 rng(test_seed());
  const int64_t k = 6, n = 5;
  std::vector<float> w = random_values(rng, size_t(2 * k * n), -1, 1);
  struct Case {
    const char *name;
    bool expect_marked;
    std::function<int(Builder &, int, int)> build;  // (builder, x, y) -> matmul input
  };
  const std::vector<Case> cases = {
      {"concat of relu and sigmoid", true,
       [](Builder &b, int x, int y) {
         Attribute axis = attr_int(1);
         return b.node("Concat", {b.node("Relu", {x}), b.node("Sigmoid", {y})}, {{"axis", axis}});
       }},
      {"add of two relus", true,
       [](Builder &b, int x, int y) {
         int s = b.node("Add", {b.node("Relu", {x}), b.node("Relu", {y})});
         return b.node("Concat", {s, s}, {{"axis", attr_int(1)}});
       }},
      {"add of relu and sigmoid", false,
       [](Builder &b, int x, int y) {
         int s = b.node("Add", {b.node("Relu", {x}), b.node("Sigmoid", {y})});
         return b.node("Concat", {s, s}, {{"axis", attr_int(1)}});
       }},
      {"transpose of relu", true,
       [](Builder &b, int x, int y) {
         int c = b.node("Concat", {x, y}, {{"axis", attr_int(1)}});
         int t = b.node("Transpose", {b.node("Relu", {c})}, {{"perm", attr_ints({1, 0})}});
         return b.node("Transpose", {t}, {{"perm", attr_ints({1, 0})}});
       }},
      {"sigmoid only", false,
       [](Builder &b, int x, int y) {
         return b.node("Sigmoid", {b.node("Concat", {x, y}, {{"axis", attr_int(1)}})});
       }},
  };
  for (const Case &c : cases) {
    auto build = [&] {
      Builder b;
      int x = b.value("x"), y = b.value("y");
      b.g.inputs = {x, y};
      int a = c.build(b, x, y);
      b.g.outputs = {b.node("MatMul", {a, b.constant("w", f32({2 * k, n}, w))})};
      return b.g;
    };
    auto marked = session_for(build(), ExecMode::kAuto);
    auto dense = session_for(build(), ExecMode::kDense);
    ASSERT_NE(marked, nullptr) << c.name;
    bool found = false;
    for (const Node &node : marked->graph().nodes)
      if (node.op_type == "MatMul") found = node.attr_int(kSparseInputAttr, 0) != 0;
    EXPECT_EQ(found, c.expect_marked) << c.name;
    for (int64_t m : {1, 3}) {
      Tensor xs = f32({m, k}, random_values(rng, size_t(m * k), -1, 1));
      Tensor ys = f32({m, k}, random_values(rng, size_t(m * k), -1, 1));
      std::vector<Tensor> a, d;
      ASSERT_TRUE(marked->run({xs, ys}, &a).is_ok()) << c.name;
      ASSERT_TRUE(dense->run({xs, ys}, &d).is_ok()) << c.name;
      EXPECT_LE(max_rel_error(floats(a[0]), floats(d[0])), 1e-5) << c.name;
    }
  }
}

TEST(SparsePath, NanAndInfGiveTheDensePattern) {
  std::mt19937 rng(test_seed());
  RandomMlp mlp(rng, 8, 24, 3, Act::kRelu);
  auto sparse = session_for(mlp.graph(), ExecMode::kSparse);
  auto dense = session_for(mlp.graph(), ExecMode::kDense);
  std::vector<float> x = random_values(rng, 3 * 8, -1, 1);
  x[2] = std::numeric_limits<float>::quiet_NaN();
  x[9] = std::numeric_limits<float>::infinity();
  Tensor in = f32({3, 8}, x);
  std::vector<float> ys = run1(*sparse, in), yd = run1(*dense, in);
  ASSERT_EQ(ys.size(), yd.size());
  for (size_t i = 0; i < ys.size(); ++i) {
    EXPECT_EQ(std::isnan(ys[i]), std::isnan(yd[i])) << i;
    EXPECT_EQ(std::isinf(ys[i]), std::isinf(yd[i])) << i;
  }
}

TEST(SparsePath, InfiniteWeightsKeepTheLayerDense) {
  // 0 * inf is NaN on the dense path; skipping the zero would hide it.
  Builder b;
  int x = b.value("x");
  b.g.inputs = {x};
  int r = b.node("Relu", {x});
  int y = b.node(
      "MatMul",
      {r, b.constant("w", f32({2, 2}, {std::numeric_limits<float>::infinity(), 1.f, 1.f, 1.f}))});
  b.g.outputs = {y};
  auto s = session_for(b.g, ExecMode::kSparse);
  std::vector<float> out = run1(*s, f32({1, 2}, {-1.f, 2.f}));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_EQ(out[1], 2.f);
}

TEST(SparsePath, SingleWeightCopyHoldsOneLayoutAndMatchesDense) {
  std::mt19937 rng(test_seed());
  RandomMlp mlp(rng, 40, 300, 70, Act::kRelu);
  SessionOptions o;
  o.single_weight_copy = true;
  std::unique_ptr<Session> single;
  ASSERT_TRUE(Session::create(mlp.graph(), o, &single).is_ok());
  auto dense = session_for(mlp.graph(), ExecMode::kDense);
  auto both = session_for(mlp.graph(), ExecMode::kAuto);
  // Padding of each row to 16 floats aside, one copy of every weight.
  EXPECT_LE(double(single->weight_bytes()), 1.1 * double(single->model_constant_bytes()));
  // Where the dense path has a layout of its own (oneDNN's with brgemm on
  // AVX-512, the own column panels without) the default holds a second copy;
  // elsewhere oneDNN borrows the row layout too.
  if (DnnlPackedMatmul::packs_weights(300, 300) || dense_uses_own_panels()) {
    EXPECT_GT(both->weight_bytes(), single->weight_bytes());
  } else {
    EXPECT_EQ(both->weight_bytes(), single->weight_bytes());
  }
  for (int64_t m : {1, 2, 7, 65}) {
    // Inputs shifted so the hidden layer's zeros range from few to most.
    for (float shift : {1.f, 0.f, -0.8f}) {
      std::vector<float> x = random_values(rng, size_t(m * 40), -1, 1);
      for (float &v : x) v += shift;
      Tensor in = f32({m, 40}, x);
      RunProfile profile;
      SCOPED_TRACE("m=" + std::to_string(m) + " shift=" + std::to_string(shift));
      EXPECT_LE(max_rel_error(run1(*single, in, &profile), run1(*dense, in)), 1e-5);
      // One row always gathers: oneDNN on the unpacked layout is slower.
      if (m == 1) {
        EXPECT_STREQ(profile.steps.back().matmul.path, "sparse");
      }
    }
  }
}

// x -> [through] -> MatMul W[k,n]: no producer upstream. A graph input read
// directly is counted for zeros on every call; through a Sigmoid (no exact
// zeros) nothing is, and only the layer's width can earn it the row layout.
Graph unmarked_matmul(const std::vector<float> &w, int64_t k, int64_t n,
                      const char *through = nullptr) {
  Builder b;
  int x = b.value("x");
  b.g.inputs = {x};
  const int a = through == nullptr ? x : b.node(through, {x});
  b.g.outputs = {b.node("MatMul", {a, b.constant("w", f32({k, n}, w))})};
  return b.g;
}

// `zero_fraction` of the entries are exactly 0 (-0.0 for half of them).
Tensor input_with_zeros(std::mt19937 &rng, int64_t m, int64_t k, double zero_fraction) {
  std::vector<float> x = random_values(rng, size_t(m * k), -1, 1);
  std::bernoulli_distribution zero(zero_fraction);
  for (size_t i = 0; i < x.size(); ++i) {
    if (zero(rng)) x[i] = i % 2 ? 0.f : -0.f;
  }
  return f32({m, k}, x);
}

struct GraphInputCase {
  int64_t n;
  double zero_fraction;
};

// The layouts are fixed at load: the first call already takes the path every
// later call with such an input takes, and the weight memory never grows.
// Which path is the crossover table's (per ISA): a layer holds the row
// layout when it reads a graph input and is wide enough to count zeros, or
// when its batch-1 calls gather even dense rows.
TEST(SparsePath, GraphInputConsumerCountsZerosFromTheFirstCall) {
  std::mt19937 rng(test_seed());
  const int64_t k = 300;
  for (const GraphInputCase &c : {GraphInputCase{128, 0.9}, GraphInputCase{128, 0.0},
                                  GraphInputCase{127, 0.9}, GraphInputCase{127, 0.0}}) {
    SCOPED_TRACE("n=" + std::to_string(c.n) + " zeros=" + std::to_string(c.zero_fraction));
    std::vector<float> w = random_values(rng, size_t(k * c.n), -1, 1);
    auto automatic = session_for(unmarked_matmul(w, k, c.n), ExecMode::kAuto);
    auto dense = session_for(unmarked_matmul(w, k, c.n), ExecMode::kDense);
    const bool rows = c.n >= kMinColsForInputScan || sparse_crossover_density(1, c.n) > 1.0;
    const size_t bytes_at_load = automatic->weight_bytes();
    const size_t row_bytes = size_t(k * c.n) * sizeof(float);
    if (!rows) {
      EXPECT_EQ(bytes_at_load, dense->weight_bytes());
    } else if (DnnlPackedMatmul::packs_weights(k, c.n) || dense_uses_own_panels()) {
      EXPECT_GE(bytes_at_load, dense->weight_bytes() + row_bytes);
    } else {
      EXPECT_GE(bytes_at_load, row_bytes);
      EXPECT_LT(bytes_at_load, dense->weight_bytes() + row_bytes);
    }
    for (int call = 0; call < 12; ++call) {
      const int64_t m = 1 + call % 3;
      Tensor in = input_with_zeros(rng, m, k, c.zero_fraction);
      RunProfile profile;
      EXPECT_LE(max_rel_error(run1(*automatic, in, &profile), run1(*dense, in)), 1e-5);
      // Densities 0.1 and 1 lie well either side of every crossover below 1.
      const bool sparse = rows && 1.0 - c.zero_fraction < sparse_crossover_density(m, c.n);
      EXPECT_EQ(path_kind(profile.steps.back().matmul.path), sparse ? "sparse" : "dense") << call;
    }
    EXPECT_EQ(automatic->weight_bytes(), bytes_at_load);
  }
}

// Where the table says the gather kernel beats the dense path at batch 1
// even on a dense row (AVX-512: oneDNN at 8192+ columns), such a layer holds
// the row layout from load whatever its zeros; batches of dense rows still
// take the dense path. Where it does not (the own dense kernels without
// AVX-512 read as fast), the layer holds the dense layout alone.
TEST(SparsePath, WideLayerGathersDenseRowsAtBatchOne) {
  std::mt19937 rng(test_seed());
  const int64_t k = 8, n = 8192;
  const bool gathers = sparse_crossover_density(1, n) > 1.0;
  std::vector<float> w = random_values(rng, size_t(k * n), -1, 1);
  auto automatic = session_for(unmarked_matmul(w, k, n, "Sigmoid"), ExecMode::kAuto);
  auto dense = session_for(unmarked_matmul(w, k, n, "Sigmoid"), ExecMode::kDense);
  for (int64_t m : {1, 3}) {
    Tensor in = input_with_zeros(rng, m, k, 0.0);
    RunProfile profile;
    EXPECT_LE(max_rel_error(run1(*automatic, in, &profile), run1(*dense, in)), 1e-5);
    EXPECT_EQ(path_kind(profile.steps.back().matmul.path), m == 1 && gathers ? "sparse" : "dense")
        << m;
  }
  if (!gathers) {
    EXPECT_EQ(automatic->weight_bytes(), dense->weight_bytes());
  }
  // Narrower (where the table does not gather every row at batch 1: oneDNN
  // with brgemm), or with a declared batch of 3 rows, the layer keeps
  // oneDNN's layout only.
  const int64_t narrow = 4096;
  if (sparse_crossover_density(1, narrow) <= 1.0) {
    std::vector<float> wn = random_values(rng, size_t(k * narrow), -1, 1);
    auto narrow_auto = session_for(unmarked_matmul(wn, k, narrow, "Sigmoid"), ExecMode::kAuto);
    auto narrow_dense = session_for(unmarked_matmul(wn, k, narrow, "Sigmoid"), ExecMode::kDense);
    EXPECT_EQ(narrow_auto->weight_bytes(), narrow_dense->weight_bytes());
  }
  Graph batch3 = unmarked_matmul(w, k, n, "Sigmoid");
  ValueInfo &a = batch3.values[size_t(batch3.nodes.back().inputs[0])];
  a.has_shape = true;
  a.dims = {Dim{3, ""}, Dim{k, ""}};
  EXPECT_EQ(session_for(batch3, ExecMode::kAuto)->weight_bytes(), dense->weight_bytes());
}

TEST(SparsePath, ConcurrentRunsOfAGraphInputConsumerMatchTheDensePath) {
  std::mt19937 rng(test_seed());
  const int64_t k = 200, n = 130;
  std::vector<float> w = random_values(rng, size_t(k * n), -1, 1);
  auto automatic = session_for(unmarked_matmul(w, k, n), ExecMode::kAuto, 2);
  auto dense = session_for(unmarked_matmul(w, k, n), ExecMode::kDense);
  std::vector<Tensor> inputs;
  std::vector<std::vector<float>> want;
  for (int t = 0; t < 8; ++t) {
    inputs.push_back(input_with_zeros(rng, 1 + t % 4, k, 0.95));
    want.push_back(run1(*dense, inputs.back()));
  }
  std::vector<double> worst(8, 0.0);
  std::vector<std::thread> pool;
  for (int t = 0; t < 8; ++t) {
    pool.emplace_back([&, t] {
      for (int rep = 0; rep < 10; ++rep) {
        std::vector<Tensor> out;
        if (!automatic->run({inputs[size_t(t)]}, &out).is_ok()) {
          worst[size_t(t)] = 1;
          return;
        }
        worst[size_t(t)] =
            std::max(worst[size_t(t)], max_rel_error(floats(out[0]), want[size_t(t)]));
      }
    });
  }
  for (auto &th : pool) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_LE(worst[size_t(t)], 1e-5) << "thread " << t;
  RunProfile profile;
  run1(*automatic, inputs[0], &profile);
  EXPECT_STREQ(profile.steps.back().matmul.path, "sparse");
}

TEST(SparsePath, ConcurrentRunsEqualSerialRuns) {
  std::mt19937 rng(test_seed());
  RandomMlp mlp(rng, 32, 256, 8, Act::kRelu);
  for (ExecMode mode : {ExecMode::kAuto, ExecMode::kSparse}) {
    auto s = session_for(mlp.graph(), mode, 2);
    std::vector<Tensor> inputs;
    std::vector<std::vector<float>> serial;
    for (int t = 0; t < 8; ++t) {
      int64_t m = 1 + t % 3;
      inputs.push_back(f32({m, 32}, random_values(rng, size_t(m * 32), -1, 1)));
      serial.push_back(run1(*s, inputs.back()));
    }
    std::vector<std::vector<float>> got(8);
    std::vector<std::thread> pool;
    for (int t = 0; t < 8; ++t) {
      pool.emplace_back([&, t] {
        for (int rep = 0; rep < 20; ++rep) {
          std::vector<Tensor> out;
          if (!s->run({inputs[size_t(t)]}, &out).is_ok()) return;
          if (rep == 0 || floats(out[0]) != got[size_t(t)]) got[size_t(t)] = floats(out[0]);
          if (got[size_t(t)] != serial[size_t(t)]) return;
        }
      });
    }
    for (auto &th : pool) th.join();
    for (int t = 0; t < 8; ++t) EXPECT_EQ(got[size_t(t)], serial[size_t(t)]) << "thread " << t;
  }
}

}  // namespace
}  // namespace si
