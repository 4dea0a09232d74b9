// Running requests on a Session: one by one (run_measured), or stacked into
// batches (Batcher) when the model's batch dimension is dynamic.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/session.h"
#include "engine/status.h"
#include "engine/tensor.h"
#include "serve/metrics.h"

namespace si::serve {

// One run in kProfileEvery is profiled to feed the sparse-work metrics: a
// profiled run times each step and records its path, which on the 8 us digits
// MLP costs ~2 us (--bench with and without --profile), so sampled it costs
// ~1.5% there on average, and less on any model with real work per step.
constexpr uint64_t kProfileEvery = 16;

// session.run with its compute time (and, sampled, its matmul work) recorded
// in `metrics` as serving `requests` requests.
Status run_measured(const Session &session, const std::vector<Tensor> &inputs,
                    std::vector<Tensor> *outputs, ModelMetrics *metrics, int requests);

// True when every input and output of the session has a dynamic first
// dimension: rows of several requests can then be stacked along it.
bool batchable(const Session &session);

struct BatchOptions {
  int64_t max_delay_us = 0;  // how long the first request of a batch waits for others
  int64_t max_rows = 64;     // rows (sum of requests' dim 0) per batch
  int workers = 1;           // threads forming and running batches
};

// Requests submitted concurrently are stacked along dim 0 into one run and
// the outputs split back, row for row. Only requests whose inputs agree in
// dtype and trailing dims share a batch; if a batched run fails, each of its
// requests runs alone, so each gets its own error (the session stays the one
// judge of shapes and dtypes).
class Batcher {
 public:
  Batcher(const Session &session, BatchOptions options, ModelMetrics *metrics);
  // Finishes the queued requests, then joins the workers.
  ~Batcher();
  Batcher(const Batcher &) = delete;
  Batcher &operator=(const Batcher &) = delete;

  // Blocks until the request's batch ran. Inputs are in model order.
  Status run(const std::vector<Tensor> &inputs, std::vector<Tensor> *outputs);

 private:
  using Clock = std::chrono::steady_clock;
  struct Job {
    const std::vector<Tensor> *inputs;
    std::vector<Tensor> *outputs;
    Clock::time_point enqueued;
    int64_t rows = -1;  // -1: cannot be stacked (no common dim 0)
    Status status;
    bool done = false;
  };

  void work();
  // Takes the oldest job and those queued after it that stack with it.
  std::vector<Job *> take_batch();
  void execute(const std::vector<Job *> &batch);
  void run_alone(Job *job);

  const Session &session_;
  const BatchOptions options_;
  ModelMetrics *const metrics_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Job *> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace si::serve
