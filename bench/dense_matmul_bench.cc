// oneDNN matmul with prepacked weights (format any, reordered once) vs the
// same primitive over plain row-major weights (format_tag::ab): the "layout
// trap" that costs about 4x of weight bandwidth at batch 1.
//
// Avoids the cache trap: each benchmark rotates through weight matrices whose
// total exceeds 64 MiB (twice the L3) and through several input batches.
// bytes_per_second counts weight bytes (k*n*4 per call), so it reads as the
// weight bandwidth the kernel achieves.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/dense/dnnl_matmul.h"

namespace {

constexpr size_t kWeightSetBytes = size_t{64} << 20;
constexpr int kInputSets = 8;

void fill_random(std::vector<float> *v, uint32_t seed) {
  uint32_t s = seed * 2654435761u + 1;
  for (float &x : *v) {
    s = s * 1664525u + 1013904223u;
    x = float(int32_t(s >> 8) - (1 << 23)) / float(1 << 23);
  }
}

struct WeightSet {
  int64_t k = 0, n = 0;
  bool prepack = false;
  std::vector<std::unique_ptr<si::DnnlPackedMatmul>> mats;
};

// One configuration at a time, so at most one set of matrices is resident
// and Google Benchmark's repeated calls of a benchmark do not repack.
WeightSet *weight_set(int64_t k, int64_t n, bool prepack, std::string *error) {
  static std::unique_ptr<WeightSet> current;
  if (current && current->k == k && current->n == n && current->prepack == prepack)
    return current.get();
  current.reset();
  auto set = std::make_unique<WeightSet>();
  set->k = k;
  set->n = n;
  set->prepack = prepack;
  const size_t bytes = size_t(k * n) * sizeof(float);
  const size_t count = kWeightSetBytes / bytes + 1;  // total strictly above 64 MiB
  std::vector<float> plain(size_t(k * n));
  for (size_t i = 0; i < count; ++i) {
    fill_random(&plain, uint32_t(i + 1));
    si::DnnlMatmulParams p;
    p.k = k;
    p.n = n;
    p.prepack = prepack;
    auto mm = si::DnnlPackedMatmul::create(p, plain.data(), error);
    if (mm == nullptr) return nullptr;
    set->mats.push_back(std::move(mm));
  }
  current = std::move(set);
  return current.get();
}

// Args: prepack (0/1), batch M, K, N, threads.
void BM_DnnlMatmul(benchmark::State &state) {
  const bool prepack = state.range(0) != 0;
  const int64_t m = state.range(1), k = state.range(2), n = state.range(3);
  const int threads = int(state.range(4));
  std::string error;
  WeightSet *set = weight_set(k, n, prepack, &error);
  if (set == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::vector<std::vector<float>> inputs(kInputSets, std::vector<float>(size_t(m * k)));
  for (int i = 0; i < kInputSets; ++i) fill_random(&inputs[size_t(i)], uint32_t(100 + i));
  std::vector<float> out(size_t(m * n));
  omp_set_num_threads(threads);
  size_t it = 0;
  for (auto _ : state) {
    const si::DnnlPackedMatmul &mm = *set->mats[it % set->mats.size()];
    if (!mm.run(inputs[it % kInputSets].data(), m, out.data(), &error)) {
      state.SkipWithError(error.c_str());
      break;
    }
    benchmark::ClobberMemory();
    ++it;
  }
  const int64_t weight_bytes = k * n * int64_t(sizeof(float));
  state.SetBytesProcessed(int64_t(state.iterations()) * weight_bytes);
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * double(m * k * n) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(set->mats[0]->impl_name() + (prepack ? " packed" : " plain-ab") + " x" +
                 std::to_string(set->mats.size()) + " matrices");
}

void dense_args(benchmark::internal::Benchmark *b) {
  b->ArgNames({"prepack", "M", "K", "N", "threads"});
  for (int64_t threads : {1, 2})
    for (const auto &kn : {std::pair<int64_t, int64_t>{4096, 4096}, {8192, 2048}})
      for (int64_t m : {1, 4, 16, 32, 64})
        for (int64_t prepack : {1, 0}) b->Args({prepack, m, kn.first, kn.second, threads});
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_DnnlMatmul)->Apply(dense_args);

}  // namespace

BENCHMARK_MAIN();
