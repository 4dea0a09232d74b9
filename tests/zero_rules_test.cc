// The registry's zero rules as mark_sparsity applies them: for each rule, the
// consumers that get a sparse input and the producers that attach active
// sets; the producers' conditions against what their kernels compute; the
// reasons a layer is left off the sparse path; and a hand-kept statement of
// every op's rule the registry must match.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/ops/const_matmul.h"
#include "engine/ops/registry.h"
#include "engine/passes/passes.h"
#include "engine/passes/sparsity_rules.h"
#include "tests/graph_builder.h"
#include "tests/ops_test_util.h"

namespace si {
namespace {

using test::GraphBuilder;
using test::make_f32;
using test::make_i64;

constexpr int64_t kK = 16, kN = 8;

const Node &node_named(const Graph &g, const std::string &name) {
  for (const Node &n : g.nodes)
    if (n.name == name) return n;
  ADD_FAILURE() << "no node " << name;
  static const Node kMissing;
  return kMissing;
}

bool marked(const Graph &g, const std::string &name) {
  return node_named(g, name).attr_int(kSparseInputAttr, 0) != 0;
}

bool emits(const Graph &g, const std::string &name) {
  return node_named(g, name).attr_int(kEmitActiveSetAttr, 0) != 0;
}

// Graph inputs x, z ([2, kK]); `head` computes value "a" from them; then
// MatMul "mm" = a x W (constant [kK, kN]), marked by mark_sparsity.
Graph chain(const std::function<void(GraphBuilder &)> &head) {
  GraphBuilder b(test::test_seed());
  b.input("x", {2, kK});
  b.input("z", {2, kK});
  head(b);
  b.constant("w", {kK, kN});
  b.node("MatMul", "mm", {"a", "w"}, {"y"});
  b.output("y");
  mark_sparsity(&b.g);
  return b.g;
}

// ------------------------------------------------------------ producers

struct ProducerCase {
  const char *name;
  bool producer;
  std::function<void(GraphBuilder &)> head;  // x -> node "p" -> a
};

std::vector<ProducerCase> producer_cases() {
  auto unary = [](const char *op, int opset, std::map<std::string, Attribute> attrs = {}) {
    return [=](GraphBuilder &b) {
      Node &n = b.node(op, "p", {"x"}, {"a"});
      n.opset = opset;
      n.attrs = attrs;
    };
  };
  // Clip at opset 13: the bounds are inputs; NaN leaves one out.
  auto clip13 = [](float lo, float hi) {
    return [=](GraphBuilder &b) {
      b.scalar("lo", lo);
      b.scalar("hi", hi);
      Node &n = b.node("Clip", "p", {"x", "lo", "hi"}, {"a"});
      if (std::isnan(hi)) n.inputs.pop_back();
      if (std::isnan(lo)) n.inputs[1] = -1;
      if (std::isnan(lo) && std::isnan(hi)) n.inputs.pop_back();
    };
  };
  const float kAbsent = std::nanf("");
  auto max_with = [](float c, bool first) {
    return [=](GraphBuilder &b) {
      b.scalar("c", c);
      b.node("Max", "p",
             first ? std::vector<std::string>{"c", "x"} : std::vector<std::string>{"x", "c"},
             {"a"});
    };
  };
  auto fused_conv = [](const std::string &act, float lo) {
    return [=](GraphBuilder &b) {
      b.constant("cw", {kK, kK, 1, 1});
      b.node("Reshape", "to4d", {"x", "s4"}, {"x4"});
      b.g.constants[b.value("s4")] = make_i64({4}, {2, kK, 1, 1});
      Node &n = b.node("FusedConv", "p", {"x4", "cw"}, {"c4"});
      n.domain = kEngineDomain;
      n.opset = 1;
      n.attrs["activation"] = attr_string(act);
      if (act == "Clip") {
        n.attrs["clip_min"] = attr_float(lo);
        n.attrs["clip_max"] = attr_float(6.f);
      }
      b.node("Flatten", "flat", {"c4"}, {"a"});
    };
  };
  return {
      {"Relu", true, unary("Relu", 14)},
      {"Clip(0, 6)", true, clip13(0.f, 6.f)},
      {"Clip(-0, 6)", true, clip13(-0.f, 6.f)},
      {"Clip(0)", true, clip13(0.f, kAbsent)},
      {"Clip(0.1, 6)", false, clip13(0.1f, 6.f)},
      {"Clip(-1, 1)", false, clip13(-1.f, 1.f)},
      {"Clip(max only)", false, clip13(kAbsent, 6.f)},
      {"Clip()", false, clip13(kAbsent, kAbsent)},
      {"Clip(runtime min)", false,
       [](GraphBuilder &b) {
         b.node("Clip", "p", {"x", "z"}, {"a"});
       }},
      {"Clip-6(min=0)", true, unary("Clip", 6, {{"min", attr_float(0.f)}})},
      {"Clip-6(min=-1)", false, unary("Clip", 6, {{"min", attr_float(-1.f)}})},
      {"Clip-6()", false, unary("Clip", 6)},
      {"Max(x, 0)", true, max_with(0.f, false)},
      {"Max(0, x)", true, max_with(0.f, true)},
      {"Max(x, 1)", false, max_with(1.f, false)},
      {"Max(x, z)", false,
       [](GraphBuilder &b) {
         b.node("Max", "p", {"x", "z"}, {"a"});
       }},
      {"LeakyRelu(alpha=0)", true, unary("LeakyRelu", 13, {{"alpha", attr_float(0.f)}})},
      {"LeakyRelu()", false, unary("LeakyRelu", 13)},
      {"ThresholdedRelu", true, unary("ThresholdedRelu", 10)},
      {"HardSigmoid()", true, unary("HardSigmoid", 13)},
      {"HardSigmoid(alpha=0)", false, unary("HardSigmoid", 13, {{"alpha", attr_float(0.f)}})},
      {"HardSwish", true, unary("HardSwish", 14)},
      {"Sigmoid", false, unary("Sigmoid", 13)},
      {"Elu", false, unary("Elu", 13)},
      {"FusedConv(Relu)", true, fused_conv("Relu", 0.f)},
      {"FusedConv(Clip 0)", true, fused_conv("Clip", 0.f)},
      {"FusedConv(Clip 0.1)", false, fused_conv("Clip", 0.1f)},
      {"FusedConv()", false, fused_conv("", 0.f)},
  };
}

TEST(ZeroRules, ProducersMarkTheirConsumerAndAttachActiveSets) {
  for (const ProducerCase &c : producer_cases()) {
    const Graph g = chain(c.head);
    EXPECT_EQ(produces_zeros(g, node_named(g, "p")), c.producer) << c.name;
    EXPECT_EQ(marked(g, "mm"), c.producer) << c.name;
    // Reached directly or through a Flatten view: the producer attaches the set.
    EXPECT_EQ(emits(g, "p"), c.producer) << c.name;
  }
}

// Each producer condition against the kernel: on inputs away from 0 the op
// writes exact zeros iff the registry calls this node a producer.
TEST(ZeroRules, ProducerConditionsMatchWhatTheKernelsWrite) {
  struct Case {
    const char *op;
    int opset;
    std::map<std::string, Attribute> attrs;
    std::vector<float> second;  // a constant second input, when given
  };
  const std::vector<Case> cases = {
      {"Relu", 14, {}, {}},
      {"ThresholdedRelu", 10, {}, {}},
      {"ThresholdedRelu", 10, {{"alpha", attr_float(-2.f)}}, {}},
      {"LeakyRelu", 13, {{"alpha", attr_float(0.f)}}, {}},
      {"LeakyRelu", 13, {}, {}},
      {"HardSigmoid", 13, {}, {}},
      {"HardSigmoid", 13, {{"alpha", attr_float(-0.5f)}}, {}},
      {"HardSigmoid", 13, {{"alpha", attr_float(0.f)}}, {}},
      {"HardSigmoid", 13, {{"alpha", attr_float(0.f)}, {"beta", attr_float(-1.f)}}, {}},
      {"HardSwish", 14, {}, {}},
      {"Clip", 6, {{"min", attr_float(0.f)}, {"max", attr_float(6.f)}}, {}},
      {"Clip", 6, {{"min", attr_float(0.5f)}}, {}},
      {"Clip", 13, {}, {0.f}},
      {"Clip", 13, {}, {-0.5f}},
      {"Max", 13, {}, {0.f}},
      {"Max", 13, {}, {-1.f}},
      {"Elu", 13, {}, {}},
      {"Gelu", 1, {}, {}},
      {"Softplus", 13, {}, {}},
  };
  std::vector<float> xs;
  // -4 .. 4, no exact 0. Further out float rounding makes zeros of its own
  // (Gelu is -0 below about -5.5): not zeros by construction.
  for (int i = -16; i <= 16; ++i)
    if (i != 0) xs.push_back(0.25f * float(i));
  const Tensor x = make_f32({int64_t(xs.size())}, xs);
  for (const Case &c : cases) {
    const std::string what = std::string(c.op) + " opset " + std::to_string(c.opset) +
                             (c.second.empty() ? "" : " with " + std::to_string(c.second[0]));
    test::OpSpec spec;
    spec.op_type = c.op;
    spec.opset = c.opset;
    spec.attrs = c.attrs;
    if (std::string(c.op) == "Gelu") spec.domain = kEngineDomain;
    spec.inputs = {x};
    spec.constant = {false};
    if (!c.second.empty()) {
      spec.inputs.push_back(make_f32({}, c.second));
      spec.constant.push_back(true);
    }
    std::vector<Tensor> out;
    const Status st = test::run_op(spec, &out);
    ASSERT_TRUE(st.is_ok()) << what << ": " << st.message();
    int zeros = 0;
    for (float v : test::to_vector_f32(out[0])) zeros += v == 0.f;

    GraphBuilder b(1);
    b.input("x", {int64_t(xs.size())});
    std::vector<std::string> in = {"x"};
    if (!c.second.empty()) {
      b.g.constants[b.value("c")] = make_f32({}, c.second);
      in.push_back("c");
    }
    Node &n = b.node(c.op, "p", in, {"y"});
    n.opset = c.opset;
    n.attrs = c.attrs;
    n.domain = spec.domain;
    EXPECT_EQ(produces_zeros(b.g, b.g.nodes[0]), zeros > 0) << what << ": " << zeros << " zeros";
  }
}

// ------------------------------------------------- carrying zeros onward

struct CarryCase {
  const char *name;
  bool marked;
  bool relu_emits;  // the Relu "r" (if any) attaches the active set
  std::function<void(GraphBuilder &)> head;
};

TEST(ZeroRules, ZerosTravelAsTheRulesSay) {
  const std::vector<CarryCase> cases = {
      {"view chain", true, true,
       [](GraphBuilder &b) {
         b.node("Relu", "r", {"x"}, {"r"});
         b.g.constants[b.value("s")] = make_i64({3}, {2, 1, kK});
         b.node("Reshape", "v1", {"r", "s"}, {"v1"});
         b.node("Flatten", "v2", {"v1"}, {"v2"});
         b.g.constants[b.value("ax")] = make_i64({1}, {1});
         b.node("Unsqueeze", "v3", {"v2", "ax"}, {"v3"});
         b.node("Squeeze", "v4", {"v3", "ax"}, {"v4"});
         b.node("Identity", "v5", {"v4"}, {"v5"});
         b.node("Dropout", "v6", {"v5"}, {"a"});
       }},
      {"transpose of relu", true, false,
       [](GraphBuilder &b) {
         b.node("Relu", "r", {"x"}, {"r"});
         b.node("Transpose", "t1", {"r"}, {"t"}).attrs["perm"] = attr_ints({1, 0});
         b.node("Transpose", "t2", {"t"}, {"a"}).attrs["perm"] = attr_ints({1, 0});
       }},
      {"transpose of sigmoid", false, false,
       [](GraphBuilder &b) {
         b.node("Sigmoid", "s", {"x"}, {"s"});
         b.node("Transpose", "t", {"s"}, {"a"}).attrs["perm"] = attr_ints({0, 1});
       }},
      {"slice of relu", true, false,
       [](GraphBuilder &b) {
         b.node("Relu", "r", {"x"}, {"r"});
         b.g.constants[b.value("st")] = make_i64({1}, {0});
         b.g.constants[b.value("en")] = make_i64({1}, {kK});
         b.g.constants[b.value("axes")] = make_i64({1}, {1});
         b.node("Slice", "sl", {"r", "st", "en", "axes"}, {"a"});
       }},
      {"maxpool of relu", true, false,
       [](GraphBuilder &b) {
         b.node("Relu", "r", {"x"}, {"r"});
         b.g.constants[b.value("s")] = make_i64({4}, {2, kK, 1, 1});
         b.node("Reshape", "to4d", {"r", "s"}, {"r4"});
         b.node("MaxPool", "mp", {"r4"}, {"p4"}).attrs["kernel_shape"] = attr_ints({1, 1});
         b.node("Flatten", "f", {"p4"}, {"a"});
       }},
      {"average pool of relu", false, false,
       [](GraphBuilder &b) {
         b.node("Relu", "r", {"x"}, {"r"});
         b.g.constants[b.value("s")] = make_i64({4}, {2, kK, 1, 1});
         b.node("Reshape", "to4d", {"r", "s"}, {"r4"});
         b.node("AveragePool", "ap", {"r4"}, {"p4"}).attrs["kernel_shape"] = attr_ints({1, 1});
         b.node("Flatten", "f", {"p4"}, {"a"});
       }},
      {"concat of sigmoid and relu", true, false,
       [](GraphBuilder &b) {
         b.node("Sigmoid", "s", {"x"}, {"s"});
         b.node("Relu", "r", {"z"}, {"r"});
         b.node("Concat", "c", {"s", "r"}, {"a"}).attrs["axis"] = attr_int(0);
       }},
      {"concat of three, the last a relu", true, false,
       [](GraphBuilder &b) {
         b.node("Sigmoid", "s", {"x"}, {"s"});
         b.node("Tanh", "t", {"z"}, {"t"});
         b.node("Relu", "r", {"z"}, {"r"});
         b.node("Concat", "c", {"s", "t", "r"}, {"a"}).attrs["axis"] = attr_int(0);
       }},
      {"concat of sigmoids", false, false,
       [](GraphBuilder &b) {
         b.node("Sigmoid", "s", {"x"}, {"s"});
         b.node("Sigmoid", "s2", {"z"}, {"s2"});
         b.node("Concat", "c", {"s", "s2"}, {"a"}).attrs["axis"] = attr_int(0);
       }},
      {"mul of sigmoid and relu", true, false,
       [](GraphBuilder &b) {
         b.node("Sigmoid", "s", {"x"}, {"s"});
         b.node("Relu", "r", {"z"}, {"r"});
         b.node("Mul", "m", {"s", "r"}, {"a"});
       }},
      {"mul of sigmoids", false, false,
       [](GraphBuilder &b) {
         b.node("Sigmoid", "s", {"x"}, {"s"});
         b.node("Mul", "m", {"s", "z"}, {"a"});
       }},
      {"add of two relus", true, false,
       [](GraphBuilder &b) {
         b.node("Relu", "r", {"x"}, {"r"});
         b.node("Relu", "r2", {"z"}, {"r2"});
         b.node("Add", "add", {"r", "r2"}, {"a"});
       }},
      {"add of relu and sigmoid", false, false,
       [](GraphBuilder &b) {
         b.node("Relu", "r", {"x"}, {"r"});
         b.node("Sigmoid", "s", {"z"}, {"s"});
         b.node("Add", "add", {"r", "s"}, {"a"});
       }},
      // Only data inputs count: a sparse ratio says nothing about Dropout's data.
      {"dropout of sigmoid with a relu ratio", false, false,
       [](GraphBuilder &b) {
         b.node("Sigmoid", "s", {"x"}, {"s"});
         b.node("Relu", "r", {"z"}, {"ratio"});
         b.node("Dropout", "d", {"s", "ratio"}, {"a"});
       }},
      {"relu then sigmoid", false, false,
       [](GraphBuilder &b) {
         b.node("Relu", "r", {"x"}, {"r"});
         b.node("Sigmoid", "s", {"r"}, {"a"});
       }},
  };
  for (const CarryCase &c : cases) {
    const Graph g = chain(c.head);
    EXPECT_EQ(marked(g, "mm"), c.marked) << c.name;
    if (g.find_value("r") >= 0) {
      EXPECT_EQ(emits(g, "r"), c.relu_emits) << c.name;
    }
  }
}

// The optimize pipeline fuses MatMul -> Add -> Relu into a FusedGemm, which
// is a consumer and, with the Relu, a producer for the next layer.
TEST(ZeroRules, FusedGemmWithReluFeedsTheNextLayer) {
  for (bool relu : {true, false}) {
    GraphBuilder b(test::test_seed());
    b.input("x", {1, kK});
    b.constant("w1", {kK, kK});
    b.constant("b1", {kK});
    b.constant("w2", {kK, kN});
    b.node("MatMul", "mm1", {"x", "w1"}, {"h"});
    b.node("Add", "bias1", {"h", "b1"}, {relu ? "hb" : "a"});
    if (relu) b.node("Relu", "relu1", {"hb"}, {"a"});
    b.node("MatMul", "mm2", {"a", "w2"}, {"y"});
    b.output("y");
    SessionOptions options;
    ASSERT_TRUE(optimize_graph(&b.g, options).is_ok());
    mark_sparsity(&b.g);
    const Node &first = node_named(b.g, "mm1");
    EXPECT_EQ(first.op_type, "FusedGemm") << relu;
    EXPECT_EQ(produces_zeros(b.g, first), relu);
    EXPECT_EQ(emits(b.g, "mm1"), relu);
    EXPECT_EQ(marked(b.g, "mm2"), relu);
    EXPECT_EQ(sparse_ineligibility_reason(b.g, node_named(b.g, "mm2")),
              relu ? "" : "input carries no zeros (no producer upstream)");
  }
}

// ------------------------------------------------ consumer eligibility

TEST(ZeroRules, IneligibleLayersSayWhy) {
  struct Case {
    const char *name;
    std::function<void(GraphBuilder &)> build;  // the layer under test is "L", output y
    std::string reason;
  };
  auto relu = [](GraphBuilder &b) { b.node("Relu", "r", {"x"}, {"r"}); };
  const std::vector<Case> cases = {
      {"matmul after relu",
       [&](GraphBuilder &b) {
         relu(b);
         b.constant("w", {kK, kN});
         b.node("MatMul", "L", {"r", "w"}, {"y"});
       },
       ""},
      {"gemm transB after relu",
       [&](GraphBuilder &b) {
         relu(b);
         b.constant("w", {kN, kK});
         b.node("Gemm", "L", {"r", "w"}, {"y"}).attrs["transB"] = attr_int(1);
       },
       ""},
      {"gemm transA",
       [&](GraphBuilder &b) {
         relu(b);
         b.constant("w", {2, kN});
         b.node("Gemm", "L", {"r", "w"}, {"y"}).attrs["transA"] = attr_int(1);
       },
       "Gemm with transA"},
      {"runtime weight",
       [&](GraphBuilder &b) {
         relu(b);
         b.input("wr", {kK, kN});
         b.node("MatMul", "L", {"r", "wr"}, {"y"});
       },
       "weight is not constant"},
      {"3-D weight",
       [&](GraphBuilder &b) {
         relu(b);
         b.constant("w", {1, kK, kN});
         b.node("MatMul", "L", {"r", "w"}, {"y"});
       },
       "weight is not 2-D"},
      {"int64 weight",
       [&](GraphBuilder &b) {
         relu(b);
         b.g.constants[b.value("w")] = make_i64({kK, 1}, std::vector<int64_t>(kK, 1));
         b.node("MatMul", "L", {"r", "w"}, {"y"});
       },
       "weight is not float32"},
      {"conv",
       [&](GraphBuilder &b) {
         relu(b);
         b.constant("w", {kN, kK, 1, 1});
         b.node("Conv", "L", {"r", "w"}, {"y"});
       },
       "Conv is not a sparse consumer"},
      {"conv transpose",
       [&](GraphBuilder &b) {
         relu(b);
         b.constant("w", {kK, kN, 1, 1});
         b.node("ConvTranspose", "L", {"r", "w"}, {"y"});
       },
       "ConvTranspose is not a sparse consumer"},
      {"fused conv",
       [&](GraphBuilder &b) {
         relu(b);
         b.constant("w", {kN, kK, 1, 1});
         Node &n = b.node("FusedConv", "L", {"r", "w"}, {"y"});
         n.domain = kEngineDomain;
         n.opset = 1;
       },
       "Conv is not a sparse consumer"},
      {"matmul after sigmoid",
       [&](GraphBuilder &b) {
         b.node("Sigmoid", "s", {"x"}, {"s"});
         b.constant("w", {kK, kN});
         b.node("MatMul", "L", {"s", "w"}, {"y"});
       },
       "input carries no zeros (no producer upstream)"},
      {"wide matmul on a graph input through a view",
       [&](GraphBuilder &b) {
         b.node("Identity", "id", {"x"}, {"xi"});
         b.constant("w", {kK, kMinColsForInputScan});
         b.node("MatMul", "L", {"xi", "w"}, {"y"});
       },
       ""},
      {"narrow matmul on a graph input",
       [&](GraphBuilder &b) {
         b.constant("w", {kK, kMinColsForInputScan - 1});
         b.node("MatMul", "L", {"x", "w"}, {"y"});
       },
       "reads a graph input but has under 128 output columns to count its zeros for"},
  };
  for (const Case &c : cases) {
    GraphBuilder b(test::test_seed());
    b.input("x", {2, kK});
    c.build(b);
    b.output("y");
    // The reason states the graph: the same before and after marking.
    EXPECT_EQ(sparse_ineligibility_reason(b.g, node_named(b.g, "L")), c.reason) << c.name;
    mark_sparsity(&b.g);
    EXPECT_EQ(marked(b.g, "L"), c.reason.empty()) << c.name;
    EXPECT_EQ(sparse_ineligibility_reason(b.g, node_named(b.g, "L")), c.reason) << c.name;
  }
}

// ------------------------------------------------ quantize / dequantize

// Relu -> QuantizeLinear -> DequantizeLinear -> MatMul, the activation path of
// a static QDQ model: the MatMul gets a sparse input only when both zero
// points are 0 (absent or constant) and the dequantizing scale is a finite
// constant; any other zero point moves 0 away from 0.
TEST(ZeroRules, QuantizeDequantizeKeepZerosOnlyWithZeroPointZero) {
  struct Case {
    const char *name;
    int q_zero, dq_zero;  // -1: absent, -2: a runtime input
    float dq_scale;
    bool sparse;
  };
  const std::vector<Case> cases = {
      {"zero points 0", 0, 0, 0.5f, true},          {"zero points absent", -1, -1, 0.5f, true},
      {"quantize zero point 3", 3, 3, 0.5f, false}, {"dequantize zero point 1", 0, 1, 0.5f, false},
      {"runtime zero point", -2, 0, 0.5f, false},   {"infinite scale", 0, 0, INFINITY, false},
  };
  for (const Case &c : cases) {
    const Graph g = chain([&](GraphBuilder &b) {
      b.node("Relu", "relu", {"x"}, {"r"});
      auto zero = [&](const std::string &name, int v) -> std::string {
        if (v == -1) return "";
        if (v == -2) {
          b.input(name, {});
          b.g.values[size_t(b.value(name))].dtype = DType::kUint8;
          return name;
        }
        const int id = b.value(name);
        b.g.values[size_t(id)].dtype = DType::kUint8;
        b.g.constants[id] = test::make_tensor<uint8_t>(DType::kUint8, {}, {uint8_t(v)});
        return name;
      };
      b.scalar("qs", 0.5f);
      b.scalar("ds", c.dq_scale);
      const std::string qz = zero("qz", c.q_zero), dz = zero("dz", c.dq_zero);
      Node &q = b.node("QuantizeLinear", "q", {"r", "qs"}, {"rq"});
      if (!qz.empty()) q.inputs.push_back(b.value(qz));
      b.g.values[size_t(b.value("rq"))].dtype = DType::kUint8;
      Node &d = b.node("DequantizeLinear", "dq", {"rq", "ds"}, {"a"});
      if (!dz.empty()) d.inputs.push_back(b.value(dz));
    });
    EXPECT_EQ(marked(g, "mm"), c.sparse) << c.name;
  }
}

// ----------------------------------------------------- the table itself

// Every op's rule, stated here by hand from the ONNX spec; an op not listed
// must be none. A new entry or a changed rule fails until this agrees.
TEST(ZeroRules, EveryRegistryEntryHasTheRuleOfItsOp) {
  struct Expected {
    ZeroKind kind;
    int data_inputs;
    bool conditional;
  };
  const std::map<std::string, Expected> expected = {
      {"Relu", {ZeroKind::kProducer, 0, false}},
      {"ThresholdedRelu", {ZeroKind::kProducer, 0, false}},
      {"HardSwish", {ZeroKind::kProducer, 0, false}},
      {"Clip", {ZeroKind::kProducer, 0, true}},
      {"Max", {ZeroKind::kProducer, 0, true}},
      {"LeakyRelu", {ZeroKind::kProducer, 0, true}},
      {"HardSigmoid", {ZeroKind::kProducer, 0, true}},
      {"FusedConv", {ZeroKind::kProducer, 0, true}},
      {"MatMul", {ZeroKind::kConsumer, 0, false}},
      {"Gemm", {ZeroKind::kConsumer, 0, false}},
      {"FusedGemm", {ZeroKind::kConsumer, 0, true}},
      {"MatMulNBits", {ZeroKind::kConsumer, 0, false}},
      {"QuantMatMul", {ZeroKind::kConsumer, 0, true}},
      {"Identity", {ZeroKind::kView, 1, false}},
      {"Dropout", {ZeroKind::kView, 1, false}},
      {"Reshape", {ZeroKind::kView, 1, false}},
      {"Flatten", {ZeroKind::kView, 1, false}},
      {"Squeeze", {ZeroKind::kView, 1, false}},
      {"Unsqueeze", {ZeroKind::kView, 1, false}},
      {"Add", {ZeroKind::kZerosIfAllInputsZero, 2, false}},
      {"Transpose", {ZeroKind::kZerosIfAllInputsZero, 1, false}},
      {"Slice", {ZeroKind::kZerosIfAllInputsZero, 1, false}},
      {"MaxPool", {ZeroKind::kZerosIfAllInputsZero, 1, false}},
      {"Trilu", {ZeroKind::kZerosIfAllInputsZero, 1, false}},
      {"DepthToSpace", {ZeroKind::kZerosIfAllInputsZero, 1, false}},
      {"SpaceToDepth", {ZeroKind::kZerosIfAllInputsZero, 1, false}},
      {"Mul", {ZeroKind::kZerosIfAnyInputZero, 2, false}},
      {"Concat", {ZeroKind::kZerosIfAnyInputZero, kAllInputs, false}},
      // Sequence ops carry no zeros: no active set is kept for a sequence's
      // elements, and what SequenceAt or ConcatFromSequence return is dense
      // as far as the pass knows. Listed so that the registry must have them.
      {"SequenceEmpty", {ZeroKind::kNone, 0, false}},
      {"SequenceConstruct", {ZeroKind::kNone, 0, false}},
      {"SequenceInsert", {ZeroKind::kNone, 0, false}},
      {"SequenceErase", {ZeroKind::kNone, 0, false}},
      {"SequenceAt", {ZeroKind::kNone, 0, false}},
      {"SequenceLength", {ZeroKind::kNone, 0, false}},
      {"ConcatFromSequence", {ZeroKind::kNone, 0, false}},
      {"SplitToSequence", {ZeroKind::kNone, 0, false}},
      // round(0 / s) + 0 = 0 and (0 - 0) * s = 0 only with a zero point of 0
      // (and, dequantizing, a finite scale). Not views: both change dtype.
      {"QuantizeLinear", {ZeroKind::kZerosIfAllInputsZero, 1, true}},
      {"DequantizeLinear", {ZeroKind::kZerosIfAllInputsZero, 1, true}},
  };
  size_t listed = 0;
  for (const OpRegistration &r : op_table()) {
    const ZeroRule &z = r.zeros;
    const std::string op = r.op_type;
    // A condition is stated in words exactly when there is one.
    EXPECT_EQ(z.produces != nullptr, z.condition != nullptr) << op;
    const auto it = expected.find(op);
    if (it == expected.end()) {
      EXPECT_EQ(z.kind, ZeroKind::kNone) << op << " is " << zero_kind_name(z.kind);
      EXPECT_EQ(z.produces, nullptr) << op;
      continue;
    }
    ++listed;
    EXPECT_EQ(z.kind, it->second.kind) << op << " is " << zero_kind_name(z.kind);
    EXPECT_EQ(z.data_inputs, it->second.data_inputs) << op;
    EXPECT_EQ(z.produces != nullptr, it->second.conditional) << op;
  }
  EXPECT_EQ(listed, expected.size()) << "an op listed here has no registry entry";
  // Only matmuls have sparse kernels (float, and int8/int4 weights).
  for (const OpRegistration &r : op_table()) {
    if (r.zeros.kind != ZeroKind::kConsumer) continue;
    const std::string op = r.op_type;
    EXPECT_TRUE(op == "MatMul" || op == "Gemm" || op == "FusedGemm" || op == "MatMulNBits" ||
                op == "QuantMatMul")
        << op;
  }
}

}  // namespace
}  // namespace si
