// Reference kernels (kernels/ref) against plain loops written here.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/ref/activation.h"
#include "kernels/ref/broadcast.h"
#include "kernels/ref/copy.h"
#include "kernels/ref/elementwise.h"
#include "kernels/ref/layernorm.h"
#include "kernels/ref/softmax.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

using ref::BinaryOp;

std::string dims_str(const Shape &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

// A random output shape and two operand shapes broadcasting to it: rank
// mismatch, size-1 dims on either side, and zero dims all occur.
void random_broadcast_case(std::mt19937 &rng, Shape *a, Shape *b, Shape *out, bool allow_zero) {
  static const int64_t kDims[] = {1, 2, 3, 5, 7, 16, 17};
  std::uniform_int_distribution<int> rank_d(0, 4), dim_d(0, 6), coin(0, 3);
  out->assign(size_t(rank_d(rng)), 1);
  for (int64_t &d : *out) d = kDims[dim_d(rng)];
  if (allow_zero && !out->empty() && coin(rng) == 0) (*out)[size_t(coin(rng)) % out->size()] = 0;
  for (Shape *s : {a, b}) {
    size_t r = out->size() - size_t(std::uniform_int_distribution<size_t>(0, out->size())(rng));
    s->assign(out->end() - long(r), out->end());
    for (int64_t &d : *s)
      if (coin(rng) == 0) d = 1;
  }
  // The output has the larger operand rank; dims where both operands were
  // set to 1 shrink to 1.
  out->erase(out->begin(), out->end() - long(std::max(a->size(), b->size())));
  for (size_t k = 0; k < out->size(); ++k) {
    size_t o = out->size() - 1 - k;
    int64_t da = k < a->size() ? (*a)[a->size() - 1 - k] : 1;
    int64_t db = k < b->size() ? (*b)[b->size() - 1 - k] : 1;
    (*out)[o] = da == 1 ? db : da;
  }
}

template <typename T>
T naive_binary(BinaryOp op, T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case BinaryOp::kAdd:
        return a + b;
      case BinaryOp::kSub:
        return a - b;
      case BinaryOp::kMul:
        return a * b;
      case BinaryOp::kDiv:
        return a / b;
    }
  } else {
    // Exact result in a wider type, then reduced modulo 2^bits.
    __int128 x = a, y = b, r = 0;
    switch (op) {
      case BinaryOp::kAdd:
        r = x + y;
        break;
      case BinaryOp::kSub:
        r = x - y;
        break;
      case BinaryOp::kMul:
        r = x * y;
        break;
      case BinaryOp::kDiv:
        r = x / y;
        break;  // C++ division truncates toward zero
    }
    using U = std::make_unsigned_t<T>;
    return T(U((unsigned __int128)r & (unsigned __int128)std::numeric_limits<U>::max()));
  }
  return T();
}

template <typename T>
void run_binary(BinaryOp op, const ref::BroadcastPlan &p, const T *a, const T *b, T *y, int th) {
  if constexpr (std::is_same_v<T, float>) ref::binary_f32(op, p, a, b, y, th);
  if constexpr (std::is_same_v<T, int32_t>) ref::binary_i32(op, p, a, b, y, th);
  if constexpr (std::is_same_v<T, int64_t>) ref::binary_i64(op, p, a, b, y, th);
  if constexpr (std::is_same_v<T, uint8_t>) ref::binary_u8(op, p, a, b, y, th);
}

template <typename T>
std::vector<T> random_values(std::mt19937 &rng, int64_t n, bool nonzero) {
  std::vector<T> v(static_cast<size_t>(n));
  for (T &x : v) {
    if constexpr (std::is_floating_point_v<T>) {
      x = std::uniform_real_distribution<T>(-10, 10)(rng);
    } else {
      // Full range, so wrap-around and min / -1 are exercised.
      x = T(std::uniform_int_distribution<int64_t>(std::numeric_limits<T>::min(),
                                                   std::numeric_limits<T>::max())(rng));
      if (rng() % 4 == 0) x = T(int(rng() % 7) - 3);
      if (nonzero && x == 0) x = 1;
    }
  }
  return v;
}

template <typename T>
void check_binary_random(int iterations) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int it = 0; it < iterations; ++it) {
    Shape a, b, out;
    random_broadcast_case(rng, &a, &b, &out, true);
    for (BinaryOp op : {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kDiv}) {
      SCOPED_TRACE("iteration " + std::to_string(it) + " op " + std::to_string(int(op)) + " A " +
                   dims_str(a) + " B " + dims_str(b));
      std::vector<T> av = random_values<T>(rng, count(a), false);
      std::vector<T> bv = random_values<T>(rng, count(b), op == BinaryOp::kDiv);
      Shape computed;
      ASSERT_TRUE(ref::broadcast_shape(a, b, &computed));
      ASSERT_EQ(computed, out);
      ref::BroadcastPlan plan = ref::make_broadcast_plan(a, b, out);
      std::vector<T> y(size_t(count(out)) + 1, T(42));  // +1: catches overrun
      run_binary<T>(op, plan, av.data(), bv.data(), y.data(), 1 + it % 2);
      for (int64_t i = 0; i < count(out); ++i) {
        T want = naive_binary<T>(op, av[size_t(broadcast_index(out, a, i))],
                                 bv[size_t(broadcast_index(out, b, i))]);
        if constexpr (std::is_floating_point_v<T>) {
          ASSERT_TRUE(same_float(want, y[size_t(i)])) << "at " << i;
        } else {
          ASSERT_EQ(want, y[size_t(i)]) << "at " << i;
        }
      }
      ASSERT_EQ(y.back(), T(42));
    }
  }
}

TEST(RefBroadcast, BinaryF32RandomShapes) {
  check_binary_random<float>(300);
}
TEST(RefBroadcast, BinaryI32RandomShapes) {
  check_binary_random<int32_t>(200);
}
TEST(RefBroadcast, BinaryI64RandomShapes) {
  check_binary_random<int64_t>(200);
}
TEST(RefBroadcast, BinaryU8RandomShapes) {
  check_binary_random<uint8_t>(100);
}

// Sizes above the parallel threshold, split across two threads at offsets
// that fall inside rows.
TEST(RefBroadcast, LargeShapesThreaded) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const std::vector<std::pair<Shape, Shape>> cases = {{{70001}, {70001}},
                                                      {{70001}, {}},
                                                      {{}, {70001}},
                                                      {{257, 301}, {301}},
                                                      {{257, 301}, {257, 1}},
                                                      {{257, 1}, {1, 301}},
                                                      {{3, 129, 1, 97}, {129, 5, 1}}};
  for (const auto &c : cases) {
    Shape out;
    ASSERT_TRUE(ref::broadcast_shape(c.first, c.second, &out));
    SCOPED_TRACE(dims_str(c.first) + " op " + dims_str(c.second));
    std::vector<float> a = random_floats(rng, count(c.first)),
                       b = random_floats(rng, count(c.second));
    std::vector<float> y(static_cast<size_t>(count(out)));
    ref::binary_f32(BinaryOp::kSub, ref::make_broadcast_plan(c.first, c.second, out), a.data(),
                    b.data(), y.data(), 2);
    for (int64_t i = 0; i < count(out); ++i) {
      ASSERT_EQ(y[size_t(i)], a[size_t(broadcast_index(out, c.first, i))] -
                                  b[size_t(broadcast_index(out, c.second, i))])
          << "at " << i;
    }
  }
}

TEST(RefBroadcast, CommonShapesMergeToFewLoops) {
  EXPECT_EQ(ref::make_broadcast_plan({4, 5, 6}, {4, 5, 6}, {4, 5, 6}).dims, Shape({120}));
  EXPECT_EQ(ref::make_broadcast_plan({4, 5, 6}, {}, {4, 5, 6}).dims, Shape({120}));
  EXPECT_EQ(ref::make_broadcast_plan({4, 5, 6}, {6}, {4, 5, 6}).dims, Shape({20, 6}));
  EXPECT_EQ(ref::make_broadcast_plan({1, 1}, {1}, {1, 1}).numel, 1);
}

TEST(RefBroadcast, IncompatibleShapes) {
  Shape out;
  EXPECT_FALSE(ref::broadcast_shape({2, 3}, {4}, &out));
  EXPECT_FALSE(ref::broadcast_shape({2, 3, 4}, {3, 1, 5}, &out));
  EXPECT_FALSE(ref::broadcast_shape({0}, {2}, &out));
  EXPECT_TRUE(ref::broadcast_shape({0}, {1}, &out));
  EXPECT_EQ(out, Shape({0}));
}

TEST(RefBroadcast, CopyMatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int it = 0; it < 200; ++it) {
    Shape a, b, out;
    random_broadcast_case(rng, &a, &b, &out, true);
    std::vector<float> src = random_floats(rng, count(a));
    std::vector<float> dst(static_cast<size_t>(count(out)));
    ref::broadcast_copy(src.data(), a, dst.data(), out, sizeof(float));
    for (int64_t i = 0; i < count(out); ++i)
      ASSERT_EQ(dst[size_t(i)], src[size_t(broadcast_index(out, a, i))])
          << dims_str(a) << " to " << dims_str(out);
  }
}

TEST(RefAxis, Normalize) {
  int64_t a = -7;
  EXPECT_TRUE(ref::normalize_axis(-1, 3, &a));
  EXPECT_EQ(a, 2);
  EXPECT_TRUE(ref::normalize_axis(0, 1, &a));
  EXPECT_EQ(a, 0);
  EXPECT_FALSE(ref::normalize_axis(3, 3, &a));
  EXPECT_FALSE(ref::normalize_axis(-4, 3, &a));
  EXPECT_FALSE(ref::normalize_axis(0, 0, &a));
}

// ------------------------------------------------------------------ activations

// Random values mixed with the edge cases every activation must survive.
std::vector<float> activation_inputs(std::mt19937 &rng, int64_t n) {
  static const float kSpecial[] = {0.f,
                                   -0.f,
                                   std::numeric_limits<float>::quiet_NaN(),
                                   std::numeric_limits<float>::infinity(),
                                   -std::numeric_limits<float>::infinity(),
                                   std::numeric_limits<float>::denorm_min(),
                                   -std::numeric_limits<float>::denorm_min(),
                                   std::numeric_limits<float>::max(),
                                   std::numeric_limits<float>::lowest(),
                                   1.f,
                                   -1.f,
                                   90.f,
                                   -90.f};
  std::vector<float> v = random_floats(rng, n, -12.f, 12.f);
  for (float &x : v)
    if (rng() % 5 == 0) x = kSpecial[rng() % (sizeof(kSpecial) / sizeof(kSpecial[0]))];
  return v;
}

const int64_t kSizes[] = {0, 1, 3, 17, 64, 1000, 40000};

TEST(RefActivation, ExactOnesMatchNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int64_t n : kSizes) {
    for (int threads : {1, 2}) {
      std::vector<float> x = activation_inputs(rng, n), y(static_cast<size_t>(n));
      auto check = [&](const char *name, auto naive) {
        for (int64_t i = 0; i < n; ++i) {
          float want = naive(x[size_t(i)]);
          ASSERT_TRUE(same_float(want, y[size_t(i)]))
              << name << " x=" << x[size_t(i)] << " got " << y[size_t(i)] << " want " << want;
        }
      };
      ref::relu_f32(x.data(), y.data(), n, threads);
      for (int64_t i = 0; i < n; ++i) {
        float v = x[size_t(i)];
        if (std::isnan(v)) {
          ASSERT_TRUE(std::isnan(y[size_t(i)]));
        } else {
          ASSERT_EQ(y[size_t(i)], v > 0.f ? v : 0.f) << "relu x=" << v;
        }
      }
      ref::leaky_relu_f32(x.data(), y.data(), n, 0.1f, threads);
      check("leaky_relu",
            [](float v) { return std::isnan(v) ? v : (v >= 0.f ? v : 0.1f * v) + 0.f; });
      ref::thresholded_relu_f32(x.data(), y.data(), n, 1.5f, threads);
      check("thresholded_relu", [](float v) { return v > 1.5f ? v : 0.f; });
      ref::clip_f32(x.data(), y.data(), n, -2.f, 3.f, threads);
      check("clip",
            [](float v) { return std::isnan(v) ? v : std::fmin(std::fmax(v, -2.f), 3.f) + 0.f; });
      // min > max: ONNX applies max(x, min) then min(., max), giving max.
      ref::clip_f32(x.data(), y.data(), n, 3.f, -2.f, threads);
      check("clip_inverted", [](float v) { return std::isnan(v) ? v : -2.f; });
    }
  }
}

TEST(RefActivation, ClipIntegers) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  std::vector<int64_t> x(999);
  for (int64_t &v : x) v = int64_t(rng() % 2001) - 1000;
  std::vector<int32_t> x32(x.begin(), x.end()), y32(x.size());
  std::vector<int64_t> y64(x.size());
  std::vector<int8_t> x8(x.size()), y8(x.size());
  std::vector<uint8_t> xu8(x.size()), yu8(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    x8[i] = int8_t(x[i] % 128);
    xu8[i] = uint8_t(x[i] & 255);
  }
  ref::clip_i64(x.data(), y64.data(), int64_t(x.size()), -300, 500, 1);
  ref::clip_i32(x32.data(), y32.data(), int64_t(x.size()), -300, 500, 1);
  ref::clip_i8(x8.data(), y8.data(), int64_t(x.size()), -5, 7, 1);
  ref::clip_u8(xu8.data(), yu8.data(), int64_t(x.size()), 10, 200, 1);
  for (size_t i = 0; i < x.size(); ++i) {
    int64_t want = x[i] < -300 ? -300 : (x[i] > 500 ? 500 : x[i]);
    ASSERT_EQ(y64[i], want);
    ASSERT_EQ(y32[i], want);
    ASSERT_EQ(y8[i], x8[i] < -5 ? -5 : (x8[i] > 7 ? 7 : x8[i]));
    ASSERT_EQ(yu8[i], xu8[i] < 10 ? 10 : (xu8[i] > 200 ? 200 : xu8[i]));
  }
}

TEST(RefActivation, SigmoidTanhAccurate) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int64_t n : kSizes) {
    for (int threads : {1, 2}) {
      std::vector<float> x = activation_inputs(rng, n), y(static_cast<size_t>(n));
      ref::sigmoid_f32(x.data(), y.data(), n, threads);
      for (int64_t i = 0; i < n; ++i) {
        double v = x[size_t(i)], want = 1.0 / (1.0 + std::exp(-v));
        if (std::isnan(v)) {
          ASSERT_TRUE(std::isnan(y[size_t(i)]));
          continue;
        }
        ASSERT_LE(std::fabs(y[size_t(i)] - want), 1e-6 * want + 1e-38) << "sigmoid x=" << v;
      }
      ref::tanh_f32(x.data(), y.data(), n, threads);
      for (int64_t i = 0; i < n; ++i) {
        double v = x[size_t(i)], want = std::tanh(v);
        if (std::isnan(v)) {
          ASSERT_TRUE(std::isnan(y[size_t(i)]));
          continue;
        }
        ASSERT_LE(std::fabs(y[size_t(i)] - want), 1e-6 * std::fabs(want) + 1e-38) << "tanh x=" << v;
      }
    }
  }
}

// ------------------------------------------------------------------ softmax

void naive_softmax(const std::vector<float> &x, std::vector<double> *y, int64_t outer, int64_t n,
                   int64_t inner, bool log) {
  y->assign(x.size(), 0.0);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t i) { return size_t((o * n + i) * inner + j); };
      double mx = -INFINITY, sum = 0.0;
      for (int64_t i = 0; i < n; ++i) mx = std::max(mx, double(x[at(i)]));
      for (int64_t i = 0; i < n; ++i) sum += std::exp(double(x[at(i)]) - mx);
      for (int64_t i = 0; i < n; ++i) {
        double d = double(x[at(i)]) - mx;
        (*y)[at(i)] = log ? d - std::log(sum) : std::exp(d) / sum;
      }
    }
  }
}

TEST(RefSoftmax, MatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  static const int64_t kDims[] = {0, 1, 2, 3, 7, 16, 33, 130};
  for (int it = 0; it < 200; ++it) {
    int64_t outer = kDims[rng() % 8], n = kDims[rng() % 8], inner = kDims[rng() % 8];
    if (it % 3 == 0) inner = 1;
    // Large magnitudes check the max subtraction: exp(1000) overflows.
    float scale = it % 4 == 0 ? 1000.f : 5.f;
    std::vector<float> x = random_floats(rng, outer * n * inner, -scale, scale);
    std::vector<float> y(x.size());
    std::vector<double> want;
    for (bool log : {false, true}) {
      SCOPED_TRACE("outer " + std::to_string(outer) + " n " + std::to_string(n) + " inner " +
                   std::to_string(inner) + (log ? " log" : ""));
      if (log) {
        ref::log_softmax_f32(x.data(), y.data(), outer, n, inner, 1 + it % 2);
      } else {
        ref::softmax_f32(x.data(), y.data(), outer, n, inner, 1 + it % 2);
      }
      naive_softmax(x, &want, outer, n, inner, log);
      for (size_t i = 0; i < x.size(); ++i)
        ASSERT_NEAR(y[i], want[i], 1e-6 + 1e-6 * std::fabs(want[i])) << "at " << i;
    }
  }
}

// ------------------------------------------------------------------ layernorm

TEST(RefLayerNorm, MatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  static const int64_t kRows[] = {0, 1, 2, 5, 64, 300};
  static const int64_t kCols[] = {1, 2, 3, 17, 256, 769};
  for (int it = 0; it < 120; ++it) {
    const int64_t rows = kRows[rng() % 6], cols = kCols[rng() % 6];
    const bool with_bias = it % 2 == 0, with_stats = it % 3 != 0;
    // A large common offset: a one-pass E[x^2] - E[x]^2 in float would
    // cancel catastrophically here.
    const float offset = it % 4 == 0 ? 1e4f : 0.f;
    std::vector<float> x = random_floats(rng, rows * cols);
    for (float &v : x) v += offset;
    if (it % 7 == 0 && !x.empty()) std::fill(x.begin(), x.begin() + cols, 0.f);  // all-zero row
    std::vector<float> scale = random_floats(rng, cols), bias = random_floats(rng, cols);
    std::vector<float> y(x.size()), mean(static_cast<size_t>(rows)), inv(static_cast<size_t>(rows));
    const float eps = 1e-5f;
    ref::layernorm_f32(x.data(), scale.data(), with_bias ? bias.data() : nullptr, y.data(),
                       with_stats ? mean.data() : nullptr, with_stats ? inv.data() : nullptr, rows,
                       cols, eps, 1 + it % 2);
    SCOPED_TRACE("rows " + std::to_string(rows) + " cols " + std::to_string(cols));
    for (int64_t r = 0; r < rows; ++r) {
      double mu = 0, var = 0;
      for (int64_t c = 0; c < cols; ++c) mu += x[size_t(r * cols + c)];
      mu /= double(cols);
      for (int64_t c = 0; c < cols; ++c) var += std::pow(x[size_t(r * cols + c)] - mu, 2);
      var /= double(cols);
      const double istd = 1.0 / std::sqrt(var + eps);
      if (with_stats) {
        ASSERT_NEAR(mean[size_t(r)], mu, 1e-6 * std::fabs(mu) + 1e-6);
        ASSERT_NEAR(inv[size_t(r)], istd, 1e-6 * istd);
      }
      for (int64_t c = 0; c < cols; ++c) {
        double want = (x[size_t(r * cols + c)] - mu) * istd * scale[size_t(c)] +
                      (with_bias ? bias[size_t(c)] : 0.f);
        // Tolerance scales with the offset: x itself is only float-exact.
        double tol =
            2e-5 * (1.0 + std::fabs(want)) + 4e-7 * offset * istd * std::fabs(scale[size_t(c)]);
        ASSERT_NEAR(y[size_t(r * cols + c)], want, tol) << "row " << r << " col " << c;
      }
    }
  }
}

// ------------------------------------------------------------------ copies

TEST(RefCopy, GatherMatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int it = 0; it < 100; ++it) {
    const int64_t outer = rng() % 4, dim = 1 + rng() % 6, inner = rng() % 5, nidx = rng() % 7;
    const size_t elem = it % 2 ? 8 : 2;
    std::vector<uint8_t> data(static_cast<size_t>(outer * dim * inner) * elem);
    for (uint8_t &b : data) b = uint8_t(rng());
    std::vector<int64_t> idx(static_cast<size_t>(nidx));
    for (int64_t &i : idx) i = int64_t(rng() % uint32_t(dim));
    std::vector<uint8_t> out(static_cast<size_t>(outer * nidx * inner) * elem + 1, 0xAB);
    ref::gather_bytes(data.data(), outer, dim, size_t(inner) * elem, idx.data(), nidx, out.data());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < nidx; ++i)
        for (size_t b = 0; b < size_t(inner) * elem; ++b)
          ASSERT_EQ(out[size_t(o * nidx + i) * size_t(inner) * elem + b],
                    data[size_t(o * dim + idx[size_t(i)]) * size_t(inner) * elem + b]);
    ASSERT_EQ(out.back(), 0xAB);
  }
}

TEST(RefCopy, ConcatMatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int it = 0; it < 100; ++it) {
    const int64_t outer = rng() % 4;
    const size_t n = 1 + rng() % 4;
    std::vector<std::vector<uint8_t>> srcs(n);
    std::vector<size_t> block(n);
    std::vector<const void *> ptrs(n);
    size_t row = 0;
    for (size_t k = 0; k < n; ++k) {
      block[k] = rng() % 9;  // 0: an input empty along the axis
      srcs[k].resize(block[k] * size_t(outer) + 1);
      for (uint8_t &b : srcs[k]) b = uint8_t(rng());
      ptrs[k] = srcs[k].data();
      row += block[k];
    }
    std::vector<uint8_t> out(row * size_t(outer) + 1, 0xCD);
    ref::concat_bytes(ptrs.data(), block.data(), n, outer, out.data());
    size_t pos = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (size_t k = 0; k < n; ++k)
        for (size_t b = 0; b < block[k]; ++b)
          ASSERT_EQ(out[pos++], srcs[k][size_t(o) * block[k] + b]);
    ASSERT_EQ(out.back(), 0xCD);
  }
}

}  // namespace
}  // namespace si::test
