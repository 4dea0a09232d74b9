// The reference matmul kernel against a double-precision loop and the packed
// oneDNN kernel against the reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/tensor.h"
#include "kernels/dense/dnnl_matmul.h"
#include "kernels/ref/matmul_ref.h"

namespace si {
namespace {

// Seeded from --gtest_random_seed so a failure replays.
uint32_t test_seed() {
  const int flag = GTEST_FLAG_GET(random_seed);
  return flag != 0 ? uint32_t(flag) : 20240611u;
}

#define SI_SEED_TRACE()                                                        \
  SCOPED_TRACE("replay with --gtest_random_seed=" + std::to_string(test_seed()))

std::vector<float> random_values(std::mt19937 &rng, int64_t n) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(size_t(std::max<int64_t>(n, 0)));
  for (float &x : v)
    x = dist(rng);
  return v;
}

// Expected values with, per element, the sum of |terms| so the tolerance
// scales with what float accumulation can lose.
struct Expected {
  std::vector<double> value;
  std::vector<double> magnitude;
};

void expect_close(const std::vector<float> &got, const Expected &want,
                  const std::string &what) {
  ASSERT_EQ(got.size(), want.value.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = 2e-5 * want.magnitude[i] + 1e-6;
    ASSERT_NEAR(got[i], want.value[i], tol) << what << " at element " << i;
  }
}

// ONNX Gemm from its definition; c_shape broadcasts unidirectionally to [M,N].
Expected naive_gemm(const std::vector<float> &a, const std::vector<float> &b,
                    const std::vector<float> *c, const Shape &c_shape,
                    int64_t m, int64_t n, int64_t k, bool ta, bool tb,
                    float alpha, float beta, bool relu = false) {
  Expected e;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0, mag = 0;
      for (int64_t p = 0; p < k; ++p) {
        const double term = double(a[size_t(ta ? p * m + i : i * k + p)]) *
                            b[size_t(tb ? j * k + p : p * n + j)];
        s += term;
        mag += std::fabs(term);
      }
      s *= alpha;
      mag *= std::fabs(alpha);
      if (c != nullptr) {
        int64_t ci = 0;
        if (c_shape.size() == 2)
          ci = (c_shape[0] == 1 ? 0 : i) * c_shape[1];
        if (!c_shape.empty())
          ci += c_shape.back() == 1 ? 0 : j;
        s += double(beta) * (*c)[size_t(ci)];
        mag += std::fabs(double(beta) * (*c)[size_t(ci)]);
      }
      if (relu)
        s = std::max(s, 0.0);
      e.value.push_back(s);
      e.magnitude.push_back(mag);
    }
  return e;
}

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
          const auto a = random_values(rng, m * k),
                     b = random_values(rng, k * n);
          std::vector<float> c(size_t(m * n), 99.f);
          ref::f32_matmul(m, n, k, a.data(), ta ? 1 : k, ta ? m : 1, b.data(),
                          tb ? 1 : n, tb ? k : 1, c.data());
          expect_close(
              c, naive_gemm(a, b, nullptr, {}, m, n, k, ta, tb, 1.f, 0.f),
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
  ref::f32_batched_matmul(3, m, n, k, a.data(), off_a.data(), b.data(),
                          off_b.data(), c.data());
  for (int i = 0; i < 3; ++i) {
    const std::vector<float> ai(a.begin() + off_a[size_t(i)],
                                a.begin() + off_a[size_t(i)] + m * k);
    const std::vector<float> ci(c.begin() + i * m * n,
                                c.begin() + (i + 1) * m * n);
    expect_close(
        ci, naive_gemm(ai, b, nullptr, {}, m, n, k, false, false, 1.f, 0.f),
        "batch " + std::to_string(i));
  }
}

TEST(RefMatmul, EpilogueBroadcastsBias) {
  std::vector<float> y = {1, 2, 3, 4, 5, 6}; // [2,3]
  const std::vector<float> col = {10, 20};   // [2,1]
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
  for (int64_t m : {int64_t{1}, int64_t{2}, int64_t{7}, int64_t{33}, int64_t{0},
                    int64_t{1}}) {
    const auto a = random_values(rng, m * k);
    std::vector<float> c(size_t(m * n), 99.f);
    ASSERT_TRUE(mm->run(a.data(), m, c.data(), &error)) << error;
    const Shape c_shape = {n};
    expect_close(c,
                 naive_gemm(a, w, pc.bias ? &bias : nullptr, c_shape, m, n, k,
                            false, pc.trans_b, pc.alpha, 1.f, pc.relu),
                 "k=" + std::to_string(k) + " n=" + std::to_string(n) +
                     " m=" + std::to_string(m) +
                     " transB=" + std::to_string(pc.trans_b) +
                     " bias=" + std::to_string(pc.bias) +
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
      const PackCase pc{bool(i & 1), bool(i & 2), bool(i & 4),
                        (i % 3) == 0 ? 1.f : -0.75f};
      ++i;
      check_packed(rng, k, n, pc);
    }
}

TEST(DnnlPackedMatmul, EveryEpilogueCombination) {
  SI_SEED_TRACE();
  std::mt19937 rng(test_seed());
  for (int c = 0; c < 16; ++c) {
    check_packed(
        rng, 33, 17,
        PackCase{bool(c & 1), bool(c & 2), bool(c & 4), c & 8 ? 2.5f : 1.f});
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
    for (int64_t j = 0; j < n; ++j)
      EXPECT_EQ(c[size_t(i * n + j)], bias[size_t(j)]);
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
    expect_close(c[plain],
                 naive_gemm(a, w, nullptr, {}, m, n, k, false, false, 1.f, 0.f),
                 plain ? "plain" : "packed");
  }
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
  std::vector<std::vector<float>> a(kThreads), serial(kThreads),
      parallel(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    const int64_t m = 1 + t % 4;
    a[size_t(t)] = random_values(rng, m * k);
    serial[size_t(t)].resize(size_t(m * n));
    ASSERT_TRUE(
        mm->run(a[size_t(t)].data(), m, serial[size_t(t)].data(), &error))
        << error;
  }
  std::vector<std::thread> pool;
  std::vector<int> ok(kThreads, 1);
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      const int64_t m = 1 + t % 4;
      parallel[size_t(t)].resize(size_t(m * n));
      std::string e;
      for (int rep = 0; rep < 20 && ok[size_t(t)]; ++rep)
        ok[size_t(t)] =
            mm->run(a[size_t(t)].data(), m, parallel[size_t(t)].data(), &e);
    });
  }
  for (auto &th : pool)
    th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(ok[size_t(t)]);
    EXPECT_EQ(parallel[size_t(t)], serial[size_t(t)]) << "thread " << t;
  }
}

} // namespace
} // namespace si
