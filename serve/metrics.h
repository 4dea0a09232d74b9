// Per model version counters and histograms, rendered in Prometheus' text
// exposition format for GET /metrics. Every record_* call is thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace si::serve {

// Cumulative buckets with upper bounds `bounds` (ascending) plus +Inf.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // `name`_bucket / _sum / _count lines with `labels` ("a=\"b\",...").
  void render(const std::string &name, const std::string &labels, std::string *out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class ModelMetrics {
 public:
  ModelMetrics(std::string model, std::string version);

  void record_request(bool ok);
  // One Session::run serving `requests` requests (1 without batching).
  void record_run(double compute_us, int requests);
  void record_queue(double queue_us);
  // A profiled run's matmul work: weight bytes a dense kernel would read,
  // and the part of them that took the sparse path.
  void record_matmul_work(double dense_bytes, double sparse_bytes);

  // Appends this model's samples to each family's lines (kFamilies of them,
  // in Metrics::render's order): Prometheus wants a family's lines together.
  static constexpr size_t kFamilies = 8;
  void render(std::string *families) const;

 private:
  const std::string labels_;
  mutable std::mutex mu_;
  uint64_t ok_ = 0, failed_ = 0;
  Histogram queue_us_, compute_us_, batch_size_;
  uint64_t profiled_runs_ = 0;
  double dense_bytes_ = 0, sparse_bytes_ = 0;
};

class Metrics {
 public:
  // The returned object lives as long as this one.
  ModelMetrics *add(const std::string &model, const std::string &version);
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::deque<ModelMetrics> models_;  // deque: add() keeps earlier addresses valid
};

}  // namespace si::serve
