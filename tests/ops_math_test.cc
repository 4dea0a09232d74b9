// Unary math, PRelu, Pow, Max/Min/Sum/Mean, comparisons, logic, Where and
// Cast through a real Session, against loops written here (in double where
// the op is a transcendental).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>

#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

uint32_t bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  return b;
}

// Same bits (so -0.0 != +0.0), or both NaN.
bool identical(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || bits(a) == bits(b);
}

// Within `ulps` float ulps of the double reference, plus `abs_tol`; NaN and
// infinities must match exactly.
bool close_to(float got, double want, double ulps, double abs_tol = 0) {
  if (std::isnan(want)) return std::isnan(got);
  // Beyond float's range the reference rounds to an infinity.
  if (std::isinf(float(want)) || std::isinf(got)) return got == float(want);
  const double ulp = std::max(std::fabs(want) * std::ldexp(1.0, -23), std::ldexp(1.0, -149));
  return std::fabs(double(got) - want) <= ulps * ulp + abs_tol;
}

std::vector<float> with_specials(std::vector<float> v) {
  const float specials[] = {0.f, -0.f, kNaN, kInf, -kInf, 1.f, -1.f, 1e-40f, -1e-40f, 0.5f, -2.5f};
  for (size_t i = 0; i < v.size() && i < 11; ++i) v[i * 3 % v.size()] = specials[i];
  return v;
}

OpSpec spec_of(const std::string &op, int opset, std::vector<Tensor> inputs,
               std::map<std::string, Attribute> attrs = {}, int threads = 1) {
  OpSpec spec;
  spec.op_type = op;
  spec.opset = opset;
  spec.inputs = std::move(inputs);
  spec.attrs = std::move(attrs);
  spec.options.threads = threads;
  return spec;
}

Status run(const std::string &op, int opset, std::vector<Tensor> inputs, std::vector<Tensor> *out,
           std::map<std::string, Attribute> attrs = {}, int threads = 1) {
  return run_op(spec_of(op, opset, std::move(inputs), std::move(attrs), threads), out);
}

template <typename T>
Tensor make_t(const Shape &s, const std::vector<T> &v) {
  DType t = std::is_same_v<T, float>     ? DType::kFloat32
            : std::is_same_v<T, int8_t>  ? DType::kInt8
            : std::is_same_v<T, uint8_t> ? DType::kUint8
            : std::is_same_v<T, int32_t> ? DType::kInt32
                                         : DType::kInt64;
  return make_tensor(t, s, v);
}

Tensor make_bool(const Shape &s, const std::vector<uint8_t> &v) {
  return make_tensor(DType::kBool, s, v);
}

// Random broadcast-compatible shapes: k operands of an output of rank <= 4,
// each right-aligned with some dims set to 1 and some leading dims dropped.
std::vector<Shape> random_broadcast(std::mt19937 &rng, size_t k, Shape *out) {
  Shape y(size_t(rng() % 5));
  for (int64_t &d : y) d = 1 + int64_t(rng() % 5);
  if (rng() % 10 == 0 && !y.empty()) y[rng() % y.size()] = 0;  // empty output
  std::vector<Shape> shapes(k);
  for (Shape &s : shapes) {
    s.assign(y.end() - long(rng() % (y.size() + 1)), y.end());
    for (int64_t &d : s)
      if (rng() % 3 == 0) d = 1;
  }
  *out = y;
  // The output is the broadcast of the operands, not necessarily y.
  Shape acc = shapes[0];
  for (size_t i = 1; i < k; ++i) {
    Shape next;
    EXPECT_TRUE(naive_broadcast_shape(acc, shapes[i], &next));
    acc = next;
  }
  *out = acc;
  return shapes;
}

// ---- Unary ----------------------------------------------------------------

struct UnaryCase {
  const char *op;
  int opset;
  std::map<std::string, Attribute> attrs;
  std::function<double(double)> naive;
  double ulps;  // 0: bit-exact against float(naive)
  double abs_tol;
  float lo, hi;  // input range
};

std::vector<UnaryCase> unary_cases() {
  const double a_selu = 1.67326319217681884765625, g_selu = 1.05070102214813232421875;
  auto hs = [](double a, double b) {
    // numpy's maximum/minimum, as the spec's reference: NaN propagates.
    return [a, b](double x) { return std::isnan(x) ? x : std::max(0.0, std::min(1.0, a * x + b)); };
  };
  auto celu = [](double a) {
    return [a](double x) {
      return std::isnan(x) ? x : std::max(0.0, x) + std::min(0.0, a * std::expm1(x / a));
    };
  };
  return {
      {"Abs", 13, {}, [](double x) { return std::fabs(x); }, 0, 0, -10, 10},
      {"Abs", 6, {}, [](double x) { return std::fabs(x); }, 0, 0, -10, 10},
      {"Neg", 13, {}, [](double x) { return -x; }, 0, 0, -10, 10},
      {"Sign", 13, {}, [](double x) { return x > 0   ? 1.0
                                             : x < 0 ? -1.0
                                                     : x; }, 0, 0, -3, 3},
      {"Floor", 13, {}, [](double x) { return std::floor(x); }, 0, 0, -10, 10},
      {"Ceil", 6, {}, [](double x) { return std::ceil(x); }, 0, 0, -10, 10},
      {"Round", 11, {}, [](double x) { return std::nearbyint(x); }, 0, 0, -10, 10},
      {"Sqrt", 13, {}, [](double x) { return std::sqrt(x); }, 0, 0, -1, 100},
      {"Reciprocal", 13, {}, [](double x) { return 1.0 / x; }, 0, 0, -10, 10},
      {"Exp", 13, {}, [](double x) { return std::exp(x); }, 1, 0, -100, 100},
      {"Log", 13, {}, [](double x) { return std::log(x); }, 1, 0, -1, 1000},
      {"Erf", 13, {}, [](double x) { return std::erf(x); }, 0.5, 0, -5, 5},
      {"Sin", 7, {}, [](double x) { return std::sin(x); }, 1, 0, -20, 20},
      {"Cos", 7, {}, [](double x) { return std::cos(x); }, 1, 0, -20, 20},
      {"Tan", 7, {}, [](double x) { return std::tan(x); }, 1, 0, -1.5f, 1.5f},
      {"Asin", 7, {}, [](double x) { return std::asin(x); }, 1, 0, -1.2f, 1.2f},
      {"Acos", 7, {}, [](double x) { return std::acos(x); }, 1, 0, -1.2f, 1.2f},
      {"Atan", 7, {}, [](double x) { return std::atan(x); }, 1, 0, -10, 10},
      {"Sinh", 9, {}, [](double x) { return std::sinh(x); }, 1, 0, -10, 10},
      {"Cosh", 9, {}, [](double x) { return std::cosh(x); }, 1, 0, -10, 10},
      {"Asinh", 9, {}, [](double x) { return std::asinh(x); }, 1, 0, -10, 10},
      {"Acosh", 9, {}, [](double x) { return std::acosh(x); }, 1, 0, 0, 10},
      {"Atanh", 9, {}, [](double x) { return std::atanh(x); }, 1, 0, -1.1f, 1.1f},
      {"Softplus", 1, {}, [](double x) { return std::log1p(std::exp(x)); }, 1, 0, -120, 120},
      {"Softsign", 1, {}, [](double x) { return x / (1 + std::fabs(x)); }, 1, 0, -10, 10},
      {"HardSigmoid", 6, {}, hs(double(0.2f), 0.5), 1, 1e-7, -5, 5},
      {"HardSigmoid",
       6,
       {{"alpha", attr_float(0.5f)}, {"beta", attr_float(0.6f)}},
       hs(0.5, double(0.6f)),
       1,
       1e-7,
       -5,
       5},
      {"HardSwish",
       14,
       {},
       [](double x) { return std::isnan(x) ? x : x * std::max(0.0, std::min(1.0, x / 6 + 0.5)); },
       2,
       1e-6,
       -6,
       6},
      {"Elu", 6, {}, [](double x) { return x < 0 ? std::expm1(x) : x; }, 1, 0, -10, 10},
      {"Elu",
       6,
       {{"alpha", attr_float(2.f)}},
       [](double x) { return x < 0 ? 2 * std::expm1(x) : x; },
       1,
       0,
       -10,
       10},
      {"Selu",
       6,
       {},
       [=](double x) {
         return x > 0 ? double(float(g_selu)) * x
                      : double(float(g_selu)) * double(float(a_selu)) * std::expm1(x);
       },
       1,
       0,
       -10,
       10},
      {"Celu", 12, {}, celu(1.0), 1, 0, -10, 10},
      {"Celu", 12, {{"alpha", attr_float(0.5f)}}, celu(0.5), 1, 0, -10, 10},
      {"Selu",
       6,
       {{"alpha", attr_float(2.f)}, {"gamma", attr_float(3.f)}},
       [](double x) { return x > 0 ? 3 * x : 6 * std::expm1(x); },
       1,
       0,
       -10,
       10},
  };
}

TEST(OpsMath, UnaryMatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const std::vector<Shape> shapes = {{}, {0}, {1}, {7}, {3, 1, 5}, {2, 0, 3}, {37, 129}};
  for (const UnaryCase &c : unary_cases()) {
    for (const Shape &s : shapes) {
      SCOPED_TRACE(std::string(c.op) + " opset " + std::to_string(c.opset) + " " + shape_str(s));
      std::vector<float> x = with_specials(random_floats(rng, count(s), c.lo, c.hi));
      std::vector<Tensor> out;
      Status st = run(c.op, c.opset, {make_f32(s, x)}, &out, c.attrs, s.size() == 2 ? 2 : 1);
      ASSERT_TRUE(st.is_ok()) << st.message();
      ASSERT_EQ(out[0].shape(), s);
      ASSERT_EQ(out[0].dtype(), DType::kFloat32);
      std::vector<float> y = to_vector_f32(out[0]);
      for (size_t i = 0; i < x.size(); ++i) {
        const double want = c.naive(double(x[i]));
        if (c.ulps == 0) {
          ASSERT_TRUE(identical(y[i], float(want)))
              << "x=" << x[i] << " got " << y[i] << " want " << float(want);
        } else {
          ASSERT_TRUE(close_to(y[i], want, c.ulps, c.abs_tol))
              << "x=" << x[i] << " got " << y[i] << " want " << want;
        }
      }
    }
  }
}

// The spec's edge cases, written out.
TEST(OpsMath, UnaryEdgeCases) {
  struct Case {
    const char *op;
    float x, want;
  };
  const float sp = std::log1p(std::exp(-100.f));  // tiny but representable
  const std::vector<Case> cases = {
      {"Abs", -0.f, 0.f},          {"Neg", 0.f, -0.f},         {"Round", 2.5f, 2.f},
      {"Round", -2.5f, -2.f},      {"Round", 0.5f, 0.f},       {"Round", 1.5f, 2.f},
      {"Round", -0.4f, -0.f},      {"Floor", -0.5f, -1.f},     {"Ceil", -0.5f, -0.f},
      {"Sign", -0.f, -0.f},        {"Sign", kNaN, kNaN},       {"Sqrt", -1.f, kNaN},
      {"Sqrt", -0.f, -0.f},        {"Log", 0.f, -kInf},        {"Log", -1.f, kNaN},
      {"Reciprocal", -0.f, -kInf}, {"Reciprocal", kInf, 0.f},  {"Exp", -kInf, 0.f},
      {"Exp", 100.f, kInf},        {"Softplus", 100.f, 100.f}, {"Softplus", -100.f, sp},
      {"Softplus", kInf, kInf},    {"Softsign", kInf, kNaN},   {"HardSigmoid", kNaN, kNaN},
      {"HardSigmoid", kInf, 1.f},  {"HardSwish", -kInf, kNaN}, {"HardSwish", 3.f, 3.f},
      {"HardSwish", -3.f, -0.f},   {"Elu", -kInf, -1.f},       {"Elu", -0.f, -0.f},
      {"Erf", kInf, 1.f},          {"Erf", -kInf, -1.f},       {"Erf", -0.f, -0.f},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(std::string(c.op) + "(" + std::to_string(c.x) + ")");
    std::vector<Tensor> out;
    const int opset = std::string(c.op) == "HardSwish" ? 14 : 13;
    ASSERT_TRUE(run(c.op, opset, {make_f32({1}, {c.x})}, &out).is_ok());
    EXPECT_TRUE(identical(to_vector_f32(out[0])[0], c.want))
        << "got " << to_vector_f32(out[0])[0] << " want " << c.want;
  }
  // Selu(-inf) = -alpha * gamma.
  std::vector<Tensor> out;
  ASSERT_TRUE(run("Selu", 6, {make_f32({1}, {-kInf})}, &out,
                  {{"alpha", attr_float(2.f)}, {"gamma", attr_float(3.f)}})
                  .is_ok());
  EXPECT_EQ(to_vector_f32(out[0])[0], -6.f);
}

template <typename T>
void expect_int_unary(std::mt19937 &rng) {
  std::vector<T> x(50);
  for (T &v : x) v = T(int64_t(rng() % 201) - 100);
  x[0] = std::numeric_limits<T>::lowest();
  x[1] = std::numeric_limits<T>::max();
  x[2] = 0;
  using U = std::make_unsigned_t<T>;
  for (const char *op : {"Abs", "Neg", "Sign"}) {
    SCOPED_TRACE(op);
    std::vector<Tensor> out;
    Status st = run(op, 13, {make_t<T>({5, 10}, x)}, &out);
    ASSERT_TRUE(st.is_ok()) << st.message();
    std::vector<T> y = values_of<T>(out[0]);
    for (size_t i = 0; i < x.size(); ++i) {
      const std::string o = op;
      // Wrapping negation, as numpy: -INT_MIN is INT_MIN.
      const T neg = T(U(0) - U(x[i]));
      T want = o == "Neg" ? neg : o == "Abs" ? (x[i] < 0 ? neg : x[i]) : T(x[i] > 0) - T(x[i] < 0);
      ASSERT_EQ(y[i], want) << "x=" << int64_t(x[i]);
    }
  }
}

TEST(OpsMath, UnaryIntegers) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  expect_int_unary<int8_t>(rng);
  expect_int_unary<int32_t>(rng);
  expect_int_unary<int64_t>(rng);

  std::vector<Tensor> out;
  Status st = run("Sqrt", 13, {make_t<int32_t>({2}, {4, 9})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
  EXPECT_NE(st.message().find("int32"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("node_under_test"), std::string::npos) << st.message();
  st = run("Abs", 13, {make_t<uint8_t>({1}, {4})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
}

// ---- PRelu ----------------------------------------------------------------

void expect_prelu(int opset, const Shape &xs, const Shape &ss, const Shape &slope_index,
                  std::mt19937 &rng, bool constant_slope) {
  SCOPED_TRACE("PRelu opset " + std::to_string(opset) + " X " + shape_str(xs) + " slope " +
               shape_str(ss));
  std::vector<float> x = with_specials(random_floats(rng, count(xs)));
  std::vector<float> sl = random_floats(rng, count(ss), -1, 1);
  OpSpec spec = spec_of("PRelu", opset, {make_f32(xs, x), make_f32(ss, sl)});
  spec.constant = {false, constant_slope};
  std::vector<Tensor> out;
  Status st = run_op(spec, &out);
  ASSERT_TRUE(st.is_ok()) << st.message();
  ASSERT_EQ(out[0].shape(), xs);
  std::vector<float> y = to_vector_f32(out[0]);
  for (int64_t i = 0; i < count(xs); ++i) {
    const float v = x[size_t(i)];
    const float s = sl[size_t(broadcast_index(xs, slope_index, i))];
    ASSERT_TRUE(identical(y[size_t(i)], v < 0 ? s * v : v)) << i;
  }
}

TEST(OpsMath, PRelu) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int opset : {9, 16}) {
    expect_prelu(opset, {2, 3, 4}, {1}, {1}, rng, true);
    expect_prelu(opset, {2, 3, 4}, {3, 1}, {3, 1}, rng, false);
    expect_prelu(opset, {2, 3, 4}, {4}, {4}, rng, true);
    expect_prelu(opset, {2, 3, 4}, {2, 3, 4}, {2, 3, 4}, rng, false);
    expect_prelu(opset, {0, 3}, {3}, {3}, rng, false);
    expect_prelu(opset, {}, {}, {}, rng, false);
  }
  // Before opset 7 a 1-D slope of X's channel count applies per channel.
  expect_prelu(6, {2, 3, 4, 5}, {3}, {3, 1, 1}, rng, true);
  expect_prelu(6, {2, 3}, {3}, {3}, rng, true);
  expect_prelu(6, {2, 3, 4}, {1}, {1}, rng, true);

  std::vector<Tensor> out;
  Status st =
      run("PRelu", 16, {make_f32({2, 3}, std::vector<float>(6)), make_f32({2}, {1, 2})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("[2,3]"), std::string::npos) << st.message();
  // Unidirectional: the slope may not grow X.
  st = run("PRelu", 16, {make_f32({3}, {1, 2, 3}), make_f32({2, 3}, std::vector<float>(6))}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
}

// ---- Pow ------------------------------------------------------------------

template <typename TB, typename TE>
TB naive_pow(TB b, TE e) {
  if constexpr (std::is_integral_v<TB> && std::is_integral_v<TE>) {
    if (e >= 0) {
      using U = std::make_unsigned_t<TB>;
      U r = 1;
      for (TE k = 0; k < e; ++k) r = U(r * U(b));
      return TB(r);
    }
  }
  const double r = std::pow(double(b), double(e));
  if constexpr (std::is_floating_point_v<TB>) {
    return TB(r);
  } else {
    if (std::isnan(r)) return 0;
    if (r >= double(std::numeric_limits<TB>::max())) return std::numeric_limits<TB>::max();
    if (r <= double(std::numeric_limits<TB>::lowest())) return std::numeric_limits<TB>::lowest();
    return TB(r);
  }
}

template <typename TB, typename TE>
void expect_pow(std::mt19937 &rng, const std::vector<TB> &base_pool,
                const std::vector<TE> &exp_pool) {
  for (int it = 0; it < 25; ++it) {
    Shape ys;
    std::vector<Shape> s = random_broadcast(rng, 2, &ys);
    std::vector<TB> b(size_t(count(s[0])));
    std::vector<TE> e(size_t(count(s[1])));
    for (TB &v : b) v = base_pool[rng() % base_pool.size()];
    for (TE &v : e) v = exp_pool[rng() % exp_pool.size()];
    SCOPED_TRACE("Pow base " + shape_str(s[0]) + " exponent " + shape_str(s[1]));
    std::vector<Tensor> out;
    Status st = run("Pow", 15, {make_t<TB>(s[0], b), make_t<TE>(s[1], e)}, &out, {}, 2);
    ASSERT_TRUE(st.is_ok()) << st.message();
    ASSERT_EQ(out[0].shape(), ys);
    std::vector<TB> y = values_of<TB>(out[0]);
    for (int64_t i = 0; i < count(ys); ++i) {
      const TB bv = b[size_t(broadcast_index(ys, s[0], i))];
      const TE ev = e[size_t(broadcast_index(ys, s[1], i))];
      const TB want = naive_pow<TB, TE>(bv, ev);
      if constexpr (std::is_floating_point_v<TB>)
        ASSERT_TRUE(identical(y[size_t(i)], want)) << bv << " ^ " << ev << " got " << y[size_t(i)];
      else
        ASSERT_EQ(y[size_t(i)], want) << int64_t(bv) << " ^ " << double(ev);
    }
  }
}

TEST(OpsMath, PowTypesAndBroadcasting) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const std::vector<float> fb = {0.f,  -0.f, 1.f,  -1.f,  2.f,  -2.f,  0.5f,
                                 3.7f, -8.f, kInf, -kInf, kNaN, 1e-3f, 10.f};
  const std::vector<float> fe = {0.f,  -0.f,    1.f,   2.f,  3.f,   -1.f, -2.f,
                                 0.5f, 1.f / 3, -0.5f, kInf, -kInf, kNaN, 40.f};
  const std::vector<int32_t> ib32 = {0, 1, -1, 2, -2, 3, 7, -5, 100, 46341};
  const std::vector<int32_t> ie32 = {0, 1, 2, 3, 5, 40, -1, -2};
  const std::vector<int64_t> ib64 = {0, 1, -1, 2, -2, 3, 7, -5, 100, 3037000500};
  const std::vector<int64_t> ie64 = {0, 1, 2, 3, 5, 63, 64, -1, -3};
  expect_pow<float, float>(rng, fb, fe);
  expect_pow<float, int32_t>(rng, fb, ie32);
  expect_pow<float, int64_t>(rng, fb, ie64);
  expect_pow<int32_t, int32_t>(rng, ib32, ie32);
  expect_pow<int64_t, int64_t>(rng, ib64, ie64);
  expect_pow<int32_t, float>(rng, ib32, std::vector<float>{0.f, 0.5f, 2.f, -1.f, 40.f, kNaN});
  expect_pow<int64_t, int32_t>(rng, ib64, ie32);
}

TEST(OpsMath, PowSpecialValuesAndErrors) {
  std::vector<Tensor> out;
  // pow(x, +-0) = 1 even for NaN; pow(1, y) = 1 even for NaN; pow(-8, 1/3) = NaN.
  ASSERT_TRUE(run("Pow", 13,
                  {make_f32({5}, {kNaN, 1.f, -8.f, -2.f, 0.f}),
                   make_f32({5}, {0.f, kNaN, 1.f / 3, 3.f, -1.f})},
                  &out)
                  .is_ok());
  std::vector<float> y = to_vector_f32(out[0]);
  EXPECT_EQ(y[0], 1.f);
  EXPECT_EQ(y[1], 1.f);
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_EQ(y[3], -8.f);
  EXPECT_EQ(y[4], kInf);
  // Integer base, negative exponent: the real result truncated.
  ASSERT_TRUE(run("Pow", 15,
                  {make_t<int32_t>({4}, {2, 1, -1, 0}), make_t<int32_t>({4}, {-1, -5, -3, -1})},
                  &out)
                  .is_ok());
  EXPECT_EQ(values_of<int32_t>(out[0]), (std::vector<int32_t>{0, 1, -1, INT32_MAX}));
  // Legacy opset 1-6 broadcasting through the attribute.
  ASSERT_TRUE(run("Pow", 6, {make_f32({2, 3}, {1, 2, 3, 4, 5, 6}), make_f32({3}, {1, 2, 3})}, &out,
                  {{"broadcast", attr_int(1)}})
                  .is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), (std::vector<float>{1, 4, 27, 4, 25, 216}));
  Status st =
      run("Pow", 6, {make_f32({2, 3}, std::vector<float>(6)), make_f32({3}, {1, 2, 3})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  st = run("Pow", 15, {make_t<uint8_t>({1}, {2}), make_f32({1}, {2})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
  EXPECT_NE(st.message().find("uint8"), std::string::npos) << st.message();
  st = run("Pow", 15, {make_f32({2}, {1, 2}), make_f32({3}, {1, 2, 3})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
}

// ---- Max, Min, Sum, Mean --------------------------------------------------

template <typename T>
T naive_variadic(const std::string &op, const std::vector<T> &v) {
  T acc = v[0];
  for (size_t i = 1; i < v.size(); ++i) {
    const T x = v[i];
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(acc) || std::isnan(x)) {
        acc = op == "Sum" || op == "Mean" ? acc + x : (std::isnan(acc) ? acc : x);
        continue;
      }
    }
    if (op == "Max") acc = x > acc ? x : acc;
    if (op == "Min") acc = x < acc ? x : acc;
    if (op == "Sum" || op == "Mean") acc = T(acc + x);
  }
  if (op == "Mean") acc = T(acc / T(v.size()));
  return acc;
}

template <typename T>
void expect_variadic(const std::string &op, std::mt19937 &rng, int iterations) {
  for (int it = 0; it < iterations; ++it) {
    const size_t k = 1 + rng() % 4;
    Shape ys;
    std::vector<Shape> shapes = random_broadcast(rng, k, &ys);
    std::vector<std::vector<T>> vals(k);
    std::vector<Tensor> ins;
    for (size_t j = 0; j < k; ++j) {
      if constexpr (std::is_floating_point_v<T>) {
        vals[j] = random_floats(rng, count(shapes[j]));
        for (T &v : vals[j])
          if (rng() % 16 == 0) v = (rng() % 2) ? kNaN : -0.f;
      } else {
        vals[j].resize(size_t(count(shapes[j])));
        for (T &v : vals[j]) v = T(int64_t(rng()) % 1000);
      }
      ins.push_back(make_t<T>(shapes[j], vals[j]));
    }
    std::string trace = op + " inputs";
    for (const Shape &s : shapes) trace += " " + shape_str(s);
    SCOPED_TRACE(trace);
    std::vector<Tensor> out;
    Status st = run(op, 13, ins, &out, {}, 2);
    ASSERT_TRUE(st.is_ok()) << st.message();
    ASSERT_EQ(out[0].shape(), ys);
    std::vector<T> y = values_of<T>(out[0]);
    for (int64_t i = 0; i < count(ys); ++i) {
      std::vector<T> args;
      for (size_t j = 0; j < k; ++j)
        args.push_back(vals[j][size_t(broadcast_index(ys, shapes[j], i))]);
      const T want = naive_variadic(op, args);
      if constexpr (std::is_floating_point_v<T>)
        ASSERT_TRUE(same_float(y[size_t(i)], want))
            << i << " got " << y[size_t(i)] << " want " << want;
      else
        ASSERT_EQ(y[size_t(i)], want) << i;
    }
  }
}

TEST(OpsMath, VariadicMatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (const char *op : {"Max", "Min", "Sum", "Mean"}) expect_variadic<float>(op, rng, 40);
  for (const char *op : {"Max", "Min"}) {
    expect_variadic<int8_t>(op, rng, 10);
    expect_variadic<uint8_t>(op, rng, 10);
    expect_variadic<int32_t>(op, rng, 10);
    expect_variadic<int64_t>(op, rng, 10);
  }
}

TEST(OpsMath, VariadicEdgeCases) {
  std::vector<Tensor> out;
  // NaN in either position wins; a large input above the parallel threshold.
  const int64_t n = 70000;
  std::vector<float> a(size_t(n), 1.f), b(size_t(n), 2.f);
  a[5] = kNaN;
  b[n - 3] = kNaN;
  for (const char *op : {"Max", "Min"}) {
    ASSERT_TRUE(run(op, 13, {make_f32({n}, a), make_f32({n}, b)}, &out, {}, 2).is_ok());
    std::vector<float> y = to_vector_f32(out[0]);
    EXPECT_TRUE(std::isnan(y[5]) && std::isnan(y[size_t(n - 3)])) << op;
    EXPECT_EQ(y[6], std::string(op) == "Max" ? 2.f : 1.f);
  }
  // Mean divides the sum (of float inputs) by the input count.
  ASSERT_TRUE(
      run("Mean", 13, {make_f32({2}, {1, 2}), make_f32({2}, {2, 2}), make_f32({1}, {0})}, &out)
          .is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), (std::vector<float>{1.f, 4.f / 3}));
  // Before opset 8 the inputs must have equal shapes.
  ASSERT_TRUE(run("Sum", 6, {make_f32({2}, {1, 2}), make_f32({2}, {3, 4})}, &out).is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), (std::vector<float>{4, 6}));
  Status st = run("Max", 6, {make_f32({2}, {1, 2}), make_f32({1}, {3})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("opset 8"), std::string::npos) << st.message();
  st = run("Max", 13, {make_f32({2}, {1, 2}), make_f32({3}, {3, 4, 5})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("[3]"), std::string::npos) << st.message();
  st = run("Min", 13, {make_f32({2}, {1, 2}), make_t<int32_t>({2}, {3, 4})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  st = run("Sum", 13, {make_t<int32_t>({2}, {1, 2})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
}

// ---- Comparisons, logic, Where --------------------------------------------

template <typename T>
bool naive_compare(const std::string &op, T a, T b) {
  if (op == "Equal") return a == b;
  if (op == "Less") return a < b;
  if (op == "Greater") return a > b;
  if (op == "LessOrEqual") return a <= b;
  return a >= b;
}

template <typename T>
void expect_compare(std::mt19937 &rng, const std::vector<T> &pool, int opset) {
  for (const char *op : {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"}) {
    if (opset < 12 && std::string(op).size() > 7 && std::string(op) != "Greater") continue;
    for (int it = 0; it < 12; ++it) {
      Shape ys;
      std::vector<Shape> s = random_broadcast(rng, 2, &ys);
      std::vector<T> a(size_t(count(s[0]))), b(size_t(count(s[1])));
      for (T &v : a) v = pool[rng() % pool.size()];
      for (T &v : b) v = pool[rng() % pool.size()];
      SCOPED_TRACE(std::string(op) + " opset " + std::to_string(opset) + " " + shape_str(s[0]) +
                   " vs " + shape_str(s[1]));
      std::vector<Tensor> out;
      Status st = run(op, opset, {make_t<T>(s[0], a), make_t<T>(s[1], b)}, &out);
      ASSERT_TRUE(st.is_ok()) << st.message();
      ASSERT_EQ(out[0].dtype(), DType::kBool);
      ASSERT_EQ(out[0].shape(), ys);
      std::vector<uint8_t> y = values_of<uint8_t>(out[0]);
      for (int64_t i = 0; i < count(ys); ++i) {
        const T av = a[size_t(broadcast_index(ys, s[0], i))];
        const T bv = b[size_t(broadcast_index(ys, s[1], i))];
        ASSERT_EQ(y[size_t(i)], uint8_t(naive_compare(op, av, bv)))
            << double(av) << " " << double(bv);
      }
    }
  }
}

TEST(OpsMath, ComparisonsMatchNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const std::vector<float> fp = {0.f, -0.f, 1.f, -1.f, 2.5f, kNaN, kInf, -kInf};
  expect_compare<float>(rng, fp, 13);
  expect_compare<float>(rng, fp, 16);
  expect_compare<float>(rng, fp, 9);
  expect_compare<int32_t>(rng, {INT32_MIN, -1, 0, 1, 7, INT32_MAX}, 13);
  expect_compare<int64_t>(rng, {INT64_MIN, -1, 0, 1, 7, INT64_MAX}, 16);
  expect_compare<int8_t>(rng, {-128, -1, 0, 1, 127}, 13);
  expect_compare<uint8_t>(rng, {0, 1, 128, 255}, 13);

  // NaN is unequal to itself; -0 == +0.
  std::vector<Tensor> out;
  ASSERT_TRUE(
      run("Equal", 13, {make_f32({2}, {kNaN, -0.f}), make_f32({2}, {kNaN, 0.f})}, &out).is_ok());
  EXPECT_EQ(values_of<uint8_t>(out[0]), (std::vector<uint8_t>{0, 1}));
  // Bool operands: Equal only.
  ASSERT_TRUE(
      run("Equal", 13, {make_bool({3}, {0, 1, 1}), make_bool({3}, {0, 0, 1})}, &out).is_ok());
  EXPECT_EQ(values_of<uint8_t>(out[0]), (std::vector<uint8_t>{1, 0, 1}));
  Status st = run("Less", 13, {make_bool({1}, {0}), make_bool({1}, {1})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
  st = run("Less", 13, {make_f32({1}, {0}), make_t<int32_t>({1}, {1})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  // Legacy opset 1-6 broadcasting.
  ASSERT_TRUE(run("Greater", 1, {make_f32({2, 2}, {1, 5, 3, 0}), make_f32({2}, {2, 4})}, &out,
                  {{"broadcast", attr_int(1)}, {"axis", attr_int(0)}})
                  .is_ok());
  EXPECT_EQ(values_of<uint8_t>(out[0]), (std::vector<uint8_t>{0, 1, 0, 0}));
}

TEST(OpsMath, LogicMatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (const char *op : {"And", "Or", "Xor"}) {
    for (int it = 0; it < 20; ++it) {
      Shape ys;
      std::vector<Shape> s = random_broadcast(rng, 2, &ys);
      std::vector<uint8_t> a(size_t(count(s[0]))), b(size_t(count(s[1])));
      for (uint8_t &v : a) v = uint8_t(rng() % 2);
      for (uint8_t &v : b) v = uint8_t(rng() % 2);
      SCOPED_TRACE(std::string(op) + " " + shape_str(s[0]) + " " + shape_str(s[1]));
      std::vector<Tensor> out;
      Status st = run(op, 7, {make_bool(s[0], a), make_bool(s[1], b)}, &out);
      ASSERT_TRUE(st.is_ok()) << st.message();
      ASSERT_EQ(out[0].shape(), ys);
      std::vector<uint8_t> y = values_of<uint8_t>(out[0]);
      for (int64_t i = 0; i < count(ys); ++i) {
        const bool u = a[size_t(broadcast_index(ys, s[0], i))];
        const bool v = b[size_t(broadcast_index(ys, s[1], i))];
        const std::string o = op;
        const bool want = o == "And" ? (u && v) : o == "Or" ? (u || v) : (u != v);
        ASSERT_EQ(y[size_t(i)], uint8_t(want)) << i;
      }
    }
  }
  std::vector<Tensor> out;
  ASSERT_TRUE(run("Not", 1, {make_bool({2, 2}, {0, 1, 1, 0})}, &out).is_ok());
  EXPECT_EQ(values_of<uint8_t>(out[0]), (std::vector<uint8_t>{1, 0, 0, 1}));
  ASSERT_TRUE(run("Not", 1, {make_bool({0}, {})}, &out).is_ok());
  EXPECT_EQ(out[0].numel(), 0);
  Status st = run("And", 7, {make_t<int32_t>({1}, {1}), make_t<int32_t>({1}, {1})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
  st = run("Not", 1, {make_f32({1}, {1})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
  // Opset 1 legacy form: B fitted at an axis.
  ASSERT_TRUE(run("Or", 1, {make_bool({2, 2}, {0, 0, 1, 0}), make_bool({2}, {1, 0})}, &out,
                  {{"broadcast", attr_int(1)}, {"axis", attr_int(0)}})
                  .is_ok());
  EXPECT_EQ(values_of<uint8_t>(out[0]), (std::vector<uint8_t>{1, 1, 1, 0}));
}

template <typename T>
void expect_where(std::mt19937 &rng) {
  for (int it = 0; it < 30; ++it) {
    Shape ys;
    std::vector<Shape> s = random_broadcast(rng, 3, &ys);
    std::vector<uint8_t> c(size_t(count(s[0])));
    for (uint8_t &v : c) v = uint8_t(rng() % 2);
    std::vector<T> x(size_t(count(s[1]))), y(size_t(count(s[2])));
    for (T &v : x) v = T(rng() % 100);
    for (T &v : y) v = T(rng() % 100) + T(100);
    SCOPED_TRACE("Where " + shape_str(s[0]) + " " + shape_str(s[1]) + " " + shape_str(s[2]));
    std::vector<Tensor> out;
    Status st =
        run("Where", 16, {make_bool(s[0], c), make_t<T>(s[1], x), make_t<T>(s[2], y)}, &out, {}, 2);
    ASSERT_TRUE(st.is_ok()) << st.message();
    ASSERT_EQ(out[0].shape(), ys);
    std::vector<T> got = values_of<T>(out[0]);
    for (int64_t i = 0; i < count(ys); ++i) {
      const bool cv = c[size_t(broadcast_index(ys, s[0], i))];
      const T want =
          cv ? x[size_t(broadcast_index(ys, s[1], i))] : y[size_t(broadcast_index(ys, s[2], i))];
      ASSERT_EQ(got[size_t(i)], want) << i;
    }
  }
}

TEST(OpsMath, WhereMatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  expect_where<float>(rng);
  expect_where<int64_t>(rng);
  expect_where<int32_t>(rng);
  expect_where<uint8_t>(rng);

  std::vector<Tensor> out;
  // Bit-exact selection: -0.0 and NaN come through unchanged.
  ASSERT_TRUE(
      run("Where", 9,
          {make_bool({3}, {1, 0, 1}), make_f32({3}, {-0.f, 1.f, kNaN}), make_f32({1}, {5.f})}, &out)
          .is_ok());
  std::vector<float> y = to_vector_f32(out[0]);
  EXPECT_TRUE(identical(y[0], -0.f) && y[1] == 5.f && std::isnan(y[2]));
  Status st = run("Where", 16, {make_f32({1}, {1}), make_f32({1}, {1}), make_f32({1}, {2})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("bool"), std::string::npos) << st.message();
  st = run("Where", 16, {make_bool({1}, {1}), make_f32({1}, {1}), make_t<int64_t>({1}, {2})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  st = run("Where", 16, {make_bool({2}, {1, 0}), make_f32({3}, {1, 2, 3}), make_f32({1}, {2})},
           &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("[3]"), std::string::npos) << st.message();
}

// ---- Cast -----------------------------------------------------------------

// Every value of interest as a double, and how each dtype holds it.
double naive_cast_value(double v, DType to) {
  auto sat = [v](double lo, double hi) {
    if (std::isnan(v)) return 0.0;
    double t = std::trunc(v);
    return t < lo ? lo : t > hi ? hi : t;
  };
  switch (to) {
    case DType::kFloat32:
      return double(float(v));
    case DType::kBool:
      return v != 0 ? 1 : 0;  // NaN != 0
    case DType::kUint8:
      return sat(0, 255);
    case DType::kInt8:
      return sat(-128, 127);
    case DType::kInt32:
      return sat(-2147483648.0, 2147483647.0);
    default:
      return sat(-9223372036854775808.0, 9223372036854775807.0);
  }
}

template <typename T>
Tensor tensor_of_doubles(DType t, const std::vector<double> &v) {
  std::vector<T> x;
  for (double d : v) x.push_back(T(d));
  return make_tensor(t, {int64_t(v.size())}, x);
}

Tensor make_from_doubles(DType t, const std::vector<double> &v) {
  switch (t) {
    case DType::kFloat32:
      return tensor_of_doubles<float>(t, v);
    case DType::kUint8:
    case DType::kBool:
      return tensor_of_doubles<uint8_t>(t, v);
    case DType::kInt8:
      return tensor_of_doubles<int8_t>(t, v);
    case DType::kInt32:
      return tensor_of_doubles<int32_t>(t, v);
    default:
      return tensor_of_doubles<int64_t>(t, v);
  }
}

double element_as_double(const Tensor &t, int64_t i) {
  switch (t.dtype()) {
    case DType::kFloat32:
      return double(t.data<float>()[i]);
    case DType::kUint8:
    case DType::kBool:
      return double(t.data<uint8_t>()[i]);
    case DType::kInt8:
      return double(t.data<int8_t>()[i]);
    case DType::kInt32:
      return double(t.data<int32_t>()[i]);
    default:
      return double(t.data<int64_t>()[i]);
  }
}

TEST(OpsMath, CastEveryPair) {
  const std::vector<DType> types = {DType::kFloat32, DType::kUint8, DType::kInt8,
                                    DType::kInt32,   DType::kInt64, DType::kBool};
  // Values each source type can hold exactly (floats get the specials too).
  auto source_values = [](DType t) -> std::vector<double> {
    switch (t) {
      case DType::kFloat32:
        return {0.0,    -0.0,  1.5,      -1.5,      2.7,        -2.7,        127.9, 128.5,
                -128.5, 255.9, 256.0,    -129.0,    3e9,        -3e9,        1e19,  -1e19,
                1e-30,  NAN,   INFINITY, -INFINITY, 16777217.0, 2147483520.0};
      case DType::kUint8:
        return {0, 1, 127, 128, 255};
      case DType::kInt8:
        return {0, 1, -1, 127, -128};
      case DType::kInt32:
        return {0, 1, -1, 255, 256, -129, 2147483647.0, -2147483648.0, 16777217};
      case DType::kInt64:
        return {0, 1, -1, 65535, 4294967297.0, -4294967297.0, 9007199254740993.0};
      default:
        return {0, 1, 1, 0};
    }
  };
  // Integer -> narrower integer keeps the low bits.
  auto wrap = [](double v, DType to) {
    const int64_t i = int64_t(v);
    switch (to) {
      case DType::kUint8:
        return double(uint8_t(i));
      case DType::kInt8:
        return double(int8_t(i));
      case DType::kInt32:
        return double(int32_t(i));
      default:
        return double(i);
    }
  };
  for (DType from : types) {
    for (DType to : types) {
      SCOPED_TRACE(std::string("Cast ") + dtype_name(from) + " -> " + dtype_name(to));
      const std::vector<double> v = source_values(from);
      std::vector<Tensor> out;
      Status st =
          run("Cast", 13, {make_from_doubles(from, v)}, &out, {{"to", attr_int(int64_t(to))}});
      ASSERT_TRUE(st.is_ok()) << st.message();
      ASSERT_EQ(out[0].dtype(), to);
      ASSERT_EQ(out[0].numel(), int64_t(v.size()));
      for (size_t i = 0; i < v.size(); ++i) {
        // The source as stored (float sources hold float(v)).
        const double src = from == DType::kFloat32 ? double(float(v[i])) : v[i];
        double want;
        if (to == DType::kBool || from == DType::kFloat32 || to == DType::kFloat32)
          want = naive_cast_value(src, to);
        else
          want = wrap(src, to);
        const double got = element_as_double(out[0], int64_t(i));
        if (std::isnan(want))
          EXPECT_TRUE(std::isnan(got)) << "value " << src;
        else
          EXPECT_EQ(got, want) << "value " << src;
      }
    }
  }
}

TEST(OpsMath, CastForms) {
  std::vector<Tensor> out;
  // Opset 1 names the type.
  ASSERT_TRUE(
      run("Cast", 1, {make_f32({3}, {1.9f, -1.9f, 0.f})}, &out, {{"to", attr_string("INT64")}})
          .is_ok());
  EXPECT_EQ(values_of<int64_t>(out[0]), (std::vector<int64_t>{1, -1, 0}));
  // -0.0 is false; empty tensors keep their shape.
  ASSERT_TRUE(run("Cast", 13, {make_f32({2}, {-0.f, kNaN})}, &out, {{"to", attr_int(9)}}).is_ok());
  EXPECT_EQ(values_of<uint8_t>(out[0]), (std::vector<uint8_t>{0, 1}));
  ASSERT_TRUE(run("Cast", 13, {make_f32({0, 3}, {})}, &out, {{"to", attr_int(7)}}).is_ok());
  EXPECT_EQ(out[0].shape(), (Shape{0, 3}));
  // A large cast, split over threads.
  std::vector<float> big(100000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = float(i) - 50000.5f;
  ASSERT_TRUE(
      run("Cast", 13, {make_f32({int64_t(big.size())}, big)}, &out, {{"to", attr_int(6)}}, 2)
          .is_ok());
  std::vector<int32_t> got = values_of<int32_t>(out[0]);
  for (size_t i = 0; i < big.size(); ++i) ASSERT_EQ(got[i], int32_t(big[i])) << i;

  Status st = run("Cast", 13, {make_f32({1}, {1})}, &out, {{"to", attr_int(11)}});
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
  EXPECT_NE(st.message().find("DOUBLE"), std::string::npos) << st.message();
  st = run("Cast", 13, {make_f32({1}, {1})}, &out, {{"to", attr_int(10)}});
  EXPECT_NE(st.message().find("FLOAT16"), std::string::npos) << st.message();
  st = run("Cast", 1, {make_f32({1}, {1})}, &out, {{"to", attr_string("QUATERNION")}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidModel) << st.message();
  st = run("Cast", 13, {make_f32({1}, {1})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidModel) << st.message();
}

// ---- Mod, BitShift, IsNaN, IsInf ------------------------------------------

// Python's % (the divisor's sign) or C's (the dividend's), written plainly.
int64_t naive_mod(int64_t a, int64_t b, bool fmod) {
  const int64_t r = a - b * (a / b);  // truncating division, as C
  if (fmod || r == 0 || (r < 0) == (b < 0)) return r;
  return r + b;
}

TEST(OpsMod, IntegersMatchNaiveInBothSignRules) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int fmod = 0; fmod < 2; ++fmod) {
    std::vector<int32_t> a(60), b(60);
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = int32_t(rng() % 41) - 20;
      do b[i] = int32_t(rng() % 15) - 7;
      while (b[i] == 0);
    }
    std::vector<Tensor> out;
    ASSERT_TRUE(run("Mod", 13, {make_t<int32_t>({60}, a), make_t<int32_t>({60}, b)}, &out,
                    {{"fmod", attr_int(fmod)}})
                    .is_ok());
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_EQ(out[0].data<int32_t>()[i], naive_mod(a[i], b[i], fmod)) << a[i] << " % " << b[i];
  }
}

TEST(OpsMod, EdgeCases) {
  std::vector<Tensor> out;
  // MIN % -1 overflows in C; the result is 0. Broadcasting a scalar divisor.
  ASSERT_TRUE(
      run("Mod", 13, {make_t<int8_t>({2}, {-128, 7}), make_t<int8_t>({}, {-1})}, &out).is_ok());
  EXPECT_EQ(values_of<int8_t>(out[0]), (std::vector<int8_t>{0, 0}));
  // A zero divisor is an error naming the node, not undefined behaviour.
  Status st = run("Mod", 13, {make_t<int64_t>({2}, {5, 6}), make_t<int64_t>({2}, {2, 0})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("node_under_test"), std::string::npos) << st.message();
  // Float needs fmod = 1, and then follows C fmod (the dividend's sign, NaN for 0).
  st = run("Mod", 13, {make_f32({1}, {5.f}), make_f32({1}, {3.f})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  ASSERT_TRUE(run("Mod", 13, {make_f32({3}, {-5.5f, 5.5f, 1.f}), make_f32({3}, {2.f, -2.f, 0.f})},
                  &out, {{"fmod", attr_int(1)}})
                  .is_ok());
  EXPECT_EQ(out[0].data<float>()[0], -1.5f);
  EXPECT_EQ(out[0].data<float>()[1], 1.5f);
  EXPECT_TRUE(std::isnan(out[0].data<float>()[2]));
}

TEST(OpsBitShift, ShiftsOfEightOrMoreGiveZero) {
  std::vector<Tensor> out;
  const Tensor x = make_t<uint8_t>({4}, {0x81, 0x81, 0xff, 3});
  const Tensor y = make_t<uint8_t>({4}, {1, 7, 8, 200});
  ASSERT_TRUE(run("BitShift", 11, {x, y}, &out, {{"direction", attr_string("LEFT")}}).is_ok());
  EXPECT_EQ(values_of<uint8_t>(out[0]), (std::vector<uint8_t>{0x02, 0x80, 0, 0}));
  ASSERT_TRUE(run("BitShift", 11, {x, y}, &out, {{"direction", attr_string("RIGHT")}}).is_ok());
  EXPECT_EQ(values_of<uint8_t>(out[0]), (std::vector<uint8_t>{0x40, 0x01, 0, 0}));
  Status st = run("BitShift", 11, {make_t<int32_t>({1}, {1}), make_t<int32_t>({1}, {1})}, &out,
                  {{"direction", attr_string("LEFT")}});
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
}

TEST(OpsClassify, IsNaNAndIsInfFlags) {
  std::vector<Tensor> out;
  const Tensor x = make_f32({5}, {kNaN, kInf, -kInf, 0.f, -1e38f});
  ASSERT_TRUE(run("IsNaN", 13, {x}, &out).is_ok());
  EXPECT_EQ(values_of<uint8_t>(out[0]), (std::vector<uint8_t>{1, 0, 0, 0, 0}));
  ASSERT_TRUE(run("IsInf", 10, {x}, &out).is_ok());
  EXPECT_EQ(values_of<uint8_t>(out[0]), (std::vector<uint8_t>{0, 1, 1, 0, 0}));
  ASSERT_TRUE(run("IsInf", 10, {x}, &out, {{"detect_positive", attr_int(0)}}).is_ok());
  EXPECT_EQ(values_of<uint8_t>(out[0]), (std::vector<uint8_t>{0, 0, 1, 0, 0}));
  ASSERT_TRUE(run("IsInf", 10, {x}, &out, {{"detect_negative", attr_int(0)}}).is_ok());
  EXPECT_EQ(values_of<uint8_t>(out[0]), (std::vector<uint8_t>{0, 1, 0, 0, 0}));
}

}  // namespace
}  // namespace si::test
