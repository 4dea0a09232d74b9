#include "tools/bench_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace si::cli {

namespace {

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

double nearest_rank(const std::vector<double> &sorted, double p) {
  if (sorted.empty()) return 0;
  double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  size_t idx = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(idx, sorted.size() - 1)];
}

LatencyStats compute_latency_stats(std::vector<double> samples_us) {
  LatencyStats s;
  s.iters = static_cast<long>(samples_us.size());
  if (samples_us.empty()) return s;
  std::sort(samples_us.begin(), samples_us.end());
  s.min = samples_us.front();
  s.max = samples_us.back();
  s.mean = std::accumulate(samples_us.begin(), samples_us.end(), 0.0) /
           static_cast<double>(samples_us.size());
  s.p50 = nearest_rank(samples_us, 50);
  s.p90 = nearest_rank(samples_us, 90);
  s.p99 = nearest_rank(samples_us, 99);
  return s;
}

std::string latency_line(const LatencyStats &s) {
  return "latency_us p50=" + fixed(s.p50, 1) + " p90=" + fixed(s.p90, 1) +
         " p99=" + fixed(s.p99, 1) + " mean=" + fixed(s.mean, 1) +
         " iters=" + std::to_string(s.iters);
}

std::string bench_json(const BenchReport &r) {
  const LatencyStats &s = r.latency;
  std::string samples;
  for (double us : r.samples_us) samples += (samples.empty() ? "" : ",") + fixed(us, 1);
  return "{\"load_ms\":" + fixed(r.load_ms, 3) + ",\"first_run_us\":" + fixed(r.first_run_us, 1) +
         ",\"iters\":" + std::to_string(s.iters) + ",\"warmup\":" + std::to_string(r.warmup) +
         ",\"threads\":" + std::to_string(r.threads) + ",\"mode\":\"" + r.mode +
         "\",\"latency_us\":{\"min\":" + fixed(s.min, 1) + ",\"mean\":" + fixed(s.mean, 1) +
         ",\"p50\":" + fixed(s.p50, 1) + ",\"p90\":" + fixed(s.p90, 1) +
         ",\"p99\":" + fixed(s.p99, 1) + ",\"max\":" + fixed(s.max, 1) + "},\"samples_us\":[" +
         samples + "]}\n";
}

}  // namespace si::cli
