// LayerNormalization, InstanceNormalization, LpNormalization and Hardmax
// through a real Session, against double-precision loops written here.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

struct LnCase {
  Shape x;
  int64_t axis;
  bool bias;
  int outputs;  // 1..3: Y, Mean, InvStdDev
  float eps;
};

Status run_ln(const LnCase &c, const Tensor &x, const Tensor &scale, const Tensor &bias,
              std::vector<Tensor> *out, bool default_axis = false) {
  OpSpec spec;
  spec.op_type = "LayerNormalization";
  spec.opset = 17;
  if (!default_axis) spec.attrs["axis"] = attr_int(c.axis);
  spec.attrs["epsilon"] = attr_float(c.eps);
  spec.inputs = {x, scale};
  if (c.bias) spec.inputs.push_back(bias);
  spec.constant = {false, true, true};
  spec.num_outputs = c.outputs;
  return run_op(spec, out);
}

TEST(OpsLayerNorm, MatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const std::vector<Shape> shapes = {{5},    {3, 4}, {2, 3, 5}, {2, 1, 3, 7},
                                     {0, 4}, {1, 1}, {64, 769}};
  for (const Shape &s : shapes) {
    const int64_t rank = int64_t(s.size());
    for (int64_t axis = -rank; axis < rank; ++axis) {
      for (int variant = 0; variant < 3; ++variant) {
        LnCase c{s, axis, variant != 1, 1 + variant, variant == 2 ? 1e-2f : 1e-5f};
        SCOPED_TRACE(shape_str(s) + " axis " + std::to_string(axis) + " bias " +
                     std::to_string(c.bias) + " outputs " + std::to_string(c.outputs));
        const size_t a = size_t(axis < 0 ? axis + rank : axis);
        const Shape norm(s.begin() + long(a), s.end());
        int64_t rows = 1, cols = count(norm);
        for (size_t i = 0; i < a; ++i) rows *= s[i];
        std::vector<float> x = random_floats(rng, count(s), -3.f, 5.f);
        std::vector<float> scale = random_floats(rng, cols), bias = random_floats(rng, cols);
        std::vector<Tensor> out;
        Status st = run_ln(c, make_f32(s, x), make_f32(norm, scale), make_f32(norm, bias), &out);
        ASSERT_TRUE(st.is_ok()) << st.message();
        ASSERT_EQ(out[0].shape(), s);
        Shape stat_shape = s;
        for (size_t i = a; i < s.size(); ++i) stat_shape[i] = 1;
        for (int k = 1; k < c.outputs; ++k) ASSERT_EQ(out[size_t(k)].shape(), stat_shape);
        std::vector<float> y = to_vector_f32(out[0]);
        for (int64_t r = 0; r < rows; ++r) {
          double mu = 0, var = 0;
          for (int64_t j = 0; j < cols; ++j) mu += x[size_t(r * cols + j)];
          mu /= double(cols);
          for (int64_t j = 0; j < cols; ++j) var += std::pow(x[size_t(r * cols + j)] - mu, 2);
          var /= double(cols);
          const double inv = 1.0 / std::sqrt(var + c.eps);
          if (cols == 0) {  // statistics of nothing are NaN, as in numpy
            for (int k = 1; k < c.outputs; ++k)
              ASSERT_TRUE(std::isnan(to_vector_f32(out[size_t(k)])[size_t(r)]));
            continue;
          }
          if (c.outputs > 1) {
            ASSERT_NEAR(to_vector_f32(out[1])[size_t(r)], mu, 1e-6);
          }
          if (c.outputs > 2) {
            ASSERT_NEAR(to_vector_f32(out[2])[size_t(r)], inv, 1e-6 * inv);
          }
          for (int64_t j = 0; j < cols; ++j) {
            double want = (x[size_t(r * cols + j)] - mu) * inv * scale[size_t(j)] +
                          (c.bias ? bias[size_t(j)] : 0.0);
            ASSERT_NEAR(y[size_t(r * cols + j)], want, 1e-5 * (1 + std::fabs(want)))
                << "row " << r << " col " << j;
          }
        }
      }
    }
  }
}

TEST(OpsLayerNorm, DefaultAxisAndBroadcastScale) {
  // Default axis -1; Scale [1] and B [] broadcast over the normalised dim.
  const std::vector<float> x = {1, 2, 3, 4, 10, 10, 10, 14};
  std::vector<Tensor> out;
  LnCase c{{2, 4}, 0, true, 1, 0.f};
  ASSERT_TRUE(run_ln(c, make_f32({2, 4}, x), make_f32({1}, {2.f}), make_f32({}, {0.5f}), &out,
                     /*default_axis=*/true)
                  .is_ok());
  std::vector<float> y = to_vector_f32(out[0]);
  for (int r = 0; r < 2; ++r) {
    double mu = 0, var = 0;
    for (int j = 0; j < 4; ++j) mu += x[size_t(r * 4 + j)] / 4.0;
    for (int j = 0; j < 4; ++j) var += std::pow(x[size_t(r * 4 + j)] - mu, 2) / 4.0;
    for (int j = 0; j < 4; ++j)
      EXPECT_NEAR(y[size_t(r * 4 + j)], (x[size_t(r * 4 + j)] - mu) / std::sqrt(var) * 2 + 0.5,
                  1e-5);
  }
}

TEST(OpsLayerNorm, Errors) {
  const Tensor x = make_f32({2, 3}, std::vector<float>(6, 1.f));
  std::vector<Tensor> out;
  LnCase c{{2, 3}, 2, false, 1, 1e-5f};
  Status s = run_ln(c, x, make_f32({3}, {1, 1, 1}), Tensor(), &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  EXPECT_NE(s.message().find("[2,3]"), std::string::npos) << s.message();
  c.axis = -1;
  s = run_ln(c, x, make_f32({2}, {1, 1}), Tensor(), &out);  // Scale does not fit [3]
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  EXPECT_NE(s.message().find("Scale"), std::string::npos) << s.message();
  c.bias = true;
  s = run_ln(c, x, make_f32({3}, {1, 1, 1}), make_f32({2, 3}, std::vector<float>(6)), &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();

  OpSpec spec;
  spec.op_type = "LayerNormalization";
  spec.attrs["stash_type"] = attr_int(11);
  spec.inputs = {x, make_f32({3}, {1, 1, 1})};
  s = run_op(spec, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.message();
}

Status run_one(const std::string &op, int opset, std::vector<Tensor> inputs,
               std::map<std::string, Attribute> attrs, std::vector<Tensor> *out) {
  OpSpec spec;
  spec.op_type = op;
  spec.opset = opset;
  spec.inputs = std::move(inputs);
  spec.attrs = std::move(attrs);
  return run_op(spec, out);
}

TEST(OpsInstanceNorm, MatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (const Shape &xs : {Shape{2, 3, 5}, Shape{1, 4, 3, 7}, Shape{3, 1, 1}, Shape{2, 2, 0}}) {
    const int64_t c = xs[1], plane = count(xs) / (xs[0] * c == 0 ? 1 : xs[0] * c);
    std::vector<float> x = random_floats(rng, count(xs), -3.f, 5.f);
    const std::vector<float> scale = random_floats(rng, c), bias = random_floats(rng, c);
    const float eps = 1e-3f;
    std::vector<Tensor> out;
    ASSERT_TRUE(run_one("InstanceNormalization", 6,
                        {make_f32(xs, x), make_f32({c}, scale), make_f32({c}, bias)},
                        {{"epsilon", attr_float(eps)}}, &out)
                    .is_ok());
    ASSERT_EQ(out[0].shape(), xs);
    for (int64_t r = 0; r < xs[0] * c && plane > 0; ++r) {
      double mean = 0, var = 0;
      for (int64_t j = 0; j < plane; ++j) mean += x[size_t(r * plane + j)];
      mean /= double(plane);
      for (int64_t j = 0; j < plane; ++j) var += std::pow(x[size_t(r * plane + j)] - mean, 2);
      var /= double(plane);
      for (int64_t j = 0; j < plane; ++j) {
        const double want = (x[size_t(r * plane + j)] - mean) / std::sqrt(var + double(eps)) *
                                scale[size_t(r % c)] +
                            bias[size_t(r % c)];
        EXPECT_NEAR(out[0].data<float>()[r * plane + j], want, 1e-5 * (1 + std::fabs(want)));
      }
    }
  }
  std::vector<Tensor> out;
  const Status st =
      run_one("InstanceNormalization", 6,
              {make_f32({1, 2, 2}, {1, 2, 3, 4}), make_f32({3}, {1, 1, 1}), make_f32({2}, {0, 0})},
              {}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
}

TEST(OpsLpNorm, MatchesNaiveAndKeepsZeroLinesZero) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const Shape xs = {3, 4, 2};
  std::vector<float> x = random_floats(rng, count(xs));
  for (int64_t k = 0; k < 4; ++k) x[size_t(k * 2)] = 0.f;  // line (0, :, 0) is all zero
  for (int p = 1; p <= 2; ++p) {
    std::vector<Tensor> out;
    ASSERT_TRUE(run_one("LpNormalization", 1, {make_f32(xs, x)},
                        {{"axis", attr_int(-2)}, {"p", attr_int(p)}}, &out)
                    .is_ok());
    for (int64_t o = 0; o < 3; ++o)
      for (int64_t i = 0; i < 2; ++i) {
        double norm = 0;
        for (int64_t k = 0; k < 4; ++k) {
          const double v = x[size_t((o * 4 + k) * 2 + i)];
          norm += p == 1 ? std::fabs(v) : v * v;
        }
        if (p == 2) norm = std::sqrt(norm);
        for (int64_t k = 0; k < 4; ++k) {
          const size_t at = size_t((o * 4 + k) * 2 + i);
          const double want = norm == 0 ? 0 : x[at] / norm;
          EXPECT_NEAR(out[0].data<float>()[at], want, 1e-6) << p;
        }
      }
  }
}

TEST(OpsHardmax, FirstMaximumWinsNaNCountsAsLargest) {
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  std::vector<Tensor> out;
  ASSERT_TRUE(run_one("Hardmax", 13, {make_f32({2, 3}, {1, 5, 5, 2, kNaN, 9})}, {}, &out).is_ok());
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{0, 1, 0, 0, 1, 0}));
  // Axis 0 of [2, 3] (opset 13): per column.
  ASSERT_TRUE(
      run_one("Hardmax", 13, {make_f32({2, 3}, {1, 5, 7, 2, 5, 3})}, {{"axis", attr_int(-2)}}, &out)
          .is_ok());
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{0, 1, 1, 1, 0, 0}));
  // Opset 11 coerces to 2-D at axis (default 1): one max over dims [1, rank).
  ASSERT_TRUE(run_one("Hardmax", 11, {make_f32({1, 2, 2}, {1, 4, 3, 2})}, {}, &out).is_ok());
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{0, 1, 0, 0}));
  // Empty and size-1 axes.
  ASSERT_TRUE(run_one("Hardmax", 13, {make_f32({0, 3}, {})}, {}, &out).is_ok());
  EXPECT_EQ(out[0].shape(), (Shape{0, 3}));
  ASSERT_TRUE(run_one("Hardmax", 13, {make_f32({2, 1}, {-7, kNaN})}, {}, &out).is_ok());
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{1, 1}));
}

}  // namespace
}  // namespace si::test
