// The sparse row gather over float32, int8 and int4 weights (issue 13), one
// row at a time: f32_sparse_rows_gemm on PackedRows against
// f32_qs8w_sparse_rows_gemm (per-column scales, no zero points) and
// f32_qu4w_sparse_rows_gemm (MatMulNBits blobs with zero points, block 32
// and block 128 with float32 scales, block 32 with fp16-valued scales, which
// the packer keeps as fp16 rows) on the same shapes, densities and active
// sets.
//
// Avoids the cache trap as sparse_matmul_bench does: 16 input sets (the
// active rows change every call) and, per format, enough weight copies to
// exceed 64 MiB (twice the L3), cycled through.
//
// Each iteration times the five formats back to back on the same input, so
// their ratios survive a shared machine's changing load. Counters, per
// format, from its median call: <fmt>_us; <fmt>_MB = bytes the call must
// read (active rows of codes plus, for int4, the scale and zero-point rows of
// every block with an active row); <fmt>_eff = the time those bytes take at
// this machine's measured read bandwidth (printed first) / <fmt>_us (1.0 =
// bound by the bytes read); <fmt>_wpns = weights applied per ns;
// f32_over_<fmt> = the speedup over float32. The hot/ run holds one small
// copy per format in L2: <fmt>_wpns there is the kernel's arithmetic ceiling.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "kernels/quant/half.h"
#include "kernels/quant/quant_matmul.h"
#include "kernels/sparse/sparse_matmul.h"

namespace {

constexpr int kInputSets = 16;
constexpr int kIterations = 60;
constexpr size_t kWeightSetBytes = size_t{64} << 20;

enum class Format { kF32, kQs8w, kQu4wB32, kQu4wB128, kQu4wB32Half };
const char *format_name(Format f) {
  switch (f) {
    case Format::kF32:
      return "f32";
    case Format::kQs8w:
      return "qs8w";
    case Format::kQu4wB32:
      return "qu4w_b32";
    case Format::kQu4wB128:
      return "qu4w_b128";
    default:
      return "qu4w_b32_h";
  }
}
bool is_qu4w(Format f) {
  return f == Format::kQu4wB32 || f == Format::kQu4wB128 || f == Format::kQu4wB32Half;
}
int64_t block_of(Format f) {
  return f == Format::kQu4wB128 ? 128 : 32;
}
// Index into ShapeWeights::q4.
int qu4w_set(Format f) {
  return f == Format::kQu4wB32 ? 0 : f == Format::kQu4wB128 ? 1 : 2;
}

// One shape's weight copies, built per format on first use; benchmarks run
// in registration order, so a new shape frees the previous one's.
struct ShapeWeights {
  int64_t k = 0, n = 0;
  std::vector<si::PackedRows> f32;
  std::vector<si::PackedQs8wRows> q8;
  std::vector<si::PackedQu4wRows> q4[3];  // block 32, block 128, block 32 fp16 scales
};
ShapeWeights g_weights;

// Copies of a matrix of `bytes` that together exceed the weight set (one
// copy in the hot runs, which measure the kernels' own ceiling).
bool g_hot = false;
size_t copies(size_t bytes) {
  return g_hot ? 1 : kWeightSetBytes / bytes + 1;
}

std::vector<uint8_t> random_bytes(std::mt19937 &rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (uint8_t &b : v) b = uint8_t(rng());
  return v;
}

std::vector<float> random_scales(std::mt19937 &rng, size_t n) {
  std::uniform_real_distribution<float> d(1e-3f, 2e-2f);
  std::vector<float> v(n);
  for (float &s : v) s = d(rng);
  return v;
}

ShapeWeights &weights(Format f, int64_t k, int64_t n) {
  ShapeWeights &w = g_weights;
  if (w.k != k || w.n != n) w = ShapeWeights{k, n, {}, {}, {}};
  std::mt19937 rng(42);
  if (f == Format::kF32 && w.f32.empty()) {
    std::normal_distribution<float> d(0.f, 0.02f);
    std::vector<float> plain(size_t(k * n));
    for (size_t i = copies(plain.size() * 4); i > 0; --i) {
      for (float &v : plain) v = d(rng);
      w.f32.emplace_back();
      if (!w.f32.back().pack(plain.data(), k, n, false)) std::abort();
    }
  }
  if (f == Format::kQs8w && w.q8.empty()) {
    for (size_t i = copies(size_t(k * n)); i > 0; --i) {
      const std::vector<uint8_t> q = random_bytes(rng, size_t(k * n));
      const std::vector<float> s = random_scales(rng, size_t(n));
      w.q8.emplace_back();
      const si::Qs8wSource src{q.data(), false,  k, n, false, si::QuantAxis::kColumn,
                               s.data(), nullptr};
      if (!w.q8.back().pack(src)) std::abort();
    }
  }
  if (is_qu4w(f)) {
    auto &set = w.q4[qu4w_set(f)];
    const int64_t block = block_of(f), kb = (k + block - 1) / block;
    for (size_t i = set.empty() ? copies(size_t(k * n / 2)) : 0; i > 0; --i) {
      const std::vector<uint8_t> b = random_bytes(rng, size_t(n * kb * block / 2));
      const std::vector<uint8_t> zp = random_bytes(rng, size_t(n * ((kb + 1) / 2)));
      std::vector<float> s = random_scales(rng, size_t(n * kb));
      if (f == Format::kQu4wB32Half)
        for (float &v : s) v = si::round_to_half(v);
      set.emplace_back();
      if (!set.back().pack(si::MatMulNBitsSource{b.data(), s.data(), zp.data(), k, n, block}))
        std::abort();
    }
  }
  return w;
}

std::vector<std::vector<float>> make_inputs(int64_t k, double density) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> val(0.01f, 1.f);
  std::bernoulli_distribution active(density);
  std::vector<std::vector<float>> sets(kInputSets, std::vector<float>(size_t(k)));
  for (auto &s : sets)
    for (float &v : s) v = active(rng) ? val(rng) : 0.f;
  return sets;
}

// Bytes one call must read for input x.
double bytes_read(Format f, const std::vector<float> &x, int64_t n) {
  int64_t rows = 0, blocks = 0, last_block = -1;
  for (size_t c = 0; c < x.size(); ++c) {
    if (x[c] == 0.f) continue;
    ++rows;
    if (is_qu4w(f)) {
      const int64_t b = int64_t(c) / block_of(f);
      if (b != last_block) ++blocks;
      last_block = b;
    }
  }
  switch (f) {
    case Format::kF32:
      return double(rows) * double(n) * 4;
    case Format::kQs8w:
      return double(rows) * double(n) + double(n) * 4;  // codes + the scale row
    default:  // codes + per touched block a scale row and a nibble zero-point row
      return double(rows) * double(n) / 2 +
             double(blocks) * double(n) * (f == Format::kQu4wB32Half ? 2.5 : 4.5);
  }
}

constexpr Format kFormats[] = {Format::kF32, Format::kQs8w, Format::kQu4wB32, Format::kQu4wB128,
                               Format::kQu4wB32Half};
constexpr int kFormatCount = sizeof kFormats / sizeof kFormats[0];

// One call of format f on copy wi.
void call(Format f, ShapeWeights &w, size_t wi, const float *x, const si::ActiveRows &act,
          const float *bias, float *y, int threads) {
  const int64_t k = w.k, n = w.n;
  switch (f) {
    case Format::kF32:
      return si::f32_sparse_rows_gemm(x, 1, k, act, w.f32[wi % w.f32.size()], bias, y, n, threads);
    case Format::kQs8w:
      return si::f32_qs8w_sparse_rows_gemm(x, 1, k, act, w.q8[wi % w.q8.size()], bias, y, n,
                                           threads);
    default: {
      const auto &set = w.q4[qu4w_set(f)];
      return si::f32_qu4w_sparse_rows_gemm(x, 1, k, act, set[wi % set.size()], bias, y, n, threads);
    }
  }
}

// Every iteration runs the formats back to back on the same input (each
// on its own rotating copy), so their ratios hold even when the machine's
// load changes during the run. Counters per format: <fmt>_us (p50),
// <fmt>_MB (bytes read per call), <fmt>_eff (bytes ceiling / p50),
// <fmt>_wpns (weights applied per ns), and f32_over_<fmt> (speedup).
void run(benchmark::State &state, int64_t k, int64_t n, double density, int threads, bool hot) {
  g_hot = hot;
  ShapeWeights *w = nullptr;
  for (Format f : kFormats) w = &weights(f, k, n);
  const auto inputs = make_inputs(k, density);
  std::vector<float> y(static_cast<size_t>(n)), bias(static_cast<size_t>(n), 0.5f);
  std::vector<int32_t> idx(static_cast<size_t>(k));
  int64_t count = 0, nnz = 0, calls = 0;
  Samples samples[kFormatCount], timer;
  size_t it = 0;
  omp_set_num_threads(threads);
  for (auto _ : state) {
    const std::vector<float> &x = inputs[it % kInputSets];
    timer.time(state, [&] {
      for (int i = 0; i < kFormatCount; ++i) {
        samples[i].time(state, [&] {
          // The producer's pass that finds active rows is part of the cost.
          nnz += si::f32_find_active_rows(x.data(), 1, k, k, idx.data(), &count);
          call(kFormats[i], *w, it, x.data(), si::ActiveRows{idx.data(), &count, k}, bias.data(),
               y.data(), threads);
        });
        benchmark::DoNotOptimize(y.data());
      }
    });
    ++it;
    ++calls;
  }
  state.counters["density"] = double(nnz) / double(kFormatCount * calls * k);
  const double f32_us = samples[0].median_us();
  for (int i = 0; i < kFormatCount; ++i) {
    double bytes = 0;
    for (const auto &x : inputs) bytes += bytes_read(kFormats[i], x, n);
    bytes /= double(inputs.size());
    const double p50 = samples[i].median_us();
    const std::string f = format_name(kFormats[i]);
    state.counters[f + "_us"] = p50;
    state.counters[f + "_MB"] = bytes / 1e6;
    state.counters[f + "_eff"] = p50 > 0 ? bytes / (g_read_gbps[threads] * 1e3) / p50 : 0;
    state.counters[f + "_wpns"] =
        p50 > 0 ? double(nnz) / double(kFormatCount * calls) * double(n) / p50 * 1e-3 : 0;
    if (i > 0) state.counters["f32_over_" + f] = p50 > 0 ? f32_us / p50 : 0;
  }
}

}  // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  measure_read_bandwidths();
  // Hot: one 64 x 2048 copy per format (L2-resident), every row active.
  benchmark::RegisterBenchmark("hot/K64xN2048/t1/d1.00", run, 64, 2048, 1.0, 1, true)
      ->UseManualTime()
      ->Iterations(1000)
      ->Unit(benchmark::kMicrosecond);
  const std::pair<int64_t, int64_t> shapes[] = {{4096, 4096}, {2048, 8192}, {8192, 2048}};
  for (auto [k, n] : shapes)
    for (int threads : {1, 2})
      for (double d : {1.0, 0.5, 0.1, 0.03}) {
        char name[96];
        std::snprintf(name, sizeof name, "K%ldxN%ld/t%d/d%.2f", long(k), long(n), threads, d);
        benchmark::RegisterBenchmark(name, run, k, n, d, threads, false)
            ->UseManualTime()
            ->Iterations(kIterations)
            ->Unit(benchmark::kMicrosecond);
      }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
