// MaxPool, AveragePool and the global pools through a real Session against
// textbook loops that test every window tap for being inside the input; the
// channel-blocked max pool kernels (kernels/vec/maxpool.h), every ISA variant
// this CPU runs, against the reference on the plain tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/ref/blocked_layout.h"
#include "kernels/ref/pool_ref.h"
#include "kernels/vec/maxpool.h"
#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

struct Geo {
  int64_t n = 1, c = 1;
  std::vector<int64_t> in, k, s, d, pb, pe;
  bool ceil = false;
};

std::vector<int64_t> out_dims(const Geo &g) {
  std::vector<int64_t> o;
  for (size_t i = 0; i < g.in.size(); ++i) {
    const int64_t span = g.in[i] + g.pb[i] + g.pe[i] - ((g.k[i] - 1) * g.d[i] + 1);
    o.push_back((g.ceil ? (span + g.s[i] - 1) / g.s[i] : span / g.s[i]) + 1);
  }
  return o;
}

Shape x_shape(const Geo &g) {
  Shape s = {g.n, g.c};
  s.insert(s.end(), g.in.begin(), g.in.end());
  return s;
}

// Visits every tap of every window: fn(plane, flat output, tap coords, inside
// the input, inside the explicitly padded extent).
template <typename Fn>
void for_each_tap(const Geo &g, Fn &&fn) {
  const size_t r = g.in.size();
  const std::vector<int64_t> out = out_dims(g);
  const int64_t planes = g.n * g.c, outs = count(out), taps = count(g.k);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t o = 0; o < outs; ++o)
      for (int64_t t = 0; t < taps; ++t) {
        std::vector<int64_t> oc(r), kc(r), pos(r);
        int64_t of = o, tf = t;
        for (size_t i = r; i-- > 0;) {
          oc[i] = of % out[i], of /= out[i];
          kc[i] = tf % g.k[i], tf /= g.k[i];
        }
        bool inside = true, padded = true;
        for (size_t i = 0; i < r; ++i) {
          pos[i] = oc[i] * g.s[i] - g.pb[i] + kc[i] * g.d[i];
          inside = inside && pos[i] >= 0 && pos[i] < g.in[i];
          padded = padded && pos[i] >= -g.pb[i] && pos[i] < g.in[i] + g.pe[i];
        }
        fn(p, o, pos, inside, padded);
      }
}

int64_t flat_in(const Geo &g, const std::vector<int64_t> &pos, bool column_major) {
  int64_t f = 0;
  if (column_major) {
    for (size_t i = pos.size(); i-- > 0;) f = f * g.in[i] + pos[i];
  } else {
    for (size_t i = 0; i < pos.size(); ++i) f = f * g.in[i] + pos[i];
  }
  return f;
}

Geo random_geo(std::mt19937 &rng, size_t rank) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  Geo g;
  g.n = pick(1, 2);
  g.c = pick(1, 4);
  g.ceil = pick(0, 1) == 1;
  for (size_t i = 0; i < rank; ++i) {
    g.k.push_back(pick(1, 4));
    g.s.push_back(pick(1, 3));
    g.d.push_back(pick(1, 2));
    // ONNX pads are smaller than the kernel, so no window is all padding.
    g.pb.push_back(pick(0, g.k.back() - 1));
    g.pe.push_back(pick(0, g.k.back() - 1));
    const int64_t k_eff = (g.k.back() - 1) * g.d.back() + 1;
    g.in.push_back(std::max<int64_t>(pick(1, rank == 3 ? 6 : 12), k_eff));
  }
  return g;
}

std::string describe(const Geo &g) {
  auto v = [](const std::vector<int64_t> &a) {
    std::string s = "[";
    for (size_t i = 0; i < a.size(); ++i) s += (i ? "," : "") + std::to_string(a[i]);
    return s + "]";
  };
  return "N" + std::to_string(g.n) + " C" + std::to_string(g.c) + " in " + v(g.in) + " k " +
         v(g.k) + " s " + v(g.s) + " d " + v(g.d) + " pads " + v(g.pb) + v(g.pe) +
         (g.ceil ? " ceil" : "");
}

OpSpec pool_spec(const char *op, const Geo &g, const Tensor &x) {
  OpSpec spec;
  spec.op_type = op;
  spec.opset = 12;
  spec.attrs["kernel_shape"] = attr_ints(g.k);
  spec.attrs["strides"] = attr_ints(g.s);
  std::vector<int64_t> pads = g.pb;
  pads.insert(pads.end(), g.pe.begin(), g.pe.end());
  spec.attrs["pads"] = attr_ints(pads);
  spec.attrs["ceil_mode"] = attr_int(g.ceil);
  if (std::string(op) == "MaxPool") spec.attrs["dilations"] = attr_ints(g.d);
  spec.inputs = {x};
  spec.constant = {false};
  return spec;
}

TEST(MaxPoolOp, MatchesTextbookWithIndices) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int iter = 0; iter < 150; ++iter) {
    const Geo g = random_geo(rng, size_t(1 + iter % 3));
    const bool column_major = iter % 4 == 1;
    SCOPED_TRACE(describe(g) + (column_major ? " storage_order 1" : ""));
    std::vector<float> x = random_floats(rng, count(x_shape(g)));
    if (iter % 10 == 0) std::fill(x.begin(), x.end(), 0.f);
    const std::vector<int64_t> out = out_dims(g);
    const int64_t outs = count(out), in_plane = count(g.in);
    // A window with no tap inside (ceil_mode past the end) gives lowest(), as ONNX Runtime does.
    std::vector<float> want(size_t(g.n * g.c * outs), std::numeric_limits<float>::lowest());
    std::vector<int64_t> want_idx(want.size(), -1);
    for_each_tap(g, [&](int64_t p, int64_t o, const std::vector<int64_t> &pos, bool inside, bool) {
      if (!inside) return;
      const float v = x[size_t(p * in_plane + flat_in(g, pos, false))];
      const size_t at = size_t(p * outs + o);
      if (want_idx[at] < 0 || v > want[at]) {
        want[at] = v;
        want_idx[at] = p * in_plane + flat_in(g, pos, column_major);
      }
    });
    OpSpec spec = pool_spec("MaxPool", g, make_f32(x_shape(g), x));
    spec.attrs["storage_order"] = attr_int(column_major);
    spec.num_outputs = iter % 2 == 0 ? 1 : 2;
    std::vector<Tensor> res;
    Status st = run_op(spec, &res);
    ASSERT_TRUE(st.is_ok()) << st.message();
    Shape ys = {g.n, g.c};
    ys.insert(ys.end(), out.begin(), out.end());
    ASSERT_EQ(res[0].shape(), ys);
    EXPECT_EQ(to_vector_f32(res[0]), want);
    if (spec.num_outputs == 2) {
      ASSERT_EQ(res[1].dtype(), DType::kInt64);
      EXPECT_EQ(values_of<int64_t>(res[1]), want_idx);
    }
  }
}

TEST(MaxPoolOp, Uint8AndNaN) {
  Geo g;
  g.n = 1, g.c = 2, g.in = {5, 4}, g.k = {3, 2}, g.s = {2, 2}, g.d = {1, 1};
  g.pb = {1, 0}, g.pe = {1, 1};
  std::mt19937 rng(test_seed());
  std::vector<uint8_t> x(40);
  for (uint8_t &v : x) v = uint8_t(rng() % 256);
  std::vector<uint8_t> want(size_t(g.c * count(out_dims(g))), 0);
  std::vector<bool> seen(want.size(), false);
  const int64_t outs = count(out_dims(g));
  for_each_tap(g, [&](int64_t p, int64_t o, const std::vector<int64_t> &pos, bool inside, bool) {
    if (!inside) return;
    const uint8_t v = x[size_t(p * 20 + flat_in(g, pos, false))];
    const size_t at = size_t(p * outs + o);
    if (!seen[at] || v > want[at]) want[at] = v, seen[at] = true;
  });
  std::vector<Tensor> res;
  Status st = run_op(pool_spec("MaxPool", g, make_tensor(DType::kUint8, x_shape(g), x)), &res);
  ASSERT_TRUE(st.is_ok()) << st.message();
  EXPECT_EQ(values_of<uint8_t>(res[0]), want);

  // NaN in a window wins, as numpy's max (and ONNX's reference) have it.
  std::vector<float> xf(40, 1.f);
  xf[0] = std::nanf("");
  st = run_op(pool_spec("MaxPool", g, make_f32(x_shape(g), xf)), &res);
  ASSERT_TRUE(st.is_ok()) << st.message();
  EXPECT_TRUE(std::isnan(to_vector_f32(res[0])[0]));
  EXPECT_EQ(to_vector_f32(res[0])[1], 1.f);
}

// ------------------------------------------------- blocked max pool kernels

// Every variant this CPU runs, then the dispatched one.
std::vector<MaxPoolKernels> max_pool_variants() {
  std::vector<MaxPoolKernels> v = {{f32_max_pool_blocked__scalar, "scalar"}};
  const CpuFeatures &cpu = cpu_features();
  if (cpu.avx2) v.push_back({f32_max_pool_blocked__avx2, "avx2"});
  if (cpu.avx512f) v.push_back({f32_max_pool_blocked__avx512, "avx512"});
  v.push_back(max_pool_kernels());
  return v;
}

// Any pads (also past the kernel, so whole windows fall in the padding),
// strides, dilations, ceil_mode, and size-1 dims.
ref::PoolParams random_blocked_pool(std::mt19937 &rng, int rank) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  ref::PoolParams p;
  p.rank = rank;
  const bool ceil = pick(0, 1) == 1;
  for (int i = 0; i < rank; ++i) {
    p.kernel[i] = pick(1, 4);
    p.stride[i] = pick(1, 3);
    p.dilation[i] = pick(1, 3) == 3 ? 2 : 1;
    p.pad_begin[i] = pick(0, p.kernel[i] + 1);
    p.pad_end[i] = pick(0, p.kernel[i] + 1);
    const int64_t k_eff = (p.kernel[i] - 1) * p.dilation[i] + 1;
    p.in[i] = std::max<int64_t>(pick(1, rank == 3 ? 7 : 19), k_eff - p.pad_begin[i] - p.pad_end[i]);
    const int64_t span = p.in[i] + p.pad_begin[i] + p.pad_end[i] - k_eff;
    p.out[i] = (ceil ? (span + p.stride[i] - 1) / p.stride[i] : span / p.stride[i]) + 1;
  }
  return p;
}

std::string describe(const ref::PoolParams &p, int64_t n, int64_t c) {
  std::string s = "N" + std::to_string(n) + " C" + std::to_string(c);
  for (int i = 0; i < p.rank; ++i)
    s += " [in " + std::to_string(p.in[i]) + " out " + std::to_string(p.out[i]) + " k " +
         std::to_string(p.kernel[i]) + " s " + std::to_string(p.stride[i]) + " d " +
         std::to_string(p.dilation[i]) + " pads " + std::to_string(p.pad_begin[i]) + "," +
         std::to_string(p.pad_end[i]) + "]";
  return s;
}

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

TEST(MaxPoolBlocked, MatchesReferenceEveryVariant) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const float kNaN = std::numeric_limits<float>::quiet_NaN();
  for (const MaxPoolKernels &k : max_pool_variants()) {
    SCOPED_TRACE(k.isa);
    for (int iter = 0; iter < 240; ++iter) {
      const int64_t block = iter % 3 == 0 ? 8 : iter % 3 == 1 ? 16 : 1 + int64_t(rng() % 5);
      const int64_t n = 1 + iter % 2, c = block * (1 + int64_t(rng() % 3));
      ref::PoolParams p = random_blocked_pool(rng, 1 + iter % 3);
      p.planes = n * c;
      const int threads = 1 + iter % 2;
      SCOPED_TRACE(describe(p, n, c) + " block " + std::to_string(block) + " threads " +
                   std::to_string(threads));
      std::vector<float> x = random_floats(rng, n * c * p.in_plane());
      // Ties, signed zeros, infinities and NaNs: the first tap of equals and
      // the first NaN of a window must win, as in the reference.
      for (float &v : x) {
        const uint32_t r = rng() % 64;
        if (r == 0) v = kNaN;
        if (r == 1) v = -kNaN;
        if (r == 2) v = 0.f;
        if (r == 3) v = -0.f;
        if (r == 4) v = -std::numeric_limits<float>::infinity();
        if (r == 5) v = std::numeric_limits<float>::lowest();
        if (r > 5 && r < 12) v = std::round(v);
      }
      if (iter % 17 == 0) std::fill(x.begin(), x.end(), -0.f);
      std::vector<float> want(size_t(n * c * p.out_plane()));
      ref::f32_max_pool(p, x.data(), want.data(), nullptr, false, 1);
      std::vector<float> xb(x.size()), yb(want.size(), 7.f), got(want.size());
      ref::f32_plain_to_blocked(x.data(), n, c, p.in_plane(), block, xb.data());
      f32_max_pool_blocked(k, p, block, xb.data(), yb.data(), threads);
      ref::f32_blocked_to_plain(yb.data(), n, c, p.out_plane(), block, got.data());
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_TRUE(same_bits(got[i], want[i]))
            << "element " << i << ": got " << got[i] << ", want " << want[i];
    }
  }
}

TEST(MaxPoolBlocked, RowRangesComposeAndLeaveTheRestAlone) {
  // A window wholly in the padding (pads past the kernel) gives lowest(), as
  // ONNX Runtime; two calls over split row ranges write what one does.
  ref::PoolParams p;
  p.rank = 2;
  p.in[0] = 3, p.in[1] = 4;
  p.kernel[0] = p.kernel[1] = 2;
  p.stride[0] = p.stride[1] = 2;
  p.pad_begin[0] = 3, p.pad_end[1] = 3;
  p.out[0] = 3, p.out[1] = 4;
  const int64_t block = 8, c = 16;
  p.planes = c;
  std::mt19937 rng(test_seed());
  const std::vector<float> x = random_floats(rng, c * p.in_plane());
  for (const MaxPoolKernels &k : max_pool_variants()) {
    SCOPED_TRACE(k.isa);
    const int64_t rows = max_pool_blocked_rows(p, block);
    ASSERT_EQ(rows, 2 * 3);
    std::vector<float> one(size_t(c * p.out_plane()), 7.f), two(one);
    k.blocked(p, block, x.data(), one.data(), 0, rows);
    k.blocked(p, block, x.data(), two.data(), 0, 2);
    for (float v : std::vector<float>(two.begin() + 2 * 4 * block, two.begin() + 3 * 4 * block))
      ASSERT_EQ(v, 7.f);
    k.blocked(p, block, x.data(), two.data(), 2, rows);
    EXPECT_EQ(one, two);
    // Output row 0 (o0 = 0) starts at input row -3: every window is padding.
    for (int64_t i = 0; i < 4 * block; ++i)
      EXPECT_EQ(one[size_t(i)], std::numeric_limits<float>::lowest());
  }
}

TEST(AveragePoolOp, MatchesTextbook) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int iter = 0; iter < 150; ++iter) {
    Geo g = random_geo(rng, size_t(1 + iter % 3));
    std::fill(g.d.begin(), g.d.end(), 1);  // no dilations before opset 19
    for (size_t i = 0; i < g.in.size(); ++i) g.in[i] = std::max(g.in[i], g.k[i]);
    const bool include = iter % 2 == 1;
    SCOPED_TRACE(describe(g) + (include ? " count_include_pad" : ""));
    const std::vector<float> x = random_floats(rng, count(x_shape(g)));
    const int64_t outs = count(out_dims(g)), in_plane = count(g.in);
    std::vector<double> sum(size_t(g.n * g.c * outs), 0.0), cnt(sum.size(), 0.0);
    for_each_tap(
        g, [&](int64_t p, int64_t o, const std::vector<int64_t> &pos, bool inside, bool padded) {
          const size_t at = size_t(p * outs + o);
          if (inside) sum[at] += x[size_t(p * in_plane + flat_in(g, pos, false))];
          if (include ? padded : inside) cnt[at] += 1;
        });
    OpSpec spec = pool_spec("AveragePool", g, make_f32(x_shape(g), x));
    spec.attrs["count_include_pad"] = attr_int(include);
    std::vector<Tensor> res;
    Status st = run_op(spec, &res);
    ASSERT_TRUE(st.is_ok()) << st.message();
    const std::vector<float> got = to_vector_f32(res[0]);
    ASSERT_EQ(got.size(), sum.size());
    for (size_t i = 0; i < got.size(); ++i) {
      // Nothing to count (a ceil_mode window past the end): 0/0.
      if (cnt[i] == 0) {
        ASSERT_TRUE(std::isnan(got[i])) << "element " << i;
        continue;
      }
      ASSERT_NEAR(got[i], sum[i] / cnt[i], 1e-5) << "element " << i;
    }
  }
}

TEST(PoolOp, AutoPadModes) {
  std::mt19937 rng(test_seed());
  for (const char *mode : {"SAME_UPPER", "SAME_LOWER", "VALID"}) {
    for (int64_t in : {1, 5, 6, 7}) {
      Geo g;
      g.n = 1, g.c = 2, g.in = {in, in + 2}, g.k = {3, 2}, g.s = {2, 1}, g.d = {1, 1};
      if (std::string(mode) == "VALID" && in < 3) continue;
      for (size_t i = 0; i < 2; ++i) {
        g.pb.push_back(0);
        g.pe.push_back(0);
        if (std::string(mode) == "VALID") continue;
        const int64_t out = (g.in[i] + g.s[i] - 1) / g.s[i];
        const int64_t total = std::max<int64_t>(0, (out - 1) * g.s[i] + g.k[i] - g.in[i]);
        g.pb[i] = std::string(mode) == "SAME_UPPER" ? total / 2 : total - total / 2;
        g.pe[i] = total - g.pb[i];
      }
      SCOPED_TRACE(std::string(mode) + " " + describe(g));
      const std::vector<float> x = random_floats(rng, count(x_shape(g)));
      const int64_t outs = count(out_dims(g)), in_plane = count(g.in);
      std::vector<float> want(size_t(g.c * outs), -std::numeric_limits<float>::infinity());
      for_each_tap(
          g, [&](int64_t p, int64_t o, const std::vector<int64_t> &pos, bool inside, bool) {
            if (inside)
              want[size_t(p * outs + o)] = std::max(
                  want[size_t(p * outs + o)], x[size_t(p * in_plane + flat_in(g, pos, false))]);
          });
      OpSpec spec;
      spec.op_type = "MaxPool";
      spec.opset = 12;
      spec.attrs["kernel_shape"] = attr_ints(g.k);
      spec.attrs["strides"] = attr_ints(g.s);
      spec.attrs["auto_pad"] = attr_string(mode);
      spec.inputs = {make_f32(x_shape(g), x)};
      std::vector<Tensor> res;
      Status st = run_op(spec, &res);
      ASSERT_TRUE(st.is_ok()) << st.message();
      EXPECT_EQ(to_vector_f32(res[0]), want);
    }
  }
}

TEST(GlobalPoolOp, MeanAndMaxAnyRank) {
  std::mt19937 rng(test_seed());
  for (const Shape &s : std::vector<Shape>{
           {2, 3, 5}, {1, 1, 1, 1}, {2, 4, 3, 7}, {1, 2, 2, 3, 2, 2}, {0, 3, 4, 4}}) {
    SCOPED_TRACE(shape_str(s));
    const std::vector<float> x = random_floats(rng, count(s));
    const int64_t planes = s[0] * s[1], size = planes ? count(s) / planes : 0;
    std::vector<float> mean(static_cast<size_t>(planes)), mx(static_cast<size_t>(planes));
    for (int64_t p = 0; p < planes; ++p) {
      double acc = 0;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < size; ++i) {
        acc += x[size_t(p * size + i)];
        m = std::max(m, x[size_t(p * size + i)]);
      }
      mean[size_t(p)] = float(acc / double(size));
      mx[size_t(p)] = m;
    }
    Shape ys = s;
    for (size_t i = 2; i < ys.size(); ++i) ys[i] = 1;
    for (const char *op : {"GlobalAveragePool", "GlobalMaxPool"}) {
      OpSpec spec;
      spec.op_type = op;
      spec.opset = 1;
      spec.inputs = {make_f32(s, x)};
      std::vector<Tensor> res;
      Status st = run_op(spec, &res);
      ASSERT_TRUE(st.is_ok()) << st.message();
      ASSERT_EQ(res[0].shape(), ys);
      const std::vector<float> got = to_vector_f32(res[0]);
      const std::vector<float> &want = std::string(op) == "GlobalMaxPool" ? mx : mean;
      for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << op << " " << i;
    }
  }
}

TEST(PoolOp, Errors) {
  auto expect = [](const OpSpec &spec, StatusCode code, const std::string &needle) {
    std::vector<Tensor> res;
    Status st = run_op(spec, &res);
    EXPECT_EQ(st.code(), code) << st.message();
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
  };
  OpSpec spec;
  spec.op_type = "MaxPool";
  spec.opset = 12;
  spec.inputs = {make_f32({1, 2, 4, 4}, std::vector<float>(32))};
  expect(spec, StatusCode::kInvalidModel, "kernel_shape");
  spec.attrs["kernel_shape"] = attr_ints({2});
  expect(spec, StatusCode::kInvalidArgument, "kernel_shape [2]");
  spec.attrs["kernel_shape"] = attr_ints({5, 2});
  expect(spec, StatusCode::kInvalidArgument, "smaller than the kernel");
  spec.attrs["kernel_shape"] = attr_ints({2, 2});
  spec.attrs["storage_order"] = attr_int(2);
  expect(spec, StatusCode::kInvalidModel, "storage_order");
  spec.attrs.erase("storage_order");
  spec.inputs = {make_f32({2, 4}, std::vector<float>(8))};
  expect(spec, StatusCode::kInvalidArgument, "spatial");
  spec.inputs = {make_tensor<int32_t>(DType::kInt32, {1, 1, 2, 2}, {1, 2, 3, 4})};
  expect(spec, StatusCode::kUnsupported, "int32");
  spec.op_type = "AveragePool";
  spec.inputs = {make_tensor<uint8_t>(DType::kUint8, {1, 1, 2, 2}, {1, 2, 3, 4})};
  expect(spec, StatusCode::kUnsupported, "uint8");
  spec.op_type = "GlobalAveragePool";
  spec.attrs.clear();
  spec.inputs = {make_f32({3, 4}, std::vector<float>(12))};
  expect(spec, StatusCode::kInvalidArgument, "[3,4]");
}

}  // namespace
}  // namespace si::test
