// Sparse kernels against naive references: every ISA variant, odd sizes,
// densities from 0 to 1, all-zero rows, -0.0, NaN, denormals, 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/sparse/sparse_kernels.h"
#include "kernels/sparse/sparse_matmul.h"

namespace si {
namespace {

struct Variant {
  const char *name;
  CompactNonzeroFn compact;
  GatherRowsAxpyFn axpy;
  ScatterRowsAxpyFn scatter;
  bool supported;
};

std::vector<Variant> variants() {
  const CpuFeatures &cpu = cpu_features();
  return {
      {"scalar", f32_compact_nonzero__scalar, f32_gather_rows_axpy__scalar,
       f32_scatter_rows_axpy__scalar, true},
      {"avx2", f32_compact_nonzero__avx2, f32_gather_rows_axpy__avx2, f32_scatter_rows_axpy__avx2,
       cpu.avx2 && cpu.fma},
      {"avx512", f32_compact_nonzero__avx512, f32_gather_rows_axpy__avx512,
       f32_scatter_rows_axpy__avx512, cpu.avx512f},
  };
}

// Replayable: the seed comes from --gtest_random_seed (0 picks a fixed one).
uint32_t seed() {
  int s = ::testing::UnitTest::GetInstance()->random_seed();
  return s == 0 ? 12345u : static_cast<uint32_t>(s);
}

std::vector<float> sparse_vector(std::mt19937 &rng, int64_t n, double density) {
  std::uniform_real_distribution<float> val(-2.f, 2.f);
  std::bernoulli_distribution active(density);
  std::vector<float> x(static_cast<size_t>(n));
  for (float &v : x) v = active(rng) ? val(rng) : (rng() % 2 ? 0.0f : -0.0f);
  return x;
}

std::vector<int32_t> naive_nonzero(const std::vector<float> &x) {
  std::vector<int32_t> idx;
  for (size_t i = 0; i < x.size(); ++i)
    if (!(x[i] == 0.0f)) idx.push_back(static_cast<int32_t>(i));  // NaN is non-zero
  return idx;
}

// The table takes the widest variant the CPU runs, capped by SI_MAX_ISA (the
// max_isa_* ctest runs of this binary set it).
TEST(Dispatch, TakesTheWidestVariantUnderSiMaxIsa) {
  const CpuFeatures &cpu = cpu_features();
  const char *env = std::getenv("SI_MAX_ISA");
  const std::string cap = env == nullptr || *env == '\0' ? "avx512" : env;
  std::string want = cpu.avx512f ? "avx512" : cpu.avx2 && cpu.fma ? "avx2" : "scalar";
  if (cap == "scalar" || (cap == "avx2" && want == "avx512")) want = cap;
  EXPECT_EQ(sparse_kernels().isa, want);
  EXPECT_EQ(dispatch_isa(), want);
}

TEST(CompactNonzero, MatchesNaiveOnAllVariants) {
  std::mt19937 rng(seed());
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::denorm_min(), -0.0f, 0.0f};
  for (const Variant &v : variants()) {
    if (!v.supported) continue;
    for (int64_t n : {0, 1, 7, 15, 16, 17, 31, 33, 1000}) {
      for (double density : {0.0, 0.02, 0.5, 0.9, 1.0}) {
        std::vector<float> x = sparse_vector(rng, n, density);
        if (n > 4) x[static_cast<size_t>(rng() % n)] = specials[rng() % 5];
        std::vector<int32_t> idx(static_cast<size_t>(n) + 1, -1);
        int64_t count = v.compact(x.data(), n, idx.data());
        idx.resize(static_cast<size_t>(count));
        EXPECT_EQ(idx, naive_nonzero(x))
            << v.name << " n=" << n << " density=" << density << " seed=" << seed();
      }
    }
  }
}

TEST(CompactNonzero, NanIsActiveNegativeZeroIsNot) {
  for (const Variant &v : variants()) {
    if (!v.supported) continue;
    std::vector<float> x(40, 0.0f);
    x[3] = std::numeric_limits<float>::quiet_NaN();
    x[20] = -0.0f;
    x[39] = std::numeric_limits<float>::denorm_min();
    std::vector<int32_t> idx(40);
    int64_t count = v.compact(x.data(), 40, idx.data());
    ASSERT_EQ(count, 2) << v.name;
    EXPECT_EQ(idx[0], 3);
    EXPECT_EQ(idx[1], 39);
  }
}

TEST(CountNonzero, MatchesNaiveCountCappedAtTheLimit) {
  std::mt19937 rng(seed());
  for (int64_t n : {0, 1, 15, 17, 1000, 1023, 1024, 1025, 5000}) {
    for (double density : {0.0, 0.02, 0.5, 0.9, 1.0}) {
      std::vector<float> x = sparse_vector(rng, n, density);
      if (n > 4) x[static_cast<size_t>(rng() % n)] = std::numeric_limits<float>::quiet_NaN();
      const auto want = static_cast<int64_t>(naive_nonzero(x).size());
      for (int64_t limit : {int64_t{0}, int64_t{1}, want / 2, want, want + 1, n + 1}) {
        EXPECT_EQ(f32_count_nonzero(x.data(), n, limit), std::min(want, limit))
            << "n=" << n << " density=" << density << " limit=" << limit << " seed=" << seed();
      }
    }
  }
}

// y = bias + x·W over ALL k, in double: the dense definition.
std::vector<double> dense_reference(const std::vector<float> &x, int64_t m, int64_t k,
                                    const std::vector<float> &w, int64_t n,
                                    const std::vector<float> &bias) {
  std::vector<double> y(static_cast<size_t>(m * n));
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double acc = bias.empty() ? 0.0 : bias[size_t(c)];
      for (int64_t i = 0; i < k; ++i) acc += double(x[size_t(r * k + i)]) * w[size_t(i * n + c)];
      y[size_t(r * n + c)] = acc;
    }
  return y;
}

void expect_close(const std::vector<float> &got, const std::vector<double> &want, double scale,
                  const std::string &what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 1e-5 * scale + 1e-5 * std::fabs(want[i]))
        << what << " at " << i << " seed=" << seed();
  }
}

TEST(GatherRowsAxpy, VariantsAgreeBitForBitAndMatchReference) {
  std::mt19937 rng(seed());
  std::uniform_real_distribution<float> val(-1.f, 1.f);
  for (int64_t k : {1, 15, 17, 100}) {
    for (int64_t n : {1, 15, 16, 17, 1000}) {
      for (double density : {0.0, 0.5, 0.9, 0.99, 1.0}) {
        std::vector<float> x = sparse_vector(rng, k, density);
        std::vector<float> w(static_cast<size_t>(k * n));
        for (float &v : w) v = val(rng);
        std::vector<int32_t> idx = naive_nonzero(x);
        std::vector<float> bias(static_cast<size_t>(n));
        for (float &v : bias) v = val(rng);
        std::vector<double> want = dense_reference(x, 1, k, w, n, bias);
        std::vector<float> first;
        for (const Variant &v : variants()) {
          if (!v.supported) continue;
          std::vector<float> y = bias;
          v.axpy(x.data(), idx.data(), int64_t(idx.size()), w.data(), n, 0, n, y.data());
          std::string what = std::string(v.name) + " k=" + std::to_string(k) +
                             " n=" + std::to_string(n) + " density=" + std::to_string(density);
          expect_close(y, want, double(k), what);
          if (first.empty()) first = y;
          EXPECT_EQ(0, std::memcmp(first.data(), y.data(), y.size() * sizeof(float))) << what;
        }
      }
    }
  }
}

TEST(GatherRowsAxpy, SubRangeTouchesOnlyItsColumns) {
  std::vector<float> x = {1.f, 0.f, 2.f};
  std::vector<float> w(3 * 40, 1.f);
  std::vector<int32_t> idx = {0, 2};
  for (const Variant &v : variants()) {
    if (!v.supported) continue;
    std::vector<float> y(40, -5.f);
    v.axpy(x.data(), idx.data(), 2, w.data(), 40, 3, 37, y.data());
    for (int i = 0; i < 40; ++i) EXPECT_EQ(y[size_t(i)], i >= 3 && i < 37 ? -2.f : -5.f) << v.name;
  }
}

TEST(ScatterRowsAxpy, VariantsAgreeBitForBitAndMatchReference) {
  std::mt19937 rng(seed());
  std::uniform_real_distribution<float> val(-1.f, 1.f);
  for (int64_t n : {1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 200}) {
    for (int nw : {1, 2, 4}) {
      const int64_t m = 5, ldy = n + 3;
      std::vector<std::vector<float>> w(4, std::vector<float>(static_cast<size_t>(n)));
      for (auto &row : w)
        for (float &v : row) v = val(rng);
      const float *wp[4] = {w[0].data(), w[1].data(), w[2].data(), w[3].data()};
      // Weight row 1 has no entries; rows 1 and 3 of y appear under several.
      std::vector<int32_t> rows = {0, 1, 3, 1, 3, 4, 2};
      std::vector<float> vals = {0.5f, -2.f, 1.f, 3.f, -0.25f, 1.5f, -1.f};
      const int64_t begin[5] = {0, 3, 3, 5, 7};
      std::vector<int64_t> starts(begin, begin + nw + 1);
      std::vector<float> y0(static_cast<size_t>(m * ldy));
      for (float &v : y0) v = val(rng);
      for (int64_t n0 : {int64_t{0}, n / 3}) {
        std::vector<float> want = y0;
        for (int i = 0; i < nw; ++i)
          for (int64_t j = begin[i]; j < begin[i + 1]; ++j)
            for (int64_t c = n0; c < n; ++c) {
              float &t = want[size_t(rows[size_t(j)] * ldy + c)];
              t = std::fma(vals[size_t(j)], w[size_t(i)][size_t(c)], t);
            }
        for (const Variant &v : variants()) {
          if (!v.supported) continue;
          std::vector<float> y = y0;
          v.scatter(wp, starts.data(), nw, rows.data(), vals.data(), n0, n, y.data(), ldy);
          EXPECT_EQ(0, std::memcmp(want.data(), y.data(), y.size() * sizeof(float)))
              << v.name << " n=" << n << " nw=" << nw << " n0=" << n0;
        }
      }
    }
  }
}

// A random [m, k] activation of the given density, a [k, n] weight, packed,
// and the activation's active sets.
struct SparseProblem {
  int64_t m, k, n;
  std::vector<float> x, w;
  PackedRows packed;
  std::vector<int32_t> idx;
  std::vector<int64_t> count;

  SparseProblem(std::mt19937 &rng, int64_t m_, int64_t k_, int64_t n_, double density)
      : m(m_), k(k_), n(n_) {
    std::uniform_real_distribution<float> val(-1.f, 1.f);
    for (int64_t r = 0; r < m; ++r) {
      std::vector<float> row = sparse_vector(rng, k, density);
      x.insert(x.end(), row.begin(), row.end());
    }
    w.resize(static_cast<size_t>(k * n));
    for (float &v : w) v = val(rng);
    EXPECT_TRUE(packed.pack(w.data(), k, n, false));
    idx.resize(static_cast<size_t>(m * k));
    count.resize(static_cast<size_t>(m));
    f32_find_active_rows(x.data(), m, k, k, idx.data(), count.data());
  }
  std::vector<float> run(int threads) const {
    std::vector<float> y(static_cast<size_t>(m * n));
    f32_sparse_rows_gemm(x.data(), m, k, ActiveRows{idx.data(), count.data(), k}, packed, nullptr,
                         y.data(), n, threads);
    return y;
  }
};

TEST(SparseRowsGemm, RowGivesTheSameBitsAloneAndInAnyBatch) {
  std::mt19937 rng(seed());
  SparseProblem p(rng, 9, 300, 130, 0.3);
  const int64_t k = p.k, n = p.n, m = p.m;
  const std::vector<float> &x = p.x;
  const PackedRows &packed = p.packed;
  std::vector<int32_t> &idx = p.idx;
  std::vector<int64_t> &count = p.count;
  std::vector<float> batch = p.run(2);
  for (int64_t r = 0; r < m; ++r) {
    std::vector<float> alone(static_cast<size_t>(n));
    f32_sparse_rows_gemm(x.data() + r * k, 1, k,
                         ActiveRows{idx.data() + r * k, &count[size_t(r)], k}, packed, nullptr,
                         alone.data(), n, 1);
    EXPECT_EQ(0, std::memcmp(alone.data(), batch.data() + r * n, size_t(n) * sizeof(float))) << r;
  }
}

TEST(SparseRowsGemm, MatchesDenseReferenceAcrossShapesAndThreads) {
  std::mt19937 rng(seed());
  std::uniform_real_distribution<float> val(-1.f, 1.f);
  for (int64_t m : {1, 2, 7, 65}) {
    for (int64_t k : {1, 17, 64}) {
      for (int64_t n : {1, 17, 300}) {
        for (double density : {0.0, 0.1, 0.5, 1.0}) {
          std::vector<float> x;
          for (int64_t r = 0; r < m; ++r) {
            // Row 0 is all zeros whenever m > 1: its output must be the bias.
            std::vector<float> row = sparse_vector(rng, k, (r == 0 && m > 1) ? 0.0 : density);
            x.insert(x.end(), row.begin(), row.end());
          }
          std::vector<float> w(static_cast<size_t>(k * n));
          for (float &v : w) v = val(rng);
          std::vector<float> bias(static_cast<size_t>(n));
          for (float &v : bias) v = val(rng);
          PackedRows packed;
          ASSERT_TRUE(packed.pack(w.data(), k, n, false));
          std::vector<int32_t> idx(static_cast<size_t>(m * k));
          std::vector<int64_t> count(static_cast<size_t>(m));
          f32_find_active_rows(x.data(), m, k, k, idx.data(), count.data());
          std::vector<double> want = dense_reference(x, m, k, w, n, bias);
          for (int threads : {1, 2}) {
            std::vector<float> y(static_cast<size_t>(m * n), NAN);
            f32_sparse_rows_gemm(x.data(), m, k, ActiveRows{idx.data(), count.data(), k}, packed,
                                 bias.data(), y.data(), n, threads);
            expect_close(y, want, double(k),
                         "m=" + std::to_string(m) + " k=" + std::to_string(k) +
                             " n=" + std::to_string(n) + " threads=" + std::to_string(threads));
          }
        }
      }
    }
  }
}

// Regression: large enough that two threads split the columns of a batch;
// the workers once read their own empty per-thread column lists.
TEST(SparseRowsGemm, BatchSplitAcrossThreadsMatchesOneThread) {
  std::mt19937 rng(seed());
  SparseProblem p(rng, 3, 2048, 1000, 0.5);
  std::vector<float> one = p.run(1), two = p.run(2);
  EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float)));
  expect_close(one, dense_reference(p.x, p.m, p.k, p.w, p.n, {}), double(p.k), "one thread");
}

TEST(PackedRows, TransposedSourceAndAlignment) {
  const int64_t k = 3, n = 5;
  std::vector<float> wt(static_cast<size_t>(n * k));  // [N, K] as Gemm transB=1 stores it
  for (int64_t c = 0; c < n; ++c)
    for (int64_t r = 0; r < k; ++r) wt[size_t(c * k + r)] = float(10 * r + c);
  PackedRows p;
  ASSERT_TRUE(p.pack(wt.data(), k, n, true));
  EXPECT_EQ(p.ld() % 16, 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p.data()) % 64, 0u);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c) EXPECT_EQ(p.data()[r * p.ld() + c], float(10 * r + c));
}

TEST(SparseRowsGemm, NoBiasAllZeroInputGivesZeros) {
  PackedRows p;
  std::vector<float> w(4 * 20, 3.f);
  ASSERT_TRUE(p.pack(w.data(), 4, 20, false));
  std::vector<float> x(4, 0.f);
  std::vector<int32_t> idx(4);
  std::vector<int64_t> count(1);
  EXPECT_EQ(f32_find_active_rows(x.data(), 1, 4, 4, idx.data(), count.data()), 0);
  std::vector<float> y(20, 7.f);
  f32_sparse_rows_gemm(x.data(), 1, 4, ActiveRows{idx.data(), count.data(), 4}, p, nullptr,
                       y.data(), 20, 2);
  for (float v : y) EXPECT_EQ(v, 0.f);
}

}  // namespace
}  // namespace si
