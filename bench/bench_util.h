// Helpers the matmul benchmarks share: the machine's read bandwidth (the
// ceiling a weight-bound kernel is measured against) and per-iteration
// samples for medians.
#pragma once

#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <vector>

namespace {

// Sum of floats with 16 independent accumulators, so the loads, not the
// add latency, bound it.
__attribute__((noinline)) float sum_floats(const float *p, size_t n) {
  float acc[16] = {};
  for (size_t i = 0; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += p[i + size_t(j)];
  float s = 0;
  for (float a : acc) s += a;
  return s;
}

// Median of repeated sums over a 256 MiB buffer.
inline double measure_read_bandwidth(int threads) {
  const size_t n = (size_t{256} << 20) / sizeof(float);
  std::vector<float> buf(n, 1.f);
  std::vector<double> secs;
  for (int rep = 0; rep < 9; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    float sum = 0;
    const size_t part = n / size_t(threads);
#pragma omp parallel for reduction(+ : sum) num_threads(threads)
    for (int t = 0; t < threads; ++t) sum += sum_floats(buf.data() + size_t(t) * part, part);
    auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(sum);
    secs.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  std::sort(secs.begin(), secs.end());
  return double(n * sizeof(float)) / secs[secs.size() / 2] / 1e9;
}

// The read bandwidth in GB/s by thread count (1 and 2), measured once by
// measure_read_bandwidths() in main() before the benchmarks run.
double g_read_gbps[3] = {0, 0, 0};

inline void measure_read_bandwidths() {
  for (int t : {1, 2}) g_read_gbps[t] = measure_read_bandwidth(t);
  std::printf("read bandwidth (sum over 256 MiB): %.1f GB/s 1 thread, %.1f GB/s 2 threads\n",
              g_read_gbps[1], g_read_gbps[2]);
}

// Per-iteration times, so the report can give the median (the mean of a
// shared machine's samples is pulled around by a few preempted runs).
class Samples {
 public:
  template <typename F>
  void time(benchmark::State &state, F &&body) {
    auto t0 = std::chrono::steady_clock::now();
    body();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(s);
    seconds_.push_back(s);
  }
  double median_us() {
    std::sort(seconds_.begin(), seconds_.end());
    return seconds_.empty() ? 0 : seconds_[seconds_.size() / 2] * 1e6;
  }

 private:
  std::vector<double> seconds_;
};

}  // namespace
