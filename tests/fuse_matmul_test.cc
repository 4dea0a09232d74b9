// The MatMul/Gemm epilogue fusion pass: which chains it rewrites into one
// FusedGemm, which it must leave alone, and that the fused session computes
// what the unfused one does.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/passes/passes.h"
#include "engine/session.h"
#include "tests/graph_builder.h"
#include "tests/op_runner.h"

namespace si {
namespace {

uint32_t test_seed() {
  const int flag = GTEST_FLAG_GET(random_seed);
  return flag != 0 ? uint32_t(flag) : 20240612u;
}

using test::op_types;
using test::random_tensor;

struct Builder : test::GraphBuilder {
  Builder() : GraphBuilder(test_seed()) {}
};

// Runs the graph fused (optimize=true) and unfused and compares every output.
void expect_fused_equals_unfused(const Graph &g, const std::vector<Tensor> &feeds) {
  std::vector<Tensor> results[2];
  for (int optimize = 0; optimize < 2; ++optimize) {
    SessionOptions options;
    options.optimize = optimize == 1;
    options.threads = 1;
    std::unique_ptr<Session> s;
    Status st = Session::create(g, options, &s);
    ASSERT_TRUE(st.is_ok()) << st.message();
    if (optimize) {
      EXPECT_EQ(s->op_histogram().count("FusedGemm"), 1u) << "session did not fuse";
    }
    st = s->run(feeds, &results[optimize]);
    ASSERT_TRUE(st.is_ok()) << st.message();
  }
  ASSERT_EQ(results[0].size(), results[1].size());
  for (size_t i = 0; i < results[0].size(); ++i) {
    ASSERT_EQ(results[0][i].shape(), results[1][i].shape()) << "output " << i;
    const auto a = test::to_vector_f32(results[0][i]), b = test::to_vector_f32(results[1][i]);
    for (size_t j = 0; j < a.size(); ++j)
      ASSERT_NEAR(a[j], b[j], 1e-5f * (1.f + std::fabs(a[j]))) << "output " << i << " at " << j;
  }
}

TEST(FuseMatmul, MatMulAddReluBecomesOneFusedGemm) {
  Builder b;
  b.input("x", {-1, 17});
  b.constant("w", {17, 9});
  b.constant("bias", {9});
  b.node("MatMul", "fc1", {"x", "w"}, {"mm"});
  b.node("Add", "fc1_add", {"mm", "bias"}, {"pre"});
  b.node("Relu", "fc1_relu", {"pre"}, {"y"});
  b.output("y");
  const Graph original = b.g;
  ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
  ASSERT_EQ(b.g.nodes.size(), 1u);
  const Node &f = b.g.nodes[0];
  EXPECT_EQ(f.op_type, "FusedGemm");
  EXPECT_EQ(f.domain, kEngineDomain);
  EXPECT_EQ(f.name, "fc1");
  EXPECT_EQ(f.attr_string("activation", "?"), "Relu");
  EXPECT_EQ(f.attr_int("transB", -1), 0);
  EXPECT_EQ(f.inputs, (std::vector<int>{b.value("x"), b.value("w"), b.value("bias")}));
  EXPECT_EQ(f.outputs, std::vector<int>{b.value("y")});
  expect_fused_equals_unfused(original, {random_tensor(b.rng, {5, 17})});
}

TEST(FuseMatmul, BiasOnEitherSideAndWithoutRelu) {
  Builder b;
  b.input("x", {3, 8});
  b.constant("w", {8, 6});
  b.constant("bias", {1, 6});
  b.node("MatMul", "fc", {"x", "w"}, {"mm"});
  b.node("Add", "fc_add", {"bias", "mm"}, {"y"});
  b.output("y");
  const Graph original = b.g;
  ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
  ASSERT_EQ(op_types(b.g), std::vector<std::string>{"FusedGemm"});
  const Node &f = b.g.nodes[0];
  EXPECT_EQ(f.attr_string("activation", "?"), "");
  // [1,6] is re-stored as a [6] vector.
  ASSERT_EQ(f.inputs.size(), 3u);
  EXPECT_EQ(b.g.constant(f.inputs[2])->shape(), Shape{6});
  expect_fused_equals_unfused(original, {random_tensor(b.rng, {3, 8})});
}

TEST(FuseMatmul, ThreeDimensionalActivations) {
  for (const Shape &bias_shape : {Shape{7}, Shape{1, 1, 7}, Shape{1, 7}, Shape{1}}) {
    Builder b;
    b.input("x", {2, -1, 5});
    b.constant("w", {5, 7});
    b.constant("bias", bias_shape);
    b.node("MatMul", "proj", {"x", "w"}, {"mm"});
    b.node("Add", "proj_add", {"mm", "bias"}, {"pre"});
    b.node("Relu", "proj_relu", {"pre"}, {"y"});
    b.output("y");
    const Graph original = b.g;
    ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
    EXPECT_EQ(op_types(b.g), std::vector<std::string>{"FusedGemm"}) << shape_str(bias_shape);
    expect_fused_equals_unfused(original, {random_tensor(b.rng, {2, 3, 5})});
  }
}

TEST(FuseMatmul, GemmReluFoldsBetaIntoBias) {
  Builder b;
  b.input("x", {4, 10});
  b.constant("w", {6, 10});  // nn.Linear layout: transB=1
  b.constant("c", {6});
  Node &gemm = b.node("Gemm", "fc2", {"x", "w", "c"}, {"g"});
  gemm.attrs["transB"] = attr_int(1);
  gemm.attrs["alpha"] = attr_float(0.5f);
  gemm.attrs["beta"] = attr_float(2.f);
  b.node("Relu", "fc2_relu", {"g"}, {"y"});
  b.output("y");
  const Graph original = b.g;
  ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
  ASSERT_EQ(op_types(b.g), std::vector<std::string>{"FusedGemm"});
  const Node &f = b.g.nodes[0];
  EXPECT_EQ(f.name, "fc2");
  EXPECT_EQ(f.attr_int("transB", -1), 1);
  EXPECT_EQ(f.attr_float("alpha", -1.f), 0.5f);
  ASSERT_EQ(f.inputs.size(), 3u);
  const Tensor *c = b.g.constant(b.value("c")), *fused_c = b.g.constant(f.inputs[2]);
  ASSERT_NE(fused_c, nullptr);
  for (int j = 0; j < 6; ++j) EXPECT_EQ(fused_c->data<float>()[j], 2.f * c->data<float>()[j]);
  expect_fused_equals_unfused(original, {random_tensor(b.rng, {4, 10})});
}

TEST(FuseMatmul, GemmWithoutCAndRelu) {
  Builder b;
  b.input("x", {2, 3});
  b.constant("w", {3, 4});
  b.node("Gemm", "g", {"x", "w"}, {"gy"});
  b.node("Relu", "r", {"gy"}, {"y"});
  b.output("y");
  const Graph original = b.g;
  ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
  ASSERT_EQ(op_types(b.g), std::vector<std::string>{"FusedGemm"});
  EXPECT_EQ(b.g.nodes[0].inputs.size(), 2u);
  expect_fused_equals_unfused(original, {random_tensor(b.rng, {2, 3})});
}

TEST(FuseMatmul, IntermediateWithTwoReadersIsNotFused) {
  Builder b;
  b.input("x", {2, 4});
  b.constant("w", {4, 3});
  b.constant("bias", {3});
  b.node("MatMul", "fc", {"x", "w"}, {"mm"});
  b.node("Add", "fc_add", {"mm", "bias"}, {"pre"});
  b.node("Relu", "fc_relu", {"pre"}, {"y"});
  b.node("Relu", "side", {"mm"}, {"z"});
  b.output("y");
  b.output("z");
  ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
  EXPECT_EQ(op_types(b.g), (std::vector<std::string>{"MatMul", "Add", "Relu", "Relu"}));
}

TEST(FuseMatmul, GraphOutputIntermediateStopsTheChain) {
  // The matmul output itself is a graph output: nothing fuses.
  {
    Builder b;
    b.input("x", {2, 4});
    b.constant("w", {4, 3});
    b.node("MatMul", "fc", {"x", "w"}, {"mm"});
    b.node("Relu", "fc_relu", {"mm"}, {"y"});
    b.output("y");
    b.output("mm");
    ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
    EXPECT_EQ(op_types(b.g), (std::vector<std::string>{"MatMul", "Relu"}));
  }
  // The Add output is a graph output: MatMul+Add fuse, the Relu stays.
  {
    Builder b;
    b.input("x", {2, 4});
    b.constant("w", {4, 3});
    b.constant("bias", {3});
    b.node("MatMul", "fc", {"x", "w"}, {"mm"});
    b.node("Add", "fc_add", {"mm", "bias"}, {"pre"});
    b.node("Relu", "fc_relu", {"pre"}, {"y"});
    b.output("y");
    b.output("pre");
    const Graph original = b.g;
    ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
    ASSERT_EQ(op_types(b.g), (std::vector<std::string>{"FusedGemm", "Relu"}));
    EXPECT_EQ(b.g.nodes[0].attr_string("activation", "?"), "");
    EXPECT_EQ(b.g.nodes[0].outputs, std::vector<int>{b.value("pre")});
    expect_fused_equals_unfused(original, {random_tensor(b.rng, {2, 4})});
  }
}

TEST(FuseMatmul, LeavesUnfusableShapesAlone) {
  // Bias that is not one row of N values, runtime bias, batched weight,
  // transposed Gemm A, Gemm C of shape [M,N], bias rank above an unknown output rank.
  {
    Builder b;
    b.input("x", {2, 4});
    b.constant("w", {4, 3});
    b.constant("bias", {2, 3});
    b.node("MatMul", "fc", {"x", "w"}, {"mm"});
    b.node("Add", "add", {"mm", "bias"}, {"y"});
    b.output("y");
    ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
    EXPECT_EQ(op_types(b.g), (std::vector<std::string>{"MatMul", "Add"})) << "[M,N] bias";
  }
  {
    Builder b;
    b.input("x", {2, 4});
    b.input("bias", {3});
    b.constant("w", {4, 3});
    b.node("MatMul", "fc", {"x", "w"}, {"mm"});
    b.node("Add", "add", {"mm", "bias"}, {"y"});
    b.output("y");
    ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
    EXPECT_EQ(op_types(b.g), (std::vector<std::string>{"MatMul", "Add"})) << "runtime bias";
  }
  {
    Builder b;
    b.input("x", {2, 2, 4});
    b.constant("w", {2, 4, 3});
    b.node("MatMul", "fc", {"x", "w"}, {"mm"});
    b.node("Relu", "r", {"mm"}, {"y"});
    b.output("y");
    ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
    EXPECT_EQ(op_types(b.g), (std::vector<std::string>{"MatMul", "Relu"})) << "batched weight";
  }
  {
    Builder b;
    b.input("x", {4, 2});
    b.constant("w", {4, 3});
    b.node("Gemm", "g", {"x", "w"}, {"gy"}).attrs["transA"] = attr_int(1);
    b.node("Relu", "r", {"gy"}, {"y"});
    b.output("y");
    ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
    EXPECT_EQ(op_types(b.g), (std::vector<std::string>{"Gemm", "Relu"})) << "transA";
  }
  {
    Builder b;
    b.input("x", {2, 4});
    b.constant("w", {4, 3});
    b.constant("c", {2, 3});
    b.node("Gemm", "g", {"x", "w", "c"}, {"gy"});
    b.node("Relu", "r", {"gy"}, {"y"});
    b.output("y");
    ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
    EXPECT_EQ(op_types(b.g), (std::vector<std::string>{"Gemm", "Relu"})) << "C [M,N]";
  }
  {
    Builder b;
    b.input("x", {}, /*declare_shape=*/false);
    b.constant("w", {4, 3});
    b.constant("bias", {1, 3});
    b.node("MatMul", "fc", {"x", "w"}, {"mm"});
    b.node("Add", "add", {"mm", "bias"}, {"y"});
    b.output("y");
    ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
    EXPECT_EQ(op_types(b.g), (std::vector<std::string>{"MatMul", "Add"})) << "unknown rank";
  }
  {
    // Same but with a [N] bias: safe whatever the rank.
    Builder b;
    b.input("x", {}, /*declare_shape=*/false);
    b.constant("w", {4, 3});
    b.constant("bias", {3});
    b.node("MatMul", "fc", {"x", "w"}, {"mm"});
    b.node("Add", "add", {"mm", "bias"}, {"y"});
    b.output("y");
    ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
    EXPECT_EQ(op_types(b.g), std::vector<std::string>{"FusedGemm"}) << "unknown rank, [N] bias";
  }
}

TEST(FuseMatmul, TwoLayerMlpFusesBothLayers) {
  Builder b;
  b.input("x", {-1, 12});
  b.constant("w1", {12, 16});
  b.constant("b1", {16});
  b.constant("w2", {10, 16});
  b.constant("b2", {10});
  b.node("MatMul", "fc1", {"x", "w1"}, {"h1"});
  b.node("Add", "fc1_add", {"h1", "b1"}, {"h2"});
  b.node("Relu", "fc1_relu", {"h2"}, {"h3"});
  Node &g2 = b.node("Gemm", "fc2", {"h3", "w2", "b2"}, {"h4"});
  g2.attrs["transB"] = attr_int(1);
  b.node("Relu", "fc2_relu", {"h4"}, {"y"});
  b.output("y");
  ASSERT_TRUE(fuse_matmul_epilogues(&b.g).is_ok());
  ASSERT_EQ(op_types(b.g), (std::vector<std::string>{"FusedGemm", "FusedGemm"}));
  EXPECT_EQ(b.g.nodes[0].name, "fc1");
  EXPECT_EQ(b.g.nodes[1].name, "fc2");
  EXPECT_EQ(b.g.nodes[1].inputs[0], b.value("h3"));
}

}  // namespace
}  // namespace si
