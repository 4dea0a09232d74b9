// MatMul, Gemm and FusedGemm: the reference kernel against a double-precision
// loop, the packed oneDNN kernel against the reference, and every op path
// through a real Session against an independent numpy-style oracle.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/graph.h"
#include "engine/ops/const_matmul.h"
#include "engine/session.h"
#include "kernels/cpu_features.h"
#include "kernels/dense/dnnl_matmul.h"
#include "kernels/ref/matmul_ref.h"
#include "tests/op_runner.h"

namespace si {
namespace {

using test::make_f32;
using test::OpSpec;
using test::run_op;
using test::to_vector_f32;

// Seeded from --gtest_random_seed so a failure replays.
uint32_t test_seed() {
  const int flag = GTEST_FLAG_GET(random_seed);
  return flag != 0 ? uint32_t(flag) : 20240611u;
}

#define SI_SEED_TRACE() \
  SCOPED_TRACE("replay with --gtest_random_seed=" + std::to_string(test_seed()))

std::vector<float> random_values(std::mt19937 &rng, int64_t n) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(size_t(std::max<int64_t>(n, 0)));
  for (float &x : v) x = dist(rng);
  return v;
}

Tensor random_tensor(std::mt19937 &rng, const Shape &shape) {
  return make_f32(shape, random_values(rng, numel(shape)));
}

// Expected values with, per element, the sum of |terms| so the tolerance
// scales with what float accumulation can lose.
struct Expected {
  std::vector<double> value;
  std::vector<double> magnitude;
};

void expect_close(const std::vector<float> &got, const Expected &want, const std::string &what) {
  ASSERT_EQ(got.size(), want.value.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = 2e-5 * want.magnitude[i] + 1e-6;
    ASSERT_NEAR(got[i], want.value[i], tol) << what << " at element " << i;
  }
}

// numpy.matmul written directly from its definition: promote 1-D operands,
// broadcast batch dims, drop the promoted dims.
Expected numpy_matmul(const std::vector<float> &a, Shape as, const std::vector<float> &b, Shape bs,
                      Shape *out_shape) {
  const bool a1 = as.size() == 1, b1 = bs.size() == 1;
  if (a1) as.insert(as.begin(), 1);
  if (b1) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  const size_t rank = std::max(as.size(), bs.size());
  while (as.size() < rank) as.insert(as.begin(), 1);
  while (bs.size() < rank) bs.insert(bs.begin(), 1);
  Shape batch(rank - 2);
  for (size_t i = 0; i + 2 < rank; ++i) batch[i] = as[i] == 1 ? bs[i] : as[i];
  Expected e;
  const int64_t nb = numel(batch);
  for (int64_t t = 0; t < nb; ++t) {
    // Unravel t, then re-ravel into each operand with broadcast dims pinned at 0.
    int64_t rem = t, oa = 0, ob = 0, sa = m * k, sb = k * n;
    for (size_t i = batch.size(); i-- > 0;) {
      const int64_t idx = rem % batch[i];
      rem /= batch[i];
      oa += (as[i] == 1 ? 0 : idx) * sa;
      ob += (bs[i] == 1 ? 0 : idx) * sb;
      sa *= as[i];
      sb *= bs[i];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0, mag = 0;
        for (int64_t p = 0; p < k; ++p) {
          const double term = double(a[size_t(oa + i * k + p)]) * b[size_t(ob + p * n + j)];
          s += term;
          mag += std::fabs(term);
        }
        e.value.push_back(s);
        e.magnitude.push_back(mag);
      }
  }
  *out_shape = batch;
  if (!a1) out_shape->push_back(m);
  if (!b1) out_shape->push_back(n);
  return e;
}

// ONNX Gemm from its definition; c_shape broadcasts unidirectionally to [M,N].
Expected naive_gemm(const std::vector<float> &a, const std::vector<float> &b,
                    const std::vector<float> *c, const Shape &c_shape, int64_t m, int64_t n,
                    int64_t k, bool ta, bool tb, float alpha, float beta, bool relu = false) {
  Expected e;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0, mag = 0;
      for (int64_t p = 0; p < k; ++p) {
        const double term =
            double(a[size_t(ta ? p * m + i : i * k + p)]) * b[size_t(tb ? j * k + p : p * n + j)];
        s += term;
        mag += std::fabs(term);
      }
      s *= alpha;
      mag *= std::fabs(alpha);
      if (c != nullptr) {
        int64_t ci = 0;
        if (c_shape.size() == 2) ci = (c_shape[0] == 1 ? 0 : i) * c_shape[1];
        if (!c_shape.empty()) ci += c_shape.back() == 1 ? 0 : j;
        s += double(beta) * (*c)[size_t(ci)];
        mag += std::fabs(double(beta) * (*c)[size_t(ci)]);
      }
      if (relu) s = std::max(s, 0.0);
      e.value.push_back(s);
      e.magnitude.push_back(mag);
    }
  return e;
}

const int64_t kRows[] = {1, 2, 7, 33};
const int64_t kDims[] = {1, 15, 17, 64, 100};

// ---------------------------------------------------------------- kernels

TEST(RefMatmul, MatchesDoubleLoopWithTransposes) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  for (int64_t m : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{33}})
    for (int64_t k : {int64_t{0}, int64_t{1}, int64_t{17}, int64_t{100}})
      for (int64_t n : {int64_t{1}, int64_t{15}, int64_t{64}})
        for (int t = 0; t < 4; ++t) {
          const bool ta = t & 1, tb = t & 2;
          const auto a = random_values(rng, m * k), b = random_values(rng, k * n);
          std::vector<float> c(size_t(m * n), 99.f);
          ref::f32_matmul(m, n, k, a.data(), ta ? 1 : k, ta ? m : 1, b.data(), tb ? 1 : n,
                          tb ? k : 1, c.data());
          expect_close(c, naive_gemm(a, b, nullptr, {}, m, n, k, ta, tb, 1.f, 0.f),
                       "m=" + std::to_string(m) + " k=" + std::to_string(k) +
                           " n=" + std::to_string(n) + " t=" + std::to_string(t));
        }
}

TEST(RefMatmul, BatchedOffsetsShareBroadcastMatrices) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  const int64_t m = 3, k = 17, n = 5;
  const auto a = random_values(rng, 2 * m * k), b = random_values(rng, k * n);
  const std::vector<int64_t> off_a = {0, m * k, 0}, off_b = {0, 0, 0};
  std::vector<float> c(size_t(3 * m * n));
  ref::f32_batched_matmul(3, m, n, k, a.data(), off_a.data(), b.data(), off_b.data(), c.data());
  for (int i = 0; i < 3; ++i) {
    const std::vector<float> ai(a.begin() + off_a[size_t(i)], a.begin() + off_a[size_t(i)] + m * k);
    const std::vector<float> ci(c.begin() + i * m * n, c.begin() + (i + 1) * m * n);
    expect_close(ci, naive_gemm(ai, b, nullptr, {}, m, n, k, false, false, 1.f, 0.f),
                 "batch " + std::to_string(i));
  }
}

TEST(RefMatmul, EpilogueBroadcastsBias) {
  std::vector<float> y = {1, 2, 3, 4, 5, 6};  // [2,3]
  const std::vector<float> col = {10, 20};    // [2,1]
  ref::f32_gemm_epilogue(2, 3, 2.f, 0.5f, col.data(), 1, 0, y.data());
  EXPECT_EQ(y, (std::vector<float>{7, 9, 11, 18, 20, 22}));
}

struct PackCase {
  bool trans_b, bias, relu;
  float alpha;
};

void check_packed(std::mt19937 &rng, int64_t k, int64_t n, const PackCase &pc) {
  const auto w = random_values(rng, k * n), bias = random_values(rng, n);
  DnnlMatmulParams p;
  p.k = k;
  p.n = n;
  p.trans_b = pc.trans_b;
  p.alpha = pc.alpha;
  p.bias = pc.bias ? bias.data() : nullptr;
  p.relu = pc.relu;
  std::string error;
  auto mm = DnnlPackedMatmul::create(p, w.data(), &error);
  ASSERT_NE(mm, nullptr) << error;
  // The same object serves every M, including a return to an earlier one.
  for (int64_t m : {int64_t{1}, int64_t{2}, int64_t{7}, int64_t{33}, int64_t{0}, int64_t{1}}) {
    const auto a = random_values(rng, m * k);
    std::vector<float> c(size_t(m * n), 99.f);
    ASSERT_TRUE(mm->run(a.data(), m, c.data(), &error)) << error;
    const Shape c_shape = {n};
    expect_close(c,
                 naive_gemm(a, w, pc.bias ? &bias : nullptr, c_shape, m, n, k, false, pc.trans_b,
                            pc.alpha, 1.f, pc.relu),
                 "k=" + std::to_string(k) + " n=" + std::to_string(n) + " m=" + std::to_string(m) +
                     " transB=" + std::to_string(pc.trans_b) + " bias=" + std::to_string(pc.bias) +
                     " relu=" + std::to_string(pc.relu));
  }
}

TEST(DnnlPackedMatmul, MatchesReferenceOverShapes) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  int i = 0;
  for (int64_t k : kDims)
    for (int64_t n : kDims) {
      // Rotate the epilogue variants through the shape sweep.
      const PackCase pc{bool(i & 1), bool(i & 2), bool(i & 4), (i % 3) == 0 ? 1.f : -0.75f};
      ++i;
      check_packed(rng, k, n, pc);
    }
}

// The inner_product primitive, on its own layout (format any) and borrowing
// plain rows with padded stride, and the matmul without the 4-row padding:
// every M against the reference.
TEST(DnnlPackedMatmul, InnerProductAndUnpaddedMatmulMatchReference) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  for (int64_t k : {1, 17, 64})
    for (int64_t n : {1, 15, 100}) {
      const auto w = random_values(rng, k * n), bias = random_values(rng, n);
      const int64_t ldw = n + 5;
      std::vector<float> strided(size_t(k * ldw), 0.f);
      for (int64_t r = 0; r < k; ++r)
        std::copy(w.begin() + r * n, w.begin() + (r + 1) * n, strided.begin() + r * ldw);
      for (int variant = 0; variant < 3; ++variant) {
        DnnlMatmulParams p;
        p.k = k;
        p.n = n;
        p.bias = bias.data();
        p.inner_product = variant != 2;
        p.min_rows_per_call = variant == 2 ? 1 : 4;
        std::string error;
        auto mm = variant == 1 ? DnnlPackedMatmul::create_borrowed(p, strided.data(), ldw, &error)
                               : DnnlPackedMatmul::create(p, w.data(), &error);
        ASSERT_NE(mm, nullptr) << error;
        for (int64_t m : {1, 3, 8, 33}) {
          const auto a = random_values(rng, m * k);
          std::vector<float> c(size_t(m * n), 99.f);
          ASSERT_TRUE(mm->run(a.data(), m, c.data(), &error)) << error;
          expect_close(c, naive_gemm(a, w, &bias, {n}, m, n, k, false, false, 1.f, 1.f),
                       "variant " + std::to_string(variant) + " k=" + std::to_string(k) +
                           " n=" + std::to_string(n) + " m=" + std::to_string(m));
        }
      }
    }
}

TEST(DnnlPackedMatmul, EveryEpilogueCombination) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  for (int c = 0; c < 16; ++c) {
    check_packed(rng, 33, 17, PackCase{bool(c & 1), bool(c & 2), bool(c & 4), c & 8 ? 2.5f : 1.f});
  }
}

TEST(DnnlPackedMatmul, EmptyKGivesEpilogueOfZero) {
  const std::vector<float> bias = {-1.f, 2.f, 0.f};
  DnnlMatmulParams p;
  p.k = 0;
  p.n = 3;
  p.bias = bias.data();
  p.relu = true;
  std::string error;
  auto mm = DnnlPackedMatmul::create(p, nullptr, &error);
  ASSERT_NE(mm, nullptr) << error;
  std::vector<float> c(6, 99.f);
  ASSERT_TRUE(mm->run(nullptr, 2, c.data(), &error)) << error;
  EXPECT_EQ(c, (std::vector<float>{0, 2, 0, 0, 2, 0}));
}

TEST(DnnlPackedMatmul, AllZeroInputGivesBias) {
  std::mt19937 rng(test_seed());
  const int64_t k = 64, n = 17;
  const auto w = random_values(rng, k * n), bias = random_values(rng, n);
  DnnlMatmulParams p;
  p.k = k;
  p.n = n;
  p.bias = bias.data();
  std::string error;
  auto mm = DnnlPackedMatmul::create(p, w.data(), &error);
  ASSERT_NE(mm, nullptr) << error;
  const std::vector<float> a(size_t(3 * k), 0.f);
  std::vector<float> c(size_t(3 * n));
  ASSERT_TRUE(mm->run(a.data(), 3, c.data(), &error)) << error;
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < n; ++j) EXPECT_EQ(c[size_t(i * n + j)], bias[size_t(j)]);
}

TEST(DnnlPackedMatmul, PlainLayoutMatchesPacked) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  const int64_t k = 100, n = 64, m = 7;
  const auto w = random_values(rng, k * n), a = random_values(rng, m * k);
  std::vector<float> c[2];
  for (int plain = 0; plain < 2; ++plain) {
    DnnlMatmulParams p;
    p.k = k;
    p.n = n;
    p.prepack = plain == 0;
    std::string error;
    auto mm = DnnlPackedMatmul::create(p, w.data(), &error);
    ASSERT_NE(mm, nullptr) << error;
    c[plain].resize(size_t(m * n));
    ASSERT_TRUE(mm->run(a.data(), m, c[plain].data(), &error)) << error;
    expect_close(c[plain], naive_gemm(a, w, nullptr, {}, m, n, k, false, false, 1.f, 0.f),
                 plain ? "plain" : "packed");
  }
}

// Borrowed plain weights with a padded row stride: every M against the
// reference, and nothing counted as held.
TEST(DnnlPackedMatmul, BorrowedStridedWeightsMatchReference) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  for (int64_t k : kDims)
    for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{64}}) {
      const int64_t ld = n + 5;
      const auto w = random_values(rng, k * n), bias = random_values(rng, n);
      std::vector<float> strided(size_t(k * ld), std::numeric_limits<float>::quiet_NaN());
      for (int64_t r = 0; r < k; ++r)
        std::copy(w.begin() + r * n, w.begin() + (r + 1) * n, strided.begin() + r * ld);
      DnnlMatmulParams p;
      p.k = k;
      p.n = n;
      p.bias = bias.data();
      p.relu = (k + n) % 2 == 0;
      std::string error;
      auto mm = DnnlPackedMatmul::create_borrowed(p, strided.data(), ld, &error);
      ASSERT_NE(mm, nullptr) << error;
      EXPECT_EQ(mm->packed_bytes(), 0u);
      for (int64_t m : {int64_t{1}, int64_t{2}, int64_t{7}, int64_t{33}}) {
        const auto a = random_values(rng, m * k);
        std::vector<float> c(size_t(m * n), 99.f);
        ASSERT_TRUE(mm->run(a.data(), m, c.data(), &error)) << error;
        expect_close(
            c, naive_gemm(a, w, &bias, {n}, m, n, k, false, false, 1.f, 1.f, p.relu),
            "k=" + std::to_string(k) + " n=" + std::to_string(n) + " m=" + std::to_string(m));
      }
    }
}

// SI_MAX_ISA caps oneDNN too (the max_isa_* ctest runs of this binary set it).
TEST(DnnlPackedMatmul, ImplementationStaysUnderSiMaxIsa) {
  const char *cap = std::getenv("SI_MAX_ISA");
  if (cap == nullptr || std::string(cap) == "avx512") GTEST_SKIP() << "SI_MAX_ISA not capped";
  std::mt19937 rng(1);
  const auto w = random_values(rng, 64 * 32);
  DnnlMatmulParams p;
  p.k = 64;
  p.n = 32;
  std::string error;
  auto mm = DnnlPackedMatmul::create(p, w.data(), &error);
  ASSERT_NE(mm, nullptr) << error;
  EXPECT_EQ(mm->impl_name().find("avx512"), std::string::npos) << mm->impl_name();
}

TEST(DnnlPackedMatmul, ConcurrentRunsEqualSerialRuns) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  const int64_t k = 256, n = 96;
  const auto w = random_values(rng, k * n), bias = random_values(rng, n);
  DnnlMatmulParams p;
  p.k = k;
  p.n = n;
  p.bias = bias.data();
  p.relu = true;
  std::string error;
  auto mm = DnnlPackedMatmul::create(p, w.data(), &error);
  ASSERT_NE(mm, nullptr) << error;
  constexpr int kThreads = 8;
  std::vector<std::vector<float>> a(kThreads), serial(kThreads), parallel(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    const int64_t m = 1 + t % 4;
    a[size_t(t)] = random_values(rng, m * k);
    serial[size_t(t)].resize(size_t(m * n));
    ASSERT_TRUE(mm->run(a[size_t(t)].data(), m, serial[size_t(t)].data(), &error)) << error;
  }
  std::vector<std::thread> pool;
  std::vector<int> ok(kThreads, 1);
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      const int64_t m = 1 + t % 4;
      parallel[size_t(t)].resize(size_t(m * n));
      std::string e;
      for (int rep = 0; rep < 20 && ok[size_t(t)]; ++rep)
        ok[size_t(t)] = mm->run(a[size_t(t)].data(), m, parallel[size_t(t)].data(), &e);
    });
  }
  for (auto &th : pool) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(ok[size_t(t)]);
    EXPECT_EQ(parallel[size_t(t)], serial[size_t(t)]) << "thread " << t;
  }
}

// ---------------------------------------------------------------- MatMul op

void check_matmul(std::mt19937 &rng, const Shape &as, const Shape &bs, bool b_const) {
  const Tensor a = random_tensor(rng, as), b = random_tensor(rng, bs);
  OpSpec spec;
  spec.op_type = "MatMul";
  spec.opset = 13;
  spec.inputs = {a, b};
  spec.constant = {false, b_const};
  std::vector<Tensor> out;
  const std::string what =
      "A " + shape_str(as) + " B " + shape_str(bs) + (b_const ? " (const B)" : " (runtime B)");
  Status s = run_op(spec, &out);
  ASSERT_TRUE(s.is_ok()) << what << ": " << s.message();
  Shape want_shape;
  const Expected want = numpy_matmul(to_vector_f32(a), as, to_vector_f32(b), bs, &want_shape);
  ASSERT_EQ(out[0].shape(), want_shape) << what;
  expect_close(to_vector_f32(out[0]), want, what);
}

TEST(MatMulOp, TwoDimensionalConstantAndRuntimeWeights) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  for (int64_t m : kRows)
    for (int64_t k : kDims)
      for (int64_t n : kDims)
        for (bool b_const : {true, false}) check_matmul(rng, {m, k}, {k, n}, b_const);
}

TEST(MatMulOp, OneDimensionalOperands) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  for (bool c : {true, false}) {
    check_matmul(rng, {17}, {17, 5}, c);
    check_matmul(rng, {4, 17}, {17}, c);
    check_matmul(rng, {17}, {17}, c);
    check_matmul(rng, {2, 3, 17}, {17}, c);
    check_matmul(rng, {17}, {2, 17, 5}, c);
    check_matmul(rng, {1}, {1, 1}, c);
  }
}

TEST(MatMulOp, BatchedWithBroadcastBatchDims) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  for (bool c : {true, false}) {
    check_matmul(rng, {3, 7, 15}, {15, 17}, c);  // leading dims merge into M
    check_matmul(rng, {2, 3, 7, 15}, {15, 17}, c);
    check_matmul(rng, {3, 7, 15}, {3, 15, 17}, c);
    check_matmul(rng, {1, 7, 15}, {4, 15, 17}, c);
    check_matmul(rng, {2, 1, 7, 15}, {3, 15, 17}, c);
    check_matmul(rng, {2, 1, 2, 15}, {1, 3, 15, 1}, c);
    check_matmul(rng, {7, 15}, {2, 2, 15, 17}, c);
    check_matmul(rng, {2, 0, 7, 15}, {1, 15, 17}, c);  // empty batch
    check_matmul(rng, {3, 0, 15}, {15, 17}, c);        // empty M
    check_matmul(rng, {3, 7, 0}, {0, 17}, c);          // empty K: zeros
  }
}

TEST(MatMulOp, RejectsInnerDimensionMismatchNamingShapes) {
  OpSpec spec;
  spec.op_type = "MatMul";
  spec.inputs = {make_f32({2, 3}, std::vector<float>(6)), make_f32({4, 5}, std::vector<float>(20))};
  for (bool c : {true, false}) {
    spec.constant = {false, c};
    std::vector<Tensor> out;
    Status s = run_op(spec, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("[2,3]"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("[4,5]"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("node_under_test"), std::string::npos) << s.message();
  }
}

// A K = 0 weight holds no data whatever its N: an N no session could hold
// (found by fuzz_graph, where a scalar C was then expanded to N floats) fails
// the load with OUT_OF_MEMORY instead of throwing from an allocation.
TEST(MatMulOp, EmptyWeightWithHugeNFailsBeforeAllocating) {
  const int64_t huge = int64_t{1} << 40;
  for (const char *op : {"MatMul", "Gemm"}) {
    OpSpec spec;
    spec.op_type = op;
    spec.inputs = {make_f32({2, 0}, {}), make_f32({0, huge}, {})};
    spec.constant = {false, true};
    if (std::string(op) == "Gemm") {
      spec.inputs.push_back(make_f32({}, {1.f}));
      spec.constant.push_back(true);
    }
    std::vector<Tensor> out;
    Status s = run_op(spec, &out);
    EXPECT_EQ(s.code(), StatusCode::kOutOfMemory) << op << ": " << s.message();
    EXPECT_NE(s.message().find("output columns exceed the memory limit"), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("node_under_test"), std::string::npos) << s.message();
  }
}

TEST(MatMulOp, RejectsRankZeroAndUnbroadcastableBatches) {
  std::vector<Tensor> out;
  OpSpec spec;
  spec.op_type = "MatMul";
  spec.inputs = {make_f32({}, {1.f}), make_f32({1, 2}, {1.f, 2.f})};
  Status s = run_op(spec, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("rank"), std::string::npos) << s.message();
  spec.inputs = {make_f32({2}, {1.f, 2.f}), make_f32({}, {1.f})};
  EXPECT_EQ(run_op(spec, &out).code(), StatusCode::kInvalidArgument);
  spec.inputs = {make_f32({2, 1, 1}, {1, 2}), make_f32({3, 1, 1}, {1, 2, 3})};
  s = run_op(spec, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("broadcast"), std::string::npos) << s.message();
}

// ---------------------------------------------------------------- Gemm op

struct GemmCase {
  int64_t m, k, n;
  bool ta, tb;
  float alpha, beta;
  Shape c_shape;  // {-1}: no C
  bool b_const, c_const;
  int opset = 13;
  int broadcast = -1;  // legacy attr; -1 = absent
};

void check_gemm(std::mt19937 &rng, const GemmCase &g) {
  const Shape as = g.ta ? Shape{g.k, g.m} : Shape{g.m, g.k};
  const Shape bs = g.tb ? Shape{g.n, g.k} : Shape{g.k, g.n};
  const bool has_c = g.c_shape != Shape{-1};
  const Tensor a = random_tensor(rng, as), b = random_tensor(rng, bs);
  const Tensor c = has_c ? random_tensor(rng, g.c_shape) : Tensor();
  OpSpec spec;
  spec.op_type = "Gemm";
  spec.opset = g.opset;
  spec.attrs["alpha"] = attr_float(g.alpha);
  spec.attrs["beta"] = attr_float(g.beta);
  spec.attrs["transA"] = attr_int(g.ta);
  spec.attrs["transB"] = attr_int(g.tb);
  if (g.broadcast >= 0) spec.attrs["broadcast"] = attr_int(g.broadcast);
  spec.inputs = {a, b};
  spec.constant = {false, g.b_const};
  if (has_c) {
    spec.inputs.push_back(c);
    spec.constant.push_back(g.c_const);
  }
  const std::string what =
      "Gemm m=" + std::to_string(g.m) + " k=" + std::to_string(g.k) + " n=" + std::to_string(g.n) +
      " ta=" + std::to_string(g.ta) + " tb=" + std::to_string(g.tb) +
      " C=" + (has_c ? shape_str(g.c_shape) : "none") + " bconst=" + std::to_string(g.b_const) +
      " cconst=" + std::to_string(g.c_const) + " opset=" + std::to_string(g.opset);
  std::vector<Tensor> out;
  Status s = run_op(spec, &out);
  ASSERT_TRUE(s.is_ok()) << what << ": " << s.message();
  ASSERT_EQ(out[0].shape(), (Shape{g.m, g.n})) << what;
  const std::vector<float> cv = has_c ? to_vector_f32(c) : std::vector<float>{};
  expect_close(to_vector_f32(out[0]),
               naive_gemm(to_vector_f32(a), to_vector_f32(b), has_c ? &cv : nullptr, g.c_shape, g.m,
                          g.n, g.k, g.ta, g.tb, g.alpha, g.beta),
               what);
}

TEST(GemmOp, TransposesAndEveryBiasForm) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  const int64_t m = 7, k = 17, n = 15;
  const std::vector<Shape> c_forms = {{-1}, {}, {1}, {n}, {1, n}, {m, 1}, {m, n}, {1, 1}};
  for (int t = 0; t < 4; ++t)
    for (const Shape &cs : c_forms)
      for (int consts = 0; consts < 4; ++consts)
        check_gemm(rng, GemmCase{m, k, n, bool(t & 1), bool(t & 2), 1.f, 1.f, cs, bool(consts & 1),
                                 bool(consts & 2)});
}

TEST(GemmOp, AlphaBetaOverShapes) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  int i = 0;
  for (int64_t m : kRows)
    for (int64_t k : kDims)
      for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{64}}) {
        const bool ta = i & 1, tb = i & 2, b_const = !(i & 4);
        ++i;
        check_gemm(rng, GemmCase{m, k, n, ta, tb, 0.5f, -2.f, {n}, b_const, true});
        check_gemm(rng, GemmCase{m, k, n, ta, tb, -1.25f, 0.25f, {m, n}, b_const, false});
      }
  // beta == 0 still reads C: the result is alpha*A*B + 0*C.
  check_gemm(rng, GemmCase{3, 4, 5, false, true, 1.f, 0.f, {5}, true, true});
}

TEST(GemmOp, OptionalCFromOpset11AndEmptyDims) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  for (bool b_const : {true, false}) {
    check_gemm(rng, GemmCase{4, 3, 5, false, true, 2.f, 1.f, {-1}, b_const, false, 11});
    check_gemm(rng, GemmCase{0, 3, 5, false, false, 1.f, 1.f, {5}, b_const, true});
    check_gemm(rng, GemmCase{4, 0, 5, true, false, 1.f, 1.f, {5}, b_const, true});
    check_gemm(rng, GemmCase{4, 0, 5, false, true, 1.f, 1.f, {4, 5}, b_const, false});
  }
  OpSpec spec;
  spec.op_type = "Gemm";
  spec.opset = 9;
  spec.inputs = {make_f32({1, 2}, {1, 2}), make_f32({2, 1}, {1, 2})};
  std::vector<Tensor> out;
  Status s = run_op(spec, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  EXPECT_NE(s.message().find("requires input C"), std::string::npos) << s.message();
}

TEST(GemmOp, LegacyOpset6BroadcastAttribute) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  for (bool b_const : {true, false}) {
    check_gemm(rng, GemmCase{5, 7, 3, false, false, 1.f, 1.f, {3}, b_const, true, 6, 1});
    check_gemm(rng, GemmCase{5, 7, 3, true, true, 0.5f, 2.f, {5, 3}, b_const, true, 6, 0});
    check_gemm(rng, GemmCase{5, 7, 3, false, true, 1.f, 1.f, {5, 3}, b_const, false, 6, -1});
  }
  // Without broadcast=1, legacy Gemm requires C to be exactly [M,N].
  OpSpec spec;
  spec.op_type = "Gemm";
  spec.opset = 6;
  spec.inputs = {make_f32({2, 2}, {1, 2, 3, 4}), make_f32({2, 2}, {1, 2, 3, 4}),
                 make_f32({2}, {1, 2})};
  spec.constant = {false, true, true};
  std::vector<Tensor> out;
  Status s = run_op(spec, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  EXPECT_NE(s.message().find("does not broadcast"), std::string::npos) << s.message();
}

TEST(GemmOp, RejectsBadShapesNamingThem) {
  std::vector<Tensor> out;
  OpSpec spec;
  spec.op_type = "Gemm";
  spec.inputs = {make_f32({2, 3}, std::vector<float>(6)), make_f32({2, 3}, std::vector<float>(6))};
  for (bool c : {true, false}) {
    spec.constant = {false, c};
    Status s = run_op(spec, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("A [2,3] and B [2,3]"), std::string::npos) << s.message();
  }
  spec.inputs = {make_f32({3}, std::vector<float>(3)), make_f32({3, 2}, std::vector<float>(6))};
  EXPECT_EQ(run_op(spec, &out).code(), StatusCode::kInvalidArgument);
  spec.inputs = {make_f32({2, 3}, std::vector<float>(6)), make_f32({3, 2}, std::vector<float>(6)),
                 make_f32({3}, std::vector<float>(3))};
  spec.constant = {false, true, true};
  EXPECT_EQ(run_op(spec, &out).code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- FusedGemm

void check_fused(std::mt19937 &rng, const Shape &as, int64_t n, bool tb, bool bias, bool relu,
                 float alpha) {
  const int64_t k = as.back(), m = numel(as) / std::max<int64_t>(k, 1);
  const Tensor a = random_tensor(rng, as);
  const Tensor w = random_tensor(rng, tb ? Shape{n, k} : Shape{k, n});
  const Tensor c = random_tensor(rng, {n});
  OpSpec spec;
  spec.op_type = "FusedGemm";
  spec.domain = kEngineDomain;
  spec.opset = 1;
  spec.attrs["transB"] = attr_int(tb);
  spec.attrs["alpha"] = attr_float(alpha);
  spec.attrs["activation"] = attr_string(relu ? "Relu" : "");
  spec.inputs = {a, w};
  spec.constant = {false, true};
  if (bias) {
    spec.inputs.push_back(c);
    spec.constant.push_back(true);
  }
  const std::string what = "FusedGemm A " + shape_str(as) + " n=" + std::to_string(n) +
                           " tb=" + std::to_string(tb) + " bias=" + std::to_string(bias) +
                           " relu=" + std::to_string(relu);
  std::vector<Tensor> out;
  Status s = run_op(spec, &out);
  ASSERT_TRUE(s.is_ok()) << what << ": " << s.message();
  Shape want_shape(as.begin(), as.end() - 1);
  want_shape.push_back(n);
  ASSERT_EQ(out[0].shape(), want_shape) << what;
  const std::vector<float> cv = to_vector_f32(c);
  expect_close(to_vector_f32(out[0]),
               naive_gemm(to_vector_f32(a), to_vector_f32(w), bias ? &cv : nullptr, {n}, m, n, k,
                          false, tb, alpha, 1.f, relu),
               what);
}

TEST(FusedGemmOp, BiasReluTransposeAndLeadingDims) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  for (int v = 0; v < 8; ++v) {
    const bool tb = v & 1, bias = v & 2, relu = v & 4;
    check_fused(rng, {7, 17}, 15, tb, bias, relu, 1.f);
    check_fused(rng, {2, 3, 17}, 64, tb, bias, relu, 0.5f);
    check_fused(rng, {17}, 15, tb, bias, relu, 1.f);
  }
}

TEST(FusedGemmOp, RejectsRuntimeWeightsAndWrongBias) {
  OpSpec spec;
  spec.op_type = "FusedGemm";
  spec.domain = kEngineDomain;
  spec.opset = 1;
  spec.inputs = {make_f32({1, 2}, {1, 2}), make_f32({2, 2}, {1, 2, 3, 4})};
  spec.constant = {false, false};
  std::vector<Tensor> out;
  EXPECT_EQ(run_op(spec, &out).code(), StatusCode::kInvalidModel);
  spec.constant = {false, true};
  spec.inputs.push_back(make_f32({3}, {1, 2, 3}));
  spec.constant.push_back(true);
  EXPECT_EQ(run_op(spec, &out).code(), StatusCode::kInvalidModel);
  spec.inputs = {make_f32({1, 3}, {1, 2, 3}), make_f32({2, 2}, {1, 2, 3, 4})};
  spec.constant = {false, true};
  Status s = run_op(spec, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("[1,3]"), std::string::npos) << s.message();
}

// ---------------------------------------------------------------- sessions

// x [batch, k] -> MatMul(W const [k, n]) -> y, batch dynamic.
std::unique_ptr<Session> mlp_session(const Tensor &w, int threads) {
  Graph g;
  ValueInfo x;
  x.name = "x";
  x.dtype = DType::kFloat32;
  x.has_shape = true;
  x.dims = {Dim{-1, "batch"}, Dim{w.dim(0), ""}};
  const int xi = g.add_value(x);
  ValueInfo wi;
  wi.name = "w";
  wi.dtype = DType::kFloat32;
  const int wv = g.add_value(wi);
  g.constants[wv] = w;
  ValueInfo y;
  y.name = "y";
  y.dtype = DType::kFloat32;
  const int yi = g.add_value(y);
  Node node;
  node.op_type = "MatMul";
  node.name = "fc";
  node.opset = 13;
  node.inputs = {xi, wv};
  node.outputs = {yi};
  g.nodes.push_back(node);
  g.inputs = {xi};
  g.outputs = {yi};
  SessionOptions options;
  options.threads = threads;
  std::unique_ptr<Session> s;
  Status st = Session::create(std::move(g), options, &s);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return s;
}

TEST(MatMulSession, DynamicBatchAcrossCalls) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  const int64_t k = 100, n = 33;
  const Tensor w = random_tensor(rng, {k, n});
  auto session = mlp_session(w, 2);
  ASSERT_NE(session, nullptr);
  for (int64_t m : {int64_t{1}, int64_t{5}, int64_t{1}, int64_t{64}, int64_t{5}}) {
    const Tensor x = random_tensor(rng, {m, k});
    std::vector<Tensor> out;
    Status s = session->run({x}, &out);
    ASSERT_TRUE(s.is_ok()) << s.message();
    ASSERT_EQ(out[0].shape(), (Shape{m, n}));
    Shape ys;
    expect_close(to_vector_f32(out[0]),
                 numpy_matmul(to_vector_f32(x), {m, k}, to_vector_f32(w), {k, n}, &ys),
                 "batch " + std::to_string(m));
  }
  const Tensor bad = random_tensor(rng, {2, k + 1});
  std::vector<Tensor> out;
  EXPECT_EQ(session->run({bad}, &out).code(), StatusCode::kInvalidArgument);
}

TEST(MatMulSession, ConstantWeightsTakeThePackedPath) {
  std::mt19937 rng(test_seed());
  const int64_t k = 64, n = 17;
  auto session = mlp_session(random_tensor(rng, {k, n}), 1);
  ASSERT_NE(session, nullptr);
  std::vector<Tensor> out;
  RunProfile profile;
  ASSERT_TRUE(session->run({random_tensor(rng, {3, k})}, &out, &profile).is_ok());
  ASSERT_EQ(profile.steps.size(), 1u);
  // "dense:" and the implementation the table picks for 3 rows.
  EXPECT_EQ(std::string(profile.steps[0].matmul.path).rfind("dense:", 0), 0u)
      << profile.steps[0].matmul.path;
  EXPECT_EQ(profile.steps[0].matmul.weight_bytes_read, k * n * int64_t(sizeof(float)));
}

TEST(MatMulSession, EightThreadsEqualSerialResults) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  const int64_t k = 200, n = 130;
  auto session = mlp_session(random_tensor(rng, {k, n}), 2);
  ASSERT_NE(session, nullptr);
  constexpr int kThreads = 8;
  std::vector<Tensor> inputs, serial;
  for (int t = 0; t < kThreads; ++t) {
    inputs.push_back(random_tensor(rng, {1 + t % 3 * 4, k}));
    std::vector<Tensor> out;
    ASSERT_TRUE(session->run({inputs.back()}, &out).is_ok());
    serial.push_back(out[0]);
  }
  std::vector<std::vector<float>> got(kThreads);
  std::vector<int> ok(kThreads, 1);
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      for (int rep = 0; rep < 10 && ok[size_t(t)]; ++rep) {
        std::vector<Tensor> out;
        ok[size_t(t)] = session->run({inputs[size_t(t)]}, &out).is_ok();
        if (ok[size_t(t)]) got[size_t(t)] = to_vector_f32(out[0]);
      }
    });
  }
  for (auto &th : pool) th.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_TRUE(ok[size_t(t)]) << "thread " << t;
    EXPECT_EQ(got[size_t(t)], to_vector_f32(serial[size_t(t)])) << "thread " << t;
  }
}

}  // namespace
}  // namespace si

namespace si {
namespace {

// Every dense implementation ConstWeightMatmul's table can pick on this CPU
// (each batch size takes the one dense_impl names, and the profile says so)
// against the reference, in every mode and with one weight copy, with
// transB, alpha, bias and relu; repeated calls give the same bits.
TEST(ConstWeightMatmul, EveryDenseImplementationMatchesReferenceAndRepeats) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  const int64_t k = 67, n = 45;
  const auto w = random_values(rng, k * n), bias = random_values(rng, n);
  for (ExecMode mode : {ExecMode::kDense, ExecMode::kAuto, ExecMode::kSparse})
    for (bool single_copy : {false, true})
      for (bool trans_b : {false, true}) {
        ConstMatmulSpec spec;
        spec.k = k;
        spec.n = n;
        spec.trans_b = trans_b;
        spec.alpha = -0.5f;
        spec.bias = bias.data();
        spec.relu = trans_b;
        ConstMatmulPolicy policy;
        policy.mode = mode;
        policy.single_copy = single_copy;
        std::unique_ptr<ConstWeightMatmul> mm;
        ASSERT_TRUE(ConstWeightMatmul::create(spec, w.data(), policy, &mm).is_ok());
        for (int64_t m : {1, 2, 3, 4, 5, 8, 16, 33, 64}) {
          const std::string what = "mode " + std::to_string(int(mode)) + " single " +
                                   std::to_string(single_copy) + " transB " +
                                   std::to_string(trans_b) + " m " + std::to_string(m);
          const auto a = random_values(rng, m * k);  // dense: the sparse path never pays
          std::vector<float> y(size_t(m * n), 99.f), again(size_t(m * n), -1.f);
          MatmulProfile profile;
          RunContext ctx;
          ctx.threads = 2;
          ctx.mode = mode;
          ctx.profile = &profile;
          ASSERT_TRUE(mm->run(a.data(), m, nullptr, y.data(), ctx).is_ok()) << what;
          // Auto may gather even a dense row (batch 1 without AVX-512).
          const std::string dense = std::string("dense:") + dense_impl_name(mm->dense_impl(m));
          if (mode == ExecMode::kDense) {
            EXPECT_EQ(profile.path, dense) << what;
          }
          if (mode == ExecMode::kAuto && std::string(profile.path) != "sparse") {
            EXPECT_EQ(profile.path, dense) << what;
          }
          expect_close(
              y, naive_gemm(a, w, &bias, {n}, m, n, k, false, trans_b, -0.5f, 1.f, trans_b), what);
          ctx.profile = nullptr;
          ASSERT_TRUE(mm->run(a.data(), m, nullptr, again.data(), ctx).is_ok()) << what;
          EXPECT_EQ(0, std::memcmp(y.data(), again.data(), y.size() * sizeof(float))) << what;
        }
      }
}

// The table: with AVX-512, oneDNN's matmul as before. Without it a dense-only
// layer holds the own column panels alone (every batch size); a sparse
// consumer holds the rows too and streams them up to 4 rows; with one copy
// it keeps the rows alone, oneDNN's inner_product borrowing them past 4
// rows. --info shows the plan, and the weight memory counts every layout.
TEST(ConstWeightMatmul, DenseTableByIsaAndLayoutsWithoutAvx512) {
  std::mt19937 rng(test_seed());
  const int64_t k = 64, n = 48;
  const size_t one_copy = size_t(k * n) * sizeof(float);  // n a multiple of 16: no padding
  const auto w = random_values(rng, k * n);
  ConstMatmulSpec spec;
  spec.k = k;
  spec.n = n;
  auto make = [&](ExecMode mode, bool sparse_input, bool single_copy) {
    ConstMatmulPolicy policy;
    policy.mode = mode;
    policy.sparse_input = sparse_input;
    policy.single_copy = single_copy;
    std::unique_ptr<ConstWeightMatmul> mm;
    EXPECT_TRUE(ConstWeightMatmul::create(spec, w.data(), policy, &mm).is_ok());
    return mm;
  };
  auto dense = make(ExecMode::kDense, false, false);
  if (std::string(dispatch_isa()) == "avx512") {
    EXPECT_EQ(dense->dense_impl(1), DenseImpl::kDnnlMatmul);
    EXPECT_EQ(dense->dense_plan(), "dnnl_matmul");
    return;
  }
  for (int64_t m : {1, 4, 5, 32, 64}) EXPECT_EQ(dense->dense_impl(m), DenseImpl::kPanels) << m;
  EXPECT_EQ(dense->dense_plan(), "panels");
  EXPECT_EQ(dense->weight_bytes(), one_copy);
  auto both = make(ExecMode::kAuto, true, false);
  for (int64_t m : {1, 4}) EXPECT_EQ(both->dense_impl(m), DenseImpl::kRowsGemv) << m;
  for (int64_t m : {5, 32, 64}) EXPECT_EQ(both->dense_impl(m), DenseImpl::kPanels) << m;
  EXPECT_EQ(both->dense_plan(), "rows_gemv M<=4, panels M>4");
  EXPECT_EQ(both->weight_bytes(), 2 * one_copy);
  auto single = make(ExecMode::kAuto, true, true);
  for (int64_t m : {1, 4}) EXPECT_EQ(single->dense_impl(m), DenseImpl::kRowsGemv) << m;
  for (int64_t m : {5, 32, 64}) EXPECT_EQ(single->dense_impl(m), DenseImpl::kDnnlIp) << m;
  EXPECT_EQ(single->dense_plan(), "rows_gemv M<=4, dnnl_ip M>4");
  // One copy: the row layout, padded to 16 floats a row, which oneDNN borrows.
  EXPECT_EQ(single->weight_bytes(), one_copy);
  auto sparse = make(ExecMode::kSparse, true, false);
  EXPECT_EQ(sparse->dense_plan(), "");
  EXPECT_EQ(sparse->weight_bytes(), one_copy);
}

}  // namespace
}  // namespace si
