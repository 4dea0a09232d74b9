// The oneDNN path of Softmax against kernels/ref.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/dense/dnnl_softmax.h"
#include "kernels/ref/softmax.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// ------------------------------------------------------------------ softmax

TEST(DnnlSoftmax, MatchesReference) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  static const int64_t kDims[] = {1, 2, 3, 7, 8, 9, 16, 17, 33, 128, 130, 1000};
  for (int it = 0; it < 120; ++it) {
    const int64_t rows = kDims[rng() % 12], n = kDims[rng() % 12];
    const int threads = 1 + it % 2;
    SCOPED_TRACE("rows " + std::to_string(rows) + " n " + std::to_string(n) + " threads " +
                 std::to_string(threads));
    // Large magnitudes check the max subtraction: exp(1000) overflows.
    const float scale = it % 4 == 0 ? 1000.f : 8.f;
    std::vector<float> x = random_floats(rng, rows * n, -scale, scale);
    // Attention masks: -inf entries (never a whole row here), huge negatives.
    if (it % 3 == 0 && n > 1)
      for (int64_t r = 0; r < rows; ++r)
        x[size_t(r * n + int64_t(rng() % uint32_t(n - 1)) + 1)] = -kInf;
    if (it % 5 == 0) x[size_t(rng() % uint32_t(rows * n))] = -3.4e38f;
    omp_set_num_threads(threads);
    DnnlSoftmax sm;
    if (!sm.fast_for(rows, n)) continue;  // the op keeps the reference then
    std::vector<float> y(x.size()), want(x.size()), again(x.size());
    std::string error;
    ASSERT_TRUE(sm.run(x.data(), y.data(), rows, n, threads, &error)) << error;
    ASSERT_TRUE(sm.run(x.data(), again.data(), rows, n, threads, &error)) << error;
    ref::softmax_f32(x.data(), want.data(), rows, n, 1, 1);
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_TRUE(same_bits(y[i], again[i])) << "not deterministic at " << i;
      ASSERT_NEAR(y[i], want[i], 1e-9 + 1.5e-6 * std::fabs(want[i])) << "at " << i;
    }
  }
  omp_set_num_threads(1);
}

// Rows the reference turns into NaN (a NaN or +inf anywhere, only -inf)
// come out as the reference's; their neighbours are untouched.
TEST(DnnlSoftmax, NonFiniteRowsAsReference) {
  for (int64_t n : {1, 5, 8, 33}) {
    SCOPED_TRACE("n " + std::to_string(n));
    const int64_t rows = 6;
    std::vector<float> x(size_t(rows * n));
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 7) - 3.f;
    x[size_t(1 * n + n / 2)] = kNaN;
    x[size_t(2 * n)] = kInf;
    for (int64_t j = 0; j < n; ++j) x[size_t(3 * n + j)] = -kInf;
    x[size_t(4 * n + n - 1)] = -kInf;  // a masked entry in a finite row (all -inf when n = 1)
    DnnlSoftmax sm;
    ASSERT_TRUE(sm.fast_for(rows, n));
    std::vector<float> y(x.size()), want(x.size());
    std::string error;
    ASSERT_TRUE(sm.run(x.data(), y.data(), rows, n, 1, &error)) << error;
    ref::softmax_f32(x.data(), want.data(), rows, n, 1, 1);
    for (int64_t r = 1; r <= 3; ++r)
      for (int64_t j = 0; j < n; ++j)
        ASSERT_TRUE(std::isnan(y[size_t(r * n + j)])) << r << "," << j;
    for (size_t i = 0; i < x.size(); ++i) {
      if (std::isnan(want[i])) {
        ASSERT_TRUE(std::isnan(y[i])) << "at " << i;
      } else {
        ASSERT_NEAR(y[i], want[i], 1e-9 + 1.5e-6 * std::fabs(want[i])) << "at " << i;
      }
    }
  }
}

}  // namespace
}  // namespace si::test
