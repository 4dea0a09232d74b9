// The sparse row gather over float32, int8 and int4 weights (issue 13), one
// row at a time: f32_sparse_rows_gemm on PackedRows against
// f32_qs8w_sparse_rows_gemm (per-column scales, no zero points) and
// f32_qu4w_sparse_rows_gemm (MatMulNBits blobs with zero points, block 32
// and block 128) on the same shapes, densities and active sets.
//
// Avoids the cache trap as sparse_matmul_bench does: 16 input sets (the
// active rows change every call) and, per format, enough weight copies to
// exceed 64 MiB (twice the L3), cycled through.
//
// Counters (from the median call, p50_us): density (measured); read_MB =
// bytes the call must read: active rows of codes plus, for int4, the scale
// (and zero-point) rows of every block with an active row; ceiling_us =
// read_MB / this machine's measured read bandwidth (printed first); eff =
// ceiling_us / p50_us (1.0 = bound by the bytes read); w_per_ns = weights
// applied per ns. The hot/ runs hold one small copy in L2 and give each
// kernel's arithmetic ceiling in w_per_ns.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "kernels/quant/quant_matmul.h"
#include "kernels/sparse/sparse_matmul.h"

namespace {

constexpr int kInputSets = 16;
constexpr int kIterations = 60;
constexpr size_t kWeightSetBytes = size_t{64} << 20;

double g_read_gbps[3] = {0, 0, 0};

enum class Format { kF32, kQs8w, kQu4wB32, kQu4wB128 };
const char *format_name(Format f) {
  switch (f) {
    case Format::kF32:
      return "f32";
    case Format::kQs8w:
      return "qs8w";
    case Format::kQu4wB32:
      return "qu4w_b32";
    default:
      return "qu4w_b128";
  }
}
int64_t block_of(Format f) {
  return f == Format::kQu4wB32 ? 32 : 128;
}

// One shape's weight copies, built per format on first use; benchmarks run
// in registration order, so a new shape frees the previous one's.
struct ShapeWeights {
  int64_t k = 0, n = 0;
  std::vector<si::PackedRows> f32;
  std::vector<si::PackedQs8wRows> q8;
  std::vector<si::PackedQu4wRows> q4[2];  // block 32, block 128
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
  if (f == Format::kQu4wB32 || f == Format::kQu4wB128) {
    auto &set = w.q4[f == Format::kQu4wB32 ? 0 : 1];
    const int64_t block = block_of(f), kb = (k + block - 1) / block;
    for (size_t i = set.empty() ? copies(size_t(k * n / 2)) : 0; i > 0; --i) {
      const std::vector<uint8_t> b = random_bytes(rng, size_t(n * kb * block / 2));
      const std::vector<uint8_t> zp = random_bytes(rng, size_t(n * ((kb + 1) / 2)));
      const std::vector<float> s = random_scales(rng, size_t(n * kb));
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
    if (f == Format::kQu4wB32 || f == Format::kQu4wB128) {
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
    default:  // codes + per touched block a float scale row and a nibble zero-point row
      return double(rows) * double(n) / 2 + double(blocks) * double(n) * 4.5;
  }
}

void run(benchmark::State &state, Format f, int64_t k, int64_t n, double density, int threads,
         bool hot) {
  g_hot = hot;
  ShapeWeights &w = weights(f, k, n);
  const auto inputs = make_inputs(k, density);
  std::vector<float> y(static_cast<size_t>(n)), bias(static_cast<size_t>(n), 0.5f);
  std::vector<int32_t> idx(static_cast<size_t>(k));
  int64_t count = 0, nnz = 0, calls = 0;
  Samples samples;
  size_t it = 0;
  omp_set_num_threads(threads);
  const size_t n_copies = f == Format::kF32    ? w.f32.size()
                          : f == Format::kQs8w ? w.q8.size()
                                               : w.q4[f == Format::kQu4wB32 ? 0 : 1].size();
  for (auto _ : state) {
    const std::vector<float> &x = inputs[it % kInputSets];
    const size_t wi = it % n_copies;
    samples.time(state, [&] {
      nnz += si::f32_find_active_rows(x.data(), 1, k, k, idx.data(), &count);
      const si::ActiveRows act{idx.data(), &count, k};
      switch (f) {
        case Format::kF32:
          si::f32_sparse_rows_gemm(x.data(), 1, k, act, w.f32[wi], bias.data(), y.data(), n,
                                   threads);
          break;
        case Format::kQs8w:
          si::f32_qs8w_sparse_rows_gemm(x.data(), 1, k, act, w.q8[wi], bias.data(), y.data(), n,
                                        threads);
          break;
        default:
          si::f32_qu4w_sparse_rows_gemm(x.data(), 1, k, act,
                                        w.q4[f == Format::kQu4wB32 ? 0 : 1][wi], bias.data(),
                                        y.data(), n, threads);
      }
    });
    benchmark::DoNotOptimize(y.data());
    ++it;
    ++calls;
  }
  double bytes = 0;
  for (const auto &x : inputs) bytes += bytes_read(f, x, n);
  bytes /= double(inputs.size());
  const double p50 = samples.median_us();
  const double ceiling_us = bytes / (g_read_gbps[threads] * 1e3);
  state.counters["density"] = double(nnz) / double(calls * k);
  state.counters["p50_us"] = p50;
  state.counters["read_MB"] = bytes / 1e6;
  state.counters["ceiling_us"] = ceiling_us;
  state.counters["eff"] = p50 > 0 ? ceiling_us / p50 : 0;
  // Weights applied per ns: in the hot runs (weights in L2) the kernel's own
  // arithmetic ceiling.
  state.counters["w_per_ns"] = p50 > 0 ? double(nnz) / double(calls) * double(n) / p50 * 1e-3 : 0;
}

}  // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  for (int t : {1, 2}) g_read_gbps[t] = measure_read_bandwidth(t);
  std::printf("read bandwidth (sum over 256 MiB): %.1f GB/s 1 thread, %.1f GB/s 2 threads\n",
              g_read_gbps[1], g_read_gbps[2]);
  // Hot: one 64 x 2048 copy per format (L2-resident), every row active.
  for (Format f : {Format::kF32, Format::kQs8w, Format::kQu4wB32, Format::kQu4wB128}) {
    const std::string name = std::string("hot/") + format_name(f) + "/K64xN2048/t1/d1.00";
    benchmark::RegisterBenchmark(name.c_str(), run, f, 64, 2048, 1.0, 1, true)
        ->UseManualTime()
        ->Iterations(2000)
        ->Unit(benchmark::kMicrosecond);
  }
  const std::pair<int64_t, int64_t> shapes[] = {{4096, 4096}, {2048, 8192}, {8192, 2048}};
  for (auto [k, n] : shapes)
    for (Format f : {Format::kF32, Format::kQs8w, Format::kQu4wB32, Format::kQu4wB128})
      for (int threads : {1, 2})
        for (double d : {1.0, 0.5, 0.1, 0.03}) {
          char name[96];
          std::snprintf(name, sizeof name, "%s/K%ldxN%ld/t%d/d%.2f", format_name(f), long(k),
                        long(n), threads, d);
          benchmark::RegisterBenchmark(name, run, f, k, n, d, threads, false)
              ->UseManualTime()
              ->Iterations(kIterations)
              ->Unit(benchmark::kMicrosecond);
        }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
