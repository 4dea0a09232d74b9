// Latency statistics for --bench and their two report forms: the summary line
// scripts parse and the --json document.
#pragma once

#include <string>
#include <vector>

namespace si::cli {

struct LatencyStats {
  double min = 0, mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;  // microseconds
  long iters = 0;
};

// Nearest-rank percentile (the smallest sample with at least p% of the samples
// at or below it) of ascending `sorted`; p in (0, 100]. 0 for no samples.
double nearest_rank(const std::vector<double> &sorted, double p);

LatencyStats compute_latency_stats(std::vector<double> samples_us);

// `latency_us p50=<x> p90=<x> p99=<x> mean=<x> iters=<n>`, one decimal.
std::string latency_line(const LatencyStats &stats);

struct BenchReport {
  double load_ms = 0;
  double first_run_us = 0;
  long warmup = 0;
  int threads = 0;
  std::string mode;  // "auto", "dense", "sparse"
  LatencyStats latency;
  std::vector<double> samples_us;  // every timed iteration, in run order
};

// {"load_ms":..,"first_run_us":..,"iters":..,"warmup":..,"threads":..,
//  "mode":"..","latency_us":{"min":..,"mean":..,"p50":..,"p90":..,"p99":..,"max":..},
//  "samples_us":[..]}  (one decimal; samples in run order, so a tail is visible)
std::string bench_json(const BenchReport &report);

}  // namespace si::cli
