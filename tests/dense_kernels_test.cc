// The vectorised Softmax, GELU and LayerNorm and oneDNN's run-time MatMul against
// kernels/ref: every ISA variant this CPU runs.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/dense/dnnl_batch_matmul.h"
#include "kernels/ref/gelu.h"
#include "kernels/ref/layernorm.h"
#include "kernels/ref/softmax.h"
#include "kernels/vec/gelu.h"
#include "kernels/vec/layernorm.h"
#include "kernels/vec/softmax.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// ------------------------------------------------------------------ softmax

// Every variant this CPU runs, then the dispatched one.
std::vector<SoftmaxKernels> softmax_variants() {
  std::vector<SoftmaxKernels> v;
  const CpuFeatures &cpu = cpu_features();
  if (cpu.avx2 && cpu.fma)
    v.push_back({f32_softmax_rows__avx2, f32_log_softmax_rows__avx2, "avx2"});
  v.push_back(softmax_kernels());
  return v;
}

void ref_softmax(bool log, const std::vector<float> &x, std::vector<float> *y, int64_t rows,
                 int64_t n) {
  if (log) {
    ref::log_softmax_f32(x.data(), y->data(), rows, n, 1, 1);
  } else {
    ref::softmax_f32(x.data(), y->data(), rows, n, 1, 1);
  }
}

TEST(VecSoftmax, MatchesReference) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  static const int64_t kDims[] = {1, 2, 3, 7, 8, 9, 16, 17, 33, 128, 130, 1000};
  for (const SoftmaxKernels &k : softmax_variants()) {
    for (int it = 0; it < 120; ++it) {
      const int64_t rows = it == 0 ? 0 : kDims[rng() % 12], n = kDims[rng() % 12];
      const int threads = 1 + it % 2;
      const bool log = it % 2 == 1;
      SCOPED_TRACE(std::string(k.isa) + (log ? " log" : "") + " rows " + std::to_string(rows) +
                   " n " + std::to_string(n) + " threads " + std::to_string(threads));
      // Large magnitudes check the max subtraction: exp(1000) overflows.
      const float scale = it % 4 == 0 ? 1000.f : 8.f;
      std::vector<float> x = random_floats(rng, rows * n, -scale, scale);
      // Attention masks: -inf entries (never a whole row here), huge negatives.
      if (it % 3 == 0 && n > 1)
        for (int64_t r = 0; r < rows; ++r)
          x[size_t(r * n + int64_t(rng() % uint32_t(n - 1)) + 1)] = -kInf;
      if (it % 5 == 0 && rows > 0) x[size_t(rng() % uint32_t(rows * n))] = -3.4e38f;
      std::vector<float> y(x.size() + 8, 7.f), want(x.size()), again(x.size() + 8);
      f32_softmax_rows(k, log, x.data(), y.data(), rows, n, threads);
      f32_softmax_rows(k, log, x.data(), again.data(), rows, n, 3 - threads);
      ref_softmax(log, x, &want, rows, n);
      for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_TRUE(same_bits(y[i], again[i])) << "differs with the thread count at " << i;
        if (std::isinf(want[i])) {
          ASSERT_EQ(y[i], want[i]) << "at " << i;
        } else {
          ASSERT_NEAR(y[i], want[i], 1e-9 + 1.5e-6 * std::fabs(want[i])) << "at " << i;
        }
      }
      for (size_t i = x.size(); i < y.size(); ++i) ASSERT_EQ(y[i], 7.f) << "wrote past the end";
    }
  }
}

// Rows the reference turns into NaN (a NaN or +inf anywhere, only -inf)
// come out as the reference's; their neighbours are untouched.
TEST(VecSoftmax, NonFiniteRowsAsReference) {
  for (const SoftmaxKernels &k : softmax_variants()) {
    for (int64_t n : {1, 5, 8, 33}) {
      for (bool log : {false, true}) {
        SCOPED_TRACE(std::string(k.isa) + (log ? " log" : "") + " n " + std::to_string(n));
        const int64_t rows = 6;
        std::vector<float> x(size_t(rows * n));
        for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 7) - 3.f;
        x[size_t(1 * n + n / 2)] = kNaN;
        x[size_t(2 * n)] = kInf;
        for (int64_t j = 0; j < n; ++j) x[size_t(3 * n + j)] = -kInf;
        x[size_t(4 * n + n - 1)] = -kInf;  // a masked entry in a finite row (all -inf when n = 1)
        std::vector<float> y(x.size()), want(x.size());
        f32_softmax_rows(k, log, x.data(), y.data(), rows, n, 1);
        ref_softmax(log, x, &want, rows, n);
        for (int64_t r = 1; r <= 3; ++r)
          for (int64_t j = 0; j < n; ++j)
            ASSERT_TRUE(std::isnan(y[size_t(r * n + j)])) << r << "," << j;
        for (size_t i = 0; i < x.size(); ++i) {
          if (std::isnan(want[i]) || std::isinf(want[i])) {
            ASSERT_TRUE(same_bits(y[i], want[i]) || (std::isnan(y[i]) && std::isnan(want[i])))
                << "at " << i << ": " << y[i] << " vs " << want[i];
          } else {
            ASSERT_NEAR(y[i], want[i], 1e-9 + 1.5e-6 * std::fabs(want[i])) << "at " << i;
          }
        }
      }
    }
  }
}

// ------------------------------------------------------------------ GELU

// Every variant this CPU runs, then the dispatched one through f32_gelu.
std::vector<GeluKernels> gelu_variants() {
  std::vector<GeluKernels> v;
  const CpuFeatures &cpu = cpu_features();
  if (cpu.avx2 && cpu.fma) v.push_back({f32_gelu_erf__avx2, f32_gelu_tanh__avx2, "avx2"});
  v.push_back(gelu_kernels());
  return v;
}

TEST(VecGelu, MatchesReference) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  static const int64_t kSizes[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 1000, 40001};
  for (const GeluKernels &k : gelu_variants()) {
    for (int64_t n : kSizes) {
      for (bool tanh_form : {false, true}) {
        SCOPED_TRACE(std::string(k.isa) + (tanh_form ? " tanh" : " erf") + " n " +
                     std::to_string(n));
        // Past both cut-offs and clamps (erf at |x| = 5.66, tanh at 5.15).
        std::vector<float> x = random_floats(rng, n, -12.f, 12.f);
        const float specials[] = {0.f,     -0.f,          kNaN,          kInf,    -kInf,   1e-40f,
                                  -1e-40f, -5.656854249f, -5.154859723f, 3.4e38f, -3.4e38f};
        for (size_t i = 0; i < x.size() && i < 11; ++i) x[i * 5 % x.size()] = specials[i];
        // Guard words: a tail must not write past n.
        std::vector<float> y(size_t(n) + 8, 7.f), want(static_cast<size_t>(n));
        for (int threads : {1, 2}) {
          f32_gelu(k, tanh_form, x.data(), y.data(), n, threads);
          if (tanh_form) {
            ref::gelu_tanh_f32(x.data(), want.data(), n, 1);
          } else {
            ref::gelu_f32(x.data(), want.data(), n, 1);
          }
          for (size_t i = 0; i < want.size(); ++i) {
            if (std::isnan(want[i])) {
              ASSERT_TRUE(std::isnan(y[i])) << "x " << x[i];
            } else if (want[i] == 0.f || std::isinf(want[i])) {
              ASSERT_TRUE(same_bits(y[i], want[i])) << "x " << x[i] << ": " << y[i];
            } else {
              ASSERT_NEAR(y[i], want[i], 1e-6 * std::fabs(want[i]) + 1e-12) << "x " << x[i];
            }
          }
          for (size_t i = want.size(); i < y.size(); ++i) ASSERT_EQ(y[i], 7.f) << "wrote past n";
        }
      }
    }
  }
}

// In place (the session may hand the input's buffer as the output).
TEST(VecGelu, InPlace) {
  std::vector<float> x = {-3.f, -1.f, -0.5f, 0.f, 0.5f, 1.f, 3.f, 9.f, 2.5f};
  std::vector<float> y = x, want(x.size());
  f32_gelu(gelu_kernels(), false, y.data(), y.data(), int64_t(y.size()), 1);
  ref::gelu_f32(x.data(), want.data(), int64_t(x.size()), 1);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-6 * std::fabs(want[i]));
}

// ------------------------------------------------------------------ LayerNorm

TEST(VecLayerNorm, MatchesReference) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  std::vector<LayerNormKernels> variants;
  const CpuFeatures &cpu = cpu_features();
  if (cpu.avx2 && cpu.fma) variants.push_back({f32_layernorm__avx2, "avx2"});
  variants.push_back(layernorm_kernels());
  static const int64_t kRows[] = {0, 1, 2, 5, 64, 300};
  static const int64_t kCols[] = {0, 1, 2, 7, 8, 9, 17, 256, 769, 1024};
  for (const LayerNormKernels &k : variants) {
    for (int it = 0; it < 120; ++it) {
      const int64_t rows = kRows[rng() % 6], cols = kCols[rng() % 10];
      const bool with_bias = it % 2 == 0, with_stats = it % 3 != 0;
      const int threads = 1 + it % 2;
      SCOPED_TRACE(std::string(k.isa) + " rows " + std::to_string(rows) + " cols " +
                   std::to_string(cols) + " threads " + std::to_string(threads));
      // A large common offset checks the two-pass variance.
      const float offset = it % 4 == 0 ? 1e4f : 0.f;
      std::vector<float> x = random_floats(rng, rows * cols);
      for (float &v : x) v += offset;
      if (it % 7 == 0 && !x.empty()) std::fill(x.begin(), x.begin() + cols, 0.f);  // zero row
      if (it % 11 == 0 && !x.empty()) x[x.size() / 2] = kNaN;
      std::vector<float> scale = random_floats(rng, cols), bias = random_floats(rng, cols);
      const size_t nr = static_cast<size_t>(rows);
      std::vector<float> y(x.size() + 8, 7.f), want(x.size()), mean(nr), inv(nr), wmean(nr),
          winv(nr);
      const float eps = 1e-5f;
      f32_layernorm(k, x.data(), scale.data(), with_bias ? bias.data() : nullptr, y.data(),
                    with_stats ? mean.data() : nullptr, with_stats ? inv.data() : nullptr, rows,
                    cols, eps, threads);
      ref::layernorm_f32(x.data(), scale.data(), with_bias ? bias.data() : nullptr, want.data(),
                         wmean.data(), winv.data(), rows, cols, eps, 1);
      auto near = [](float got, float ref, double tol) {
        if (std::isnan(ref)) return std::isnan(got);
        return std::fabs(double(got) - double(ref)) <= tol;
      };
      for (size_t r = 0; with_stats && r < nr; ++r) {
        ASSERT_TRUE(near(mean[r], wmean[r], 1e-6 * std::fabs(wmean[r]) + 1e-7)) << "mean " << r;
        ASSERT_TRUE(near(inv[r], winv[r], 1e-6 * std::fabs(winv[r]))) << "inv_std " << r;
      }
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_TRUE(near(y[i], want[i], 1e-6 * (1.0 + std::fabs(want[i]))))
            << "at " << i << ": " << y[i] << " vs " << want[i];
      for (size_t i = want.size(); i < y.size(); ++i) ASSERT_EQ(y[i], 7.f) << "wrote past the end";
    }
  }
}

// ------------------------------------------------------------------ batched matmul

// c = a b with numpy broadcasting of the batch dims, in double.
std::vector<double> naive_batch_matmul(const std::vector<int64_t> &ad,
                                       const std::vector<int64_t> &bd, const std::vector<float> &a,
                                       const std::vector<float> &b) {
  const size_t r = ad.size();
  const int64_t m = ad[r - 2], k = ad[r - 1], n = bd[r - 1];
  std::vector<int64_t> cd(r - 2);
  int64_t batch = 1;
  for (size_t i = 0; i + 2 < r; ++i) batch *= cd[i] = std::max(ad[i], bd[i]);
  std::vector<double> c(size_t(batch * m * n));
  for (int64_t t = 0; t < batch; ++t) {
    int64_t rest = t, oa = 0, ob = 0, sa = m * k, sb = k * n;
    for (size_t i = r - 2; i-- > 0;) {
      const int64_t idx = rest % cd[i];
      rest /= cd[i];
      if (ad[i] != 1) oa += idx * sa;
      if (bd[i] != 1) ob += idx * sb;
      sa *= ad[i];
      sb *= bd[i];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += double(a[size_t(oa + i * k + p)]) * double(b[size_t(ob + p * n + j)]);
        c[size_t((t * m + i) * n + j)] = acc;
      }
  }
  return c;
}

TEST(DnnlBatchMatmul, MatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  static const int64_t kDims[] = {1, 2, 3, 7, 16, 17, 33, 64, 65};
  int ran = 0;
  for (int it = 0; it < 150; ++it) {
    const size_t rank = 2 + size_t(rng() % 3);
    std::vector<int64_t> ad(rank), bd(rank);
    for (size_t i = 0; i + 2 < rank; ++i) {
      const int64_t d = 1 + int64_t(rng() % 4);
      const int kind = int(rng() % 3);  // both, a broadcast, b broadcast
      ad[i] = kind == 1 ? 1 : d;
      bd[i] = kind == 2 ? 1 : d;
    }
    const int64_t m = kDims[rng() % 9], k = kDims[rng() % 9], n = kDims[rng() % 9];
    ad[rank - 2] = m;
    ad[rank - 1] = k;
    bd[rank - 2] = k;
    bd[rank - 1] = n;
    const int threads = 1 + it % 2;
    std::string shapes = "a [";
    for (int64_t d : ad) shapes += std::to_string(d) + ",";
    shapes += "] b [";
    for (int64_t d : bd) shapes += std::to_string(d) + ",";
    SCOPED_TRACE(shapes + "] threads " + std::to_string(threads));
    std::vector<float> a = random_floats(rng, count(ad)), b = random_floats(rng, count(bd));
    if (it % 7 == 0) a[0] = kNaN;
    omp_set_num_threads(threads);
    DnnlBatchMatmul mm;
    if (!mm.fast_for(ad, bd)) continue;  // the op keeps the reference then
    ++ran;
    const std::vector<double> want = naive_batch_matmul(ad, bd, a, b);
    std::vector<float> c(want.size(), 7.f), again(want.size());
    std::string error;
    ASSERT_TRUE(mm.run(ad, bd, a.data(), b.data(), c.data(), &error)) << error;
    ASSERT_TRUE(mm.run(ad, bd, a.data(), b.data(), again.data(), &error)) << error;
    for (size_t i = 0; i < c.size(); ++i) {
      ASSERT_TRUE(same_bits(c[i], again[i])) << "not deterministic at " << i;
      if (std::isnan(want[i])) {
        ASSERT_TRUE(std::isnan(c[i])) << "at " << i;
      } else {
        ASSERT_NEAR(c[i], want[i], 1e-5 * (1.0 + std::sqrt(double(k)))) << "at " << i;
      }
    }
  }
  omp_set_num_threads(1);
  // oneDNN 2.6 takes every plain shape, broadcasts on either side included.
  EXPECT_EQ(ran, 150);
}

}  // namespace
}  // namespace si::test
