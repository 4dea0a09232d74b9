// Quantized-weight matmuls through whole sessions (issue 13): QDQ int8/uint8
// weights before MatMul/Gemm (fuse_qdq_matmul -> QuantMatMul) and
// com.microsoft MatMulNBits, each against a float64 product computed here from
// the dequantized weights, in auto, dense and sparse modes, with a Relu in
// front so the sparse path runs (asserted through the profile path); weight
// memory against the model's quantized bytes; refusals of bad inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/session.h"
#include "tests/graph_builder.h"
#include "tests/op_runner.h"

namespace si {
namespace {

uint32_t test_seed() {
  const int flag = GTEST_FLAG_GET(random_seed);
  return flag != 0 ? uint32_t(flag) : 20261203u;
}

template <typename T>
Tensor make(DType dtype, const Shape &shape, const std::vector<T> &v) {
  Tensor t;
  EXPECT_TRUE(Tensor::allocate(dtype, shape, &t).is_ok());
  if (!v.empty()) std::memcpy(t.raw(), v.data(), v.size() * sizeof(T));
  return t;
}

// A graph x -> Relu -> (the layer under test) -> y, with the weight [K, N]
// dequantized here (w[k * n + c]) and an optional bias for the reference.
struct Case {
  test::GraphBuilder b{test_seed()};
  int64_t k = 0, n = 0;
  std::vector<double> w, bias;
  double alpha = 1.0;
  size_t quantized_bytes = 0;  // codes, scales, zero points and bias of the model

  int constant(const std::string &name, Tensor t) {
    const int id = b.value(name);
    b.g.values[size_t(id)].dtype = t.dtype();
    quantized_bytes += t.size_bytes();
    b.g.constants[id] = std::move(t);
    return id;
  }
  void frame(const std::string &op_out) {
    b.input("x", {-1, k});
    b.node("Relu", "relu", {"x"}, {"h"});
    b.output(op_out);
  }
};

std::vector<double> reference(const Case &c, const std::vector<float> &x, int64_t m) {
  std::vector<double> y(size_t(m * c.n), 0.0);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t j = 0; j < c.n; ++j) {
      double acc = 0;
      for (int64_t i = 0; i < c.k; ++i) {
        const double h = std::max(0.0, double(x[size_t(r * c.k + i)]));
        acc += h * c.w[size_t(i * c.n + j)];
      }
      y[size_t(r * c.n + j)] = c.alpha * acc + (c.bias.empty() ? 0.0 : c.bias[size_t(j)]);
    }
  return y;
}

// Runs every mode at batch 1 and 3 and checks values and the path taken.
void expect_matches(const Case &c, const char *kind) {
  std::mt19937 rng(test_seed() + 7);
  for (ExecMode mode : {ExecMode::kAuto, ExecMode::kDense, ExecMode::kSparse}) {
    SessionOptions options;
    options.threads = 1;
    options.mode = mode;
    std::unique_ptr<Session> s;
    Status st = Session::create(c.b.g, options, &s);
    ASSERT_TRUE(st.is_ok()) << st.message();
    EXPECT_EQ(s->op_histogram().count("DequantizeLinear"), 0u) << "the weight was dequantized";
    for (int64_t m : {1, 3}) {
      Tensor x = test::random_tensor(rng, {m, c.k});
      std::vector<Tensor> out;
      RunProfile profile;
      st = s->run({x}, &out, &profile);
      ASSERT_TRUE(st.is_ok()) << st.message();
      const std::vector<float> xs = test::to_vector_f32(x), ys = test::to_vector_f32(out[0]);
      const std::vector<double> ref = reference(c, xs, m);
      ASSERT_EQ(ys.size(), ref.size());
      for (size_t i = 0; i < ref.size(); ++i)
        ASSERT_LE(std::fabs(double(ys[i]) - ref[i]), 1e-4 + 1e-4 * std::fabs(ref[i]))
            << "mode " << int(mode) << " m " << m << " at " << i
            << " (--gtest_random_seed=" << test_seed() << ")";
      const char *path = profile.steps.back().matmul.path;
      const std::string sparse = std::string("sparse:") + kind,
                        dense = std::string("dense:") + kind;
      if (mode == ExecMode::kSparse || (mode == ExecMode::kAuto && m == 1)) {
        EXPECT_EQ(path, sparse);
      }
      if (mode == ExecMode::kDense) {
        EXPECT_EQ(path, dense);
      }
    }
  }
}

// A graph whose layer is followed by [Add(bias)] -> Relu: one QuantMatMul
// absorbs both (only the Relu in front stays), and gives relu(reference).
void expect_epilogue_fused(const Case &c, int64_t m) {
  SessionOptions options;
  options.threads = 1;
  std::unique_ptr<Session> s;
  Status st = Session::create(c.b.g, options, &s);
  ASSERT_TRUE(st.is_ok()) << st.message();
  EXPECT_EQ(s->op_histogram().count("QuantMatMul"), 1u);
  EXPECT_EQ(s->op_histogram().count("Add"), 0u);
  EXPECT_EQ(s->op_histogram().count("Relu"), 1u);  // only the one in front
  std::mt19937 rng(test_seed());
  Tensor x = test::random_tensor(rng, {m, c.k});
  std::vector<Tensor> out;
  ASSERT_TRUE(s->run({x}, &out).is_ok());
  const std::vector<double> ref = reference(c, test::to_vector_f32(x), m);
  const std::vector<float> ys = test::to_vector_f32(out[0]);
  for (size_t i = 0; i < ref.size(); ++i)
    ASSERT_NEAR(ys[i], std::max(0.0, ref[i]), 1e-4 + 1e-4 * std::fabs(ref[i])) << i;
}

// ------------------------------------------------------------ QDQ int8/uint8

struct QdqSpec {
  bool is_unsigned = false;
  int axis = -1;  // -1 per tensor, else the DequantizeLinear axis of the stored codes
  bool zero_point = false;
  const char *op = "MatMul";
  bool trans_b = false;
  bool bias = false;
  float alpha = 1.f, beta = 1.f;
};

Case qdq_case(const QdqSpec &q, int64_t k, int64_t n) {
  Case c;
  c.k = k;
  c.n = n;
  const int64_t rows = q.trans_b ? n : k, cols = q.trans_b ? k : n;  // stored shape
  std::uniform_int_distribution<int> code(q.is_unsigned ? 0 : -128, q.is_unsigned ? 255 : 127);
  std::uniform_real_distribution<float> sdist(0.001f, 0.02f);
  std::vector<int> codes(size_t(rows * cols));
  for (int &v : codes) v = code(c.b.rng);
  const int64_t groups = q.axis < 0 ? 1 : q.axis == 0 ? rows : cols;
  std::vector<float> scale(static_cast<size_t>(groups));
  std::vector<int> zp(size_t(groups), 0);
  for (float &s : scale) s = sdist(c.b.rng);
  if (q.zero_point)
    for (int &z : zp) z = code(c.b.rng) / 2 + (q.is_unsigned ? 64 : 0);
  c.w.assign(size_t(k * n), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t cc = 0; cc < cols; ++cc) {
      const int64_t g = q.axis < 0 ? 0 : q.axis == 0 ? r : cc;
      const float deq =
          (float(codes[size_t(r * cols + cc)]) - float(zp[size_t(g)])) * scale[size_t(g)];
      const int64_t kk = q.trans_b ? cc : r, nn = q.trans_b ? r : cc;
      c.w[size_t(kk * n + nn)] = deq;
    }
  const Shape sshape = q.axis < 0 ? Shape{} : Shape{groups};
  if (q.is_unsigned) {
    std::vector<uint8_t> u(codes.begin(), codes.end()), z(zp.begin(), zp.end());
    c.constant("wq", make(DType::kUint8, {rows, cols}, u));
    if (q.zero_point) c.constant("wzp", make(DType::kUint8, sshape, z));
  } else {
    std::vector<int8_t> s8(codes.begin(), codes.end()), z(zp.begin(), zp.end());
    c.constant("wq", make(DType::kInt8, {rows, cols}, s8));
    if (q.zero_point) c.constant("wzp", make(DType::kInt8, sshape, z));
  }
  c.constant("ws", make(DType::kFloat32, sshape, scale));
  std::vector<std::string> dq_in = {"wq", "ws"};
  if (q.zero_point) dq_in.push_back("wzp");
  Node &dq = c.b.node("DequantizeLinear", "dq", dq_in, {"w"});
  if (q.axis >= 0) dq.attrs["axis"] = attr_int(q.axis);
  std::vector<std::string> mm_in = {"h", "w"};
  if (q.bias) {
    std::vector<float> bias(static_cast<size_t>(n));
    for (float &v : bias) v = sdist(c.b.rng) * 50.f - 0.5f;
    c.constant("bias", make(DType::kFloat32, {n}, bias));
    for (float v : bias) c.bias.push_back(double(q.beta) * double(v));
    mm_in.push_back("bias");
  }
  Node &mm = c.b.node(q.op, "fc", mm_in, {"y"});
  if (std::string(q.op) == "Gemm") {
    mm.attrs["transB"] = attr_int(q.trans_b ? 1 : 0);
    mm.attrs["alpha"] = attr_float(q.alpha);
    mm.attrs["beta"] = attr_float(q.beta);
    c.alpha = q.alpha;
  }
  c.frame("y");
  return c;
}

TEST(QuantMatmulOp, QdqInt8PerTensor) {
  expect_matches(qdq_case({}, 37, 29), "qs8w");
}

TEST(QuantMatmulOp, QdqInt8PerColumnWithZeroPoint) {
  QdqSpec q;
  q.axis = 1;
  q.zero_point = true;
  expect_matches(qdq_case(q, 41, 70), "qs8w");
}

TEST(QuantMatmulOp, QdqUint8PerRowWithZeroPoint) {
  QdqSpec q;
  q.is_unsigned = true;
  q.axis = 0;
  q.zero_point = true;
  expect_matches(qdq_case(q, 33, 17), "qs8w");
}

TEST(QuantMatmulOp, QdqUint8WithoutZeroPoint) {
  QdqSpec q;
  q.is_unsigned = true;
  expect_matches(qdq_case(q, 19, 23), "qs8w");
}

TEST(QuantMatmulOp, QdqGemmTransBPerOutputWithBias) {
  QdqSpec q;
  q.op = "Gemm";
  q.trans_b = true;
  q.axis = 0;  // rows of the stored [N, K]: one scale per output
  q.zero_point = true;
  q.bias = true;
  q.alpha = 0.5f;
  q.beta = 2.f;
  expect_matches(qdq_case(q, 45, 31), "qs8w");
}

TEST(QuantMatmulOp, QdqGemmNoTransPerColumnWithBias) {
  QdqSpec q;
  q.op = "Gemm";
  q.axis = 1;
  q.bias = true;
  expect_matches(qdq_case(q, 30, 66), "qs8w");
}

TEST(QuantMatmulOp, QdqMatMulAbsorbsBiasAddAndRelu) {
  Case c = qdq_case({}, 24, 20);
  // Rewire: fc -> y becomes fc -> mm, then Add(bias) -> Relu -> y.
  std::vector<float> bias(20);
  for (size_t i = 0; i < bias.size(); ++i) bias[i] = 0.05f * float(i) - 0.5f;
  c.constant("bias", make(DType::kFloat32, {20}, bias));
  c.b.g.nodes[1].outputs = {c.b.value("mm")};  // dq, fc, relu
  c.b.node("Add", "fc_add", {"bias", "mm"}, {"pre"});
  c.b.node("Relu", "fc_relu", {"pre"}, {"y"});
  c.bias.assign(bias.begin(), bias.end());
  expect_epilogue_fused(c, 2);
}

// ------------------------------------------------------------ MatMulNBits

struct NBitsSpec {
  int bits = 4;
  int64_t block = 32;
  bool zero_points = false;
  bool bias = false;
  bool relu_after = false;
};

Case nbits_case(const NBitsSpec &q, int64_t k, int64_t n) {
  Case c;
  c.k = k;
  c.n = n;
  const int64_t kb = (k + q.block - 1) / q.block, blob = q.block * q.bits / 8;
  const int64_t zp_bytes = (kb * q.bits + 7) / 8;
  const int top = (1 << q.bits) - 1;
  std::uniform_int_distribution<int> code(0, top);
  std::uniform_real_distribution<float> sdist(0.001f, 0.05f);
  std::vector<uint8_t> b(size_t(n * kb * blob), 0), zp(size_t(n * zp_bytes), 0);
  std::vector<float> scales(size_t(n * kb));
  c.w.assign(size_t(k * n), 0.0);
  for (int64_t col = 0; col < n; ++col)
    for (int64_t blk = 0; blk < kb; ++blk) {
      const float s = sdist(c.b.rng);
      scales[size_t(col * kb + blk)] = s;
      int z = 1 << (q.bits - 1);
      if (q.zero_points) {
        z = code(c.b.rng);
        uint8_t &byte = zp[size_t(col * zp_bytes + blk * q.bits / 8)];
        byte |= q.bits == 8 ? uint8_t(z) : uint8_t(z << (4 * (blk % 2)));
      }
      for (int64_t j = 0; j < q.block; ++j) {
        const int64_t kk = blk * q.block + j;
        const int v = kk < k ? code(c.b.rng) : 0;
        uint8_t &byte = b[size_t((col * kb + blk) * blob + j * q.bits / 8)];
        byte |= q.bits == 8 ? uint8_t(v) : uint8_t(v << (4 * (j % 2)));
        if (kk < k) c.w[size_t(kk * n + col)] = (float(v) - float(z)) * s;
      }
    }
  c.constant("B", make(DType::kUint8, {n, kb, blob}, b));
  c.constant("scales", make(DType::kFloat32, {n * kb}, scales));
  std::vector<std::string> in = {"h", "B", "scales"};
  if (q.zero_points) {
    c.constant("zp", make(DType::kUint8, {n * zp_bytes}, zp));
    in.push_back("zp");
  }
  if (q.bias) {
    std::vector<float> bias(static_cast<size_t>(n));
    for (float &v : bias) v = sdist(c.b.rng) * 10.f - 0.25f;
    c.constant("bias", make(DType::kFloat32, {n}, bias));
    c.bias.assign(bias.begin(), bias.end());
    if (!q.zero_points) in.push_back("");
    in.push_back("");  // g_idx
    in.push_back("bias");
  }
  Node &node = c.b.node("MatMulNBits", "fc", in, {q.relu_after ? "mm" : "y"});
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i].empty()) node.inputs[i] = -1;
  node.domain = "com.microsoft";
  node.opset = 1;
  node.attrs["K"] = attr_int(k);
  node.attrs["N"] = attr_int(n);
  node.attrs["bits"] = attr_int(q.bits);
  node.attrs["block_size"] = attr_int(q.block);
  node.attrs["accuracy_level"] = attr_int(4);
  if (q.relu_after) c.b.node("Relu", "fc_relu", {"mm"}, {"y"});
  c.frame("y");
  return c;
}

TEST(QuantMatmulOp, MatMulNBitsBlocksAndTails) {
  for (int bits : {4, 8})
    for (int64_t block : {16, 32, 128, 256})
      for (int variant = 0; variant < 4; ++variant) {
        NBitsSpec q;
        q.bits = bits;
        q.block = block;
        q.zero_points = (variant & 1) != 0;
        q.bias = (variant & 2) != 0;
        SCOPED_TRACE("bits " + std::to_string(bits) + " block " + std::to_string(block) +
                     " zero_points " + std::to_string(q.zero_points) + " bias " +
                     std::to_string(q.bias));
        // K not a multiple of the block: the last block is partial.
        expect_matches(nbits_case(q, 2 * block + 7, 37 + variant), bits == 4 ? "qu4w" : "qs8w");
      }
}

void expect_nbits_epilogue_fused(bool bias_input) {
  NBitsSpec q;
  q.relu_after = true;
  q.bias = bias_input;
  Case c = nbits_case(q, 70, 40);
  if (!bias_input) {
    // MatMulNBits -> Add(bias) -> Relu: the Add becomes the bias input.
    std::vector<float> bias(40);
    for (size_t i = 0; i < bias.size(); ++i) bias[i] = 0.02f * float(i) - 0.3f;
    c.constant("bias2", make(DType::kFloat32, {40}, bias));
    c.b.g.nodes[0].outputs = {c.b.value("mm0")};
    c.b.node("Add", "fc_add", {"mm0", "bias2"}, {"mm"});
    c.bias.assign(bias.begin(), bias.end());
  }
  expect_epilogue_fused(c, 1);
}

TEST(QuantMatmulOp, MatMulNBitsWithReluAfterFuses) {
  expect_nbits_epilogue_fused(true);
}

TEST(QuantMatmulOp, MatMulNBitsWithAddAndReluAfterFuses) {
  expect_nbits_epilogue_fused(false);
}

// Weight memory in the default mode stays within 1.3x of the model's
// quantized bytes: the initializers are freed once packed.
TEST(QuantMatmulOp, WeightMemoryNearQuantizedBytes) {
  QdqSpec q8;
  q8.axis = 1;
  NBitsSpec q4;
  q4.zero_points = true;
  for (int which = 0; which < 2; ++which) {
    const Case c = which == 0 ? qdq_case(q8, 512, 512) : nbits_case(q4, 512, 512);
    SessionOptions options;
    std::unique_ptr<Session> s;
    Status st = Session::create(c.b.g, options, &s);
    ASSERT_TRUE(st.is_ok()) << st.message();
    EXPECT_LE(double(s->weight_bytes()), 1.3 * double(c.quantized_bytes)) << which;
    EXPECT_GE(double(s->weight_bytes()), 0.9 * double(c.quantized_bytes)) << which;
  }
}

// ------------------------------------------------------------ bad input

std::string load_error(const Graph &g) {
  SessionOptions options;
  std::unique_ptr<Session> s;
  Status st = Session::create(g, options, &s);
  return st.is_ok() ? "" : st.message();
}

TEST(QuantMatmulOp, MatMulNBitsRefusals) {
  {
    Case c = nbits_case({}, 64, 8);
    c.b.g.nodes[0].attrs["bits"] = attr_int(3);
    EXPECT_NE(load_error(c.b.g).find("bits 3 is not supported"), std::string::npos)
        << load_error(c.b.g);
  }
  {
    Case c = nbits_case({}, 64, 8);
    c.b.g.nodes[0].attrs["block_size"] = attr_int(8);
    EXPECT_NE(load_error(c.b.g).find("block_size 8"), std::string::npos) << load_error(c.b.g);
  }
  {
    Case c = nbits_case({}, 64, 8);
    c.b.g.nodes[0].attrs["K"] = attr_int(100);  // B now has too few blocks
    const std::string e = load_error(c.b.g);
    EXPECT_NE(e.find("B [8,2,16] has 256 values"), std::string::npos) << e;
    EXPECT_NE(e.find("fc"), std::string::npos) << e;
  }
  {
    Case c = nbits_case({}, 64, 8);
    c.constant("g_idx", make(DType::kInt32, {64}, std::vector<int32_t>(64, 0)));
    Node &node = c.b.g.nodes[0];
    node.inputs.resize(5, -1);
    node.inputs[4] = c.b.value("g_idx");
    EXPECT_NE(load_error(c.b.g).find("g_idx"), std::string::npos) << load_error(c.b.g);
  }
  {
    Case c = nbits_case({}, 64, 8);
    c.constant("fzp", make(DType::kFloat32, {16}, std::vector<float>(16, 8.f)));
    Node &node = c.b.g.nodes[0];
    node.inputs.resize(4, -1);
    node.inputs[3] = c.b.value("fzp");
    EXPECT_NE(load_error(c.b.g).find("zero_points of dtype float32 are not supported"),
              std::string::npos)
        << load_error(c.b.g);
  }
}

}  // namespace
}  // namespace si
