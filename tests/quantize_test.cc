// Linear quantization (issue 13): the kernels against naive references
// written from the ONNX spec, the ops through a Session (per-axis, zero
// points, broadcasting, bad input), and the dynamic int8 pattern ORT's
// quantize_dynamic writes, end to end against a float64 reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/ops/const_matmul.h"
#include "engine/passes/passes.h"
#include "engine/session.h"
#include "kernels/quant/matmul_integer.h"
#include "kernels/ref/quantize.h"
#include "tests/graph_builder.h"
#include "tests/ops_test_util.h"

namespace si {
namespace {

using test::make_tensor;
using test::test_seed;
using test::values_of;

// Round half to even without the FP environment: the oracle for nearbyint.
double round_half_even(double v) {
  const double f = std::floor(v), r = v - f;
  if (r > 0.5) return f + 1;
  if (r < 0.5) return f;
  return std::fmod(f, 2.0) == 0 ? f : f + 1;
}

template <typename Q>
Q naive_saturate(double v) {
  const double lo = std::numeric_limits<Q>::min(), hi = std::numeric_limits<Q>::max();
  return Q(v < lo ? lo : (v > hi ? hi : v));
}

template <typename Q>
std::vector<Q> random_codes(std::mt19937 &rng, int64_t n) {
  std::uniform_int_distribution<int> d(std::numeric_limits<Q>::min(),
                                       std::numeric_limits<Q>::max());
  std::vector<Q> v(static_cast<size_t>(n > 0 ? n : 0));
  for (Q &q : v) q = Q(d(rng));
  return v;
}

// ------------------------------------------------------------- kernels

TEST(QuantizeKernels, DequantizeAndQuantizeMatchTheSpecPerAxis) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (const ref::QuantAxis a : {ref::QuantAxis{1, 1, 37}, ref::QuantAxis{3, 5, 7},
                                 ref::QuantAxis{1, 13, 1}, ref::QuantAxis{2, 1, 1}}) {
    const int64_t n = a.outer * a.channels * a.inner;
    const auto scale = test::random_floats(rng, a.channels, 0.01f, 2.f);
    const auto zi8 = random_codes<int8_t>(rng, a.channels);
    const auto zu8 = random_codes<uint8_t>(rng, a.channels);
    const auto qi8 = random_codes<int8_t>(rng, n);
    const auto qu8 = random_codes<uint8_t>(rng, n);
    std::vector<int32_t> qi32(static_cast<size_t>(n));
    for (auto &v : qi32) v = int32_t(rng() % 2000001) - 1000000;
    // Halves land exactly on .5 (x = (j + 0.5) * s) to check the tie rule.
    auto x = test::random_floats(rng, n, -300.f, 300.f);
    for (int64_t i = 0; i < n; i += 3) x[static_cast<size_t>(i)] = (float(i % 11) - 5.5f);
    const size_t un = static_cast<size_t>(n);
    std::vector<float> y8(un), yu(un), y32(un);
    std::vector<int8_t> c8(un);
    std::vector<uint8_t> cu(un);
    std::vector<float> ones(static_cast<size_t>(a.channels), 1.f);
    ref::dequantize_linear(qi8.data(), scale.data(), zi8.data(), a, y8.data());
    ref::dequantize_linear(qu8.data(), scale.data(), zu8.data(), a, yu.data());
    ref::dequantize_linear(qi32.data(), scale.data(), nullptr, a, y32.data());
    ref::quantize_linear(x.data(), scale.data(), zi8.data(), a, c8.data());
    ref::quantize_linear(x.data(), ones.data(), nullptr, a, cu.data());
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = (i / a.inner) % a.channels;
      const float s = scale[static_cast<size_t>(c)];
      EXPECT_EQ(y8[static_cast<size_t>(i)],
                float(int(qi8[static_cast<size_t>(i)]) - int(zi8[static_cast<size_t>(c)])) * s)
          << i;
      EXPECT_EQ(yu[static_cast<size_t>(i)],
                float(int(qu8[static_cast<size_t>(i)]) - int(zu8[static_cast<size_t>(c)])) * s)
          << i;
      EXPECT_EQ(y32[static_cast<size_t>(i)], float(qi32[static_cast<size_t>(i)]) * s) << i;
      const double r8 =
          round_half_even(double(x[static_cast<size_t>(i)] / s)) + zi8[static_cast<size_t>(c)];
      EXPECT_EQ(c8[static_cast<size_t>(i)], naive_saturate<int8_t>(r8))
          << "x " << x[static_cast<size_t>(i)] << " s " << s;
      EXPECT_EQ(cu[static_cast<size_t>(i)],
                naive_saturate<uint8_t>(round_half_even(x[static_cast<size_t>(i)])))
          << "x " << x[static_cast<size_t>(i)];
    }
  }
}

TEST(QuantizeKernels, QuantizeRoundsHalfToEvenAndSaturates) {
  const std::vector<float> x = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 1000.f, -1000.f, NAN};
  const std::vector<int8_t> want = {0, 2, 2, 0, -2, -2, 127, -128, 0};
  std::vector<int8_t> y(x.size());
  const float s = 1.f;
  const int8_t zp = 0;
  ref::quantize_linear(x.data(), &s, &zp, ref::QuantAxis{1, 1, int64_t(x.size())}, y.data());
  EXPECT_EQ(y, want);
}

// The spec's formula step by step, in float32 as its reference does.
void naive_dynamic(const std::vector<float> &x, std::vector<uint8_t> *y, float *scale,
                   uint8_t *zero) {
  float lo = 0.f, hi = 0.f;
  for (float v : x) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  *scale = (hi - lo) / 255.f;
  y->assign(x.size(), 0);
  *zero = 0;
  if (*scale == 0.f) return;
  const float izp = 0.f - lo / *scale;
  *zero = uint8_t(round_half_even(std::min(255.f, std::max(0.f, izp))));
  for (size_t i = 0; i < x.size(); ++i)
    (*y)[i] = naive_saturate<uint8_t>(round_half_even(x[i] / *scale) + *zero);
}

TEST(QuantizeKernels, DynamicQuantizeFollowsTheSpecFormula) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  struct Range {
    float lo, hi;
  };
  // Mixed signs, all positive (min adjusted to 0), all negative (max
  // adjusted to 0), and a ReLU output with 90% zeros.
  for (const Range r : {Range{-3.f, 5.f}, Range{1.f, 9.f}, Range{-7.f, -0.5f}, Range{0.f, 4.f}}) {
    for (int64_t n : {1, 7, 300}) {
      auto x = test::random_floats(rng, n, r.lo, r.hi);
      if (r.lo == 0.f)
        for (size_t i = 0; i < x.size(); ++i)
          if (i % 10 != 0) x[i] = 0.f;
      std::vector<uint8_t> y(static_cast<size_t>(n)), want;
      float s = 0.f, ws = 0.f;
      uint8_t z = 0, wz = 0;
      ref::dynamic_quantize_linear(x.data(), n, y.data(), &s, &z);
      naive_dynamic(x, &want, &ws, &wz);
      EXPECT_EQ(s, ws);
      EXPECT_EQ(z, wz);
      EXPECT_EQ(y, want);
      // 0 lies in the range and maps to the zero point exactly.
      const float zero = 0.f;
      uint8_t q0 = 0;
      const ref::QuantAxis one{1, 1, 1};
      ref::quantize_linear(&zero, &s, &z, one, &q0);
      EXPECT_EQ(q0, z);
    }
  }
  std::vector<float> zeros(9, 0.f);
  std::vector<uint8_t> y(9, 7);
  float s = 1.f;
  uint8_t z = 7;
  ref::dynamic_quantize_linear(zeros.data(), 9, y.data(), &s, &z);
  EXPECT_EQ(s, 0.f);
  EXPECT_EQ(z, 0);
  EXPECT_EQ(y, std::vector<uint8_t>(9, 0));
}

template <typename TA, typename TB>
void check_matmul_integer(std::mt19937 &rng, int64_t m, int64_t n, int64_t k, double zeros,
                          int threads) {
  auto a = random_codes<TA>(rng, m * k);
  const auto b = random_codes<TB>(rng, k * n);
  std::vector<int32_t> za(static_cast<size_t>(m)), zb(static_cast<size_t>(n));
  for (auto &z : za) z = random_codes<TA>(rng, 1)[0];
  for (auto &z : zb) z = random_codes<TB>(rng, 1)[0];
  // A fraction of A's entries equal their row's zero point: the skipped terms.
  std::bernoulli_distribution is_zero(zeros);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p)
      if (is_zero(rng)) a[static_cast<size_t>(i * k + p)] = TA(za[static_cast<size_t>(i)]);
  std::vector<int32_t> y(static_cast<size_t>(m * n), -1);
  s32_matmul_integer(m, n, k, a.data(), k, za.data(), b.data(), n, zb.data(), y.data(), n, threads);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int64_t want = 0;
      for (int64_t p = 0; p < k; ++p)
        want += (int64_t(a[static_cast<size_t>(i * k + p)]) - za[static_cast<size_t>(i)]) *
                (int64_t(b[static_cast<size_t>(p * n + j)]) - zb[static_cast<size_t>(j)]);
      ASSERT_EQ(y[static_cast<size_t>(i * n + j)], int32_t(want))
          << "m " << m << " n " << n << " k " << k << " zeros " << zeros << " at " << i << "," << j;
    }
}

TEST(QuantizeKernels, MatMulIntegerSkipsZeroPointTermsExactly) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  struct Size {
    int64_t m, n, k;
  };
  for (const Size s : {Size{1, 1, 1}, Size{1, 33, 17}, Size{5, 7, 129}, Size{3, 64, 0},
                       Size{0, 4, 5}, Size{9, 1, 31}, Size{1, 200, 37}}) {
    for (double zeros : {0.0, 0.5, 0.9, 1.0}) {
      for (int threads : {1, 2}) {
        check_matmul_integer<uint8_t, int8_t>(rng, s.m, s.n, s.k, zeros, threads);
        check_matmul_integer<uint8_t, uint8_t>(rng, s.m, s.n, s.k, zeros, threads);
        check_matmul_integer<int8_t, int8_t>(rng, s.m, s.n, s.k, zeros, threads);
        check_matmul_integer<int8_t, uint8_t>(rng, s.m, s.n, s.k, zeros, threads);
      }
    }
  }
}

// ----------------------------------------------------------------- ops

Status run_node(const std::string &op, const std::vector<Tensor> &inputs, std::vector<Tensor> *out,
                std::map<std::string, Attribute> attrs = {}, int opset = 13, int num_outputs = 1) {
  test::OpSpec spec;
  spec.op_type = op;
  spec.opset = opset;
  spec.attrs = std::move(attrs);
  spec.inputs = inputs;
  spec.num_outputs = num_outputs;
  spec.options.threads = 1;
  return test::run_op(spec, out);
}

TEST(QuantizeOps, DequantizeLinearPerAxisWithNegativeAxis) {
  const Tensor x = make_tensor<int8_t>(DType::kInt8, {2, 3}, {-128, 0, 5, 127, -1, 9});
  const Tensor s = test::make_f32({2}, {0.5f, 2.f});
  const Tensor z = make_tensor<int8_t>(DType::kInt8, {2}, {0, -1});
  std::vector<Tensor> out;
  ASSERT_TRUE(run_node("DequantizeLinear", {x, s, z}, &out, {{"axis", attr_int(-2)}}).is_ok());
  EXPECT_EQ(test::to_vector_f32(out[0]), (std::vector<float>{-64.f, 0.f, 2.5f, 256.f, 0.f, 20.f}));
}

TEST(QuantizeOps, QuantizeLinearWithoutZeroPointIsUint8) {
  std::vector<Tensor> out;
  ASSERT_TRUE(run_node("QuantizeLinear",
                       {test::make_f32({4}, {-1.f, 2.5f, 3.5f, 600.f}), test::make_f32({}, {1.f})},
                       &out, {}, 10)
                  .is_ok());
  ASSERT_EQ(out[0].dtype(), DType::kUint8);
  EXPECT_EQ(values_of<uint8_t>(out[0]), (std::vector<uint8_t>{0, 2, 4, 255}));
}

TEST(QuantizeOps, MatMulIntegerBroadcastsBatchesAndTakesRowAndColumnZeroPoints) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  // A [2,1,3,5] x B [4,5,6] -> [2,4,3,6]; a_zero per row [2,1,3,1], b_zero [6].
  const Shape as{2, 1, 3, 5}, bs{4, 5, 6};
  const auto a = random_codes<uint8_t>(rng, test::count(as));
  const auto b = random_codes<int8_t>(rng, test::count(bs));
  const auto za = random_codes<uint8_t>(rng, 6);
  const auto zb = random_codes<int8_t>(rng, 6);
  std::vector<Tensor> out;
  ASSERT_TRUE(
      run_node("MatMulInteger",
               {make_tensor(DType::kUint8, as, a), make_tensor(DType::kInt8, bs, b),
                make_tensor(DType::kUint8, {2, 1, 3, 1}, za), make_tensor(DType::kInt8, {6}, zb)},
               &out, {}, 10)
          .is_ok());
  ASSERT_EQ(out[0].shape(), (Shape{2, 4, 3, 6}));
  const auto y = values_of<int32_t>(out[0]);
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t q = 0; q < 4; ++q)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 6; ++j) {
          int64_t want = 0;
          for (int64_t t = 0; t < 5; ++t)
            want +=
                (int64_t(a[static_cast<size_t>((p * 3 + i) * 5 + t)]) -
                 za[static_cast<size_t>(p * 3 + i)]) *
                (int64_t(b[static_cast<size_t>((q * 5 + t) * 6 + j)]) - zb[static_cast<size_t>(j)]);
          EXPECT_EQ(y[static_cast<size_t>(((p * 4 + q) * 3 + i) * 6 + j)], want);
        }
}

struct BadCase {
  const char *name;
  std::string op;
  std::vector<Tensor> inputs;
  std::map<std::string, Attribute> attrs;
  std::string message;  // a part of the error
};

TEST(QuantizeOps, BadInputNamesTheNode) {
  const Tensor x8 = make_tensor<int8_t>(DType::kInt8, {2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor s3 = test::make_f32({3}, {1.f, 2.f, 3.f});
  const Tensor s2 = test::make_f32({2}, {1.f, 2.f});
  const Tensor z3 = make_tensor<int8_t>(DType::kInt8, {3}, {0, 0, 0});
  const Tensor zu3 = make_tensor<uint8_t>(DType::kUint8, {3}, {0, 0, 0});
  const Tensor z2 = make_tensor<int8_t>(DType::kInt8, {2}, {0, 0});
  const Tensor f = test::make_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b8 = make_tensor<int8_t>(DType::kInt8, {3, 2}, {1, 2, 3, 4, 5, 6});
  const std::vector<BadCase> cases = {
      {"scale length differs from the axis",
       "DequantizeLinear",
       {x8, s2},
       {},
       "does not match x [2,3] along axis 1"},
      {"zero point shape differs from the scale",
       "DequantizeLinear",
       {x8, s3, z2},
       {},
       "differ in shape"},
      {"zero point dtype differs from x",
       "DequantizeLinear",
       {x8, s3, zu3},
       {},
       "zero point has dtype uint8, x has int8"},
      {"axis out of range",
       "DequantizeLinear",
       {x8, s3, z3},
       {{"axis", attr_int(2)}},
       "axis 2 is out of range"},
      {"quantize axis out of range",
       "QuantizeLinear",
       {f, s3, z3},
       {{"axis", attr_int(-3)}},
       "axis -3 is out of range"},
      {"quantize scale length",
       "QuantizeLinear",
       {f, s2, z2},
       {},
       "does not match x [2,3] along axis 1"},
      {"matmul zero point dtype",
       "MatMulInteger",
       {x8, b8, zu3},
       {},
       "a_zero_point has dtype uint8, A has int8"},
      {"matmul zero point shape", "MatMulInteger", {x8, b8, z3}, {}, "fits neither a scalar"},
      {"matmul inner dims", "MatMulInteger", {x8, x8}, {}, "inner dimensions differ"},
  };
  for (const BadCase &c : cases) {
    std::vector<Tensor> out;
    const Status st = run_node(c.op, c.inputs, &out, c.attrs);
    ASSERT_FALSE(st.is_ok()) << c.name;
    EXPECT_NE(st.message().find("node_under_test"), std::string::npos)
        << c.name << ": " << st.message();
    EXPECT_NE(st.message().find(c.message), std::string::npos) << c.name << ": " << st.message();
  }
}

// ------------------------------------------------- dynamic int8 models

// ORT's quantize_dynamic form: x -> DynamicQuantizeLinear -> MatMulInteger
// (constant W_q, x_zp, w_zp) -> Cast(float) -> Mul(x_scale) -> Mul(w_scale)
// [-> Add(bias)], x from a ReLU so that most of its entries are exact zeros.
struct DynamicModel {
  Graph g;
  std::vector<int8_t> wq;
  std::vector<float> w_scale, bias;
  int8_t w_zero = 0;
};

DynamicModel dynamic_model(uint32_t seed, int64_t k, int64_t n, bool per_column, bool with_bias) {
  DynamicModel m;
  test::GraphBuilder b(seed);
  b.input("x", {-1, k});
  b.node("Relu", "relu", {"x"}, {"r"});
  b.node("DynamicQuantizeLinear", "dql", {"r"}, {"rq", "rs", "rz"}).opset = 11;
  m.wq = random_codes<int8_t>(b.rng, k * n);
  m.w_zero = per_column ? 0 : int8_t(3);  // ORT writes 0 for int8 weights; any value is legal
  m.w_scale = test::random_floats(b.rng, per_column ? n : 1, 0.001f, 0.02f);
  auto constant = [&](const std::string &name, DType dt, Tensor t) {
    const int id = b.value(name);
    b.g.values[static_cast<size_t>(id)].dtype = dt;
    b.g.constants[id] = t;
  };
  constant("wq", DType::kInt8, make_tensor(DType::kInt8, {k, n}, m.wq));
  constant("wz", DType::kInt8, make_tensor<int8_t>(DType::kInt8, {}, {m.w_zero}));
  constant("ws", DType::kFloat32, test::make_f32(per_column ? Shape{n} : Shape{}, m.w_scale));
  for (const char *v : {"rq", "rz"})
    b.g.values[static_cast<size_t>(b.value(v))].dtype = DType::kUint8;
  b.g.values[static_cast<size_t>(b.value("acc"))].dtype = DType::kInt32;
  b.node("MatMulInteger", "mmi", {"rq", "wq", "rz", "wz"}, {"acc"}).opset = 10;
  b.node("Cast", "cast", {"acc"}, {"accf"}).attrs["to"] = attr_int(1);
  b.node("Mul", "mul_x", {"accf", "rs"}, {"sx"});
  b.node("Mul", "mul_w", {"sx", "ws"}, {with_bias ? "mm" : "y"});
  if (with_bias) {
    m.bias = test::random_floats(b.rng, n, -1.f, 1.f);
    constant("bias", DType::kFloat32, test::make_f32({n}, m.bias));
    b.node("Add", "add", {"mm", "bias"}, {"y"});
  }
  b.output("y");
  m.g = b.g;
  return m;
}

TEST(DynamicInt8, QuantizeDynamicPatternMatchesAFloat64Reference) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  const int64_t k = 131, n = 37;
  for (bool per_column : {false, true}) {
    for (bool with_bias : {false, true}) {
      const DynamicModel m = dynamic_model(seed, k, n, per_column, with_bias);
      std::mt19937 rng(seed + 1);
      for (int64_t rows : {1, 3}) {
        // ~90% of the ReLU's outputs are zero; one row is all zeros.
        auto x = test::random_floats(rng, rows * k, -1.f, 0.25f);
        if (rows == 3)
          for (int64_t p = 0; p < k; ++p) x[static_cast<size_t>(k + p)] = -1.f;
        // The reference: the spec's quantization of relu(x), then the
        // dequantized product in float64.
        std::vector<float> r(x.size());
        for (size_t i = 0; i < x.size(); ++i) r[i] = std::max(0.f, x[i]);
        std::vector<uint8_t> rq;
        float rs = 0.f;
        uint8_t rz = 0;
        naive_dynamic(r, &rq, &rs, &rz);
        for (ExecMode mode : {ExecMode::kAuto, ExecMode::kDense, ExecMode::kSparse}) {
          SessionOptions options;
          options.mode = mode;
          options.threads = 2;
          std::unique_ptr<Session> s;
          Status st = Session::create(m.g, options, &s);
          ASSERT_TRUE(st.is_ok()) << st.message();
          std::vector<Tensor> out;
          st = s->run({test::make_f32({rows, k}, x)}, &out);
          ASSERT_TRUE(st.is_ok()) << st.message();
          const auto y = test::to_vector_f32(out[0]);
          ASSERT_EQ(y.size(), static_cast<size_t>(rows * n));
          for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < n; ++j) {
              double acc = 0;
              for (int64_t p = 0; p < k; ++p)
                acc += (double(rq[static_cast<size_t>(i * k + p)]) - rz) *
                       (double(m.wq[static_cast<size_t>(p * n + j)]) - m.w_zero);
              double want = acc * rs * m.w_scale[per_column ? static_cast<size_t>(j) : 0];
              if (with_bias) want += m.bias[static_cast<size_t>(j)];
              EXPECT_NEAR(y[static_cast<size_t>(i * n + j)], want, 1e-4 + 1e-4 * std::fabs(want))
                  << "row " << i << " col " << j << " mode " << exec_mode_name(mode);
            }
        }
      }
    }
  }
}

// A static QDQ activation path, Relu -> QuantizeLinear(zp 0) ->
// DequantizeLinear(zp 0) -> MatMul: the zero rules mark the MatMul sparse,
// and every mode gives the float64 product of the dequantized activations.
TEST(DynamicInt8, QdqActivationsReachTheSparseMatMulAndMatchFloat64) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  const int64_t k = 160, n = 131, rows = 2;
  test::GraphBuilder b(seed);
  b.input("x", {rows, k});
  b.node("Relu", "relu", {"x"}, {"r"});
  b.scalar("s", 0.05f);
  const int z = b.value("z");
  b.g.values[static_cast<size_t>(z)].dtype = DType::kUint8;
  b.g.constants[z] = make_tensor<uint8_t>(DType::kUint8, {}, {0});
  b.g.values[static_cast<size_t>(b.value("rq"))].dtype = DType::kUint8;
  b.node("QuantizeLinear", "q", {"r", "s", "z"}, {"rq"});
  b.node("DequantizeLinear", "dq", {"rq", "s", "z"}, {"a"});
  b.constant("w", {k, n});
  b.node("MatMul", "mm", {"a", "w"}, {"y"});
  b.output("y");
  const std::vector<float> w = values_of<float>(b.g.constants[b.value("w")]);
  Graph marked = b.g;
  mark_sparsity(&marked);
  EXPECT_EQ(marked.nodes.back().attr_int(kSparseInputAttr, 0), 1) << "MatMul not marked sparse";
  std::mt19937 rng(seed + 2);
  const auto x = test::random_floats(rng, rows * k, -10.f, 2.f);  // ~83% zeros after Relu
  for (ExecMode mode : {ExecMode::kAuto, ExecMode::kDense, ExecMode::kSparse}) {
    SessionOptions options;
    options.mode = mode;
    options.threads = 1;
    std::unique_ptr<Session> s;
    Status st = Session::create(b.g, options, &s);
    ASSERT_TRUE(st.is_ok()) << st.message();
    std::vector<Tensor> out;
    st = s->run({test::make_f32({rows, k}, x)}, &out);
    ASSERT_TRUE(st.is_ok()) << st.message();
    const auto y = test::to_vector_f32(out[0]);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double want = 0;
        for (int64_t p = 0; p < k; ++p) {
          const double r = std::max(0.f, x[static_cast<size_t>(i * k + p)]);
          const double q = std::min(255.0, round_half_even(double(float(r) / 0.05f)));
          want += q * double(0.05f) * w[static_cast<size_t>(p * n + j)];
        }
        EXPECT_NEAR(y[static_cast<size_t>(i * n + j)], want, 1e-4 + 1e-4 * std::fabs(want))
            << i << "," << j << " mode " << exec_mode_name(mode);
      }
  }
}

}  // namespace
}  // namespace si
