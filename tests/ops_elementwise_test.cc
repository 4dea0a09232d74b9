// Add/Sub/Mul/Div through a real Session, against loops written here.
#include <gtest/gtest.h>

#include <random>

#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

float naive(const std::string &op, float a, float b) {
  if (op == "Add") return a + b;
  if (op == "Sub") return a - b;
  if (op == "Mul") return a * b;
  return a / b;
}

// Runs op on (a, b) and checks every element against the naive loop.
void expect_broadcast(const std::string &op, int opset, const Shape &a, const Shape &b,
                      const Shape &want_shape, std::mt19937 &rng, bool constant_b = false,
                      std::map<std::string, Attribute> attrs = {}, Shape b_aligned = {}) {
  SCOPED_TRACE(op + " opset " + std::to_string(opset) + " A " + shape_str(a) + " B " +
               shape_str(b));
  std::vector<float> av = random_floats(rng, count(a)),
                     bv = random_floats(rng, count(b), 0.5f, 3.f);
  OpSpec spec;
  spec.op_type = op;
  spec.opset = opset;
  spec.attrs = std::move(attrs);
  spec.inputs = {make_f32(a, av), make_f32(b, bv)};
  spec.constant = {false, constant_b};
  std::vector<Tensor> out;
  Status s = run_op(spec, &out);
  ASSERT_TRUE(s.is_ok()) << s.message();
  ASSERT_EQ(out[0].shape(), want_shape);
  // Legacy broadcasting aligns B at an axis: index it through its padded shape.
  const Shape &b_index = b_aligned.empty() ? b : b_aligned;
  std::vector<float> y = to_vector_f32(out[0]);
  for (int64_t i = 0; i < count(want_shape); ++i) {
    float want = naive(op, av[size_t(broadcast_index(want_shape, a, i))],
                       bv[size_t(broadcast_index(want_shape, b_index, i))]);
    ASSERT_EQ(y[size_t(i)], want) << "at " << i;
  }
}

TEST(OpsBinary, BroadcastPatterns) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  struct Case {
    Shape a, b, y;
  };
  const std::vector<Case> cases = {
      {{2, 3, 5}, {2, 3, 5}, {2, 3, 5}},  // same shape
      {{2, 3, 5}, {}, {2, 3, 5}},         // scalar
      {{}, {4, 7}, {4, 7}},               // scalar on the left
      {{3, 7}, {7}, {3, 7}},              // row (bias)
      {{3, 7}, {3, 1}, {3, 7}},           // column
      {{4, 1, 5}, {3, 1}, {4, 3, 5}},     // both sides broadcast, rank mismatch
      {{1, 6}, {5, 1}, {5, 6}},           // outer product
      {{2, 1, 3, 1}, {1, 4, 1, 5}, {2, 4, 3, 5}},
      {{1}, {1, 1, 1}, {1, 1, 1}},
      {{0, 3}, {3}, {0, 3}},  // empty
      {{2, 0}, {1}, {2, 0}},
      {{33, 1025}, {1025}, {33, 1025}},  // above the parallel threshold
  };
  for (const char *op : {"Add", "Sub", "Mul", "Div"}) {
    for (const Case &c : cases) {
      expect_broadcast(op, 14, c.a, c.b, c.y, rng);
      expect_broadcast(op, 7, c.b, c.a, c.y, rng, /*constant_b=*/true);
    }
  }
}

TEST(OpsBinary, RandomShapesAllOpsets) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int it = 0; it < 60; ++it) {
    Shape y(size_t(rng() % 5));
    for (int64_t &d : y) d = 1 + int64_t(rng() % 6);
    Shape a = y, b(y.end() - long(rng() % (y.size() + 1)), y.end());
    for (int64_t &d : a)
      if (rng() % 3 == 0) d = 1;
    Shape want;
    ASSERT_TRUE(naive_broadcast_shape(a, b, &want));
    expect_broadcast("Mul", 13, a, b, want, rng);
  }
}

TEST(OpsBinary, LegacyBroadcastAxis) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  auto attrs = [](int64_t bc, int64_t axis) {
    std::map<std::string, Attribute> m{{"broadcast", attr_int(bc)}};
    if (axis != -99) m["axis"] = attr_int(axis);
    return m;
  };
  // The examples of the opset 6 spec.
  expect_broadcast("Add", 6, {2, 3, 4, 5}, {}, {2, 3, 4, 5}, rng, false, attrs(1, -99), {});
  expect_broadcast("Add", 6, {2, 3, 4, 5}, {5}, {2, 3, 4, 5}, rng, false, attrs(1, -99));
  expect_broadcast("Sub", 6, {2, 3, 4, 5}, {4, 5}, {2, 3, 4, 5}, rng, false, attrs(1, -99));
  expect_broadcast("Mul", 6, {2, 3, 4, 5}, {3, 4}, {2, 3, 4, 5}, rng, true, attrs(1, 1), {3, 4, 1});
  expect_broadcast("Div", 6, {2, 3, 4, 5}, {2}, {2, 3, 4, 5}, rng, false, attrs(1, 0),
                   {2, 1, 1, 1});
  expect_broadcast("Add", 1, {2, 3, 4, 5}, {1, 1}, {2, 3, 4, 5}, rng, false, attrs(1, -99));
  // Without broadcast the shapes must be equal.
  expect_broadcast("Add", 6, {2, 3}, {2, 3}, {2, 3}, rng);
}

Status run_binary(const std::string &op, int opset, const Tensor &a, const Tensor &b,
                  std::vector<Tensor> *out, std::map<std::string, Attribute> attrs = {}) {
  OpSpec spec;
  spec.op_type = op;
  spec.opset = opset;
  spec.attrs = std::move(attrs);
  spec.inputs = {a, b};
  return run_op(spec, out);
}

TEST(OpsBinary, Errors) {
  std::vector<Tensor> out;
  Status s = run_binary("Add", 14, make_f32({2, 3}, std::vector<float>(6)),
                        make_f32({4}, std::vector<float>(4)), &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("[2,3]"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("[4]"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("node_under_test"), std::string::npos) << s.message();

  s = run_binary("Add", 14, make_f32({2}, {1, 2}), make_i64({2}, {1, 2}), &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();

  // Legacy: unequal shapes without broadcast, B too long, B misaligned at axis.
  s = run_binary("Add", 6, make_f32({2, 3}, std::vector<float>(6)),
                 make_f32({3}, std::vector<float>(3)), &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run_binary("Add", 6, make_f32({3}, std::vector<float>(3)),
                 make_f32({2, 3}, std::vector<float>(6)), &out, {{"broadcast", attr_int(1)}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run_binary("Add", 6, make_f32({2, 3, 4}, std::vector<float>(24)),
                 make_f32({3}, std::vector<float>(3)), &out,
                 {{"broadcast", attr_int(1)}, {"axis", attr_int(2)}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run_binary("Add", 6, make_f32({2}, {1, 2}), make_f32({2}, {1, 2}), &out,
                 {{"broadcast", attr_int(2)}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
}

TEST(OpsBinary, Integers) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  std::vector<int32_t> a32(12), b32(4);
  std::vector<int64_t> a64(12), b64(4);
  for (size_t i = 0; i < a32.size(); ++i) a64[i] = a32[i] = int32_t(rng() % 201) - 100;
  for (size_t i = 0; i < b32.size(); ++i) {
    b64[i] = b32[i] = int32_t(rng() % 21) - 10;
    if (b32[i] == 0) b64[i] = b32[i] = 7;
  }
  // 7 / -3 is -2 when truncating, -3 when flooring (Python's //).
  a64[0] = a32[0] = 7;
  b64[0] = b32[0] = -3;
  std::vector<Tensor> out;
  for (const char *op : {"Add", "Sub", "Mul", "Div"}) {
    SCOPED_TRACE(op);
    ASSERT_TRUE(run_binary(op, 14, make_tensor(DType::kInt32, {3, 4}, a32),
                           make_tensor(DType::kInt32, {4}, b32), &out)
                    .is_ok());
    std::vector<int32_t> y32 = values_of<int32_t>(out[0]);
    ASSERT_TRUE(run_binary(op, 14, make_tensor(DType::kInt64, {3, 4}, a64),
                           make_tensor(DType::kInt64, {4}, b64), &out)
                    .is_ok());
    std::vector<int64_t> y64 = values_of<int64_t>(out[0]);
    for (size_t i = 0; i < 12; ++i) {
      int64_t x = a64[i], z = b64[i % 4];
      std::string o = op;
      int64_t want = o == "Add" ? x + z : o == "Sub" ? x - z : o == "Mul" ? x * z : x / z;
      ASSERT_EQ(y32[i], want) << i;
      ASSERT_EQ(y64[i], want) << i;
    }
    if (std::string(op) == "Div") {
      ASSERT_EQ(y32[0], -2);
    }
  }
  Status s = run_binary("Div", 14, make_tensor<int32_t>(DType::kInt32, {2}, {4, 5}),
                        make_tensor<int32_t>(DType::kInt32, {2}, {1, 0}), &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  EXPECT_NE(s.message().find("division by zero"), std::string::npos) << s.message();
  // INT_MIN / -1 wraps instead of trapping.
  ASSERT_TRUE(
      run_binary("Div", 14,
                 make_tensor<int32_t>(DType::kInt32, {1}, {std::numeric_limits<int32_t>::min()}),
                 make_tensor<int32_t>(DType::kInt32, {1}, {-1}), &out)
          .is_ok());
  EXPECT_EQ(values_of<int32_t>(out[0])[0], std::numeric_limits<int32_t>::min());
}

}  // namespace
}  // namespace si::test
