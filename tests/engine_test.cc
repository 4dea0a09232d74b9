// Graph structure, planning and session-level errors, independent of any op.
#include <gtest/gtest.h>

#include "engine/plan.h"
#include "engine/session.h"
#include "tests/op_runner.h"

namespace si {
namespace {

int add(Graph &g, const std::string &name) {
  ValueInfo v;
  v.name = name;
  v.dtype = DType::kFloat32;
  return g.add_value(v);
}

Node node(const std::string &op, const std::string &name, std::vector<int> in,
          std::vector<int> out) {
  Node n;
  n.op_type = op;
  n.name = name;
  n.opset = 13;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

TEST(Plan, OrdersProducersBeforeReaders) {
  Graph g;
  int x = add(g, "x"), a = add(g, "a"), b = add(g, "b");
  g.inputs = {x};
  g.outputs = {b};
  g.nodes.push_back(node("Relu", "second", {a}, {b}));
  g.nodes.push_back(node("Relu", "first", {x}, {a}));
  std::vector<size_t> order;
  ASSERT_TRUE(topological_order(g, &order).is_ok());
  EXPECT_EQ(order, (std::vector<size_t>{1, 0}));
  auto rel = release_points(g, order);
  EXPECT_TRUE(rel[0].empty());
  EXPECT_EQ(rel[1], std::vector<int>{a});  // `a` dies after its only reader
}

TEST(Plan, RejectsCycleNamingNodes) {
  Graph g;
  int x = add(g, "x"), a = add(g, "a"), b = add(g, "b");
  g.inputs = {x};
  g.outputs = {b};
  g.nodes.push_back(node("Add", "n1", {x, b}, {a}));
  g.nodes.push_back(node("Relu", "n2", {a}, {b}));
  std::vector<size_t> order;
  Status s = topological_order(g, &order);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("cycle"), std::string::npos);
  EXPECT_NE(s.message().find("n1"), std::string::npos);
  EXPECT_NE(s.message().find("n2"), std::string::npos);
}

TEST(Plan, RejectsDanglingInput) {
  Graph g;
  int x = add(g, "x"), ghost = add(g, "ghost"), b = add(g, "b");
  g.inputs = {x};
  g.outputs = {b};
  g.nodes.push_back(node("Add", "adder", {x, ghost}, {b}));
  std::vector<size_t> order;
  Status s = topological_order(g, &order);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("ghost"), std::string::npos);
}

TEST(Plan, RejectsValueProducedTwice) {
  Graph g;
  int x = add(g, "x"), b = add(g, "b");
  g.inputs = {x};
  g.outputs = {b};
  g.nodes.push_back(node("Relu", "r1", {x}, {b}));
  g.nodes.push_back(node("Relu", "r2", {x}, {b}));
  std::vector<size_t> order;
  EXPECT_EQ(topological_order(g, &order).code(), StatusCode::kInvalidModel);
}

TEST(Session, ListsEveryUnsupportedOperator) {
  Graph g;
  int x = add(g, "x"), a = add(g, "a"), b = add(g, "b");
  g.inputs = {x};
  g.outputs = {b};
  g.nodes.push_back(node("Foo", "bar", {x}, {a}));
  g.nodes.push_back(node("Baz", "qux", {a}, {b}));
  std::unique_ptr<Session> s;
  Status st = Session::create(std::move(g), SessionOptions(), &s);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
  EXPECT_NE(st.message().find("unsupported operator Foo (node \"bar\", ai.onnx opset 13)"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("Baz (node \"qux\""), std::string::npos) << st.message();
}

TEST(Tensor, CheckedNumelRejectsOverflowAndNegative) {
  int64_t n = 0;
  EXPECT_TRUE(checked_numel({2, 3, 4}, &n).is_ok());
  EXPECT_EQ(n, 24);
  EXPECT_TRUE(checked_numel({0, int64_t{1} << 62}, &n).is_ok());
  EXPECT_EQ(n, 0);
  EXPECT_FALSE(checked_numel({int64_t{1} << 21, int64_t{1} << 20}, &n).is_ok());
  EXPECT_FALSE(checked_numel({int64_t{1} << 62, 4}, &n).is_ok());
  EXPECT_FALSE(checked_numel({3, -1}, &n).is_ok());
  EXPECT_TRUE(checked_numel({}, &n).is_ok());
  EXPECT_EQ(n, 1);
}

TEST(Tensor, AllocationIsAlignedAndZeroed) {
  Tensor t;
  ASSERT_TRUE(Tensor::allocate(DType::kFloat32, {3, 5}, &t).is_ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(t.data<float>()[i], 0.f);
  EXPECT_EQ(t.size_bytes(), 60u);
}

}  // namespace
}  // namespace si
