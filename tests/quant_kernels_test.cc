// The quantized-weight kernels (kernels/quant/) against naive references,
// per ISA variant (a variant the CPU lacks is skipped):
// - packing: the packed layout's dequantized matrix equals the reference
//   dequantization of the source, (float(q - zp)) * s, bit for bit, for
//   DequantizeLinear int8/uint8 per tensor, per row, per column (plain and
//   transposed sources) and MatMulNBits bits 4 and 8 blobs (encoded here from
//   ONNX Runtime's spec, independently of the packer), block sizes 16-256,
//   K not a multiple of the block, with and without zero points;
// - kernels and drivers: the header promises float32 arithmetic on the
//   dequantized weights with one fused multiply-add per active k in ascending
//   k, so the reference does exactly that and results must match bit for bit
//   (plus a float64 check with a tolerance for summation order, which catches
//   a reference that is wrong in the same way as the kernel);
// - odd K and N, size-1 dims, empty active sets, all-active rows, sub-ranges
//   of columns, batches with an all-zero row, 1 and 2 threads.
#include <gtest/gtest.h>
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/quant/half.h"
#include "kernels/quant/quant_kernels.h"
#include "kernels/quant/quant_matmul.h"
#include "kernels/sparse/sparse_matmul.h"

namespace si {
namespace {

// Replayable: the seed comes from --gtest_random_seed (0 picks a fixed one).
uint32_t seed() {
  const int s = ::testing::UnitTest::GetInstance()->random_seed();
  return s == 0 ? 4242u : static_cast<uint32_t>(s);
}

#define SI_SEED_TRACE() SCOPED_TRACE("replay with --gtest_random_seed=" + std::to_string(seed()))

std::vector<QuantKernels> variants() {
  const CpuFeatures &cpu = cpu_features();
  std::vector<QuantKernels> v = {quant_kernels_for("scalar")};
  if (cpu.avx2 && cpu.fma) v.push_back(quant_kernels_for("avx2"));
  if (cpu.avx512f) v.push_back(quant_kernels_for("avx512"));
  return v;
}

const int64_t kSizes[] = {1, 3, 17, 33, 63, 100, 257};

bool same_bits(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// An [m, k] activation, a share `density` of it non-zero (the rest +-0).
std::vector<float> activation(std::mt19937 &rng, int64_t m, int64_t k, double density) {
  std::uniform_real_distribution<float> val(-2.f, 2.f);
  std::bernoulli_distribution on(density);
  std::vector<float> x(size_t(m * k));
  for (float &v : x) v = on(rng) ? val(rng) : (rng() % 2 ? 0.f : -0.f);
  return x;
}

std::vector<float> scales(std::mt19937 &rng, int64_t count) {
  std::uniform_real_distribution<float> val(1e-3f, 5e-2f);
  std::vector<float> s(static_cast<size_t>(count));
  for (float &v : s) v = val(rng);
  return s;
}

// Scales that are fp16 values, built from an 11-bit significand and an
// exponent (2^-10 to 2^-5, about the range above), not from half.h.
std::vector<float> fp16_scales(std::mt19937 &rng, int64_t count) {
  std::vector<float> s(static_cast<size_t>(count));
  for (float &v : s) v = std::ldexp(float(1024 + rng() % 1024), -20 + int(rng() % 6));
  return s;
}

// Active sets of every row: ascending non-zero indices (stride k).
struct Active {
  std::vector<int32_t> idx;
  std::vector<int64_t> count;
  Active(const std::vector<float> &x, int64_t m, int64_t k) : idx(size_t(m * k)), count(size_t(m)) {
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < k; ++c)
        if (x[size_t(r * k + c)] != 0.f) idx[size_t(r * k + count[size_t(r)]++)] = int32_t(c);
  }
};

// The promised order: from y (the bias), one fused multiply-add per k in
// ascending k, over the non-zero x (or every x when `all`).
std::vector<float> naive_gemm(const std::vector<float> &x, int64_t m, int64_t k,
                              const std::vector<float> &w, int64_t n,
                              const std::vector<float> &bias, bool all) {
  std::vector<float> y(size_t(m * n));
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) {
      float acc = bias.empty() ? 0.f : bias[size_t(c)];
      for (int64_t j = 0; j < k; ++j) {
        const float a = x[size_t(r * k + j)];
        if (all || a != 0.f) acc = std::fma(a, w[size_t(j * n + c)], acc);
      }
      y[size_t(r * n + c)] = acc;
    }
  return y;
}

// Float64 check: within a few float32 roundings per term of the exact sum
// (any summation order of K float32 terms stays within K eps sum |terms|).
void expect_near_exact(const std::vector<float> &got, const std::vector<float> &x, int64_t m,
                       int64_t k, const std::vector<float> &w, int64_t n,
                       const std::vector<float> &bias, const std::string &what) {
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double exact = bias.empty() ? 0.0 : bias[size_t(c)], mag = std::fabs(exact);
      for (int64_t j = 0; j < k; ++j) {
        const double t = double(x[size_t(r * k + j)]) * w[size_t(j * n + c)];
        exact += t;
        mag += std::fabs(t);
      }
      ASSERT_NEAR(got[size_t(r * n + c)], exact, 1e-30 + double(k + 1) * 1.2e-7 * mag)
          << what << " at row " << r << " col " << c;
    }
}

// One weight format's row kernels, bound to a packed matrix.
struct RowKernels {
  std::function<void(const float *, const int32_t *, int64_t, int64_t, int64_t, float *)> gather;
  std::function<void(const int32_t *, int64_t, float *)> dequant;  // all columns, ldo = n
};

// Every variant's gather (whole range and a sub-range starting at a multiple
// of `group`) and dequantized rows against the reference matrix w, bit for
// bit, and the reference against float64.
template <typename Bind>
void check_row_kernels(std::mt19937 &rng, int64_t k, int64_t n, const std::vector<float> &w,
                       double density, int64_t group, const std::string &name, Bind bind) {
  const std::vector<float> x = activation(rng, 1, k, density);
  const Active act(x, 1, k);
  const std::vector<float> bias = scales(rng, n);
  const std::vector<float> want = naive_gemm(x, 1, k, w, n, bias, false);
  for (const QuantKernels &kern : variants()) {
    const RowKernels rk = bind(kern);
    const std::string what = name + " " + kern.isa + " density=" + std::to_string(density);
    std::vector<float> y = bias;
    rk.gather(x.data(), act.idx.data(), act.count[0], 0, n, y.data());
    EXPECT_TRUE(same_bits(y, want)) << what;
    // A sub-range touches only its columns.
    const int64_t n0 = n / 3 / group * group, n1 = n - n / 4;
    std::vector<float> part = bias;
    rk.gather(x.data(), act.idx.data(), act.count[0], n0, n1, part.data());
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(part[size_t(i)], i >= n0 && i < n1 ? want[size_t(i)] : bias[size_t(i)])
          << what << " sub-range at " << i;
    // Every row dequantized, in descending order.
    std::vector<int32_t> ks(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) ks[size_t(i)] = int32_t(k - 1 - i);
    std::vector<float> out(static_cast<size_t>(k * n));
    rk.dequant(ks.data(), k, out.data());
    for (int64_t i = 0; i < k; ++i)
      ASSERT_EQ(
          0, std::memcmp(out.data() + i * n, w.data() + (k - 1 - i) * n, size_t(n) * sizeof(float)))
          << what << " dequant row " << i;
  }
  expect_near_exact(want, x, 1, k, w, n, bias, name);
}

// --- int8: DequantizeLinear sources ----------------------------------------

struct Q8Case {
  int64_t k, n;
  QuantAxis axis;
  bool is_unsigned, zero, transposed;
  std::vector<uint8_t> q;  // codes as stored in the source (bytes)
  std::vector<float> scale;
  std::vector<uint8_t> zp;
  std::vector<float> w;  // reference dequantization, [k, n]

  Q8Case(std::mt19937 &rng, int64_t k_, int64_t n_, QuantAxis axis_, bool uns, bool zero_, bool tr)
      : k(k_), n(n_), axis(axis_), is_unsigned(uns), zero(zero_), transposed(tr) {
    q.resize(size_t(k * n));
    for (uint8_t &v : q) v = uint8_t(rng());
    const int64_t count = axis == QuantAxis::kTensor ? 1 : axis == QuantAxis::kRow ? k : n;
    scale = scales(rng, count);
    if (zero) {
      zp.resize(size_t(count));
      for (uint8_t &v : zp) v = uint8_t(rng());
    }
    // DequantizeLinear: (int32(q) - int32(zp)) * scale.
    w.resize(size_t(k * n));
    auto code = [&](uint8_t b) { return is_unsigned ? int(b) : int(int8_t(b)); };
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < n; ++c) {
        const int64_t g = axis == QuantAxis::kTensor ? 0 : axis == QuantAxis::kRow ? r : c;
        const int z = zero ? code(zp[size_t(g)]) : 0;
        const uint8_t b = q[size_t(transposed ? c * k + r : r * n + c)];
        w[size_t(r * n + c)] = float(code(b) - z) * scale[size_t(g)];
      }
  }
  bool pack(PackedQs8wRows *p) const {
    return p->pack(Qs8wSource{q.data(), is_unsigned, k, n, transposed, axis, scale.data(),
                              zero ? zp.data() : nullptr});
  }
  std::string name() const {
    return "k=" + std::to_string(k) + " n=" + std::to_string(n) +
           " axis=" + std::to_string(int(axis)) + (is_unsigned ? " u8" : " s8") +
           (zero ? " zp" : "") + (transposed ? " transposed" : "");
  }
};

template <typename Body>
void for_q8_cases(std::mt19937 &rng, Body &&body) {
  for (int64_t k : kSizes)
    for (int64_t n : kSizes)
      for (QuantAxis axis : {QuantAxis::kTensor, QuantAxis::kRow, QuantAxis::kColumn})
        for (int flags = 0; flags < 8; ++flags) {
          // Every flag combination on a few shapes, a rotating one elsewhere.
          if (k * n > 300 && flags != int((k + n) % 8)) continue;
          body(Q8Case(rng, k, n, axis, flags & 1, flags & 2, flags & 4));
        }
}

TEST(QuantDispatch, TableFollowsDispatchIsa) {
  EXPECT_STREQ(quant_kernels().isa, dispatch_isa());
}

TEST(PackQs8w, DequantizedMatrixEqualsDequantizeLinear) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  for_q8_cases(rng, [&](const Q8Case &c) {
    PackedQs8wRows p;
    ASSERT_TRUE(c.pack(&p));
    std::vector<float> w(c.w.size());
    p.dequantize(w.data());
    EXPECT_TRUE(same_bits(w, c.w)) << c.name();
    EXPECT_GE(p.size_bytes(), size_t(c.k * c.n));
  });
}

TEST(Qs8wKernels, GatherAndDequantMatchTheReferenceBitForBit) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  for_q8_cases(rng, [&](const Q8Case &c) {
    PackedQs8wRows p;
    ASSERT_TRUE(c.pack(&p));
    for (double density : {0.0, 0.3, 1.0}) {
      check_row_kernels(
          rng, c.k, c.n, c.w, density, /*group=*/1, c.name(), [&](const QuantKernels &kern) {
            return RowKernels{
                [&](const float *x, const int32_t *idx, int64_t count, int64_t n0, int64_t n1,
                    float *y) { kern.qs8w_gather(x, idx, count, p.view(), n0, n1, y); },
                [&](const int32_t *ks, int64_t nk, float *out) {
                  kern.qs8w_dequant(p.view(), ks, nk, 0, c.n, out, c.n);
                }};
          });
    }
  });
}

// --- fp16 scales (half.h) against the CPU's own conversions (F16C) -----------

__attribute__((target("f16c"))) float f16c_round(float v) {
  return _cvtsh_ss(_cvtss_sh(v, _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((target("f16c"))) float f16c_widen(uint16_t h) {
  return _cvtsh_ss(h);
}

TEST(Fp16Scales, EveryFiniteHalfConvertsAndRoundTrips) {
  if (!cpu_features().f16c) GTEST_SKIP() << "no F16C to compare with";
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    if (((h >> 10) & 0x1F) == 0x1F) continue;  // inf and NaN: never scales
    const float v = half_to_float(uint16_t(h));
    ASSERT_EQ(v, f16c_widen(uint16_t(h))) << std::hex << h;
    ASSERT_TRUE(half_exact(v)) << std::hex << h;
    ASSERT_EQ(half_bits(v), h) << std::hex << h;
  }
}

TEST(Fp16Scales, RoundingMatchesTheHardwareOnRandomFloats) {
  if (!cpu_features().f16c) GTEST_SKIP() << "no F16C to compare with";
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  // Random bit patterns over fp16's subnormals, normals and past its range.
  std::uniform_int_distribution<int> exp(-30, 17);
  for (int i = 0; i < 200000; ++i) {
    const float v = std::ldexp(float(rng() % (1u << 24)) / float(1u << 24), exp(rng)) *
                    (rng() % 2 ? 1.f : -1.f);
    const float hw = f16c_round(v);
    if (std::isinf(hw)) {
      ASSERT_FALSE(half_exact(round_to_half(v))) << v;
      continue;
    }
    ASSERT_EQ(round_to_half(v), hw) << v;
    ASSERT_EQ(half_exact(v), hw == v) << v;
  }
}

// --- MatMulNBits sources -----------------------------------------------------

// A MatMulNBits weight: random codes, scales and (optionally) zero points,
// encoded as ONNX Runtime's contrib spec lays them out.
struct NBitsCase {
  int64_t k, n, block, bits, kb;
  bool zero;
  std::vector<uint8_t> blob, zp_packed;
  std::vector<float> scale;  // [n, kb]
  std::vector<float> w;      // reference dequantization, [k, n]

  bool half;  // scales that are fp16 values (int4 packs them as fp16)

  NBitsCase(std::mt19937 &rng, int64_t k_, int64_t n_, int64_t block_, int64_t bits_, bool zero_,
            bool half_ = false)
      : k(k_),
        n(n_),
        block(block_),
        bits(bits_),
        kb((k_ + block_ - 1) / block_),
        zero(zero_),
        half(half_) {
    const int levels = 1 << bits;
    // B: [n, kb, block * bits / 8], codes along K low bits first; the
    // padding past K holds codes too (the kernels must ignore them).
    blob.assign(size_t(n * kb * block * bits / 8), 0);
    std::vector<int> code(size_t(n * kb * block));
    for (int &v : code) v = int(rng() % unsigned(levels));
    for (int64_t i = 0; i < int64_t(code.size()); ++i) {
      const int64_t bit = i * bits;
      blob[size_t(bit / 8)] |= uint8_t(code[size_t(i)] << (bit % 8));
    }
    scale = half ? fp16_scales(rng, n * kb) : scales(rng, n * kb);
    std::vector<int> zp(size_t(n * kb), levels / 2);  // the default 2^(bits-1)
    if (zero) {
      const int64_t row = (kb * bits + 7) / 8;
      zp_packed.assign(size_t(n * row), 0);
      for (int64_t c = 0; c < n; ++c)
        for (int64_t b = 0; b < kb; ++b) {
          const int z = int(rng() % unsigned(levels));
          zp[size_t(c * kb + b)] = z;
          const int64_t bit = b * bits;
          zp_packed[size_t(c * row + bit / 8)] |= uint8_t(z << (bit % 8));
        }
    }
    w.resize(size_t(k * n));
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < n; ++c) {
        const int64_t b = r / block;
        const int q = code[size_t((c * kb + b) * block + r % block)];
        w[size_t(r * n + c)] = float(q - zp[size_t(c * kb + b)]) * scale[size_t(c * kb + b)];
      }
  }
  MatMulNBitsSource source() const {
    return {blob.data(), scale.data(), zero ? zp_packed.data() : nullptr, k, n, block};
  }
  std::string name() const {
    return "k=" + std::to_string(k) + " n=" + std::to_string(n) +
           " block=" + std::to_string(block) + " bits=" + std::to_string(bits) +
           (zero ? " zp" : "") + (half ? " fp16 scales" : "");
  }
};

template <typename Body>
void for_nbits_cases(std::mt19937 &rng, int64_t bits, Body &&body) {
  for (int64_t k : kSizes)
    for (int64_t n : kSizes)
      for (int64_t block : {16, 32, 64, 128, 256})
        for (bool zero : {false, true})
          for (bool half : {false, true}) {
            if (half && bits != 4) continue;
            if (k * n > 300 && (block + (zero ? 1 : 0) + (half ? 2 : 0) + k + n) % 3 != 0) continue;
            body(NBitsCase(rng, k, n, block, bits, zero, half));
          }
}

TEST(PackQu4w, DequantizedMatrixEqualsMatMulNBits) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  for_nbits_cases(rng, 4, [&](const NBitsCase &c) {
    PackedQu4wRows p;
    ASSERT_TRUE(p.pack(c.source()));
    EXPECT_EQ(p.half_scales(), c.half) << c.name();
    std::vector<float> w(c.w.size());
    p.dequantize(w.data());
    EXPECT_TRUE(same_bits(w, c.w)) << c.name();
  });
}

// fp16 scale rows are half the scale bytes, and one scale that is not an fp16
// value keeps them all float32.
TEST(PackQu4w, ScalesAreFp16OnlyWhenEveryOneIsAnFp16Value) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  NBitsCase c(rng, 256, 130, 32, 4, true, /*half=*/true);
  PackedQu4wRows half, single;
  ASSERT_TRUE(half.pack(c.source()));
  c.scale[7] = std::nextafter(c.scale[7], 1.f);
  ASSERT_TRUE(single.pack(c.source()));
  EXPECT_TRUE(half.half_scales());
  EXPECT_FALSE(single.half_scales());
  // 8 blocks of scale rows padded to 256 columns: 2 bytes each instead of 4.
  EXPECT_EQ(single.size_bytes() - half.size_bytes(), size_t(8 * 256 * 2));
}

TEST(PackQs8w, DequantizedMatrixEqualsMatMulNBits8) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  for_nbits_cases(rng, 8, [&](const NBitsCase &c) {
    PackedQs8wRows p;
    ASSERT_TRUE(p.pack(c.source()));
    std::vector<float> w(c.w.size());
    p.dequantize(w.data());
    EXPECT_TRUE(same_bits(w, c.w)) << c.name();
  });
}

TEST(Qu4wKernels, GatherAndDequantMatchTheReferenceBitForBit) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  for_nbits_cases(rng, 4, [&](const NBitsCase &c) {
    PackedQu4wRows p;
    ASSERT_TRUE(p.pack(c.source()));
    for (double density : {0.0, 0.03, 0.5, 1.0}) {
      check_row_kernels(
          rng, c.k, c.n, c.w, density, /*group=*/32, c.name(), [&](const QuantKernels &kern) {
            return RowKernels{
                [&](const float *x, const int32_t *idx, int64_t count, int64_t n0, int64_t n1,
                    float *y) { kern.qu4w_gather(x, idx, count, p.view(), n0, n1, y); },
                [&](const int32_t *ks, int64_t nk, float *out) {
                  kern.qu4w_dequant(p.view(), ks, nk, 0, c.n, out, c.n);
                }};
          });
    }
  });
}

// The vector kernels decode a pass's zero points once when its four rows
// share a block and per row otherwise: active sets whose passes fall inside
// one block, straddle one boundary, or span three blocks, with and without
// zero points, over columns ending in a partial group (n = 97).
TEST(Qu4wKernels, PassesAcrossBlockBoundariesMatchTheReference) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  const int64_t k = 70, n = 97;
  const std::vector<std::vector<int32_t>> sets = {
      {0, 1, 2, 3, 4, 5, 6, 7},      // two passes in block 0
      {13, 14, 15, 16, 17},          // straddles 15 | 16, then one row
      {15, 16, 32, 48, 49, 50, 51},  // four blocks in one pass
      {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33}};
  for (int form = 0; form < 4; ++form) {
    const NBitsCase c(rng, k, n, /*block=*/16, 4, /*zero=*/form & 1, /*half=*/form & 2);
    PackedQu4wRows p;
    ASSERT_TRUE(p.pack(c.source()));
    for (const std::vector<int32_t> &idx : sets) {
      std::vector<float> x(size_t(k), 0.f);
      for (int32_t i : idx) x[size_t(i)] = std::uniform_real_distribution<float>(-2.f, 2.f)(rng);
      const std::vector<float> bias = scales(rng, n);
      const std::vector<float> want = naive_gemm(x, 1, k, c.w, n, bias, false);
      for (const QuantKernels &kern : variants()) {
        std::vector<float> y = bias;
        kern.qu4w_gather(x.data(), idx.data(), int64_t(idx.size()), p.view(), 0, n, y.data());
        EXPECT_TRUE(same_bits(y, want)) << c.name() << " " << kern.isa << " rows from " << idx[0]
                                        << ", " << idx.size() << " rows";
      }
    }
  }
}

// --- drivers: batches, threads, dense ----------------------------------------

// Runs a driver per variant and batch size; row 0 of a batch is all zeros.
template <typename Packed, typename Sparse, typename Dense>
void check_drivers(std::mt19937 &rng, const Packed &p, const std::vector<float> &w, int64_t k,
                   int64_t n, const std::string &name, Sparse sparse, Dense dense) {
  for (int64_t m : {1, 2, 5, 17}) {
    for (double density : {0.0, 0.1, 0.5, 1.0}) {
      std::vector<float> x = activation(rng, m, k, density);
      if (m > 1) std::fill(x.begin(), x.begin() + k, 0.f);
      const Active act(x, m, k);
      const ActiveRows rows{act.idx.data(), act.count.data(), k};
      const std::vector<float> bias = scales(rng, n);
      const std::vector<float> want_sparse = naive_gemm(x, m, k, w, n, bias, false);
      const std::vector<float> want_dense = naive_gemm(x, m, k, w, n, bias, true);
      for (const QuantKernels &kern : variants()) {
        for (int threads : {1, 2}) {
          const std::string what = name + " " + kern.isa + " m=" + std::to_string(m) +
                                   " density=" + std::to_string(density) +
                                   " threads=" + std::to_string(threads);
          std::vector<float> y(size_t(m * n), NAN);
          sparse(x.data(), m, k, rows, p, bias.data(), y.data(), n, threads, &kern);
          EXPECT_TRUE(same_bits(y, want_sparse)) << what << " sparse";
          std::vector<float> d(size_t(m * n), NAN);
          dense(x.data(), m, k, p, bias.data(), d.data(), n, threads, &kern);
          EXPECT_TRUE(same_bits(d, want_dense)) << what << " dense";
        }
      }
    }
  }
}

TEST(QuantDrivers, Qs8wBatchesAndThreadsMatchTheReference) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  // 1500 x 1100: large enough that two threads split the columns.
  for (auto [k, n] : {std::pair<int64_t, int64_t>{1, 1}, {33, 100}, {257, 63}, {1500, 1100}}) {
    const Q8Case c(rng, k, n, QuantAxis::kColumn, true, true, false);
    PackedQs8wRows p;
    ASSERT_TRUE(c.pack(&p));
    check_drivers(rng, p, c.w, k, n, c.name(), f32_qs8w_sparse_rows_gemm, f32_qs8w_dense_rows_gemm);
  }
}

TEST(QuantDrivers, Qu4wBatchesAndThreadsMatchTheReference) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  for (auto [k, n] : {std::pair<int64_t, int64_t>{1, 1}, {33, 100}, {257, 63}, {1500, 1100}}) {
    const NBitsCase c(rng, k, n, 32, 4, k % 2 == 1, /*half=*/k % 3 == 0);
    PackedQu4wRows p;
    ASSERT_TRUE(p.pack(c.source()));
    check_drivers(rng, p, c.w, k, n, c.name(), f32_qu4w_sparse_rows_gemm, f32_qu4w_dense_rows_gemm);
  }
}

// The header's promise, literally: the bits of the float sparse path over the
// dequantized matrix.
TEST(QuantDrivers, SameBitsAsTheFloatPathOnTheDequantizedMatrix) {
  SI_SEED_TRACE();
  std::mt19937 rng(seed());
  const int64_t k = 300, n = 130, m = 6;
  const NBitsCase c(rng, k, n, 64, 4, true);
  PackedQu4wRows q;
  ASSERT_TRUE(q.pack(c.source()));
  PackedRows f;
  ASSERT_TRUE(f.pack(c.w.data(), k, n, false));
  const std::vector<float> x = activation(rng, m, k, 0.2);
  const Active act(x, m, k);
  const ActiveRows rows{act.idx.data(), act.count.data(), k};
  std::vector<float> yq(size_t(m * n)), yf(size_t(m * n));
  f32_qu4w_sparse_rows_gemm(x.data(), m, k, rows, q, nullptr, yq.data(), n, 2);
  f32_sparse_rows_gemm(x.data(), m, k, rows, f, nullptr, yf.data(), n, 2);
  EXPECT_TRUE(same_bits(yq, yf));
}

}  // namespace
}  // namespace si
