// Sequence values and the sequence ops through a real Session: positions
// (negative, out of range), empty sequences, ConcatFromSequence's new_axis,
// SplitToSequence with and without split, and the executor never recycling
// a buffer a sequence still holds. Expected values are written by hand from
// the ONNX spec.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/session.h"
#include "tests/graph_builder.h"
#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

Status run(const std::string &op, std::vector<Tensor> inputs, std::vector<Tensor> *out,
           std::map<std::string, Attribute> attrs = {}) {
  OpSpec spec;
  spec.op_type = op;
  spec.opset = 11;
  spec.attrs = std::move(attrs);
  spec.inputs = std::move(inputs);
  return run_op(spec, out);
}

Tensor seq_of(const std::vector<Tensor> &items) {
  return Tensor::sequence(items.empty() ? DType::kFloat32 : items[0].dtype(), items);
}

Tensor pos(int64_t p) {
  return make_i64({}, {p});
}

// The first element of each tensor of a sequence: enough to tell them apart.
std::vector<float> firsts(const Tensor &seq) {
  std::vector<float> v;
  for (const Tensor &t : seq.elements()) v.push_back(t.data<float>()[0]);
  return v;
}

void expect_error(const Status &s, const std::string &part) {
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("node_under_test"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(part), std::string::npos) << s.message();
}

const Tensor a = make_f32({2}, {1, 2}), b = make_f32({2}, {3, 4}), c = make_f32({2}, {5, 6});

TEST(OpsSequence, ConstructSharesTheInputsBuffers) {
  std::vector<Tensor> out;
  ASSERT_TRUE(run("SequenceConstruct", {a, b, c}, &out).is_ok());
  ASSERT_TRUE(out[0].is_sequence());
  EXPECT_EQ(out[0].element_dtype(), DType::kFloat32);
  ASSERT_EQ(out[0].elements().size(), 3u);
  EXPECT_EQ(out[0].elements()[1].raw(), b.raw()) << "elements are handles, not copies";
  expect_error(run("SequenceConstruct", {a, make_i64({1}, {1})}, &out), "int64");
}

TEST(OpsSequence, InsertPositions) {
  const Tensor s = seq_of({a, b});
  struct Case {
    Tensor position;
    std::vector<float> want;
  } cases[] = {
      {Tensor(), {1, 3, 5}}, {pos(0), {5, 1, 3}},  {pos(2), {1, 3, 5}},
      {pos(-1), {1, 5, 3}},  {pos(-2), {5, 1, 3}}, {make_f32({}, {0}), {}},
  };
  for (const Case &k : cases) {
    std::vector<Tensor> out;
    Status st = run("SequenceInsert", {s, c, k.position}, &out);
    if (k.want.empty()) {
      expect_error(st, "position must be int32 or int64");
      continue;
    }
    ASSERT_TRUE(st.is_ok()) << st.message();
    EXPECT_EQ(firsts(out[0]), k.want);
  }
  EXPECT_EQ(firsts(s), std::vector<float>({1, 3})) << "the input sequence is unchanged";
  std::vector<Tensor> out;
  expect_error(run("SequenceInsert", {s, c, pos(3)}, &out), "position 3 is out of range");
  expect_error(run("SequenceInsert", {s, c, pos(-3)}, &out), "position -3 is out of range");
  expect_error(run("SequenceInsert", {s, make_i64({1}, {7})}, &out), "the sequence holds float32");
  expect_error(run("SequenceInsert", {a, c}, &out), "must be a sequence");
}

TEST(OpsSequence, ErasePositions) {
  const Tensor s = seq_of({a, b, c});
  std::vector<Tensor> out;
  ASSERT_TRUE(run("SequenceErase", {s}, &out).is_ok());  // default: the last
  EXPECT_EQ(firsts(out[0]), std::vector<float>({1, 3}));
  ASSERT_TRUE(run("SequenceErase", {s, pos(-3)}, &out).is_ok());
  EXPECT_EQ(firsts(out[0]), std::vector<float>({3, 5}));
  ASSERT_TRUE(
      run("SequenceErase", {s, make_tensor<int32_t>(DType::kInt32, {}, {1})}, &out).is_ok());
  EXPECT_EQ(firsts(out[0]), std::vector<float>({1, 5}));
  expect_error(run("SequenceErase", {s, pos(3)}, &out), "position 3 is out of range");
  expect_error(run("SequenceErase", {seq_of({})}, &out), "sequence of 0 tensors");
}

TEST(OpsSequence, AtReturnsTheElementItself) {
  const Tensor s = seq_of({a, b, c});
  std::vector<Tensor> out;
  ASSERT_TRUE(run("SequenceAt", {s, pos(-1)}, &out).is_ok());
  EXPECT_EQ(out[0].raw(), c.raw());
  EXPECT_EQ(out[0].shape(), Shape({2}));
  ASSERT_TRUE(run("SequenceAt", {s, pos(1)}, &out).is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>({3, 4}));
  expect_error(run("SequenceAt", {s, pos(-4)}, &out), "position -4 is out of range");
  expect_error(run("SequenceAt", {s, make_i64({2}, {0, 1})}, &out), "must be a scalar");
  expect_error(run("SequenceAt", {seq_of({}), pos(0)}, &out), "sequence of 0 tensors");
}

TEST(OpsSequence, LengthAndEmpty) {
  std::vector<Tensor> out;
  ASSERT_TRUE(run("SequenceLength", {seq_of({a, b})}, &out).is_ok());
  EXPECT_EQ(values_of<int64_t>(out[0]), std::vector<int64_t>({2}));
  EXPECT_EQ(out[0].shape(), Shape({}));
  ASSERT_TRUE(run("SequenceEmpty", {}, &out, {{"dtype", attr_int(7)}}).is_ok());
  ASSERT_TRUE(out[0].is_sequence());
  EXPECT_EQ(out[0].element_dtype(), DType::kInt64);
  EXPECT_TRUE(out[0].elements().empty());
  ASSERT_TRUE(run("SequenceEmpty", {}, &out).is_ok());
  EXPECT_EQ(out[0].element_dtype(), DType::kFloat32);                     // the default
  Status st = run("SequenceEmpty", {}, &out, {{"dtype", attr_int(11)}});  // DOUBLE
  EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.message();
  ASSERT_TRUE(run("SequenceLength", {seq_of({})}, &out).is_ok());
  EXPECT_EQ(values_of<int64_t>(out[0]), std::vector<int64_t>({0}));
}

TEST(OpsSequence, ConcatFromSequence) {
  const Tensor x = make_f32({2, 1}, {1, 2}), y = make_f32({2, 2}, {3, 4, 5, 6});
  std::vector<Tensor> out;
  ASSERT_TRUE(run("ConcatFromSequence", {seq_of({x, y})}, &out, {{"axis", attr_int(1)}}).is_ok());
  EXPECT_EQ(out[0].shape(), Shape({2, 3}));
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>({1, 3, 4, 2, 5, 6}));
  ASSERT_TRUE(run("ConcatFromSequence", {seq_of({a, b, c})}, &out,
                  {{"axis", attr_int(-1)}, {"new_axis", attr_int(1)}})
                  .is_ok());
  EXPECT_EQ(out[0].shape(), Shape({2, 3}));  // axis -1 of the rank-2 result
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>({1, 3, 5, 2, 4, 6}));
  ASSERT_TRUE(run("ConcatFromSequence", {seq_of({a, b})}, &out,
                  {{"axis", attr_int(0)}, {"new_axis", attr_int(1)}})
                  .is_ok());
  EXPECT_EQ(out[0].shape(), Shape({2, 2}));
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>({1, 2, 3, 4}));
  expect_error(run("ConcatFromSequence", {seq_of({x, y})}, &out, {{"axis", attr_int(0)}}),
               "only axis 0 may differ");
  expect_error(run("ConcatFromSequence", {seq_of({x, y})}, &out,
                   {{"axis", attr_int(1)}, {"new_axis", attr_int(1)}}),
               "stacking needs equal shapes");
  expect_error(run("ConcatFromSequence", {seq_of({a})}, &out, {{"axis", attr_int(1)}}),
               "out of range");
  expect_error(run("ConcatFromSequence", {seq_of({})}, &out, {{"axis", attr_int(0)}}),
               "empty sequence");
  expect_error(run("ConcatFromSequence", {seq_of({a})}, &out), "axis is required");
}

TEST(OpsSequence, SplitToSequence) {
  const Tensor x = make_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  std::vector<Tensor> out;
  // No split: length-1 parts, axis kept (keepdims 1) or dropped.
  ASSERT_TRUE(run("SplitToSequence", {x}, &out, {{"axis", attr_int(1)}}).is_ok());
  ASSERT_EQ(out[0].elements().size(), 3u);
  EXPECT_EQ(out[0].elements()[2].shape(), Shape({2, 1}));
  EXPECT_EQ(to_vector_f32(out[0].elements()[2]), std::vector<float>({3, 6}));
  ASSERT_TRUE(run("SplitToSequence", {x}, &out, {{"axis", attr_int(-1)}, {"keepdims", attr_int(0)}})
                  .is_ok());
  EXPECT_EQ(out[0].elements()[1].shape(), Shape({2}));
  EXPECT_EQ(to_vector_f32(out[0].elements()[1]), std::vector<float>({2, 5}));
  // A scalar split: equal parts, the last takes the rest; keepdims ignored.
  ASSERT_TRUE(run("SplitToSequence", {x, make_i64({}, {2})}, &out,
                  {{"axis", attr_int(1)}, {"keepdims", attr_int(0)}})
                  .is_ok());
  ASSERT_EQ(out[0].elements().size(), 2u);
  EXPECT_EQ(to_vector_f32(out[0].elements()[0]), std::vector<float>({1, 2, 4, 5}));
  EXPECT_EQ(to_vector_f32(out[0].elements()[1]), std::vector<float>({3, 6}));
  // A 1-D split: one part per length.
  ASSERT_TRUE(
      run("SplitToSequence", {x, make_tensor<int32_t>(DType::kInt32, {2}, {2, 0})}, &out).is_ok());
  ASSERT_EQ(out[0].elements().size(), 2u);
  EXPECT_EQ(out[0].elements()[0].shape(), Shape({2, 3}));
  EXPECT_EQ(out[0].elements()[1].shape(), Shape({0, 3}));
  EXPECT_EQ(to_vector_f32(out[0].elements()[0]), to_vector_f32(x));
  expect_error(run("SplitToSequence", {x, make_i64({2}, {1, 2})}, &out),
               "does not sum to the axis size 2");
  expect_error(run("SplitToSequence", {x, make_i64({}, {0})}, &out), "must be positive");
  expect_error(run("SplitToSequence", {x}, &out, {{"axis", attr_int(2)}}), "out of range");
}

// A buffer a sequence holds is never handed to a later value: a's slot dies
// at SequenceConstruct, and the values made after it (n, k, y_out) must not
// take its storage, or the sequence output's element changes under it.
TEST(OpsSequence, ExecutorKeepsBuffersASequenceHolds) {
  GraphBuilder gb(1);
  gb.input("x", {4});
  gb.input("y", {4});
  gb.node("Neg", "neg", {"x"}, {"a"});
  gb.node("SequenceConstruct", "construct", {"a"}, {"s"});
  gb.node("SequenceLength", "length", {"s"}, {"n"});
  gb.node("Cast", "cast", {"n"}, {"k"}).attrs["to"] = attr_int(1);
  gb.node("Mul", "mul", {"y", "k"}, {"y_out"});
  gb.output("s");
  gb.output("y_out");
  std::unique_ptr<Session> session;
  ASSERT_TRUE(Session::create(std::move(gb.g), SessionOptions(), &session).is_ok());
  const Tensor x = make_f32({4}, {1, 2, 3, 4}), y = make_f32({4}, {9, 8, 7, 6});
  for (int call = 0; call < 3; ++call) {  // later calls start from the pooled buffers
    std::vector<Tensor> out;
    ASSERT_TRUE(session->run({x, y}, &out).is_ok());
    ASSERT_TRUE(out[0].is_sequence());
    ASSERT_EQ(out[0].elements().size(), 1u);
    EXPECT_EQ(to_vector_f32(out[0].elements()[0]), std::vector<float>({-1, -2, -3, -4}));
    EXPECT_EQ(to_vector_f32(out[1]), std::vector<float>({9, 8, 7, 6}));
  }
}

TEST(OpsSequence, SessionChecksSequenceInputs) {
  std::vector<Tensor> out;
  GraphBuilder gb(1);
  const int s = gb.value("s");
  gb.g.values[size_t(s)].sequence = true;
  gb.g.inputs.push_back(s);
  gb.node("SequenceLength", "length", {"s"}, {"n"});
  gb.output("n");
  std::unique_ptr<Session> session;
  ASSERT_TRUE(Session::create(std::move(gb.g), SessionOptions(), &session).is_ok());
  Status st = session->run({a}, &out);
  EXPECT_NE(st.message().find("expects a sequence of float32, got a tensor"), std::string::npos)
      << st.message();
  st = session->run({seq_of({make_i64({1}, {1})})}, &out);
  EXPECT_NE(st.message().find("element 0 is int64"), std::string::npos) << st.message();
  EXPECT_FALSE(
      require_tensor_interface(session->inputs(), session->outputs(), "the C API").is_ok());
}

}  // namespace
}  // namespace si::test
