#include "serve/batcher.h"

#include <atomic>
#include <cstring>

#include "engine/profile_summary.h"

namespace si::serve {
namespace {

using Clock = std::chrono::steady_clock;

double micros(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

// Dim 0 shared by every input, or -1.
int64_t common_rows(const std::vector<Tensor> &inputs) {
  int64_t rows = -1;
  for (const Tensor &t : inputs) {
    if (t.rank() < 1 || (rows >= 0 && t.dim(0) != rows)) return -1;
    rows = t.dim(0);
  }
  return rows;
}

bool stackable(const std::vector<Tensor> &a, const std::vector<Tensor> &b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].dtype() != b[i].dtype() || a[i].rank() != b[i].rank()) return false;
    for (int64_t d = 1; d < a[i].rank(); ++d) {
      if (a[i].dim(d) != b[i].dim(d)) return false;
    }
  }
  return true;
}

}  // namespace

Status run_measured(const Session &session, const std::vector<Tensor> &inputs,
                    std::vector<Tensor> *outputs, ModelMetrics *metrics, int requests) {
  // Shared by every model: the sampling only has to be roughly periodic.
  static std::atomic<uint64_t> runs{0};
  const bool profile = runs.fetch_add(1, std::memory_order_relaxed) % kProfileEvery == 0;
  RunProfile p;
  const Clock::time_point start = Clock::now();
  Status s = session.run(inputs, outputs, profile ? &p : nullptr);
  metrics->record_run(micros(start, Clock::now()), requests);
  if (profile && s.is_ok()) {
    const ProfileSummary sum = summarize_profile({p});
    if (sum.sparse_work_share >= 0) {
      metrics->record_matmul_work(sum.weight_bytes_dense,
                                  sum.sparse_work_share * sum.weight_bytes_dense);
    }
  }
  return s;
}

bool batchable(const Session &session) {
  auto dynamic_first = [](const std::vector<ValueInfo> &values) {
    for (const ValueInfo &v : values) {
      if (!v.has_shape || v.dims.empty() || v.dims[0].size >= 0) return false;
    }
    return !values.empty();
  };
  return dynamic_first(session.inputs()) && dynamic_first(session.outputs());
}

Batcher::Batcher(const Session &session, BatchOptions options, ModelMetrics *metrics)
    : session_(session), options_(options), metrics_(metrics) {
  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { work(); });
}

Batcher::~Batcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (std::thread &t : workers_) t.join();
}

Status Batcher::run(const std::vector<Tensor> &inputs, std::vector<Tensor> *outputs) {
  Job job;
  job.inputs = &inputs;
  job.outputs = outputs;
  job.enqueued = Clock::now();
  job.rows = common_rows(inputs);
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(&job);
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return job.done; });
  return job.status;
}

void Batcher::work() {
  for (;;) {
    std::vector<Job *> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      // The oldest request waits at most max_delay_us from its arrival for
      // company; one that queued behind a running batch may go at once.
      const Clock::time_point deadline =
          queue_.front()->enqueued + std::chrono::microseconds(options_.max_delay_us);
      work_cv_.wait_until(lock, deadline, [&] {
        int64_t rows = 0;
        for (const Job *j : queue_) rows += std::max<int64_t>(j->rows, 1);
        return stopping_ || queue_.empty() || rows >= options_.max_rows;
      });
      if (queue_.empty()) continue;  // another worker took them
      batch = take_batch();
    }
    // Nothing may escape a worker thread: a failed allocation in the
    // stacking fails the batch's requests instead.
    try {
      execute(batch);
    } catch (const std::exception &e) {
      for (Job *j : batch) j->status = internal_error(std::string("batch failed: ") + e.what());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (Job *j : batch) j->done = true;
    }
    done_cv_.notify_all();
  }
}

std::vector<Batcher::Job *> Batcher::take_batch() {
  std::vector<Job *> batch{queue_.front()};
  queue_.pop_front();
  if (batch[0]->rows < 0) return batch;
  int64_t rows = batch[0]->rows;
  for (auto it = queue_.begin(); it != queue_.end();) {
    Job *j = *it;
    if (j->rows >= 0 && rows + j->rows <= options_.max_rows &&
        stackable(*batch[0]->inputs, *j->inputs)) {
      rows += j->rows;
      batch.push_back(j);
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  return batch;
}

void Batcher::run_alone(Job *job) {
  job->status = run_measured(session_, *job->inputs, job->outputs, metrics_, 1);
}

void Batcher::execute(const std::vector<Job *> &batch) {
  const Clock::time_point start = Clock::now();
  for (Job *j : batch) metrics_->record_queue(micros(j->enqueued, start));
  if (batch.size() == 1) return run_alone(batch[0]);

  // Stack: input i of the batch is the jobs' input i concatenated along dim 0.
  const std::vector<Tensor> &first = *batch[0]->inputs;
  int64_t total = 0;
  for (const Job *j : batch) total += j->rows;
  std::vector<Tensor> stacked(first.size());
  Status s;
  for (size_t i = 0; i < first.size() && s.is_ok(); ++i) {
    Shape shape = first[i].shape();
    shape[0] = total;
    s = Tensor::allocate(first[i].dtype(), shape, &stacked[i]);
    size_t offset = 0;
    for (const Job *j : batch) {
      if (!s.is_ok()) break;
      const Tensor &t = (*j->inputs)[i];
      if (t.size_bytes() > 0) {
        std::memcpy(stacked[i].data<char>() + offset, t.raw(), t.size_bytes());
      }
      offset += t.size_bytes();
    }
  }
  std::vector<Tensor> outputs;
  if (s.is_ok()) s = run_measured(session_, stacked, &outputs, metrics_, int(batch.size()));
  // Split back, row for row; an output whose dim 0 is not the batch's rows
  // (a model that reduces over the batch) cannot be split, so run alone.
  for (const Tensor &o : outputs) {
    if (s.is_ok() && (o.rank() < 1 || o.dim(0) != total)) s = invalid_argument("unsplittable");
  }
  if (!s.is_ok()) {
    for (Job *j : batch) run_alone(j);
    return;
  }
  int64_t row = 0;
  for (Job *j : batch) {
    j->outputs->assign(outputs.size(), Tensor());
    for (size_t k = 0; k < outputs.size() && j->status.is_ok(); ++k) {
      const Tensor &o = outputs[k];
      Shape shape = o.shape();
      shape[0] = j->rows;
      const size_t row_bytes = total > 0 ? o.size_bytes() / size_t(total) : 0;
      j->status = Tensor::allocate(o.dtype(), shape, &(*j->outputs)[k]);
      if (j->status.is_ok() && row_bytes * size_t(j->rows) > 0) {
        std::memcpy((*j->outputs)[k].raw(), o.data<char>() + row_bytes * size_t(row),
                    row_bytes * size_t(j->rows));
      }
    }
    row += j->rows;
  }
}

}  // namespace si::serve
