// Activations and the softmax family through a real Session.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "engine/ops/registry.h"
#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<float> with_specials(std::vector<float> v) {
  const float specials[] = {0.f, -0.f, kNaN, kInf, -kInf, 1.f, -1.f, 1e-40f, -1e-40f};
  for (size_t i = 0; i < v.size() && i < 9; ++i) v[i * 3 % v.size()] = specials[i];
  return v;
}

Status run1(const std::string &op, int opset, const Tensor &x, std::vector<Tensor> *out,
            std::map<std::string, Attribute> attrs = {}) {
  OpSpec spec;
  spec.op_type = op;
  spec.opset = opset;
  spec.attrs = std::move(attrs);
  spec.inputs = {x};
  return run_op(spec, out);
}

TEST(OpsActivation, ElementwiseMatchNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  struct Case {
    const char *op;
    int opset;
    std::map<std::string, Attribute> attrs;
    float (*naive)(float);
    double tol;  // relative; 0 = exact
  };
  const std::vector<Case> cases = {
      {"Relu", 6, {}, [](float v) { return std::isnan(v) ? v : (v > 0 ? v : 0.f); }, 0},
      {"Relu", 14, {}, [](float v) { return std::isnan(v) ? v : (v > 0 ? v : 0.f); }, 0},
      {"LeakyRelu", 6, {}, [](float v) { return v >= 0 || std::isnan(v) ? v : 0.01f * v; }, 0},
      {"LeakyRelu",
       16,
       {{"alpha", attr_float(0.2f)}},
       [](float v) { return v >= 0 || std::isnan(v) ? v : 0.2f * v; },
       0},
      {"ThresholdedRelu", 10, {}, [](float v) { return v > 1.f ? v : 0.f; }, 0},
      {"ThresholdedRelu",
       10,
       {{"alpha", attr_float(-0.5f)}},
       [](float v) { return v > -0.5f ? v : 0.f; },
       0},
      {"Sigmoid", 13, {}, [](float v) { return float(1.0 / (1.0 + std::exp(-double(v)))); }, 1e-6},
      {"Tanh", 6, {}, [](float v) { return float(std::tanh(double(v))); }, 1e-6},
  };
  const std::vector<Shape> shapes = {{}, {1}, {7}, {0, 3}, {2, 3, 5}, {1, 1, 17}, {300, 129}};
  for (const Case &c : cases) {
    for (const Shape &s : shapes) {
      SCOPED_TRACE(std::string(c.op) + " opset " + std::to_string(c.opset) + " " + shape_str(s));
      std::vector<float> x = with_specials(random_floats(rng, count(s), -6.f, 6.f));
      std::vector<Tensor> out;
      Status st = run1(c.op, c.opset, make_f32(s, x), &out, c.attrs);
      ASSERT_TRUE(st.is_ok()) << st.message();
      ASSERT_EQ(out[0].shape(), s);
      std::vector<float> y = to_vector_f32(out[0]);
      for (size_t i = 0; i < x.size(); ++i) {
        float want = c.naive(x[i]);
        if (c.tol == 0 || std::isnan(want) || std::isinf(want)) {
          ASSERT_TRUE(same_float(want, y[i])) << "x=" << x[i] << " got " << y[i];
        } else {
          ASSERT_NEAR(y[i], want, c.tol * std::fabs(want) + 1e-37) << "x=" << x[i];
        }
      }
    }
  }
}

TEST(OpsActivation, ReluEdgeValues) {
  std::vector<Tensor> out;
  ASSERT_TRUE(
      run1("Relu", 14, make_f32({6}, {kNaN, -0.f, kInf, -kInf, -1e-40f, 2.5f}), &out).is_ok());
  std::vector<float> y = to_vector_f32(out[0]);
  EXPECT_TRUE(std::isnan(y[0]));  // NaN propagates (numpy maximum)
  EXPECT_EQ(y[1], 0.f);
  EXPECT_EQ(y[2], kInf);
  EXPECT_EQ(y[3], 0.f);
  EXPECT_EQ(y[4], 0.f);
  EXPECT_EQ(y[5], 2.5f);
}

TEST(OpsActivation, ZeroRules) {
  EXPECT_EQ(find_op("", "Relu", 14)->zeros.kind, ZeroKind::kProducer);
  EXPECT_EQ(find_op("", "Clip", 13)->zeros.kind, ZeroKind::kProducer);
  EXPECT_EQ(find_op("", "ThresholdedRelu", 10)->zeros.kind, ZeroKind::kProducer);
  EXPECT_EQ(find_op("", "Sigmoid", 13)->zeros.kind, ZeroKind::kNone);
  EXPECT_EQ(find_op("", "ThresholdedRelu", 9), nullptr);  // ai.onnx only from opset 10
}

// ------------------------------------------------------------------ Clip

Status run_clip(int opset, const Tensor &x, const Tensor &lo, const Tensor &hi, bool constant,
                std::vector<Tensor> *out, std::map<std::string, Attribute> attrs = {}) {
  OpSpec spec;
  spec.op_type = "Clip";
  spec.opset = opset;
  spec.attrs = std::move(attrs);
  spec.inputs = {x};
  if (opset >= 11) {
    spec.inputs.push_back(lo);
    spec.inputs.push_back(hi);
  }
  spec.constant = {false, constant, constant};
  return run_op(spec, out);
}

TEST(OpsClip, BoundsFromInputs) {
  const std::vector<float> x = {kNaN, -0.f, kInf, -kInf, -3.f, -1.f, 0.f, 0.5f, 2.f, 9.f};
  const Tensor x_t = make_f32({2, 5}, x);
  const Tensor lo = make_f32({}, {-1.f}), hi = make_f32({}, {2.f});
  struct Case {
    Tensor lo, hi;
    float l, h;
  };
  const std::vector<Case> cases = {{lo, hi, -1.f, 2.f},
                                   {Tensor(), hi, -kInf, 2.f},  // min omitted
                                   {lo, Tensor(), -1.f, kInf},  // max omitted
                                   {Tensor(), Tensor(), -kInf, kInf},
                                   {make_f32({}, {0.f}), make_f32({}, {6.f}), 0.f, 6.f}};
  for (int opset : {11, 13}) {
    for (bool constant : {false, true}) {
      for (const Case &c : cases) {
        SCOPED_TRACE("opset " + std::to_string(opset) + " bounds " + std::to_string(c.l) + ".." +
                     std::to_string(c.h) + (constant ? " constant" : " runtime"));
        std::vector<Tensor> out;
        Status s = run_clip(opset, x_t, c.lo, c.hi, constant, &out);
        ASSERT_TRUE(s.is_ok()) << s.message();
        std::vector<float> y = to_vector_f32(out[0]);
        for (size_t i = 0; i < x.size(); ++i) {
          float want = std::isnan(x[i]) ? x[i] : std::min(std::max(x[i], c.l), c.h);
          ASSERT_TRUE(same_float(want, y[i])) << "x=" << x[i] << " got " << y[i];
        }
      }
    }
  }
}

TEST(OpsClip, Opset6Attributes) {
  const std::vector<float> x = {kNaN, kInf, -kInf, -3.f, 0.25f, 9.f};
  std::vector<Tensor> out;
  ASSERT_TRUE(run_clip(6, make_f32({6}, x), Tensor(), Tensor(), false, &out,
                       {{"min", attr_float(-0.5f)}, {"max", attr_float(0.5f)}})
                  .is_ok());
  std::vector<float> y = to_vector_f32(out[0]);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 0.5f);
  EXPECT_EQ(y[2], -0.5f);
  EXPECT_EQ(y[3], -0.5f);
  EXPECT_EQ(y[4], 0.25f);
  EXPECT_EQ(y[5], 0.5f);
  // Opset 6 defaults are the float extremes, so infinities are clamped.
  ASSERT_TRUE(run_clip(6, make_f32({6}, x), Tensor(), Tensor(), false, &out).is_ok());
  y = to_vector_f32(out[0]);
  EXPECT_EQ(y[1], std::numeric_limits<float>::max());
  EXPECT_EQ(y[2], std::numeric_limits<float>::lowest());
  EXPECT_EQ(y[3], -3.f);
}

TEST(OpsClip, Integers) {
  std::vector<Tensor> out;
  const std::vector<int8_t> x8 = {-128, -5, 0, 3, 100, 127};
  ASSERT_TRUE(run_clip(13, make_tensor(DType::kInt8, {6}, x8), Tensor(),
                       make_tensor<int8_t>(DType::kInt8, {}, {50}), false, &out)
                  .is_ok());
  EXPECT_EQ(values_of<int8_t>(out[0]), std::vector<int8_t>({-128, -5, 0, 3, 50, 50}));
  const std::vector<int32_t> x32 = {-1000, -5, 0, 3, 100, 7};
  ASSERT_TRUE(run_clip(13, make_tensor(DType::kInt32, {2, 3}, x32),
                       make_tensor<int32_t>(DType::kInt32, {}, {-4}),
                       make_tensor<int32_t>(DType::kInt32, {}, {5}), true, &out)
                  .is_ok());
  EXPECT_EQ(values_of<int32_t>(out[0]), std::vector<int32_t>({-4, -4, 0, 3, 5, 5}));
}

TEST(OpsClip, Errors) {
  std::vector<Tensor> out;
  const Tensor x = make_f32({3}, {1, 2, 3});
  // Non-scalar bound: a runtime shape error, or a model error when constant.
  Status s = run_clip(13, x, make_f32({2}, {0, 1}), Tensor(), false, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  EXPECT_NE(s.message().find("min"), std::string::npos) << s.message();
  s = run_clip(13, x, make_f32({2}, {0, 1}), Tensor(), true, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  s = run_clip(13, x, Tensor(), make_i64({}, {1}), false, &out);  // dtype mismatch
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
}

// ------------------------------------------------------------------ Softmax

// Normalises over dims [begin, end) of shape, independently for every index
// of the other dims; log selects LogSoftmax.
std::vector<double> naive_softmax(const std::vector<float> &x, const Shape &shape, size_t begin,
                                  size_t end, bool log) {
  int64_t outer = 1, n = 1, inner = 1;
  for (size_t i = 0; i < shape.size(); ++i) (i < begin ? outer : i < end ? n : inner) *= shape[i];
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t i) { return size_t((o * n + i) * inner + j); };
      double mx = -INFINITY, sum = 0;
      for (int64_t i = 0; i < n; ++i) mx = std::max(mx, double(x[at(i)]));
      for (int64_t i = 0; i < n; ++i) sum += std::exp(x[at(i)] - mx);
      for (int64_t i = 0; i < n; ++i)
        y[at(i)] = log ? x[at(i)] - mx - std::log(sum) : std::exp(x[at(i)] - mx) / sum;
    }
  }
  return y;
}

TEST(OpsSoftmax, AxisVariantsBothSemantics) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const std::vector<Shape> shapes = {{5}, {3, 4}, {2, 3, 5}, {2, 1, 3, 4}, {0, 3}, {1, 1}};
  for (const char *op : {"Softmax", "LogSoftmax"}) {
    for (int opset : {1, 11, 13}) {
      for (const Shape &s : shapes) {
        const int64_t rank = int64_t(s.size());
        for (int64_t axis = -rank; axis < rank; ++axis) {
          for (bool default_axis : {false, true}) {
            if (default_axis && axis != -rank) continue;
            SCOPED_TRACE(std::string(op) + " opset " + std::to_string(opset) + " " + shape_str(s) +
                         (default_axis ? " default axis" : " axis " + std::to_string(axis)));
            std::vector<float> x = random_floats(rng, count(s), -30.f, 30.f);
            if (!x.empty()) x[0] = 500.f;  // would overflow exp() without the max shift
            std::map<std::string, Attribute> attrs;
            if (!default_axis) attrs["axis"] = attr_int(axis);
            std::vector<Tensor> out;
            Status st = run1(op, opset, make_f32(s, x), &out, attrs);
            int64_t a = default_axis ? (opset < 13 ? 1 : -1) : axis;
            if (a >= rank) {  // default axis 1 on a 1-D input: trailing block is empty
              ASSERT_TRUE(st.is_ok()) << st.message();
              continue;
            }
            ASSERT_TRUE(st.is_ok()) << st.message();
            size_t ai = size_t(a < 0 ? a + rank : a);
            std::vector<double> want = naive_softmax(x, s, ai, opset < 13 ? s.size() : ai + 1,
                                                     std::string(op) == "LogSoftmax");
            std::vector<float> y = to_vector_f32(out[0]);
            for (size_t i = 0; i < y.size(); ++i)
              ASSERT_NEAR(y[i], want[i], 1e-6 + 2e-6 * std::fabs(want[i])) << "at " << i;
          }
        }
      }
    }
  }
}

TEST(OpsSoftmax, LegacyAxisEqualToRankIsAllOnes) {
  // Opset < 13 coerces [5] at axis 1 into [5, 1]: each row has one element.
  std::vector<Tensor> out;
  ASSERT_TRUE(run1("Softmax", 11, make_f32({5}, {1, 2, 3, 4, 5}), &out).is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>(5, 1.f));
}

TEST(OpsSoftmax, BadAxis) {
  std::vector<Tensor> out;
  for (int opset : {11, 13}) {
    // Opset < 13 also accepts axis == rank (see LegacyAxisEqualToRankIsAllOnes).
    for (int64_t axis : {opset < 13 ? 4 : 3, -4}) {
      Status s = run1("Softmax", opset, make_f32({2, 3, 4}, std::vector<float>(24)), &out,
                      {{"axis", attr_int(axis)}});
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
      EXPECT_NE(s.message().find("[2,3,4]"), std::string::npos) << s.message();
    }
  }
}

}  // namespace
}  // namespace si::test
