// Reductions and ArgMax/ArgMin through a real Session, against loops written
// here: every reduction over every axis subset of rank <= 4, keepdims both
// ways, the attribute and input forms of axes, empty sets, NaN and infinities.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
const char *const kReduceOps[] = {"ReduceSum",       "ReduceMean",     "ReduceMax", "ReduceMin",
                                  "ReduceProd",      "ReduceL1",       "ReduceL2",  "ReduceLogSum",
                                  "ReduceLogSumExp", "ReduceSumSquare"};

// The op over `v` in double, straight from the ONNX definitions.
double naive_reduce(const std::string &op, const std::vector<double> &v) {
  double r = 0;
  if (op == "ReduceMax" || op == "ReduceMin") {
    r = op == "ReduceMax" ? -INFINITY : INFINITY;
    for (double x : v) {
      if (std::isnan(x)) return x;
      r = op == "ReduceMax" ? std::max(r, x) : std::min(r, x);
    }
    return r;
  }
  if (op == "ReduceProd") {
    r = 1;
    for (double x : v) r *= x;
    return r;
  }
  for (double x : v) {
    if (op == "ReduceL1")
      r += std::fabs(x);
    else if (op == "ReduceL2" || op == "ReduceSumSquare")
      r += x * x;
    else if (op == "ReduceLogSumExp")
      r += std::exp(x);
    else
      r += x;
  }
  if (op == "ReduceMean") return r / double(v.size());
  if (op == "ReduceL2") return std::sqrt(r);
  if (op == "ReduceLogSum" || op == "ReduceLogSumExp") return std::log(r);
  return r;
}

// Groups x's elements by output position: out[j] lists the values reduced
// into kept-position j (row-major over the keepdims shape).
template <typename T>
std::vector<std::vector<T>> group(const Shape &s, const std::vector<bool> &reduced,
                                  const std::vector<T> &x, Shape *kept) {
  *kept = s;
  for (size_t d = 0; d < s.size(); ++d)
    if (reduced[d]) (*kept)[d] = 1;
  std::vector<std::vector<T>> out(size_t(count(*kept)));
  for (int64_t i = 0; i < count(s); ++i) {
    // Coordinates of i, then the kept position with reduced coordinates 0.
    int64_t rest = i, j = 0, stride = 1;
    for (size_t k = s.size(); k-- > 0;) {
      const int64_t c = rest % s[k];
      rest /= s[k];
      if (!reduced[k]) j += c * stride;
      stride *= (*kept)[k];
    }
    out[size_t(j)].push_back(x[size_t(i)]);
  }
  return out;
}

Shape out_shape(const Shape &s, const std::vector<bool> &reduced, bool keepdims) {
  Shape y;
  for (size_t d = 0; d < s.size(); ++d) {
    if (!reduced[d])
      y.push_back(s[d]);
    else if (keepdims)
      y.push_back(1);
  }
  return y;
}

bool close_to(float got, double want, double ulps, double abs_tol) {
  if (std::isnan(want)) return std::isnan(got);
  // Beyond float's range the reference rounds to an infinity.
  if (std::isinf(float(want)) || std::isinf(got)) return got == float(want);
  const double ulp = std::max(std::fabs(want) * std::ldexp(1.0, -23), std::ldexp(1.0, -149));
  return std::fabs(double(got) - want) <= ulps * ulp + abs_tol;
}

// How the axes reach the op: the attribute, ReduceSum's opset 13 input
// (runtime or constant), or nothing (all axes).
enum class AxesForm { kAttr, kInput, kConstInput, kNone };

OpSpec reduce_spec(const std::string &op, int opset, const Tensor &x,
                   const std::vector<int64_t> &axes, AxesForm form, int64_t keepdims) {
  OpSpec spec;
  spec.op_type = op;
  spec.opset = opset;
  spec.inputs = {x};
  spec.attrs["keepdims"] = attr_int(keepdims);
  if (form == AxesForm::kAttr) spec.attrs["axes"] = attr_ints(axes);
  if (form == AxesForm::kInput || form == AxesForm::kConstInput) {
    spec.inputs.push_back(make_i64({int64_t(axes.size())}, axes));
    spec.constant = {false, form == AxesForm::kConstInput};
  }
  return spec;
}

std::vector<float> values_for(const std::string &op, std::mt19937 &rng, int64_t n) {
  if (op == "ReduceLogSum") return random_floats(rng, n, 0.1f, 3.f);
  if (op == "ReduceProd") return random_floats(rng, n, 0.5f, 1.5f);
  return random_floats(rng, n, -3.f, 3.f);
}

TEST(OpsReduce, EveryAxisSubsetMatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (const char *op : kReduceOps) {
    const bool sum = std::string(op) == "ReduceSum";
    for (size_t rank = 0; rank <= 4; ++rank) {
      Shape s(rank);
      for (int64_t &d : s) d = 1 + int64_t(rng() % 4);
      const std::vector<float> x = values_for(op, rng, count(s));
      std::vector<double> xd(x.begin(), x.end());
      for (uint32_t mask = 0; mask < (1u << rank); ++mask) {
        std::vector<bool> reduced(rank);
        std::vector<int64_t> axes;
        for (size_t d = 0; d < rank; ++d) {
          reduced[d] = (mask >> d) & 1;
          // Some axes negative, in shuffled order.
          if (reduced[d]) axes.push_back(rng() % 2 ? int64_t(d) : int64_t(d) - int64_t(rank));
        }
        std::shuffle(axes.begin(), axes.end(), rng);
        // An empty axis list means every axis.
        if (axes.empty()) reduced.assign(rank, true);
        Shape kept;
        std::vector<std::vector<double>> groups = group(s, reduced, xd, &kept);
        for (int64_t keepdims : {0, 1}) {
          std::vector<std::pair<int, AxesForm>> forms = {{11, AxesForm::kAttr}};
          if (sum) {
            forms.push_back({13, AxesForm::kInput});
            forms.push_back({13, AxesForm::kConstInput});
          } else {
            forms.push_back({13, AxesForm::kAttr});
          }
          if (axes.empty()) forms.push_back({sum ? 13 : 1, AxesForm::kNone});
          for (auto [opset, form] : forms) {
            SCOPED_TRACE(std::string(op) + " opset " + std::to_string(opset) + " x " +
                         shape_str(s) + " mask " + std::to_string(mask) + " keepdims " +
                         std::to_string(keepdims) + " form " + std::to_string(int(form)));
            std::vector<Tensor> out;
            Status st = run_op(reduce_spec(op, opset, make_f32(s, x), axes, form, keepdims), &out);
            ASSERT_TRUE(st.is_ok()) << st.message();
            ASSERT_EQ(out[0].shape(), out_shape(s, reduced, keepdims == 1));
            std::vector<float> y = to_vector_f32(out[0]);
            ASSERT_EQ(y.size(), groups.size());
            for (size_t j = 0; j < y.size(); ++j) {
              const double want = naive_reduce(op, groups[j]);
              ASSERT_TRUE(close_to(y[j], want, 1, 1e-12))
                  << "at " << j << " got " << y[j] << " want " << want;
            }
          }
        }
      }
    }
  }
}

template <typename T>
void expect_int_reductions(std::mt19937 &rng, DType dtype) {
  using U = std::make_unsigned_t<T>;
  for (const char *op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                         "ReduceL1", "ReduceSumSquare"}) {
    for (int it = 0; it < 8; ++it) {
      Shape s(1 + rng() % 3);
      for (int64_t &d : s) d = 1 + int64_t(rng() % 4);
      std::vector<T> x(size_t(count(s)));
      // Wide values so sums, squares and products wrap.
      for (T &v : x) v = T(int64_t(rng()) * 977 - int64_t(rng()));
      x[0] = std::numeric_limits<T>::lowest();
      std::vector<bool> reduced(s.size());
      std::vector<int64_t> axes;
      for (size_t d = 0; d < s.size(); ++d)
        if ((reduced[d] = rng() % 2)) axes.push_back(int64_t(d));
      if (axes.empty()) reduced.assign(s.size(), true);
      Shape kept;
      std::vector<std::vector<T>> groups = group(s, reduced, x, &kept);
      SCOPED_TRACE(std::string(op) + " " + dtype_name(dtype) + " " + shape_str(s));
      const bool sum = std::string(op) == "ReduceSum";
      std::vector<Tensor> out;
      Status st = run_op(reduce_spec(op, 13, make_tensor(dtype, s, x), axes,
                                     sum ? AxesForm::kInput : AxesForm::kAttr, 1),
                         &out);
      ASSERT_TRUE(st.is_ok()) << st.message();
      ASSERT_EQ(out[0].dtype(), dtype);
      std::vector<T> y = values_of<T>(out[0]);
      for (size_t j = 0; j < groups.size(); ++j) {
        const std::string o = op;
        U acc = o == "ReduceProd" ? 1 : 0;
        T best = groups[j][0];
        int64_t wide_sum = 0;
        for (T v : groups[j]) {
          if (o == "ReduceSum") acc = U(acc + U(v));
          if (o == "ReduceProd") acc = U(acc * U(v));
          if (o == "ReduceL1") acc = U(acc + (v < 0 ? U(U(0) - U(v)) : U(v)));
          if (o == "ReduceSumSquare") acc = U(acc + U(U(v) * U(v)));
          if (o == "ReduceMax") best = std::max(best, v);
          if (o == "ReduceMin") best = std::min(best, v);
          wide_sum = int64_t(uint64_t(wide_sum) + uint64_t(int64_t(v)));
        }
        T want = T(acc);
        if (o == "ReduceMax" || o == "ReduceMin") want = best;
        if (o == "ReduceMean") want = T(wide_sum / int64_t(groups[j].size()));
        ASSERT_EQ(y[j], want) << "at " << j;
      }
    }
  }
}

TEST(OpsReduce, IntegersMatchNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  expect_int_reductions<int32_t>(rng, DType::kInt32);
  expect_int_reductions<int64_t>(rng, DType::kInt64);
}

TEST(OpsReduce, EmptySetsGiveIdentities) {
  const Shape s = {2, 0, 3};
  const std::vector<std::pair<const char *, float>> ids = {
      {"ReduceSum", 0.f},      {"ReduceProd", 1.f},     {"ReduceMax", -kInf},
      {"ReduceMin", kInf},     {"ReduceMean", kNaN},    {"ReduceL1", 0.f},
      {"ReduceL2", 0.f},       {"ReduceLogSum", -kInf}, {"ReduceLogSumExp", -kInf},
      {"ReduceSumSquare", 0.f}};
  for (auto [op, id] : ids) {
    SCOPED_TRACE(op);
    std::vector<Tensor> out;
    ASSERT_TRUE(
        run_op(reduce_spec(op, 11, make_f32(s, {}), {1}, AxesForm::kAttr, 1), &out).is_ok());
    ASSERT_EQ(out[0].shape(), (Shape{2, 1, 3}));
    for (float v : to_vector_f32(out[0])) EXPECT_TRUE(same_float(v, id)) << v;
    // Reducing a non-empty axis of an empty tensor gives an empty tensor.
    ASSERT_TRUE(
        run_op(reduce_spec(op, 11, make_f32(s, {}), {2}, AxesForm::kAttr, 0), &out).is_ok());
    EXPECT_EQ(out[0].shape(), (Shape{2, 0}));
  }
  std::vector<Tensor> out;
  ASSERT_TRUE(run_op(reduce_spec("ReduceMax", 13, make_tensor<int32_t>(DType::kInt32, s, {}), {1},
                                 AxesForm::kAttr, 0),
                     &out)
                  .is_ok());
  for (int32_t v : values_of<int32_t>(out[0])) EXPECT_EQ(v, std::numeric_limits<int32_t>::lowest());
}

TEST(OpsReduce, NaNAndInfinities) {
  auto reduce_all = [](const char *op, const std::vector<float> &x) {
    std::vector<Tensor> out;
    Status st =
        run_op(reduce_spec(op, 11, make_f32({int64_t(x.size())}, x), {}, AxesForm::kNone, 0), &out);
    EXPECT_TRUE(st.is_ok()) << st.message();
    return st.is_ok() ? to_vector_f32(out[0])[0] : -1.f;
  };
  EXPECT_TRUE(std::isnan(reduce_all("ReduceMax", {1.f, kNaN, 3.f})));
  EXPECT_TRUE(std::isnan(reduce_all("ReduceMin", {kNaN, -1.f})));
  EXPECT_TRUE(std::isnan(reduce_all("ReduceMax", {kInf, kNaN})));
  EXPECT_TRUE(std::isnan(reduce_all("ReduceSum", {kInf, -kInf})));
  EXPECT_EQ(reduce_all("ReduceMax", {-kInf, -kInf}), -kInf);
  // LogSumExp stays finite where exp alone overflows, and keeps exact infinities.
  EXPECT_FLOAT_EQ(reduce_all("ReduceLogSumExp", {1000.f, 1000.f}), 1000.f + std::log(2.f));
  EXPECT_FLOAT_EQ(reduce_all("ReduceLogSumExp", {-1000.f, -1000.f}), -1000.f + std::log(2.f));
  EXPECT_EQ(reduce_all("ReduceLogSumExp", {-kInf, -kInf}), -kInf);
  EXPECT_EQ(reduce_all("ReduceLogSumExp", {kInf, 1.f}), kInf);
  EXPECT_TRUE(std::isnan(reduce_all("ReduceLogSumExp", {kNaN, 1.f})));
  EXPECT_EQ(reduce_all("ReduceLogSum", {0.f, 0.f}), -kInf);
  // Summed in double: 1 + 1e8 ones is exact.
  std::vector<float> many(1 << 20, 1.f);
  many[0] = 1e8f;
  EXPECT_EQ(reduce_all("ReduceSum", many), 1e8f + float((1 << 20) - 1));
}

TEST(OpsReduce, ReduceSumAxesInputForms) {
  std::vector<Tensor> out;
  const Tensor x = make_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  // Empty axes input: every axis, or nothing with noop_with_empty_axes.
  OpSpec spec = reduce_spec("ReduceSum", 13, x, {}, AxesForm::kInput, 0);
  ASSERT_TRUE(run_op(spec, &out).is_ok());
  EXPECT_EQ(out[0].shape(), Shape{});
  EXPECT_EQ(to_vector_f32(out[0]), (std::vector<float>{21}));
  spec.attrs["noop_with_empty_axes"] = attr_int(1);
  ASSERT_TRUE(run_op(spec, &out).is_ok());
  EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(to_vector_f32(out[0]), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  spec = reduce_spec("ReduceSum", 13, x, {}, AxesForm::kNone, 1);
  spec.attrs["noop_with_empty_axes"] = attr_int(1);
  ASSERT_TRUE(run_op(spec, &out).is_ok());
  EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
  // noop_with_empty_axes does not exist before opset 13: ignored there.
  spec = reduce_spec("ReduceMean", 11, x, {}, AxesForm::kNone, 1);
  spec.attrs["noop_with_empty_axes"] = attr_int(1);
  ASSERT_TRUE(run_op(spec, &out).is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), (std::vector<float>{3.5f}));
  // int64 sums of the ONNX test data's kind.
  ASSERT_TRUE(run_op(reduce_spec("ReduceSum", 13, make_i64({2, 2}, {1, 2, 3, 4}), {-1},
                                 AxesForm::kConstInput, 1),
                     &out)
                  .is_ok());
  EXPECT_EQ(values_of<int64_t>(out[0]), (std::vector<int64_t>{3, 7}));
}

TEST(OpsReduce, Errors) {
  std::vector<Tensor> out;
  const Tensor x = make_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Status st = run_op(reduce_spec("ReduceMean", 13, x, {2}, AxesForm::kAttr, 1), &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("[2]"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("[2,3]"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("node_under_test"), std::string::npos) << st.message();
  st = run_op(reduce_spec("ReduceMax", 13, x, {-3}, AxesForm::kAttr, 1), &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  st = run_op(reduce_spec("ReduceMin", 13, x, {1, -1}, AxesForm::kAttr, 1), &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("twice"), std::string::npos) << st.message();
  st = run_op(reduce_spec("ReduceSum", 13, x, {5}, AxesForm::kInput, 1), &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  st = run_op(reduce_spec("ReduceSum", 13, x, {0}, AxesForm::kAttr, 1), &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidModel) << st.message();
  st = run_op(reduce_spec("ReduceL2", 13, make_tensor<int32_t>(DType::kInt32, {1}, {1}), {0},
                          AxesForm::kAttr, 1),
              &out);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
  EXPECT_NE(st.message().find("int32"), std::string::npos) << st.message();
  st = run_op(reduce_spec("ReduceSum", 13, make_tensor<uint8_t>(DType::kUint8, {1}, {1}), {0},
                          AxesForm::kInput, 1),
              &out);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
  OpSpec spec = reduce_spec("ReduceSum", 13, x, {}, AxesForm::kNone, 1);
  spec.inputs.push_back(make_tensor<int32_t>(DType::kInt32, {1}, {0}));
  st = run_op(spec, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("int64"), std::string::npos) << st.message();
  st = run_op(reduce_spec("ReduceMean", 13, x, {0}, AxesForm::kAttr, 2), &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidModel) << st.message();
}

// ---- ArgMax / ArgMin ------------------------------------------------------

// Index along the axis of the extreme; NaN beats every number, ties go to
// the first (or last) occurrence.
template <typename T>
int64_t naive_arg(bool is_max, bool last, const std::vector<T> &v) {
  int64_t best = 0;
  for (int64_t k = 1; k < int64_t(v.size()); ++k) {
    const T a = v[size_t(k)], b = v[size_t(best)];
    bool a_nan = false, b_nan = false;
    if constexpr (std::is_floating_point_v<T>) {
      a_nan = std::isnan(a);
      b_nan = std::isnan(b);
    }
    bool take;
    if (a_nan || b_nan)
      take = a_nan && (!b_nan || last);
    else if (a == b)
      take = last;
    else
      take = is_max ? a > b : a < b;
    if (take) best = k;
  }
  return best;
}

template <typename T>
void expect_arg(std::mt19937 &rng, DType dtype, const std::vector<T> &pool) {
  for (int it = 0; it < 25; ++it) {
    Shape s(1 + rng() % 4);
    for (int64_t &d : s) d = 1 + int64_t(rng() % 5);
    std::vector<T> x(size_t(count(s)));
    for (T &v : x) v = pool[rng() % pool.size()];
    const int64_t rank = int64_t(s.size());
    for (int64_t axis = -rank; axis < rank; ++axis) {
      const int64_t a = axis < 0 ? axis + rank : axis;
      for (const char *op : {"ArgMax", "ArgMin"}) {
        for (int64_t keepdims : {0, 1}) {
          for (int64_t last : {0, 1}) {
            SCOPED_TRACE(std::string(op) + " " + dtype_name(dtype) + " " + shape_str(s) + " axis " +
                         std::to_string(axis) + " keepdims " + std::to_string(keepdims) + " last " +
                         std::to_string(last));
            OpSpec spec;
            spec.op_type = op;
            spec.opset = last ? 12 : 11;
            spec.inputs = {make_tensor(dtype, s, x)};
            spec.attrs = {{"axis", attr_int(axis)}, {"keepdims", attr_int(keepdims)}};
            if (last) spec.attrs["select_last_index"] = attr_int(1);
            std::vector<Tensor> out;
            Status st = run_op(spec, &out);
            ASSERT_TRUE(st.is_ok()) << st.message();
            ASSERT_EQ(out[0].dtype(), DType::kInt64);
            std::vector<bool> reduced(s.size(), false);
            reduced[size_t(a)] = true;
            ASSERT_EQ(out[0].shape(), out_shape(s, reduced, keepdims == 1));
            Shape kept;
            std::vector<std::vector<T>> groups = group(s, reduced, x, &kept);
            std::vector<int64_t> y = values_of<int64_t>(out[0]);
            for (size_t j = 0; j < groups.size(); ++j) {
              ASSERT_EQ(y[j], naive_arg(std::string(op) == "ArgMax", last == 1, groups[j]))
                  << "at " << j;
            }
          }
        }
      }
    }
  }
}

TEST(OpsArgReduce, MatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  // Small pools so ties are common.
  expect_arg<float>(rng, DType::kFloat32, {-1.f, 0.f, -0.f, 2.f, 2.5f, kNaN, kInf, -kInf});
  expect_arg<float>(rng, DType::kFloat32, {-1.f, 0.f, 2.f});
  expect_arg<int32_t>(rng, DType::kInt32, {INT32_MIN, -3, 0, 3, INT32_MAX});
  expect_arg<int64_t>(rng, DType::kInt64, {INT64_MIN, -3, 0, 3, INT64_MAX});
  expect_arg<int8_t>(rng, DType::kInt8, {-128, 0, 127});
  expect_arg<uint8_t>(rng, DType::kUint8, {0, 1, 255});
}

TEST(OpsArgReduce, LargeParallelAndDefaults) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const Shape s = {300, 257};
  std::vector<float> x = random_floats(rng, count(s));
  OpSpec spec;
  spec.op_type = "ArgMax";
  spec.opset = 13;
  spec.inputs = {make_f32(s, x)};
  spec.attrs = {{"axis", attr_int(-1)}, {"keepdims", attr_int(0)}};
  spec.options.threads = 2;
  std::vector<Tensor> out;
  ASSERT_TRUE(run_op(spec, &out).is_ok());
  std::vector<int64_t> y = values_of<int64_t>(out[0]);
  for (int64_t r = 0; r < s[0]; ++r) {
    std::vector<float> row(x.begin() + r * s[1], x.begin() + (r + 1) * s[1]);
    ASSERT_EQ(y[size_t(r)], naive_arg(true, false, row)) << r;
  }
  // Defaults: axis 0, keepdims 1.
  spec.attrs.clear();
  spec.inputs = {make_f32({3, 2}, {1, 9, 5, 2, 5, 3})};
  ASSERT_TRUE(run_op(spec, &out).is_ok());
  EXPECT_EQ(out[0].shape(), (Shape{1, 2}));
  EXPECT_EQ(values_of<int64_t>(out[0]), (std::vector<int64_t>{1, 0}));
}

TEST(OpsArgReduce, Errors) {
  auto run_arg = [](const Tensor &x, int64_t axis) {
    OpSpec spec;
    spec.op_type = "ArgMin";
    spec.opset = 13;
    spec.inputs = {x};
    spec.attrs = {{"axis", attr_int(axis)}};
    std::vector<Tensor> out;
    return run_op(spec, &out);
  };
  Status st = run_arg(make_f32({2, 3}, std::vector<float>(6)), 2);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("[2,3]"), std::string::npos) << st.message();
  st = run_arg(make_f32({2, 0}, {}), 1);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("empty"), std::string::npos) << st.message();
  // Reducing a non-empty axis of an empty tensor is fine.
  EXPECT_TRUE(run_arg(make_f32({2, 0}, {}), 0).is_ok());
  st = run_arg(make_f32({}, {1.f}), 0);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  st = run_arg(make_tensor<uint8_t>(DType::kBool, {2}, {0, 1}), 0);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
}

}  // namespace
}  // namespace si::test
