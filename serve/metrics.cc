#include "serve/metrics.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace si::serve {
namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Prometheus label values escape backslash, double quote and newline.
std::string label_value(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// Latency buckets in microseconds, 10 us to 10 s.
std::vector<double> time_bounds() {
  return {10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 1e6, 1e7};
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  const size_t i = size_t(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(const std::string &name, const std::string &labels, std::string *out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    *out += name + "_bucket{" + labels + ",le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  *out += name + "_sum{" + labels + "} " + number(sum_) + "\n";
  *out += name + "_count{" + labels + "} " + std::to_string(count_) + "\n";
}

ModelMetrics::ModelMetrics(std::string model, std::string version)
    : labels_("model=\"" + label_value(model) + "\",version=\"" + label_value(version) + "\""),
      queue_us_(time_bounds()),
      compute_us_(time_bounds()),
      batch_size_({1, 2, 4, 8, 16, 32, 64, 128}) {}

void ModelMetrics::record_request(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  ++(ok ? ok_ : failed_);
}

void ModelMetrics::record_run(double compute_us, int requests) {
  std::lock_guard<std::mutex> lock(mu_);
  compute_us_.observe(compute_us);
  batch_size_.observe(requests);
}

void ModelMetrics::record_queue(double queue_us) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_us_.observe(queue_us);
}

void ModelMetrics::record_matmul_work(double dense_bytes, double sparse_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  ++profiled_runs_;
  dense_bytes_ += dense_bytes;
  sparse_bytes_ += sparse_bytes;
}

void ModelMetrics::render(std::string *f) const {
  std::lock_guard<std::mutex> lock(mu_);
  f[0] +=
      "sparse_infer_requests_total{" + labels_ + ",outcome=\"ok\"} " + std::to_string(ok_) + "\n";
  f[0] += "sparse_infer_requests_total{" + labels_ + ",outcome=\"failed\"} " +
          std::to_string(failed_) + "\n";
  queue_us_.render("sparse_infer_queue_time_us", labels_, &f[1]);
  compute_us_.render("sparse_infer_compute_time_us", labels_, &f[2]);
  batch_size_.render("sparse_infer_batch_size", labels_, &f[3]);
  f[4] +=
      "sparse_infer_profiled_runs_total{" + labels_ + "} " + std::to_string(profiled_runs_) + "\n";
  f[5] += "sparse_infer_matmul_dense_bytes_total{" + labels_ + "} " + number(dense_bytes_) + "\n";
  f[6] += "sparse_infer_matmul_sparse_bytes_total{" + labels_ + "} " + number(sparse_bytes_) + "\n";
  if (dense_bytes_ > 0) {
    f[7] += "sparse_infer_matmul_sparse_share{" + labels_ + "} " +
            number(sparse_bytes_ / dense_bytes_) + "\n";
  }
}

ModelMetrics *Metrics::add(const std::string &model, const std::string &version) {
  std::lock_guard<std::mutex> lock(mu_);
  return &models_.emplace_back(model, version);
}

std::string Metrics::render() const {
  struct Family {
    const char *name, *type, *help;
  };
  // The work counters come from profiled runs only (one run in kProfileEvery,
  // batcher.h): a profile times every step, which costs.
  static const Family kFamilies[ModelMetrics::kFamilies] = {
      {"sparse_infer_requests_total", "counter", "Inference requests by outcome."},
      {"sparse_infer_queue_time_us", "histogram",
       "Microseconds a request waited for its batch to start (0 without batching)."},
      {"sparse_infer_compute_time_us", "histogram", "Microseconds of each Session::run."},
      {"sparse_infer_batch_size", "histogram", "Requests served by each Session::run."},
      {"sparse_infer_profiled_runs_total", "counter", "Runs sampled for the matmul work counters."},
      {"sparse_infer_matmul_dense_bytes_total", "counter",
       "Sampled runs: weight bytes a dense kernel would read in the matmuls that may go sparse."},
      {"sparse_infer_matmul_sparse_bytes_total", "counter",
       "Sampled runs: the part of sparse_infer_matmul_dense_bytes_total that took the sparse "
       "path."},
      {"sparse_infer_matmul_sparse_share", "gauge",
       "sparse_infer_matmul_sparse_bytes_total / sparse_infer_matmul_dense_bytes_total."},
  };
  std::string lines[ModelMetrics::kFamilies];
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const ModelMetrics &m : models_) m.render(lines);
  }
  std::string out;
  for (size_t i = 0; i < ModelMetrics::kFamilies; ++i) {
    out += std::string("# HELP ") + kFamilies[i].name + " " + kFamilies[i].help + "\n# TYPE " +
           kFamilies[i].name + " " + kFamilies[i].type + "\n" + lines[i];
  }
  return out;
}

}  // namespace si::serve
