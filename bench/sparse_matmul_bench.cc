// Sparse path vs the dense path ConstWeightMatmul would take on the same
// weights and inputs: oneDNN prepacked with AVX-512; without it the own
// kernels (rows_gemv on the rows up to 4 rows, the column panels beyond).
//
// Avoids the cache trap: every benchmark cycles through 16 distinct input
// batches (the active rows change every iteration) and through a set of
// weight matrices whose total exceeds 64 MiB (twice the L3).
//
// Counters (all from the median call, p50_us): eff_GBps = weight bytes the
// sparse path actually reads per second (the rows in the union of the
// batch's active sets); dense_eq_GBps = bytes of the full matrix per second
// (what a dense kernel would have to read in the same time); density =
// measured fraction of non-zero inputs; efficiency = eff_GBps / this
// machine's measured read bandwidth (printed first, also read_GBps).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "kernels/cpu_features.h"
#include "kernels/dense/dnnl_matmul.h"
#include "kernels/dense/panel_gemm.h"
#include "kernels/dense/rows_gemm.h"
#include "kernels/sparse/sparse_matmul.h"

namespace {

constexpr int kInputSets = 16;
// Every benchmark's median is taken over this many timed calls.
constexpr int kIterations = 60;
constexpr size_t kWeightSetBytes = size_t{64} << 20;

struct Weights {
  std::vector<si::PackedRows> sparse;
  std::vector<std::unique_ptr<si::DnnlPackedMatmul>> dense;
  std::vector<si::PackedPanels> panels;  // without AVX-512 (the own dense path)
  std::vector<std::vector<float>> bias;
};

// The dense path a sparse consumer of this shape takes (dense_impl).
bool own_dense() {
  return std::string(si::dispatch_isa()) != "avx512";
}

// Built once per shape and shared by all benchmarks of that shape.
Weights &weights_for(int64_t k, int64_t n) {
  static std::map<std::pair<int64_t, int64_t>, Weights> cache;
  auto key = std::make_pair(k, n);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  Weights &w = cache[key];
  const size_t bytes = size_t(k * n) * sizeof(float);
  const size_t count = kWeightSetBytes / bytes + 1;
  std::mt19937 rng(42);
  std::normal_distribution<float> dist(0.f, 0.02f);
  std::vector<float> plain(static_cast<size_t>(k * n));
  for (size_t i = 0; i < count; ++i) {
    for (float &v : plain) v = dist(rng);
    std::vector<float> b(static_cast<size_t>(n));
    for (float &v : b) v = dist(rng);
    w.sparse.emplace_back();
    if (!w.sparse.back().pack(plain.data(), k, n, false)) std::abort();
    si::DnnlMatmulParams p;
    p.k = k;
    p.n = n;
    p.bias = b.data();
    std::string err;
    if (own_dense()) {
      w.panels.emplace_back();
      if (!w.panels.back().pack(plain.data(), k, n, false)) std::abort();
    }
    w.dense.push_back(si::DnnlPackedMatmul::create(p, plain.data(), &err));
    if (!w.dense.back()) {
      std::fprintf(stderr, "oneDNN: %s\n", err.c_str());
      std::abort();
    }
    w.bias.push_back(std::move(b));
  }
  return w;
}

// kInputSets batches of [m, k], each row with an independent random active set.
std::vector<std::vector<float>> make_inputs(int64_t m, int64_t k, double density) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> val(0.01f, 1.f);
  std::bernoulli_distribution active(density);
  std::vector<std::vector<float>> sets(kInputSets, std::vector<float>(size_t(m * k)));
  for (auto &s : sets)
    for (float &v : s) v = active(rng) ? val(rng) : 0.f;
  return sets;
}

// Weight rows a batch touches: the union of its rows' active sets, ascending.
std::vector<int32_t> union_rows(const std::vector<float> &x, int64_t m, int64_t k) {
  std::vector<int32_t> rows;
  for (int64_t c = 0; c < k; ++c) {
    bool any = false;
    for (int64_t r = 0; r < m; ++r) any = any || x[size_t(r * k + c)] != 0.f;
    if (any) rows.push_back(int32_t(c));
  }
  return rows;
}

double mean_union_rows(const std::vector<std::vector<float>> &inputs, int64_t m, int64_t k) {
  double total = 0;
  for (const auto &x : inputs) total += double(union_rows(x, m, k).size());
  return total / double(inputs.size());
}

void run_sparse(benchmark::State &state, int64_t k, int64_t n, int64_t m, double density,
                int threads) {
  Weights &w = weights_for(k, n);
  auto inputs = make_inputs(m, k, density);
  std::vector<float> y(static_cast<size_t>(m * n));
  std::vector<int32_t> idx(static_cast<size_t>(m * k));
  std::vector<int64_t> count(static_cast<size_t>(m));
  size_t it = 0;
  int64_t nnz = 0, calls = 0;
  Samples samples;
  omp_set_num_threads(threads);
  for (auto _ : state) {
    const std::vector<float> &x = inputs[it % kInputSets];
    const size_t wi = it % w.sparse.size();
    samples.time(state, [&] {
      // The producer's pass that finds active rows is part of the sparse cost.
      nnz += si::f32_find_active_rows(x.data(), m, k, k, idx.data(), count.data());
      si::f32_sparse_rows_gemm(x.data(), m, k, si::ActiveRows{idx.data(), count.data(), k},
                               w.sparse[wi], w.bias[wi].data(), y.data(), n, threads);
    });
    benchmark::DoNotOptimize(y.data());
    ++it;
    ++calls;
  }
  const double p50 = samples.median_us();
  // Each weight row in the union of the batch's active sets is read once.
  const double read_bytes = mean_union_rows(inputs, m, k) * double(n) * sizeof(float);
  const double dense_bytes = double(k * n) * sizeof(float);
  state.counters["density"] = double(nnz) / double(calls * m * k);
  state.counters["p50_us"] = p50;
  state.counters["eff_GBps"] = p50 > 0 ? read_bytes / p50 * 1e-3 : 0;
  state.counters["dense_eq_GBps"] = p50 > 0 ? dense_bytes / p50 * 1e-3 : 0;
  state.counters["read_GBps"] = g_read_gbps[threads];
  state.counters["efficiency"] = p50 > 0 ? read_bytes / p50 * 1e-3 / g_read_gbps[threads] : 0;
}

void run_dense(benchmark::State &state, int64_t k, int64_t n, int64_t m, double density,
               int threads) {
  Weights &w = weights_for(k, n);
  auto inputs = make_inputs(m, k, density);
  std::vector<float> y(static_cast<size_t>(m * n));
  size_t it = 0;
  std::string err;
  Samples samples;
  bool ok = true;
  omp_set_num_threads(threads);
  for (auto _ : state) {
    const size_t wi = it % w.dense.size();
    const float *x = inputs[it % kInputSets].data();
    samples.time(state, [&] {
      if (w.panels.empty()) {
        ok = w.dense[wi]->run(x, m, y.data(), &err);
      } else if (m <= si::kRowsGemvMaxRows) {
        si::f32_dense_rows_gemm(x, m, k, w.sparse[wi], w.bias[wi].data(), y.data(), n, threads);
      } else {
        si::f32_dense_panels_gemm(x, m, k, w.panels[wi], w.bias[wi].data(), y.data(), n, threads);
      }
    });
    if (!ok) {
      state.SkipWithError(err.c_str());
      break;
    }
    benchmark::DoNotOptimize(y.data());
    ++it;
  }
  const double p50 = samples.median_us();
  state.counters["p50_us"] = p50;
  state.counters["dense_eq_GBps"] = p50 > 0 ? double(k * n) * sizeof(float) / p50 * 1e-3 : 0;
  state.counters["read_GBps"] = g_read_gbps[threads];
}

// The floor for any batch kernel that reads each needed weight row once: the
// time to only read (sum) the rows in the union of the batch's active sets,
// in ascending order, with no arithmetic on activations at all.
void run_union_read(benchmark::State &state, int64_t k, int64_t n, int64_t m, double density) {
  Weights &w = weights_for(k, n);
  auto inputs = make_inputs(m, k, density);
  std::vector<std::vector<int32_t>> unions;
  for (const auto &x : inputs) unions.push_back(union_rows(x, m, k));
  Samples samples;
  size_t it = 0;
  uint32_t bits = 0;  // OR of the words read: vectorises, unlike a float sum
  for (auto _ : state) {
    const si::PackedRows &rows = w.sparse[it % w.sparse.size()];
    const std::vector<int32_t> &u = unions[it % unions.size()];
    samples.time(state, [&] {
      for (int32_t c : u) {
        const auto *row = reinterpret_cast<const uint32_t *>(rows.data() + c * rows.ld());
        for (int64_t j = 0; j < n; ++j) bits |= row[j];
      }
    });
    benchmark::DoNotOptimize(bits);
    ++it;
  }
  const double p50 = samples.median_us();
  state.counters["p50_us"] = p50;
  state.counters["eff_GBps"] =
      p50 > 0 ? mean_union_rows(inputs, m, k) * double(n) * sizeof(float) / p50 * 1e-3 : 0;
}

// What the run-time zero count costs next to the dense matmul it may
// replace, in the worst case (counting the whole input and then running
// dense): a consumer nothing marks sparse counts its input's non-zeros (k
// floats per row) before choosing. The engine counts only where n >= 128.
void run_scan_share(benchmark::State &state, int64_t k, int64_t n, int64_t m) {
  Weights &w = weights_for(k, n);
  auto inputs = make_inputs(m, k, 0.5);
  std::vector<float> y(static_cast<size_t>(m * n));
  int64_t nnz = 0;
  std::string err;
  Samples scan, dense;
  size_t it = 0;
  omp_set_num_threads(1);
  for (auto _ : state) {
    // One input, hot in cache as it is when its producer has just written it.
    const std::vector<float> &x = inputs[0];
    scan.time(state, [&] { nnz += si::f32_count_nonzero(x.data(), m * k, m * k); });
    dense.time(state, [&] { w.dense[it % w.dense.size()]->run(x.data(), m, y.data(), &err); });
    benchmark::DoNotOptimize(nnz);
    benchmark::DoNotOptimize(y.data());
    ++it;
  }
  const double scan_us = scan.median_us(), dense_us = dense.median_us();
  state.counters["scan_us"] = scan_us;
  state.counters["dense_us"] = dense_us;
  state.counters["share"] = dense_us > 0 ? scan_us / dense_us : 0;
}

}  // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  measure_read_bandwidths();
  const std::pair<int64_t, int64_t> shapes[] = {{4096, 1024}, {8192, 2048}, {2048, 8192}};
  for (auto [k, n] : shapes) {
    for (int64_t m : {1, 4, 16, 64}) {
      for (int threads : {1, 2}) {
        char base[96];
        std::snprintf(base, sizeof base, "K%ldxN%ld/b%ld/t%d", long(k), long(n), long(m), threads);
        benchmark::RegisterBenchmark((std::string("dense/") + base).c_str(), run_dense, k, n, m,
                                     1.0, threads)
            ->UseManualTime()
            ->Iterations(kIterations)
            ->Unit(benchmark::kMicrosecond);
        for (double d : {1.0, 0.5, 0.3, 0.1, 0.05, 0.02, 0.0}) {
          char name[128];
          std::snprintf(name, sizeof name, "sparse/%s/d%.2f", base, d);
          benchmark::RegisterBenchmark(name, run_sparse, k, n, m, d, threads)
              ->UseManualTime()
              ->Iterations(kIterations)
              ->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
  for (auto [k, n] : shapes) {
    for (double d : {0.3, 0.1}) {
      char name[64];
      std::snprintf(name, sizeof name, "union_read/K%ldxN%ld/b16/d%.2f", long(k), long(n), d);
      benchmark::RegisterBenchmark(name, run_union_read, k, n, 16, d)
          ->UseManualTime()
          ->Iterations(kIterations)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  for (int64_t n : {32, 64, 128, 256, 512}) {
    for (int64_t m : {1, 16}) {
      char name[64];
      std::snprintf(name, sizeof name, "scan_share/K4096xN%ld/b%ld", long(n), long(m));
      benchmark::RegisterBenchmark(name, run_scan_share, 4096, n, m)
          ->UseManualTime()
          ->Iterations(kIterations)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
