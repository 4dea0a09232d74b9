// Conv and ConvTranspose: the reference kernels against textbook loops, and
// the ops (oneDNN with constant weights, reference with runtime weights)
// through a real Session against the same loops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/session.h"
#include "kernels/ref/conv_ref.h"
#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

// Spatial geometry of one test case, rank 1-3, ONNX conventions.
struct Geo {
  int64_t n = 1, c = 1, m = 1, group = 1;
  std::vector<int64_t> in, k, s, d, pb, pe;  // pb/pe: explicit pads
};

// ---------------------------------------------------------- textbook loops

// Conv by definition: copy x into an explicitly zero-padded buffer, then
// slide the window with no bounds checks at all.
std::vector<float> textbook_conv(const Geo &g, const std::vector<float> &x,
                                 const std::vector<float> &w, const std::vector<float> *b,
                                 Shape *y_shape) {
  const size_t r = g.in.size();
  std::vector<int64_t> P(3, 1), K(3, 1), S(3, 1), D(3, 1), O(3, 1), I(3, 1), B(3, 0);
  for (size_t i = 0; i < r; ++i) {
    I[i] = g.in[i];
    P[i] = g.in[i] + g.pb[i] + g.pe[i];
    K[i] = g.k[i];
    S[i] = g.s[i];
    D[i] = g.d[i];
    B[i] = g.pb[i];
    O[i] = (P[i] - ((K[i] - 1) * D[i] + 1)) / S[i] + 1;
  }
  *y_shape = {g.n, g.m};
  for (size_t i = 0; i < r; ++i) y_shape->push_back(O[i]);
  std::vector<float> padded(size_t(g.n * g.c * P[0] * P[1] * P[2]), 0.f);
  for (int64_t nc = 0; nc < g.n * g.c; ++nc)
    for (int64_t a = 0; a < I[0]; ++a)
      for (int64_t bb = 0; bb < I[1]; ++bb)
        for (int64_t cc = 0; cc < I[2]; ++cc)
          padded[size_t(((nc * P[0] + a + B[0]) * P[1] + bb + B[1]) * P[2] + cc + B[2])] =
              x[size_t(((nc * I[0] + a) * I[1] + bb) * I[2] + cc)];
  const int64_t icg = g.c / g.group, ocg = g.m / g.group;
  std::vector<float> y(size_t(g.n * g.m * O[0] * O[1] * O[2]));
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t oc = 0; oc < g.m; ++oc)
      for (int64_t o0 = 0; o0 < O[0]; ++o0)
        for (int64_t o1 = 0; o1 < O[1]; ++o1)
          for (int64_t o2 = 0; o2 < O[2]; ++o2) {
            double acc = b ? (*b)[size_t(oc)] : 0.0;
            for (int64_t ic = 0; ic < icg; ++ic)
              for (int64_t k0 = 0; k0 < K[0]; ++k0)
                for (int64_t k1 = 0; k1 < K[1]; ++k1)
                  for (int64_t k2 = 0; k2 < K[2]; ++k2) {
                    const int64_t c = (oc / ocg) * icg + ic;
                    const int64_t p0 = o0 * S[0] + k0 * D[0], p1 = o1 * S[1] + k1 * D[1],
                                  p2 = o2 * S[2] + k2 * D[2];
                    acc +=
                        double(
                            padded[size_t((((n * g.c + c) * P[0] + p0) * P[1] + p1) * P[2] + p2)]) *
                        double(w[size_t((((oc * icg + ic) * K[0] + k0) * K[1] + k1) * K[2] + k2)]);
                  }
            y[size_t((((n * g.m + oc) * O[0] + o0) * O[1] + o1) * O[2] + o2)] = float(acc);
          }
  return y;
}

// ConvTranspose by definition: scatter every input into the full (unpadded)
// output, then crop pb at the start and keep `out` positions (zeros past
// the full extent). w is [C, M/group, k...].
std::vector<float> textbook_conv_transpose(const Geo &g, const std::vector<float> &x,
                                           const std::vector<float> &w, const std::vector<float> *b,
                                           const std::vector<int64_t> &out) {
  const size_t r = g.in.size();
  std::vector<int64_t> F(3, 1), K(3, 1), S(3, 1), D(3, 1), O(3, 1), I(3, 1), B(3, 0);
  for (size_t i = 0; i < r; ++i) {
    I[i] = g.in[i];
    K[i] = g.k[i];
    S[i] = g.s[i];
    D[i] = g.d[i];
    B[i] = g.pb[i];
    O[i] = out[i];
    F[i] = S[i] * (I[i] - 1) + (K[i] - 1) * D[i] + 1;
  }
  const int64_t icg = g.c / g.group, ocg = g.m / g.group;
  std::vector<double> full(size_t(g.n * g.m * F[0] * F[1] * F[2]), 0.0);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t i0 = 0; i0 < I[0]; ++i0)
        for (int64_t i1 = 0; i1 < I[1]; ++i1)
          for (int64_t i2 = 0; i2 < I[2]; ++i2) {
            const double xv = x[size_t((((n * g.c + c) * I[0] + i0) * I[1] + i1) * I[2] + i2)];
            for (int64_t ol = 0; ol < ocg; ++ol) {
              const int64_t oc = (c / icg) * ocg + ol;
              for (int64_t k0 = 0; k0 < K[0]; ++k0)
                for (int64_t k1 = 0; k1 < K[1]; ++k1)
                  for (int64_t k2 = 0; k2 < K[2]; ++k2) {
                    const int64_t f0 = i0 * S[0] + k0 * D[0], f1 = i1 * S[1] + k1 * D[1],
                                  f2 = i2 * S[2] + k2 * D[2];
                    full[size_t((((n * g.m + oc) * F[0] + f0) * F[1] + f1) * F[2] + f2)] +=
                        xv * w[size_t((((c * ocg + ol) * K[0] + k0) * K[1] + k1) * K[2] + k2)];
                  }
            }
          }
  std::vector<float> y(size_t(g.n * g.m * O[0] * O[1] * O[2]));
  for (int64_t nm = 0; nm < g.n * g.m; ++nm)
    for (int64_t o0 = 0; o0 < O[0]; ++o0)
      for (int64_t o1 = 0; o1 < O[1]; ++o1)
        for (int64_t o2 = 0; o2 < O[2]; ++o2) {
          const int64_t f0 = o0 + B[0], f1 = o1 + B[1], f2 = o2 + B[2];
          double v = b ? (*b)[size_t(nm % g.m)] : 0.0;
          if (f0 >= 0 && f0 < F[0] && f1 >= 0 && f1 < F[1] && f2 >= 0 && f2 < F[2])
            v += full[size_t(((nm * F[0] + f0) * F[1] + f1) * F[2] + f2)];
          y[size_t(((nm * O[0] + o0) * O[1] + o1) * O[2] + o2)] = float(v);
        }
  return y;
}

void expect_close(const std::vector<float> &got, const std::vector<float> &want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-4f + 1e-4f * std::fabs(want[i])) << "element " << i;
}

Shape x_shape(const Geo &g) {
  Shape s = {g.n, g.c};
  s.insert(s.end(), g.in.begin(), g.in.end());
  return s;
}

// A random geometry: rank 1-3, odd and size-1 dims, groups (incl.
// depthwise), strides, dilations, asymmetric pads; always a valid output.
Geo random_geo(std::mt19937 &rng, size_t rank) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  Geo g;
  g.n = pick(1, 3);
  const int kind = int(pick(0, 3));  // 0 plain, 1 grouped, 2 depthwise, 3 depthwise x2
  g.group = kind == 0 ? 1 : kind == 1 ? pick(2, 3) : pick(1, 8);
  g.c = kind >= 2 ? g.group : g.group * pick(1, 5);
  g.m = kind == 2 ? g.group : kind == 3 ? 2 * g.group : g.group * pick(1, 5);
  for (size_t i = 0; i < rank; ++i) {
    g.k.push_back(pick(1, rank == 3 ? 3 : 4));
    g.s.push_back(pick(1, 3));
    g.d.push_back(pick(1, 2));
    g.pb.push_back(pick(0, 2));
    g.pe.push_back(pick(0, 2));
    const int64_t k_eff = (g.k.back() - 1) * g.d.back() + 1;
    g.in.push_back(
        std::max<int64_t>(pick(1, rank == 3 ? 6 : 11), k_eff - g.pb.back() - g.pe.back()));
  }
  return g;
}

std::string describe(const Geo &g) {
  auto v = [](const std::vector<int64_t> &a) {
    std::string s = "[";
    for (size_t i = 0; i < a.size(); ++i) s += (i ? "," : "") + std::to_string(a[i]);
    return s + "]";
  };
  return "N" + std::to_string(g.n) + " C" + std::to_string(g.c) + " M" + std::to_string(g.m) +
         " group " + std::to_string(g.group) + " in " + v(g.in) + " k " + v(g.k) + " s " + v(g.s) +
         " d " + v(g.d) + " pads " + v(g.pb) + v(g.pe);
}

ref::ConvParams params_of(const Geo &g, bool transposed, const std::vector<int64_t> &out) {
  ref::ConvParams p;
  p.batch = g.n;
  p.in_channels = g.c;
  p.out_channels = g.m;
  p.group = g.group;
  p.rank = int(g.in.size());
  for (size_t i = 0; i < g.in.size(); ++i) {
    p.in[i] = g.in[i];
    p.kernel[i] = g.k[i];
    p.stride[i] = g.s[i];
    p.dilation[i] = g.d[i];
    p.pad_begin[i] = g.pb[i];
    p.pad_end[i] = g.pe[i];
    p.out[i] = out[i];
  }
  (void)transposed;
  return p;
}

std::vector<int64_t> conv_out(const Geo &g) {
  std::vector<int64_t> o;
  for (size_t i = 0; i < g.in.size(); ++i)
    o.push_back((g.in[i] + g.pb[i] + g.pe[i] - ((g.k[i] - 1) * g.d[i] + 1)) / g.s[i] + 1);
  return o;
}

// ---------------------------------------------------------- reference kernels

TEST(ConvRef, MatchesTextbook) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int iter = 0; iter < 150; ++iter) {
    const Geo g = random_geo(rng, size_t(1 + iter % 3));
    SCOPED_TRACE(describe(g));
    const std::vector<float> x = random_floats(rng, count(x_shape(g)));
    const std::vector<float> w = random_floats(rng, g.m * (g.c / g.group) * count(g.k));
    const std::vector<float> b = random_floats(rng, g.m);
    Shape ys;
    const std::vector<float> want = textbook_conv(g, x, w, &b, &ys);
    std::vector<float> got(want.size());
    ref::f32_conv(params_of(g, false, conv_out(g)), x.data(), w.data(), b.data(), got.data(),
                  1 + iter % 2);
    expect_close(got, want);
  }
}

TEST(ConvRef, TransposeMatchesScatter) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int iter = 0; iter < 150; ++iter) {
    Geo g = random_geo(rng, size_t(1 + iter % 3));
    std::vector<int64_t> out;
    for (size_t i = 0; i < g.in.size(); ++i) {
      // Negative end pads stand for output_padding: zeros appended.
      if (iter % 4 == 0) g.pe[i] = -std::min<int64_t>(g.s[i] - 1, 1);
      const int64_t o = g.s[i] * (g.in[i] - 1) + (g.k[i] - 1) * g.d[i] + 1 - g.pb[i] - g.pe[i];
      if (o < 1) g.pb[i] = 0, g.pe[i] = 0;
      out.push_back(g.s[i] * (g.in[i] - 1) + (g.k[i] - 1) * g.d[i] + 1 - g.pb[i] - g.pe[i]);
    }
    SCOPED_TRACE(describe(g));
    const std::vector<float> x = random_floats(rng, count(x_shape(g)));
    const std::vector<float> w = random_floats(rng, g.c * (g.m / g.group) * count(g.k));
    const std::vector<float> b = random_floats(rng, g.m);
    const std::vector<float> want = textbook_conv_transpose(g, x, w, &b, out);
    std::vector<float> got(want.size());
    ref::f32_conv_transpose(params_of(g, true, out), x.data(), w.data(), b.data(), got.data(), 2);
    expect_close(got, want);
  }
}

// ---------------------------------------------------------- Conv op

Status run_conv(const Geo &g, const std::vector<float> &x, const std::vector<float> &w,
                const std::vector<float> *b, bool const_w, const std::string &auto_pad,
                std::vector<Tensor> *out, int opset = 11) {
  OpSpec spec;
  spec.op_type = "Conv";
  spec.opset = opset;
  if (auto_pad.empty()) {
    std::vector<int64_t> pads = g.pb;
    pads.insert(pads.end(), g.pe.begin(), g.pe.end());
    spec.attrs["pads"] = attr_ints(pads);
  } else {
    spec.attrs["auto_pad"] = attr_string(auto_pad);
  }
  spec.attrs["strides"] = attr_ints(g.s);
  spec.attrs["dilations"] = attr_ints(g.d);
  spec.attrs["group"] = attr_int(g.group);
  if (const_w) spec.attrs["kernel_shape"] = attr_ints(g.k);
  Shape ws = {g.m, g.c / g.group};
  ws.insert(ws.end(), g.k.begin(), g.k.end());
  spec.inputs = {make_f32(x_shape(g), x), make_f32(ws, w)};
  spec.constant = {false, const_w, const_w};
  if (b != nullptr) spec.inputs.push_back(make_f32({g.m}, *b));
  return run_op(spec, out);
}

// SAME_* and VALID pads by the spec's formulas, for the textbook loop.
void set_auto_pads(Geo *g, const std::string &mode) {
  for (size_t i = 0; i < g->in.size(); ++i) {
    if (mode == "VALID") {
      g->pb[i] = g->pe[i] = 0;
      continue;
    }
    const int64_t out = (g->in[i] + g->s[i] - 1) / g->s[i];
    const int64_t total =
        std::max<int64_t>(0, (out - 1) * g->s[i] + (g->k[i] - 1) * g->d[i] + 1 - g->in[i]);
    g->pb[i] = mode == "SAME_UPPER" ? total / 2 : total - total / 2;
    g->pe[i] = total - g->pb[i];
  }
}

TEST(ConvOp, MatchesTextbookEveryPadMode) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const std::vector<std::string> modes = {"", "SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET"};
  for (int iter = 0; iter < 120; ++iter) {
    Geo g = random_geo(rng, size_t(1 + iter % 3));
    const std::string mode = modes[size_t(iter / 3) % modes.size()];
    if (mode == "VALID") {
      for (size_t i = 0; i < g.in.size(); ++i)
        g.in[i] = std::max(g.in[i], (g.k[i] - 1) * g.d[i] + 1);
    }
    Geo textbook = g;
    if (mode != "" && mode != "NOTSET") set_auto_pads(&textbook, mode);
    if (mode == "NOTSET") {
      std::fill(g.pb.begin(), g.pb.end(), 0);
      std::fill(g.pe.begin(), g.pe.end(), 0);
      textbook = g;
      for (size_t i = 0; i < g.in.size(); ++i)
        g.in[i] = textbook.in[i] = std::max(g.in[i], (g.k[i] - 1) * g.d[i] + 1);
    }
    const bool const_w = iter % 2 == 0, bias = iter % 5 != 0;
    SCOPED_TRACE(describe(g) + " auto_pad '" + mode + "' const W " + std::to_string(const_w) +
                 " bias " + std::to_string(bias));
    const std::vector<float> x = random_floats(rng, count(x_shape(g)));
    const std::vector<float> w = random_floats(rng, g.m * (g.c / g.group) * count(g.k));
    const std::vector<float> b = random_floats(rng, g.m);
    Shape ys;
    const std::vector<float> want = textbook_conv(textbook, x, w, bias ? &b : nullptr, &ys);
    std::vector<Tensor> out;
    const std::string pad_attr = mode.empty() ? "" : mode;
    Status st = run_conv(g, x, w, bias ? &b : nullptr, const_w, pad_attr, &out);
    ASSERT_TRUE(st.is_ok()) << st.message();
    ASSERT_EQ(out[0].shape(), ys);
    expect_close(to_vector_f32(out[0]), want);
  }
}

// Shapes where blocked kernels and edge handling break: channels around the
// 16-wide SIMD block, a 1x1 and a 7x7 kernel, a 1-pixel image, zeros.
TEST(ConvOp, BlockEdgesAndZeros) {
  std::mt19937 rng(test_seed());
  struct C {
    int64_t n, c, m, group, h, w, k, s, pad;
  };
  const std::vector<C> cases = {{1, 15, 17, 1, 9, 7, 3, 1, 1},  {2, 16, 16, 1, 5, 5, 1, 1, 0},
                                {1, 33, 31, 1, 8, 6, 3, 2, 1},  {1, 32, 32, 32, 7, 9, 3, 1, 1},
                                {1, 3, 64, 1, 17, 17, 7, 2, 3}, {1, 16, 8, 1, 1, 1, 3, 1, 1},
                                {3, 48, 48, 48, 6, 6, 5, 2, 2}, {1, 24, 36, 4, 5, 7, 3, 1, 0}};
  for (const C &c : cases) {
    for (int zeros = 0; zeros < 2; ++zeros) {
      Geo g;
      g.n = c.n, g.c = c.c, g.m = c.m, g.group = c.group;
      g.in = {c.h, c.w}, g.k = {c.k, c.k}, g.s = {c.s, c.s}, g.d = {1, 1};
      g.pb = {c.pad, c.pad}, g.pe = {c.pad, c.pad};
      SCOPED_TRACE(describe(g) + (zeros ? " zero input" : ""));
      std::vector<float> x = random_floats(rng, count(x_shape(g)));
      if (zeros) std::fill(x.begin(), x.end(), 0.f);
      const std::vector<float> w = random_floats(rng, g.m * (g.c / g.group) * count(g.k));
      const std::vector<float> b = random_floats(rng, g.m);
      Shape ys;
      const std::vector<float> want = textbook_conv(g, x, w, &b, &ys);
      for (bool const_w : {true, false}) {
        std::vector<Tensor> out;
        Status st = run_conv(g, x, w, &b, const_w, "", &out);
        ASSERT_TRUE(st.is_ok()) << st.message();
        expect_close(to_vector_f32(out[0]), want);
      }
    }
  }
}

TEST(ConvOp, EmptyBatchAndKernelFromW) {
  Geo g;
  g.n = 0, g.c = 4, g.m = 6, g.group = 2;
  g.in = {5, 5}, g.k = {3, 3}, g.s = {1, 1}, g.d = {1, 1}, g.pb = {1, 1}, g.pe = {1, 1};
  std::vector<Tensor> out;
  Status st = run_conv(g, {}, std::vector<float>(6 * 2 * 9, 1.f), nullptr, true, "", &out);
  ASSERT_TRUE(st.is_ok()) << st.message();
  EXPECT_EQ(out[0].shape(), (Shape{0, 6, 5, 5}));
}

// One session, a constant weight and an input of unknown shape: each new
// shape compiles its own primitive against the weights packed at load.
TEST(ConvOp, DynamicInputShapes) {
  std::mt19937 rng(test_seed());
  Geo g;
  g.c = 8, g.m = 16, g.group = 1, g.k = {3, 3}, g.s = {1, 1}, g.d = {1, 1};
  g.pb = {1, 1}, g.pe = {1, 1};
  const std::vector<float> w = random_floats(rng, g.m * g.c * 9);
  Graph graph;
  ValueInfo xi;
  xi.name = "x";
  xi.dtype = DType::kFloat32;
  const int x = graph.add_value(xi);
  ValueInfo wi;
  wi.name = "w";
  wi.dtype = DType::kFloat32;
  const int wid = graph.add_value(wi);
  graph.constants[wid] = make_f32({g.m, g.c, 3, 3}, w);
  ValueInfo yi;
  yi.name = "y";
  const int y = graph.add_value(yi);
  Node node;
  node.op_type = "Conv";
  node.name = "conv";
  node.opset = 11;
  node.inputs = {x, wid};
  node.outputs = {y};
  node.attrs["pads"] = attr_ints({1, 1, 1, 1});
  graph.nodes.push_back(node);
  graph.inputs = {x};
  graph.outputs = {y};
  std::unique_ptr<Session> session;
  ASSERT_TRUE(Session::create(std::move(graph), SessionOptions{}, &session).is_ok());
  for (const auto &hw :
       std::vector<std::pair<int64_t, int64_t>>{{3, 3}, {12, 5}, {1, 30}, {3, 3}}) {
    g.n = hw.first == 12 ? 2 : 1;
    g.in = {hw.first, hw.second};
    SCOPED_TRACE(describe(g));
    const std::vector<float> xv = random_floats(rng, count(x_shape(g)));
    Shape ys;
    const std::vector<float> want = textbook_conv(g, xv, w, nullptr, &ys);
    std::vector<Tensor> out;
    Status st = session->run({make_f32(x_shape(g), xv)}, &out);
    ASSERT_TRUE(st.is_ok()) << st.message();
    ASSERT_EQ(out[0].shape(), ys);
    expect_close(to_vector_f32(out[0]), want);
  }
}

TEST(ConvOp, Errors) {
  Geo g;
  g.n = 1, g.c = 4, g.m = 6, g.group = 2;
  g.in = {5, 5}, g.k = {3, 3}, g.s = {1, 1}, g.d = {1, 1}, g.pb = {0, 0}, g.pe = {0, 0};
  const std::vector<float> x(100, 1.f), w(6 * 2 * 9, 1.f), b(6, 0.f);
  auto expect = [&](Status st, StatusCode code, const std::string &needle) {
    EXPECT_EQ(st.code(), code) << st.message();
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
  };
  std::vector<Tensor> out;
  for (bool const_w : {true, false}) {
    SCOPED_TRACE(const_w ? "constant W" : "runtime W");
    // Channel mismatch: X has 4 channels, W expects 3 per group x 2.
    OpSpec spec;
    spec.op_type = "Conv";
    spec.opset = 11;
    spec.attrs["group"] = attr_int(2);
    spec.inputs = {make_f32({1, 4, 5, 5}, x), make_f32({6, 3, 3, 3}, std::vector<float>(162))};
    spec.constant = {false, const_w};
    expect(run_op(spec, &out), StatusCode::kInvalidArgument, "channels");
    // Output channels not divisible by group.
    spec.inputs[1] = make_f32({5, 2, 3, 3}, std::vector<float>(90));
    expect(run_op(spec, &out), StatusCode::kInvalidArgument, "group");
    // Bias of the wrong length.
    spec.inputs = {make_f32({1, 4, 5, 5}, x), make_f32({6, 2, 3, 3}, w),
                   make_f32({5}, {1, 2, 3, 4, 5})};
    spec.constant = {false, const_w, const_w};
    expect(run_op(spec, &out), StatusCode::kInvalidArgument, "B [5]");
    // kernel_shape disagreeing with W.
    spec.inputs.pop_back();
    spec.attrs["kernel_shape"] = attr_ints({2, 2});
    expect(run_op(spec, &out), StatusCode::kInvalidArgument, "kernel_shape");
    spec.attrs.erase("kernel_shape");
    // Kernel larger than the padded input.
    spec.inputs[0] = make_f32({1, 4, 2, 5}, std::vector<float>(40));
    expect(run_op(spec, &out), StatusCode::kInvalidArgument, "smaller than the kernel");
    // Four spatial dims.
    spec.attrs.erase("group");
    spec.inputs = {make_f32({1, 1, 2, 2, 2, 2}, std::vector<float>(16)),
                   make_f32({1, 1, 1, 1, 1, 1}, {1.f})};
    expect(run_op(spec, &out), StatusCode::kUnsupported, "4-D");
  }
  OpSpec spec;
  spec.op_type = "Conv";
  spec.opset = 11;
  spec.inputs = {make_f32({1, 4, 5, 5}, x), make_f32({6, 4, 3, 3}, std::vector<float>(216))};
  spec.constant = {false, true};
  spec.attrs["auto_pad"] = attr_string("SAME");
  expect(run_op(spec, &out), StatusCode::kInvalidModel, "auto_pad");
  spec.attrs.erase("auto_pad");
  spec.attrs["strides"] = attr_ints({0, 1});
  expect(run_op(spec, &out), StatusCode::kInvalidModel, "strides");
  spec.attrs.erase("strides");
  spec.attrs["pads"] = attr_ints({1, 1, 1});
  expect(run_op(spec, &out), StatusCode::kInvalidModel, "pads");
  spec.attrs["pads"] = attr_ints({1, 1, 1, 1});
  spec.attrs["auto_pad"] = attr_string("VALID");
  expect(run_op(spec, &out), StatusCode::kInvalidModel, "cannot be combined");
  spec.attrs.erase("auto_pad");
  spec.attrs.erase("pads");
  spec.attrs["group"] = attr_int(0);
  expect(run_op(spec, &out), StatusCode::kInvalidModel, "group");
}

// ---------------------------------------------------------- ConvTranspose op

TEST(ConvTransposeOp, MatchesScatter) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  // 0 explicit pads, 1 output_padding, 2 output_shape, 3 SAME_UPPER, 4 SAME_LOWER, 5 VALID
  for (int iter = 0; iter < 120; ++iter) {
    Geo g = random_geo(rng, size_t(1 + iter % 3));
    const int mode = (iter / 3) % 6;
    const bool const_w = iter % 2 == 0, bias = iter % 7 != 0;
    OpSpec spec;
    spec.op_type = "ConvTranspose";
    spec.opset = 11;
    spec.attrs["strides"] = attr_ints(g.s);
    spec.attrs["dilations"] = attr_ints(g.d);
    spec.attrs["group"] = attr_int(g.group);
    const size_t r = g.in.size();
    std::vector<int64_t> out(r), op(r, 0);
    Geo t = g;  // what the textbook loop crops
    for (size_t i = 0; i < r; ++i) {
      const int64_t k_eff = (g.k[i] - 1) * g.d[i] + 1;
      const int64_t full = g.s[i] * (g.in[i] - 1) + k_eff;
      if (mode == 1) op[i] = std::uniform_int_distribution<int64_t>(0, g.s[i] - 1)(rng);
      if (mode <= 1) {
        g.pb[i] = std::min(g.pb[i], (full - 1) / 2);
        g.pe[i] = std::min(g.pe[i], (full - 1) / 2);
        t.pb[i] = g.pb[i];
        out[i] = full + op[i] - g.pb[i] - g.pe[i];
      } else if (mode == 2) {
        out[i] = std::max<int64_t>(1, full + std::uniform_int_distribution<int64_t>(-2, 2)(rng));
        const int64_t total = std::max<int64_t>(0, full - out[i]);
        t.pb[i] = total - total / 2;
      } else if (mode <= 4) {
        out[i] = g.in[i] * g.s[i];
        const int64_t total = std::max<int64_t>(0, full - out[i]);
        t.pb[i] = mode == 3 ? total / 2 : total - total / 2;
      } else {
        out[i] = full;
        t.pb[i] = 0;
      }
    }
    if (mode <= 1) {
      std::vector<int64_t> pads = g.pb;
      pads.insert(pads.end(), g.pe.begin(), g.pe.end());
      spec.attrs["pads"] = attr_ints(pads);
      if (mode == 1) spec.attrs["output_padding"] = attr_ints(op);
    } else if (mode == 2) {
      spec.attrs["output_shape"] = attr_ints(out);
    } else {
      spec.attrs["auto_pad"] = attr_string(mode == 3   ? "SAME_UPPER"
                                           : mode == 4 ? "SAME_LOWER"
                                                       : "VALID");
    }
    SCOPED_TRACE(describe(g) + " mode " + std::to_string(mode) + " const W " +
                 std::to_string(const_w));
    const std::vector<float> x = random_floats(rng, count(x_shape(g)));
    const std::vector<float> w = random_floats(rng, g.c * (g.m / g.group) * count(g.k));
    const std::vector<float> b = random_floats(rng, g.m);
    Shape ws = {g.c, g.m / g.group};
    ws.insert(ws.end(), g.k.begin(), g.k.end());
    spec.inputs = {make_f32(x_shape(g), x), make_f32(ws, w)};
    if (bias) spec.inputs.push_back(make_f32({g.m}, b));
    spec.constant = {false, const_w, const_w};
    const std::vector<float> want = textbook_conv_transpose(t, x, w, bias ? &b : nullptr, out);
    std::vector<Tensor> res;
    Status st = run_op(spec, &res);
    ASSERT_TRUE(st.is_ok()) << st.message();
    Shape ys = {g.n, g.m};
    ys.insert(ys.end(), out.begin(), out.end());
    ASSERT_EQ(res[0].shape(), ys);
    expect_close(to_vector_f32(res[0]), want);
  }
}

TEST(ConvTransposeOp, Errors) {
  std::vector<Tensor> out;
  OpSpec spec;
  spec.op_type = "ConvTranspose";
  spec.opset = 11;
  spec.inputs = {make_f32({1, 3, 4, 4}, std::vector<float>(48)),
                 make_f32({2, 2, 3, 3}, std::vector<float>(36))};
  spec.constant = {false, true};
  Status st = run_op(spec, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("channels"), std::string::npos) << st.message();
  spec.inputs[1] = make_f32({3, 2, 3, 3}, std::vector<float>(54));
  spec.attrs["output_padding"] = attr_ints({1});
  st = run_op(spec, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("output_padding"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace si::test
