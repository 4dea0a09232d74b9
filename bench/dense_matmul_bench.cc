// oneDNN matmul with prepacked weights (format any, reordered once) vs the
// same primitive over plain row-major weights (format_tag::ab): the "layout
// trap" that costs about 4x of weight bandwidth at batch 1.
//
// `--sweep` instead times every dense implementation ConstWeightMatmul can
// choose from, per shape, batch size M and thread count, and prints one
// markdown table: the read bandwidth this process measures first (a sum
// over 256 MiB), then per candidate the median ms, weight GB/s, its share of
// that bandwidth and GFLOPS. Candidates: oneDNN matmul on its packed layout
// (format any) with calls of 1-3 rows padded to 4 and without, oneDNN
// matmul on the plain row layout (what a borrowed copy runs), oneDNN
// inner_product on its own layout (format any) and on the row layout
// (dnnl_ip_plain), the engine's kernel over the
// row layout (f32_dense_rows_gemm; rows_tiled: its register tiles at every
// M), the own GEMM over weights packed into column panels at load
// (f32_dense_panels_gemm), and the sparse gather kernel with every
// row active (sparse_all). The table in
// ConstWeightMatmul (dense_choice) comes from this sweep.
//
// Avoids the cache trap: each benchmark rotates through weight matrices whose
// total exceeds 64 MiB (twice the L3) and through several input batches.
// bytes_per_second counts weight bytes (k*n*4 per call), so it reads as the
// weight bandwidth the kernel achieves.
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/dense/dnnl_matmul.h"
#include "kernels/dense/panel_gemm.h"
#include "kernels/dense/rows_gemm.h"
#include "kernels/sparse/sparse_matmul.h"
#include "kernels/weight_buffer.h"

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

// --- sweep -----------------------------------------------------------------

// Sum of n floats read as four streams at once (quarters of the range, two
// 8-float vectors of each per step, eight independent sums): the access
// pattern of the row kernels, which keep four weight rows in flight. One
// stream alone reads ~40% slower on a Zen 3: the prefetchers keep fewer
// lines in flight.
__attribute__((noinline, target("avx2"))) float sum_floats(const float *p, size_t n) {
  const size_t q = n / 4 / 16 * 16;
  const float *s0 = p, *s1 = p + q, *s2 = p + 2 * q, *s3 = p + 3 * q;
  __m256 acc[8];
  for (__m256 &a : acc) a = _mm256_setzero_ps();
  for (size_t i = 0; i < q; i += 16) {
    acc[0] = _mm256_add_ps(acc[0], _mm256_loadu_ps(s0 + i));
    acc[1] = _mm256_add_ps(acc[1], _mm256_loadu_ps(s0 + i + 8));
    acc[2] = _mm256_add_ps(acc[2], _mm256_loadu_ps(s1 + i));
    acc[3] = _mm256_add_ps(acc[3], _mm256_loadu_ps(s1 + i + 8));
    acc[4] = _mm256_add_ps(acc[4], _mm256_loadu_ps(s2 + i));
    acc[5] = _mm256_add_ps(acc[5], _mm256_loadu_ps(s2 + i + 8));
    acc[6] = _mm256_add_ps(acc[6], _mm256_loadu_ps(s3 + i));
    acc[7] = _mm256_add_ps(acc[7], _mm256_loadu_ps(s3 + i + 8));
  }
  for (int j = 1; j < 8; ++j) acc[0] = _mm256_add_ps(acc[0], acc[j]);
  float lanes[8];
  _mm256_storeu_ps(lanes, acc[0]);
  float s = 0;
  for (float v : lanes) s += v;
  return s;
}

// This thread's CPU time in ms. On a shared machine the wall time of a
// 1-thread call includes the time others held the core; its CPU time does
// not (cache and memory contention remain).
double thread_cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
}

double wall_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The median time of one call, by the clock the sweep reports: CPU time on
// one thread, wall time on more (where the CPU time would count waits).
struct Clock {
  int threads = 1;
  double now() const { return threads == 1 ? thread_cpu_ms() : wall_ms(); }
};

// GB/s of a median sum over 256 MiB (eight times the L3) on `threads`
// threads, each its own part, in a huge-page buffer like the weights.
double read_bandwidth(int threads) {
  const size_t n = (size_t{256} << 20) / sizeof(float);
  size_t capacity = 0;
  si::WeightBuffer mem = si::alloc_weight_buffer(n * sizeof(float), &capacity);
  float *buf = static_cast<float *>(mem.get());
  std::fill(buf, buf + n, 1.f);
  std::vector<double> ms;
  const Clock clock{threads};
  for (int rep = 0; rep < 9; ++rep) {
    const double t0 = clock.now();
    float sum = 0;
    const size_t part = n / size_t(threads);
#pragma omp parallel for reduction(+ : sum) num_threads(threads)
    for (int t = 0; t < threads; ++t) sum += sum_floats(buf + size_t(t) * part, part);
    benchmark::DoNotOptimize(sum);
    ms.push_back(clock.now() - t0);
  }
  std::sort(ms.begin(), ms.end());
  return double(n * sizeof(float)) / ms[ms.size() / 2] / 1e6;
}

// One candidate's copies of the rotating weight set: run(i, a, m, y) applies
// copy i.
struct Candidate {
  std::string name;
  std::string impl;  // oneDNN's implementation name, or the kernel's ISA
  size_t copies = 0;
  std::function<void(size_t, const float *, int64_t, float *)> run;
};

// Builds `name`'s copies of `plain` (distinct scalings, so no two are equal)
// totalling over 64 MiB. Returns false when oneDNN rejects the problem.
bool make_candidate(const std::string &name, int64_t k, int64_t n, const std::vector<float> &plain,
                    const std::vector<float> &bias, Candidate *c) {
  const char *known[] = {"dnnl_matmul", "dnnl_matmul_nopad", "dnnl_matmul_plain",
                         "dnnl_ip",     "dnnl_ip_plain",     "rows",
                         "rows_tiled",  "sparse_all",        "panels"};
  if (std::find(std::begin(known), std::end(known), name) == std::end(known)) {
    std::fprintf(stderr, "unknown candidate %s\n", name.c_str());
    return false;
  }
  c->name = name;
  const size_t count = kWeightSetBytes / (size_t(k * n) * sizeof(float)) + 1;
  auto rows = std::make_shared<std::vector<si::PackedRows>>(count);
  auto dnnl = std::make_shared<std::vector<std::unique_ptr<si::DnnlPackedMatmul>>>();
  auto panels = std::make_shared<std::vector<si::PackedPanels>>(name == "panels" ? count : 0);
  std::vector<float> scaled(plain.size());
  for (size_t i = 0; i < count; ++i) {
    for (size_t j = 0; j < plain.size(); ++j) scaled[j] = plain[j] * float(1 + i);
    if (name == "panels") {
      if (!(*panels)[i].pack(scaled.data(), k, n, false)) return false;
      continue;
    }
    const bool own = name == "rows" || name == "rows_tiled" || name == "sparse_all";
    const bool borrows = name == "dnnl_matmul_plain" || name == "dnnl_ip_plain";
    if ((own || borrows) && !(*rows)[i].pack(scaled.data(), k, n, false)) return false;
    if (own) continue;
    si::DnnlMatmulParams p;
    p.k = k;
    p.n = n;
    p.bias = bias.data();
    p.inner_product = name == "dnnl_ip" || name == "dnnl_ip_plain";
    p.min_rows_per_call = name == "dnnl_matmul_nopad" ? 1 : 4;
    std::string error;
    auto mm = name == "dnnl_matmul_plain" ? si::DnnlPackedMatmul::create_borrowed(
                                                p, (*rows)[i].data(), (*rows)[i].ld(), &error)
                                          : si::DnnlPackedMatmul::create(p, scaled.data(), &error);
    if (mm == nullptr) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), error.c_str());
      return false;
    }
    dnnl->push_back(std::move(mm));
  }
  c->copies = count;
  if (name == "rows" || name == "rows_tiled") {
    c->impl = si::dense_rows_kernels().isa;
    auto b = std::make_shared<std::vector<float>>(bias);
    const auto gemm = name == "rows" ? si::f32_dense_rows_gemm : si::f32_dense_rows_gemm_tiled;
    c->run = [rows, b, k, gemm](size_t i, const float *a, int64_t m, float *y) {
      const si::PackedRows &w = (*rows)[i];
      gemm(a, m, k, w, b->data(), y, w.cols(), omp_get_max_threads());
    };
  } else if (name == "panels") {
    c->impl = si::dense_rows_kernels().isa;
    auto b = std::make_shared<std::vector<float>>(bias);
    c->run = [panels, b, k](size_t i, const float *a, int64_t m, float *y) {
      const si::PackedPanels &w = (*panels)[i];
      si::f32_dense_panels_gemm(a, m, k, w, b->data(), y, w.cols(), omp_get_max_threads());
    };
  } else if (name == "sparse_all") {
    c->impl = si::dense_rows_kernels().isa;
    auto b = std::make_shared<std::vector<float>>(bias);
    c->run = [rows, b, k](size_t i, const float *a, int64_t m, float *y) {
      // Every row active: the gather kernel as the dense path of a sparse
      // layer runs it today at batch 1.
      thread_local std::vector<int32_t> idx;
      thread_local std::vector<int64_t> count;
      idx.resize(size_t(m * k));
      count.assign(size_t(m), k);
      for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < k; ++j) idx[size_t(r * k + j)] = int32_t(j);
      const si::PackedRows &w = (*rows)[i];
      si::f32_sparse_rows_gemm(a, m, k, si::ActiveRows{idx.data(), count.data(), k}, w, b->data(),
                               y, w.cols(), omp_get_max_threads());
    };
  } else {
    c->impl = (*dnnl)[0]->impl_name();
    c->run = [rows, dnnl](size_t i, const float *a, int64_t m, float *y) {
      std::string error;
      if (!(*dnnl)[i]->run(a, m, y, &error)) {
        std::fprintf(stderr, "%s\n", error.c_str());
        std::exit(1);
      }
    };
  }
  return true;
}

// Median ms of each candidate's `iters` calls after 3 warm-up calls,
// rotating weights and inputs. The candidates take turns call by call, so a
// busy machine slows them alike and their ratios hold.
std::vector<double> time_ms(const std::vector<Candidate> &cands,
                            const std::vector<std::vector<float>> &inputs, int64_t m, int64_t n,
                            int iters, const Clock &clock) {
  std::vector<float> y(size_t(m * n));
  std::vector<std::vector<double>> ms(cands.size());
  for (int it = -3; it < iters; ++it) {
    for (size_t c = 0; c < cands.size(); ++c) {
      const double t0 = clock.now();
      cands[c].run(size_t(it + 3) % cands[c].copies, inputs[size_t(it + 3) % inputs.size()].data(),
                   m, y.data());
      benchmark::DoNotOptimize(y.data());
      if (it >= 0) ms[c].push_back(clock.now() - t0);
    }
  }
  std::vector<double> median;
  for (auto &v : ms) {
    std::sort(v.begin(), v.end());
    median.push_back(v[v.size() / 2]);
  }
  return median;
}

// Shapes: the 8192x2048 and 4096x4096, the OPT decoder's fc1 and fc2.
// SWEEP_SHAPES=KxN,KxN..., SWEEP_M=1,2,... and SWEEP_CANDIDATES=name,...
// override; SWEEP_ITERS is the timed calls per point (default 15).
int sweep() {
  std::vector<std::pair<int64_t, int64_t>> shapes = {
      {8192, 2048}, {4096, 4096}, {1024, 4096}, {4096, 1024}};
  std::vector<int64_t> ms = {1, 2, 4, 8, 16, 32, 64, 128};
  if (const char *e = std::getenv("SWEEP_SHAPES")) {
    shapes.clear();
    for (const char *p = e; *p;) {
      char *end = nullptr;
      const long k = std::strtol(p, &end, 10);
      const long n = std::strtol(end + 1, &end, 10);
      shapes.push_back({k, n});
      p = *end == ',' ? end + 1 : end;
    }
  }
  if (const char *e = std::getenv("SWEEP_M")) {
    ms.clear();
    for (const char *p = e; *p;) {
      char *end = nullptr;
      ms.push_back(std::strtol(p, &end, 10));
      p = *end == ',' ? end + 1 : end;
    }
  }
  const int iters = std::getenv("SWEEP_ITERS") ? std::atoi(std::getenv("SWEEP_ITERS")) : 15;
  double bw[3] = {0, read_bandwidth(1), read_bandwidth(2)};
  std::printf(
      "dispatch ISA %s; read bandwidth (4 streams over 256 MiB): %.1f GB/s 1 thread, %.1f GB/s "
      "2 threads\n\n",
      si::dispatch_isa(), bw[1], bw[2]);
  std::printf(
      "| K x N | threads | M | candidate | impl | ms | weight GB/s | %% of read bw | "
      "GFLOPS |\n|---|---|---|---|---|---|---|---|---|\n");
  std::vector<std::string> names = {"dnnl_matmul", "dnnl_matmul_nopad", "dnnl_matmul_plain",
                                    "dnnl_ip",     "dnnl_ip_plain",     "rows",
                                    "rows_tiled",  "sparse_all",        "panels"};
  if (const char *e = std::getenv("SWEEP_CANDIDATES")) {
    names.clear();
    for (const char *p = e; *p;) {
      const char *end = std::strchr(p, ',');
      names.emplace_back(p, end ? size_t(end - p) : std::strlen(p));
      p = end ? end + 1 : p + std::strlen(p);
    }
  }
  for (auto [k, n] : shapes) {
    std::vector<float> plain(static_cast<size_t>(k * n)), bias(static_cast<size_t>(n));
    fill_random(&plain, 1);
    fill_random(&bias, 2);
    for (float &v : plain) v *= 0.02f;
    std::vector<Candidate> cands;
    for (const std::string &name : names) {
      Candidate c;
      if (make_candidate(name, k, n, plain, bias, &c)) cands.push_back(std::move(c));
    }
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      for (int64_t m : ms) {
        std::vector<std::vector<float>> inputs(kInputSets, std::vector<float>(size_t(m * k)));
        for (int i = 0; i < kInputSets; ++i) fill_random(&inputs[size_t(i)], uint32_t(100 + i));
        const std::vector<double> t = time_ms(cands, inputs, m, n, iters, Clock{threads});
        for (size_t c = 0; c < cands.size(); ++c) {
          const double gbps = double(k * n * 4) / t[c] / 1e6;
          std::printf("| %ldx%ld | %d | %ld | %s | %s | %.3f | %.2f | %.0f%% | %.1f |\n", long(k),
                      long(n), threads, long(m), cands[c].name.c_str(), cands[c].impl.c_str(), t[c],
                      gbps, 100.0 * gbps / bw[threads], 2.0 * double(m * k * n) / t[c] / 1e6);
        }
        std::fflush(stdout);
      }
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc > 1 && std::strcmp(argv[1], "--sweep") == 0) return sweep();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
