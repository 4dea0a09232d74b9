// The convolution epilogues and blocked activation layouts: the layout
// conversions against their index formula, oneDNN's fused convolutions
// against the reference kernels (the blocked max pool: pool_test.cc), the passes' decisions on
// a small CNN (conv -> add -> relu -> conv chains, a pool, depthwise + Clip,
// channel counts the block does not divide, a graph output), and that
// session computing what the unfused plain one does, deterministically, at
// batch 1 and 2 and on 1 and 2 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/passes/passes.h"
#include "engine/session.h"
#include "kernels/dense/dnnl_conv.h"
#include "kernels/ref/blocked_layout.h"
#include "kernels/ref/conv_ref.h"
#include "kernels/ref/pool_ref.h"
#include "tests/graph_builder.h"
#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

std::vector<float> uniform(std::mt19937 &rng, int64_t n, float lo = -1.f, float hi = 1.f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float &x : v) x = d(rng);
  return v;
}

void expect_near(const std::vector<float> &got, const std::vector<float> &want, float tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * (1.f + std::fabs(want[i]))) << "element " << i;
}

// ---------------------------------------------------------- kernels

TEST(BlockedLayout, MatchesIndexFormulaAndRoundTrips) {
  std::mt19937 rng(test_seed());
  for (int64_t block : {8, 16}) {
    for (int64_t n : {1, 2}) {
      const int64_t c = 2 * block, sp = 5;
      const std::vector<float> x = uniform(rng, n * c * sp);
      std::vector<float> y(x.size()), back(x.size());
      ref::f32_plain_to_blocked(x.data(), n, c, sp, block, y.data());
      for (int64_t i = 0; i < n; ++i)
        for (int64_t ch = 0; ch < c; ++ch)
          for (int64_t s = 0; s < sp; ++s)
            ASSERT_EQ(y[size_t((((i * c / block) + ch / block) * sp + s) * block + ch % block)],
                      x[size_t((i * c + ch) * sp + s)]);
      ref::f32_blocked_to_plain(y.data(), n, c, sp, block, back.data());
      EXPECT_EQ(back, x);
    }
  }
}

// Reference conv, then the epilogue in oneDNN's order: sum, then activation.
std::vector<float> reference_conv(const ref::ConvParams &p, const std::vector<float> &x,
                                  const std::vector<float> &w, const std::vector<float> &b,
                                  const std::vector<float> *addend, const ConvEpilogue &e) {
  std::vector<float> y(size_t(p.batch * p.out_channels * p.out_plane()));
  ref::f32_conv(p, x.data(), w.data(), b.data(), y.data(), 1);
  for (size_t i = 0; i < y.size(); ++i) {
    float v = y[i] + (addend ? (*addend)[i] : 0.f);
    if (e.act == ConvEpilogue::Act::kRelu) v = std::max(v, 0.f);
    if (e.act == ConvEpilogue::Act::kClip) v = std::min(std::max(v, e.lo), e.hi);
    y[i] = v;
  }
  return y;
}

TEST(DnnlConv, EpilogueAndLayoutsMatchReference) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const int block = dnnl_channel_block();
  for (int iter = 0; iter < 48; ++iter) {
    SCOPED_TRACE("iteration " + std::to_string(iter));
    ref::ConvParams p;
    p.batch = 1 + iter % 2;
    const bool depthwise = iter % 4 == 3;
    p.in_channels = block * (1 + int64_t(rng() % 3));
    p.out_channels = depthwise ? p.in_channels : block * (1 + int64_t(rng() % 3));
    p.group = depthwise ? p.in_channels : 1;
    p.rank = 2;
    for (int i = 0; i < 2; ++i) {
      p.kernel[i] = iter % 3 == 0 ? 1 : 3;
      p.stride[i] = 1 + int64_t(rng() % 2);
      p.pad_begin[i] = p.pad_end[i] = p.kernel[i] / 2;
      p.in[i] = 5 + int64_t(rng() % 6);
      p.out[i] = (p.in[i] + 2 * p.pad_begin[i] - p.kernel[i]) / p.stride[i] + 1;
    }
    ConvEpilogue e;
    e.sum = iter % 2 == 0;
    e.act = ConvEpilogue::Act(iter % 3);
    e.lo = 0.f, e.hi = 0.5f;
    ConvLayout layout;
    layout.src_block = (iter / 2) % 2 ? block : 0;
    layout.dst_block = (iter / 4) % 2 ? block : 0;
    const std::vector<float> x = uniform(rng, p.batch * p.in_channels * p.in_plane());
    const std::vector<float> w =
        uniform(rng, p.out_channels * (p.in_channels / p.group) * p.kernel_size());
    const std::vector<float> b = uniform(rng, p.out_channels);
    const std::vector<float> addend = uniform(rng, p.batch * p.out_channels * p.out_plane());
    const std::vector<float> want = reference_conv(p, x, w, b, e.sum ? &addend : nullptr, e);

    std::string error;
    auto conv = DnnlConv::create(p, false, w.data(), b.data(), &error, layout, e);
    ASSERT_TRUE(conv) << error;
    std::vector<float> xin = x, add = addend, y(want.size());
    if (layout.src_block)
      ref::f32_plain_to_blocked(x.data(), p.batch, p.in_channels, p.in_plane(), block, xin.data());
    if (layout.dst_block) {
      ref::f32_plain_to_blocked(addend.data(), p.batch, p.out_channels, p.out_plane(), block,
                                add.data());
    }
    ASSERT_TRUE(conv->run(p, xin.data(), y.data(), &error, e.sum ? add.data() : nullptr)) << error;
    std::vector<float> got = y;
    if (layout.dst_block)
      ref::f32_blocked_to_plain(y.data(), p.batch, p.out_channels, p.out_plane(), block,
                                got.data());
    expect_near(got, want, 1e-5f);
    if (e.sum) {  // the addend may be the output buffer itself
      std::vector<float> inplace = add;
      ASSERT_TRUE(conv->run(p, xin.data(), inplace.data(), &error, inplace.data())) << error;
      EXPECT_EQ(inplace, y);
    }
  }
}

TEST(GlobalAveragePool, BlockedGivesThePlainBits) {
  std::mt19937 rng(test_seed());
  const int64_t block = dnnl_channel_block();
  for (int64_t plane : {1, 7, 49}) {
    const int64_t n = 2, c = 3 * block;
    const std::vector<float> x = uniform(rng, n * c * plane);
    std::vector<float> xb(x.size()), want(size_t(n * c)), got(want.size());
    ref::f32_plain_to_blocked(x.data(), n, c, plane, block, xb.data());
    ref::f32_global_avg_pool(x.data(), want.data(), n * c, plane, 1);
    ref::f32_global_avg_pool_blocked(xb.data(), got.data(), n, c, plane, block, 2);
    EXPECT_EQ(got, want) << "plane " << plane;
  }
}

// ---------------------------------------------------------- the passes on a small CNN

struct Cnn : GraphBuilder {
  explicit Cnn(uint32_t seed) : GraphBuilder(seed) {}
  // Declares an intermediate's shape, as ONNX shape inference does on import.
  void shape(const std::string &name, const Shape &dims) {
    ValueInfo &v = g.values[size_t(value(name))];
    v.has_shape = true;
    v.dims.clear();
    for (int64_t d : dims) v.dims.push_back(Dim{d, d < 0 ? "batch" : ""});
  }
  void conv(const std::string &name, const std::string &x, const std::string &y, int64_t cin,
            int64_t cout, int64_t k, int64_t stride = 1, int64_t group = 1) {
    constant(name + ".w", {cout, cin / group, k, k});
    constant(name + ".b", {cout});
    Node &n = node("Conv", name, {x, name + ".w", name + ".b"}, {y});
    n.attrs["kernel_shape"] = attr_ints({k, k});
    n.attrs["pads"] = attr_ints({k / 2, k / 2, k / 2, k / 2});
    n.attrs["strides"] = attr_ints({stride, stride});
    n.attrs["group"] = attr_int(group);
  }
};

// x [N,3,9,7] -> stem Conv 3->C + Relu -> MaxPool 3x3 s1 -> p
//   p -> Conv 3x3 + Relu -> Conv 1x1 -> Add(p) -> Relu -> d      (a ResNet block)
//   d -> depthwise Conv 3x3 -> Clip(0, 6) -> Conv 1x1 C->12 -> Relu -> g
//   g -> Conv 3x3 stride 2, 12->2C -> y (graph output); d is an output too,
//   and so is GlobalAveragePool(e) -> m.
// C is the channel block, so 12 channels are not a multiple of it.
Graph small_cnn(int64_t c, uint32_t seed) {
  Cnn b(seed);
  b.input("x", {-1, 3, 9, 7});
  b.conv("stem", "x", "s", 3, c, 3);
  b.node("Relu", "stem_relu", {"s"}, {"a"});
  Node &pool = b.node("MaxPool", "pool", {"a"}, {"p"});
  pool.attrs["kernel_shape"] = attr_ints({3, 3});
  pool.attrs["pads"] = attr_ints({1, 1, 1, 1});
  b.conv("c1", "p", "c1o", c, c, 3);
  b.node("Relu", "c1_relu", {"c1o"}, {"r1"});
  b.conv("c2", "r1", "c2o", c, c, 1);
  b.node("Add", "add", {"c2o", "p"}, {"sum"});
  b.node("Relu", "add_relu", {"sum"}, {"d"});
  b.conv("dw", "d", "dwo", c, c, 3, 1, c);
  b.scalar("lo", 0.f);
  b.scalar("hi", 6.f);
  b.node("Clip", "relu6", {"dwo", "lo", "hi"}, {"e"});
  b.conv("proj", "e", "f", c, 12, 1);
  b.node("Relu", "proj_relu", {"f"}, {"g"});
  b.conv("down", "g", "y", 12, 2 * c, 3, 2);
  for (const char *v : {"s", "a", "p", "c1o", "r1", "c2o", "sum", "d", "dwo", "e"})
    b.shape(v, {-1, c, 9, 7});
  b.shape("f", {-1, 12, 9, 7});
  b.shape("g", {-1, 12, 9, 7});
  b.shape("y", {-1, 2 * c, 5, 4});
  b.node("GlobalAveragePool", "gap", {"e"}, {"m"});
  b.output("y");
  b.output("d");
  b.output("m");
  return b.g;
}

// Drops d from the outputs, so the chain from the stem to proj may block.
void unexport_d(Graph *g) {
  g->outputs.erase(g->outputs.begin() + 1);
}

const Node *find_node(const Graph &g, const std::string &name) {
  for (const Node &n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

TEST(ConvLayoutPasses, FuseEpiloguesAndBlockOnlyInnerEdges) {
  const int64_t c = dnnl_channel_block();
  Graph g = small_cnn(c, test_seed());
  ASSERT_TRUE(fuse_conv_epilogues(&g).is_ok());
  remove_dead_nodes(&g);
  assign_conv_layouts(&g, int(c));
  EXPECT_EQ(op_types(g),
            (std::vector<std::string>{"FusedConv", "MaxPool", "FusedConv", "FusedConv", "FusedConv",
                                      "FusedConv", "FusedConv", "GlobalAveragePool"}));
  struct Want {
    const char *node, *act;
    int64_t src, dst;
    size_t inputs;
  };
  // d is a graph output, so the sum writing it is plain, and so is its
  // addend p, the pool's output, hence the pool's input a.
  const Want want[] = {{"stem", "Relu", 0, 0, 3}, {"c1", "Relu", 0, c, 3},
                       {"c2", "Relu", c, 0, 4},   {"dw", "Clip", 0, c, 3},
                       {"proj", "Relu", c, 0, 3}, {"down", "", 0, 0, 3}};
  for (const Want &w : want) {
    SCOPED_TRACE(w.node);
    const Node *n = find_node(g, w.node);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->attr_string("activation", "?"), w.act);
    EXPECT_EQ(n->attr_int(kSrcBlockAttr, -1), w.src);
    EXPECT_EQ(n->attr_int(kDstBlockAttr, -1), w.dst);
    EXPECT_EQ(n->inputs.size(), w.inputs);
  }
  EXPECT_EQ(find_node(g, "pool")->attr_int(kSrcBlockAttr, -1), 0);
  EXPECT_EQ(find_node(g, "dw")->attr_float("clip_max", 0.f), 6.f);
  EXPECT_EQ(find_node(g, "gap")->attr_int(kSrcBlockAttr, -1), c);
}

TEST(ConvLayoutPasses, PoolBetweenConvsStaysBlocked) {
  const int64_t c = dnnl_channel_block();
  Graph g = small_cnn(c, test_seed());
  unexport_d(&g);
  ASSERT_TRUE(fuse_conv_epilogues(&g).is_ok());
  remove_dead_nodes(&g);
  assign_conv_layouts(&g, int(c));
  EXPECT_EQ(find_node(g, "stem")->attr_int(kDstBlockAttr, -1), c);
  EXPECT_EQ(find_node(g, "pool")->attr_int(kSrcBlockAttr, -1), c);
  EXPECT_EQ(find_node(g, "c2")->attr_int(kDstBlockAttr, -1), c);
  EXPECT_EQ(find_node(g, "dw")->attr_int(kSrcBlockAttr, -1), c);
  EXPECT_EQ(find_node(g, "proj")->attr_int(kDstBlockAttr, -1), 0);  // 12 channels
  EXPECT_EQ(find_node(g, "down")->attr_int(kDstBlockAttr, -1), 0);  // graph output
}

std::vector<std::vector<float>> run_session(const Graph &g, bool optimize, int threads,
                                            const Tensor &x, int calls = 1) {
  SessionOptions o;
  o.optimize = optimize;
  o.threads = threads;
  std::unique_ptr<Session> s;
  Status st = Session::create(g, o, &s);
  EXPECT_TRUE(st.is_ok()) << st.message();
  if (!st.is_ok()) return {};
  std::vector<std::vector<float>> first;
  for (int call = 0; call < calls; ++call) {
    std::vector<Tensor> out;
    st = s->run({x}, &out);
    EXPECT_TRUE(st.is_ok()) << st.message();
    std::vector<std::vector<float>> got;
    for (const Tensor &t : out) got.push_back(to_vector_f32(t));
    if (call == 0) first = got;
    for (size_t i = 0; i < got.size(); ++i) {  // bytes, so NaN compares too
      EXPECT_EQ(std::memcmp(got[i].data(), first[i].data(), got[i].size() * sizeof(float)), 0)
          << "call " << call << " differs from the first in output " << i;
    }
  }
  return first;
}

TEST(ConvLayoutSession, MatchesUnfusedPlainAndIsDeterministic) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const int64_t c = dnnl_channel_block();
  for (bool d_is_output : {true, false}) {
    Graph g = small_cnn(c, seed);
    if (!d_is_output) unexport_d(&g);
    for (int64_t batch : {1, 2}) {
      SCOPED_TRACE("batch " + std::to_string(batch) + (d_is_output ? ", d output" : ""));
      const Tensor x = make_f32({batch, 3, 9, 7}, uniform(rng, batch * 3 * 9 * 7));
      const auto want = run_session(g, false, 1, x);
      const auto one = run_session(g, true, 1, x, 3);
      const auto two = run_session(g, true, 2, x, 3);
      ASSERT_EQ(one.size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        SCOPED_TRACE("output " + std::to_string(i));
        expect_near(one[i], want[i], 1e-4f);
        expect_near(two[i], want[i], 1e-4f);
      }
    }
  }
}

// FusedConv with its weights fed at run time cannot pack: it runs the
// reference kernels, converting blocked sides; the packed one must agree.
TEST(ConvLayoutSession, UnpackedFusedConvHandlesBlockedSides) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const int64_t c = dnnl_channel_block();
  for (int variant = 0; variant < 4; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    const int64_t src = variant & 1 ? c : 0, dst = variant & 2 ? c : 0;
    const Tensor x = make_f32({2, c, 6, 5}, uniform(rng, 2 * c * 30));
    const Tensor w = make_f32({c, c, 3, 3}, uniform(rng, c * c * 9));
    const Tensor b = make_f32({c}, uniform(rng, c));
    const Tensor add = make_f32({2, c, 6, 5}, uniform(rng, 2 * c * 30));
    std::vector<float> results[2];
    for (int packed = 0; packed < 2; ++packed) {
      GraphBuilder gb(seed);
      gb.input("x", {2, c, 6, 5});
      gb.input("add", {2, c, 6, 5});
      if (packed) {
        gb.g.constants[gb.value("w")] = w;
      } else {
        gb.input("w", {c, c, 3, 3});
      }
      gb.g.constants[gb.value("b")] = b;
      Node &n = gb.node("FusedConv", "fc", {"x", "w", "b", "add"}, {"y"});
      n.domain = kEngineDomain;
      n.opset = 1;
      n.attrs["kernel_shape"] = attr_ints({3, 3});
      n.attrs["pads"] = attr_ints({1, 1, 1, 1});
      n.attrs["activation"] = attr_string("Clip");
      n.attrs["clip_min"] = attr_float(-0.5f);
      n.attrs["clip_max"] = attr_float(1.f);
      n.attrs[kSrcBlockAttr] = attr_int(src);
      n.attrs[kDstBlockAttr] = attr_int(dst);
      gb.output("y");
      SessionOptions o;
      o.optimize = false;
      o.threads = 1;
      std::unique_ptr<Session> s;
      Status st = Session::create(gb.g, o, &s);
      ASSERT_TRUE(st.is_ok()) << st.message();
      std::vector<Tensor> out;
      std::vector<Tensor> feeds = {x, add};
      if (!packed) feeds.push_back(w);
      st = s->run(feeds, &out);
      ASSERT_TRUE(st.is_ok()) << st.message();
      results[packed] = to_vector_f32(out[0]);
    }
    expect_near(results[0], results[1], 1e-5f);
  }
}

}  // namespace
}  // namespace si::test

namespace si::test {
namespace {

// Regression (fuzz_graph corpus 45224da6df6a6ee8): oneDNN's relu post-op
// turned a NaN into 0 where the unfused Relu keeps it. A non-finite input
// now takes the exact path, so both sessions agree on where NaN is.
TEST(ConvLayoutSession, NaNInputSurvivesFusedActivations) {
  const uint32_t seed = test_seed();
  std::mt19937 rng(seed);
  const Graph g = small_cnn(dnnl_channel_block(), seed);
  // The second batch is large enough for the finite check before c1 (a
  // block of channels, 9x7, an image) to split over the team; its NaN is in
  // the last image, so in the last thread's share.
  struct Case {
    int64_t batch;
    int threads;
  };
  for (const Case &c : {Case{1, 1}, Case{80, 2}}) {
    SCOPED_TRACE("batch " + std::to_string(c.batch) + " threads " + std::to_string(c.threads));
    std::vector<float> x = uniform(rng, c.batch * 3 * 9 * 7);
    x[size_t((c.batch - 1) * 3 * 9 * 7 + 40)] = std::nanf("");
    const Tensor t = make_f32({c.batch, 3, 9, 7}, x);
    const auto want = run_session(g, false, c.threads, t);
    const auto got = run_session(g, true, c.threads, t);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i].size(), want[i].size());
      size_t nans = 0;
      for (size_t j = 0; j < want[i].size(); ++j) {
        ASSERT_EQ(std::isnan(got[i][j]), std::isnan(want[i][j])) << "output " << i << " at " << j;
        nans += std::isnan(want[i][j]);
      }
      EXPECT_GT(nans, 0u) << "output " << i;
    }
  }
}

}  // namespace
}  // namespace si::test
