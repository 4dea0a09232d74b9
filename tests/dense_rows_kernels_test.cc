// The dense kernels over the row layout (kernels/dense/rows_gemm.h) against
// naive references, per ISA variant (a variant the CPU lacks is skipped):
// odd sizes, size-1 dims, empty K, all-zero rows, sub-ranges of columns, and
// the promises the header makes: bit-identical variants, the same bits for a
// row alone or in any batch and on any thread count, and the gather kernel's
// bits over every row. Also the GEMM over column panels
// (kernels/dense/panel_gemm.h), per tile variant, against the same order.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/dense/panel_gemm.h"
#include "kernels/dense/rows_gemm.h"
#include "kernels/sparse/sparse_matmul.h"

namespace si {
namespace {

// Replayable: the seed comes from --gtest_random_seed (0 picks a fixed one).
uint32_t seed() {
  const int s = ::testing::UnitTest::GetInstance()->random_seed();
  return s == 0 ? 777u : static_cast<uint32_t>(s);
}

#define SI_SEED_TRACE() SCOPED_TRACE("replay with --gtest_random_seed=" + std::to_string(seed()))

struct Variant {
  const char *name;
  RowsGemvFn gemv;
  RowsTileFn tile;
  PanelsGemvFn panels_gemv;
  bool supported;
  DenseRowsKernels kernels() const { return {gemv, tile, panels_gemv, name}; }
};

Variant variant(const std::string &name) {
  const CpuFeatures &cpu = cpu_features();
  if (name == "avx2")
    return {"avx2", f32_rows_gemv__avx2, f32_rows_tile__avx2, f32_panels_gemv__avx2,
            cpu.avx2 && cpu.fma};
  if (name == "avx512")
    return {"avx512", f32_rows_gemv__avx512, f32_rows_tile__avx512, f32_panels_gemv__avx512,
            cpu.avx512f};
  return {"scalar", f32_rows_gemv__scalar, f32_rows_tile__scalar, f32_panels_gemv__scalar, true};
}

// Values in [-2, 2], a share of them exact zeros (of either sign).
std::vector<float> values(std::mt19937 &rng, size_t n, double zeros = 0.0) {
  std::uniform_real_distribution<float> val(-2.f, 2.f);
  std::bernoulli_distribution zero(zeros);
  std::vector<float> v(n);
  for (float &x : v) x = zero(rng) ? (rng() % 2 ? 0.f : -0.f) : val(rng);
  return v;
}

// The order the kernels promise: per output, from its starting value, one
// fused multiply-add per k in ascending k.
void naive_fma(const float *x, int64_t ldx, int64_t m, int64_t k, const float *w, int64_t ldw,
               int64_t n0, int64_t n1, float *y, int64_t ldy) {
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = n0; c < n1; ++c) {
      float acc = y[r * ldy + c];
      for (int64_t j = 0; j < k; ++j) acc = std::fma(x[r * ldx + j], w[j * ldw + c], acc);
      y[r * ldy + c] = acc;
    }
}

bool same_bits(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Each of the m rows of y (n floats each) has `row`'s bits.
bool every_row_is(const std::vector<float> &y, int64_t m, int64_t n,
                  const std::vector<float> &row) {
  for (int64_t r = 0; r < m; ++r)
    if (!same_bits(std::vector<float>(y.begin() + r * n, y.begin() + (r + 1) * n), row))
      return false;
  return y.size() == size_t(m * n);
}

class DenseRowsVariant : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    v_ = variant(GetParam());
    if (!v_.supported) GTEST_SKIP() << GetParam() << " not supported by this CPU";
  }
  Variant v_{};
};

TEST_P(DenseRowsVariant, GemvMatchesNaiveBitForBitOnSubRanges) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  for (int64_t mr = 1; mr <= kRowsGemvMaxRows; ++mr) {
    for (int64_t k : {0, 1, 3, 4, 5, 17, 64}) {
      for (auto [n0, n1] :
           {std::pair<int64_t, int64_t>{0, 1}, {0, 8}, {3, 20}, {5, 71}, {16, 48}}) {
        SCOPED_TRACE("mr=" + std::to_string(mr) + " k=" + std::to_string(k) +
                     " n0=" + std::to_string(n0) + " n1=" + std::to_string(n1));
        const int64_t ldx = k + 3, ldw = n1 + 5, ldy = n1 + 2;
        // Row 0 of x all zeros when mr > 1: an all-zero row gives its start.
        std::vector<float> x = values(rng, size_t(mr * ldx), 0.3);
        if (mr > 1) std::fill(x.begin(), x.begin() + ldx, 0.f);
        const std::vector<float> w = values(rng, size_t(std::max<int64_t>(k, 1) * ldw));
        std::vector<float> y = values(rng, size_t(mr * ldy)), want = y;
        v_.gemv(x.data(), ldx, mr, k, w.data(), ldw, n0, n1, y.data(), ldy);
        naive_fma(x.data(), ldx, mr, k, w.data(), ldw, n0, n1, want.data(), ldy);
        ASSERT_TRUE(same_bits(y, want));  // columns outside [n0, n1) untouched too
      }
    }
  }
}

TEST_P(DenseRowsVariant, TileMatchesNaiveBitForBit) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  for (int mr = 1; mr <= kRowsTileM; ++mr) {
    for (int64_t kc : {0, 1, 2, 7, 256}) {
      SCOPED_TRACE("mr=" + std::to_string(mr) + " kc=" + std::to_string(kc));
      const int64_t ldx = kc + 1, ldw = kRowsTileN + 16, ldy = kRowsTileN + 3;
      const std::vector<float> x = values(rng, size_t(mr * ldx), 0.3);
      const std::vector<float> w = values(rng, size_t(std::max<int64_t>(kc, 1) * ldw));
      std::vector<float> y = values(rng, size_t(mr * ldy)), want = y;
      v_.tile(x.data(), ldx, mr, kc, w.data(), ldw, y.data(), ldy);
      naive_fma(x.data(), ldx, mr, kc, w.data(), ldw, 0, kRowsTileN, want.data(), ldy);
      ASSERT_TRUE(same_bits(y, want));
    }
  }
}

// np panels (some not a multiple of the kernel's panels at once), 1-4 rows,
// a panel stride past the panel: bit for bit the naive order, y past the
// panels untouched.
TEST_P(DenseRowsVariant, PanelsGemvMatchesNaiveBitForBit) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  for (int mr = 1; mr <= kRowsGemvMaxRows; ++mr) {
    for (int64_t kc : {0, 1, 2, 7, 256}) {
      for (int64_t np : {0, 1, 2, 3, 4, 5, 7, 9}) {
        SCOPED_TRACE("mr=" + std::to_string(mr) + " kc=" + std::to_string(kc) +
                     " np=" + std::to_string(np));
        const int64_t ldx = kc + 1, stride = kc * kRowsTileN + 32, ldy = np * kRowsTileN + 5;
        const std::vector<float> x = values(rng, size_t(mr * ldx), 0.3);
        const std::vector<float> w = values(rng, size_t(std::max<int64_t>(np, 1) * stride));
        std::vector<float> y = values(rng, size_t(mr * ldy)), want = y;
        v_.panels_gemv(x.data(), ldx, mr, kc, w.data(), stride, np, y.data(), ldy);
        for (int64_t q = 0; q < np; ++q)
          naive_fma(x.data(), ldx, mr, kc, w.data() + q * stride, kRowsTileN, 0, kRowsTileN,
                    want.data() + q * kRowsTileN, ldy);
        ASSERT_TRUE(same_bits(y, want));
      }
    }
  }
}

// y = bias (or 0) + x·(alpha·W) in the promised order, W [k, n] row-major.
std::vector<float> naive_gemm(const std::vector<float> &x, int64_t m, int64_t k, int64_t n,
                              const std::vector<float> &w, float alpha, const float *bias) {
  std::vector<float> scaled = w, y(size_t(m * n));
  for (float &v : scaled) v *= alpha;
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) y[size_t(r * n + c)] = bias ? bias[c] : 0.f;
  naive_fma(x.data(), k, m, k, scaled.data(), n, 0, n, y.data(), n);
  return y;
}

std::vector<float> run_panels(const std::vector<float> &x, int64_t m, int64_t k,
                              const PackedPanels &w, const float *bias, int threads,
                              const DenseRowsKernels *kernels) {
  const int64_t n = w.cols();
  std::vector<float> y(size_t(m * n), -7.f);  // every output must be written
  f32_dense_panels_gemm(x.data(), m, k, w, bias, y.data(), n, threads, kernels);
  return y;
}

// Odd sizes around the panel width (16) and the k block (256), tile heights
// 1-6 and their remainders, transposed sources, alpha, all-zero rows, with
// and without bias, on 1-3 threads: bit for bit the naive order.
TEST_P(DenseRowsVariant, PanelGemmMatchesNaiveBitForBit) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  for (int64_t k : {0, 1, 17, 255, 256, 257, 600}) {
    for (int64_t n : {1, 15, 16, 17, 33, 100}) {
      const std::vector<float> wv = values(rng, size_t(k * n), 0.1);
      std::vector<float> wt(wv.size());  // [n, k]
      for (int64_t j = 0; j < k; ++j)
        for (int64_t c = 0; c < n; ++c) wt[size_t(c * k + j)] = wv[size_t(j * n + c)];
      const std::vector<float> bias = values(rng, size_t(n));
      for (bool transposed : {false, true}) {
        const float alpha = transposed ? 0.5f : 1.f;
        PackedPanels w;
        ASSERT_TRUE(w.pack(transposed ? wt.data() : wv.data(), k, n, transposed, alpha));
        ASSERT_GE(w.size_bytes(), size_t(w.panels() * k * PackedPanels::kWidth) * sizeof(float));
        for (int64_t m : {1, 2, 5, 6, 7, 12, 13, 33}) {
          SCOPED_TRACE("m=" + std::to_string(m) + " k=" + std::to_string(k) +
                       " n=" + std::to_string(n) + " transposed=" + std::to_string(transposed));
          std::vector<float> x = values(rng, size_t(m * k), 0.3);
          if (m > 2) std::fill(x.begin() + k, x.begin() + 2 * k, 0.f);  // an all-zero row
          const float *b = (m + n) % 2 == 0 ? bias.data() : nullptr;
          const DenseRowsKernels kern = v_.kernels();
          const std::vector<float> y = run_panels(x, m, k, w, b, 1, &kern);
          ASSERT_TRUE(same_bits(y, naive_gemm(x, m, k, n, wv, alpha, b)));
          for (int threads : {2, 3})
            ASSERT_TRUE(same_bits(run_panels(x, m, k, w, b, threads, &kern), y));
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, DenseRowsVariant, ::testing::Values("scalar", "avx2", "avx512"),
                         [](const ::testing::TestParamInfo<std::string> &i) { return i.param; });

// The dispatched driver: y = bias + x·W, against the naive order (bit for
// bit) and a double-precision sum (within float tolerance).
std::vector<float> run_gemm(const std::vector<float> &x, int64_t m, int64_t k, const PackedRows &w,
                            const float *bias, int threads, bool tiled) {
  const int64_t n = w.cols();
  std::vector<float> y(size_t(m * n), -7.f);  // every output must be written
  if (tiled) {
    f32_dense_rows_gemm_tiled(x.data(), m, k, w, bias, y.data(), n, threads);
  } else {
    f32_dense_rows_gemm(x.data(), m, k, w, bias, y.data(), n, threads);
  }
  return y;
}

TEST(DenseRowsGemm, MatchesReferencesAcrossShapesBatchesAndThreads) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  for (int64_t k : {0, 1, 17, 300}) {
    for (int64_t n : {1, 15, 16, 17, 100, 1000}) {
      const std::vector<float> wv = values(rng, size_t(k * n));
      PackedRows w;
      ASSERT_TRUE(w.pack(wv.data(), k, n, false));
      const std::vector<float> bias = values(rng, size_t(n));
      for (int64_t m : {1, 2, 3, 4, 5, 7, 8, 13, 33}) {
        SCOPED_TRACE("m=" + std::to_string(m) + " k=" + std::to_string(k) +
                     " n=" + std::to_string(n));
        std::vector<float> x = values(rng, size_t(m * k), 0.5);
        if (m > 2) std::fill(x.begin() + k, x.begin() + 2 * k, 0.f);  // an all-zero row
        const bool with_bias = (m + n) % 2 == 0;
        const float *b = with_bias ? bias.data() : nullptr;
        const std::vector<float> y = run_gemm(x, m, k, w, b, 1, false);
        std::vector<float> want(size_t(m * n));
        for (int64_t r = 0; r < m; ++r)
          for (int64_t c = 0; c < n; ++c) want[size_t(r * n + c)] = b ? b[c] : 0.f;
        naive_fma(x.data(), k, m, k, wv.data(), n, 0, n, want.data(), n);
        ASSERT_TRUE(same_bits(y, want));
        for (int64_t r = 0; r < m; ++r)
          for (int64_t c = 0; c < n; ++c) {
            double sum = b ? b[c] : 0.0, mag = std::fabs(sum);
            for (int64_t j = 0; j < k; ++j) {
              sum += double(x[size_t(r * k + j)]) * double(wv[size_t(j * n + c)]);
              mag += std::fabs(double(x[size_t(r * k + j)]) * double(wv[size_t(j * n + c)]));
            }
            ASSERT_NEAR(y[size_t(r * n + c)], sum, 1e-5 * mag + 1e-6) << r << "," << c;
          }
        for (int threads : {2, 3})
          ASSERT_TRUE(same_bits(run_gemm(x, m, k, w, b, threads, false), y));
        ASSERT_TRUE(same_bits(run_gemm(x, m, k, w, b, 1, true), y));
      }
    }
  }
}

// A row gives the same bits alone, in a streamed batch and in a tiled one,
// through the rows or the panels, and the same as the gather kernel over all
// of its rows.
TEST(DenseRowsGemm, RowAloneInAnyBatchAndGatheredAgree) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  const int64_t k = 129, n = 77, m = 11;
  const std::vector<float> wv = values(rng, size_t(k * n)), bias = values(rng, size_t(n));
  PackedRows w;
  PackedPanels wp;
  ASSERT_TRUE(w.pack(wv.data(), k, n, false) && wp.pack(wv.data(), k, n, false));
  const std::vector<float> x = values(rng, size_t(m * k));  // no exact zeros
  const std::vector<float> batch = run_gemm(x, m, k, w, bias.data(), 2, false);
  EXPECT_TRUE(same_bits(run_panels(x, m, k, wp, bias.data(), 2, nullptr), batch));
  std::vector<int32_t> all(static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j) all[size_t(j)] = int32_t(j);
  for (int64_t r = 0; r < m; ++r) {
    const std::vector<float> row(x.begin() + r * k, x.begin() + (r + 1) * k);
    const std::vector<float> alone = run_gemm(row, 1, k, w, bias.data(), 1, false);
    const std::vector<float> in_batch(batch.begin() + r * n, batch.begin() + (r + 1) * n);
    EXPECT_TRUE(same_bits(alone, in_batch)) << r;
    EXPECT_TRUE(same_bits(run_panels(row, 1, k, wp, bias.data(), 1, nullptr), alone)) << r;
    const int64_t count = k;
    std::vector<float> gathered(static_cast<size_t>(n));
    f32_sparse_rows_gemm(row.data(), 1, k, ActiveRows{all.data(), &count, k}, w, bias.data(),
                         gathered.data(), n, 1);
    EXPECT_TRUE(same_bits(alone, gathered)) << r;
    for (int64_t m4 = 2; m4 <= kRowsGemvMaxRows && r + m4 <= m; m4 += 2) {
      const std::vector<float> xs(x.begin() + r * k, x.begin() + (r + m4) * k);
      const std::vector<float> ys = run_gemm(xs, m4, k, w, bias.data(), 1, false);
      EXPECT_TRUE(same_bits(std::vector<float>(ys.begin(), ys.begin() + n), alone)) << r;
      const std::vector<float> yp = run_panels(xs, m4, k, wp, bias.data(), 1, nullptr);
      EXPECT_TRUE(same_bits(std::vector<float>(yp.begin(), yp.begin() + n), alone)) << r;
    }
  }
}

// Threads split the panels (1.1 MiB of weights: 2 and 3 threads are worth
// waking) and give the naive order's bits.
TEST(DensePanelGemm, SplitsAcrossThreadsBitForBit) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  const int64_t k = 257, n = 1100, m = 13;
  PackedPanels w;
  const std::vector<float> wv = values(rng, size_t(k * n)), bias = values(rng, size_t(n));
  ASSERT_TRUE(w.pack(wv.data(), k, n, false));
  const std::vector<float> x = values(rng, size_t(m * k), 0.5);
  const std::vector<float> want = naive_gemm(x, m, k, n, wv, 1.f, bias.data());
  for (int threads : {1, 2, 3})
    EXPECT_TRUE(same_bits(run_panels(x, m, k, w, bias.data(), threads, nullptr), want)) << threads;
}

// Both layouts: an empty batch writes nothing, an empty K gives the bias, an
// all-zero input zeros, no columns nothing.
TEST(DenseGemmLayouts, EmptyBatchAndEmptyKAndAllZeroInput) {
  const int64_t k = 40, n = 33;
  std::mt19937 rng(seed());
  const std::vector<float> wv = values(rng, size_t(k * n)), bias = values(rng, size_t(n));
  PackedRows w, empty;
  PackedPanels wp, empty_p, no_cols;
  ASSERT_TRUE(w.pack(wv.data(), k, n, false) && wp.pack(wv.data(), k, n, false));
  ASSERT_TRUE(empty.pack(nullptr, 0, n, false) && empty_p.pack(nullptr, 0, n, false));
  ASSERT_TRUE(no_cols.pack(nullptr, k, 0, false));
  float untouched = 3.f;
  f32_dense_rows_gemm(nullptr, 0, k, w, bias.data(), &untouched, n, 2);
  f32_dense_panels_gemm(nullptr, 0, k, wp, bias.data(), &untouched, n, 2);
  f32_dense_panels_gemm(nullptr, 6, k, no_cols, nullptr, &untouched, 0, 2);
  EXPECT_EQ(untouched, 3.f);
  const std::vector<float> zero_row(size_t(n), 0.f);
  for (int64_t m : {1, 6}) {
    const std::vector<float> no_k(static_cast<size_t>(m)), x0(static_cast<size_t>(m * k));
    EXPECT_TRUE(every_row_is(run_gemm(no_k, m, 0, empty, bias.data(), 2, false), m, n, bias));
    EXPECT_TRUE(every_row_is(run_panels(no_k, m, 0, empty_p, bias.data(), 2, nullptr), m, n, bias));
    EXPECT_TRUE(every_row_is(run_gemm(x0, m, k, w, nullptr, 1, false), m, n, zero_row));
    EXPECT_TRUE(every_row_is(run_panels(x0, m, k, wp, nullptr, 1, nullptr), m, n, zero_row));
  }
}

// The table takes the widest variant dispatch_features() allows.
TEST(DenseRowsDispatch, FollowsSiMaxIsa) {
  EXPECT_STREQ(dense_rows_kernels().isa, dispatch_isa());
}

}  // namespace
}  // namespace si
