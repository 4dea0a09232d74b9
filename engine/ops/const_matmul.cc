#include "engine/ops/const_matmul.h"

#include <cmath>
#include <string>

namespace si {

double sparse_crossover_density(int64_t m) {
  // From bench/sparse_matmul_bench (bench/RESULTS.md), one thread, weights
  // beyond L3, independent random active sets per row; speedup of the sparse
  // kernel over oneDNN prepacked at 8192x2048: batch 1 is ahead even at
  // density 1 (1.31x; 1.24-1.51x over the three shapes), batch 4 crosses
  // between 0.3 (0.74x) and 0.1 (1.72x), batch 16 between 0.3 (0.63x) and
  // 0.1 (1.33x), batch 64 between 0.3 (0.73x) and 0.1 (1.79x).
  if (m <= 1) return 0.95;
  if (m <= 4) return 0.2;
  if (m <= 16) return 0.13;
  if (m <= 64) return 0.2;
  return 0.15;
}

namespace {

// Calls of an unmarked consumer whose input zeros are counted. After them the
// count stops, so a dense layer pays nothing more.
constexpr int kCalibrationCalls = 8;

// Below this many output columns, counting the input's non-zeros (k floats a
// row) could cost over 3% of the matmul it may replace (k*n weights). Worst
// case measured (scan_share in bench/sparse_matmul_bench.cc, whole count then
// dense, K 4096, batch 16): 2.9% of dense at n = 64, 1.7% at n = 128.
constexpr int64_t kMinColsForScan = 128;

// Whether a's active fraction is under this batch size's crossover. Counting
// stops at the crossover, so a dense input costs only that fraction of a scan.
bool sparse_enough(const float *a, int64_t m, int64_t k) {
  const int64_t total = m * k;
  const auto limit = static_cast<int64_t>(sparse_crossover_density(m) * double(total));
  return f32_count_nonzero(a, total, limit) < limit;
}

// v < 0 keeps NaN as NaN, like the Relu op.
void relu_in_place(float *y, int64_t count) {
  for (int64_t i = 0; i < count; ++i) y[i] = y[i] < 0.f ? 0.f : y[i];
}

bool all_finite(const float *w, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    if (!std::isfinite(w[i])) return false;
  return true;
}

}  // namespace

Status ConstWeightMatmul::create(const ConstMatmulSpec &spec, const float *w, ExecMode mode,
                                 bool sparse_input, std::unique_ptr<ConstWeightMatmul> *out) {
  auto mm = std::unique_ptr<ConstWeightMatmul>(new ConstWeightMatmul());
  mm->k_ = spec.k;
  mm->n_ = spec.n;
  mm->relu_ = spec.relu;
  // Skipping x == 0 terms is exact only if 0 * w == 0 for every weight: a
  // matrix with Inf or NaN stays dense so both paths give the same NaNs.
  const bool finite = mode != ExecMode::kDense && all_finite(w, spec.k * spec.n);
  const bool want_rows = mode == ExecMode::kSparse || (mode == ExecMode::kAuto && sparse_input);
  const bool rows_ok = want_rows && finite;
  const bool want_dense = mode != ExecMode::kSparse || !rows_ok;
  if (mode == ExecMode::kAuto && !sparse_input && finite && spec.n >= kMinColsForScan &&
      spec.k > 0) {
    mm->calibration_left_ = kCalibrationCalls;
    if (spec.bias != nullptr) mm->bias_.assign(spec.bias, spec.bias + spec.n);
  }
  if (rows_ok) {
    std::vector<float> scaled;
    const float *src = w;
    if (spec.alpha != 1.f) {
      scaled.assign(w, w + spec.k * spec.n);
      for (float &v : scaled) v *= spec.alpha;
      src = scaled.data();
    }
    mm->rows_ = std::make_unique<PackedRows>();
    if (!mm->rows_->pack(src, spec.k, spec.n, spec.trans_b)) {
      return out_of_memory("cannot allocate packed weights [" + std::to_string(spec.k) + "," +
                           std::to_string(spec.n) + "]");
    }
    if (spec.bias != nullptr) mm->bias_.assign(spec.bias, spec.bias + spec.n);
    mm->rows_ready_ = mm->rows_.get();
  }
  if (want_dense) {
    DnnlMatmulParams p;
    p.k = spec.k;
    p.n = spec.n;
    p.trans_b = spec.trans_b;
    p.alpha = spec.alpha;
    p.bias = spec.bias;
    // oneDNN's relu post-op turns NaN into 0 while the Relu op (and PyTorch)
    // keep it: both paths apply relu_in_place instead, so fusing a Relu never
    // changes a result.
    p.relu = false;
    std::string error;
    mm->dense_ = DnnlPackedMatmul::create(p, w, &error);
    if (mm->dense_ == nullptr) {
      return internal_error(error + " for weight [" + std::to_string(spec.k) + "," +
                            std::to_string(spec.n) + "]");
    }
  }
  *out = std::move(mm);
  return Status::ok();
}

size_t ConstWeightMatmul::weight_bytes() const {
  const PackedRows *rows = this->rows();
  return (dense_ ? dense_->packed_bytes() : 0) + (rows ? rows->size_bytes() : 0);
}

void ConstWeightMatmul::calibrate(const float *a, int64_t m) const {
  if (calibration_left_.load(std::memory_order_relaxed) <= 0) return;
  if (sparse_enough(a, m, k_)) sparse_calls_.fetch_add(1);
  if (calibration_left_.fetch_sub(1) != 1) return;
  if (2 * sparse_calls_.load() > kCalibrationCalls) pack_rows_from_dense();
}

// The row layout comes from oneDNN's copy, so no plain copy of W is kept for
// it. Without memory for it the layer simply stays dense.
void ConstWeightMatmul::pack_rows_from_dense() const {
  auto rows = std::make_unique<PackedRows>();
  std::string error;
  if (!rows->allocate(k_, n_) || !dense_->unpack(rows->mutable_data(), rows->ld(), &error)) return;
  rows_ = std::move(rows);
  rows_ready_.store(rows_.get(), std::memory_order_release);
}

Status ConstWeightMatmul::run(const float *a, int64_t m, const ActiveSet *active, float *y,
                              const RunContext &ctx) const {
  if (m == 0) return run_dense(a, m, y, ctx);
  const PackedRows *rows = this->rows();
  if (rows == nullptr) {
    calibrate(a, m);
    rows = this->rows();
    if (rows == nullptr) return run_dense(a, m, y, ctx);
  }
  const bool usable = active != nullptr && active->k == k_ && active->rows == m;
  if (ctx.mode == ExecMode::kSparse || dense_ == nullptr) {
    if (usable) return run_sparse(a, m, *active, *rows, y, ctx);
    // Forced sparse without a producer upstream: find the active rows here.
    Tensor probe = Tensor::borrow(DType::kFloat32, Shape{m, k_}, const_cast<float *>(a));
    SI_RETURN_IF_ERROR(attach_active_set(&probe));
    return run_sparse(a, m, *probe.active_set(), *rows, y, ctx);
  }
  if (usable && active->density() < sparse_crossover_density(m)) {
    return run_sparse(a, m, *active, *rows, y, ctx);
  }
  // No producer's active set arrived (it was lost on the way, through a pool
  // or a reshape of the last axis, or calibration found this input sparse):
  // count first, and find the active rows only if the sparse path will use them.
  if (!usable && sparse_enough(a, m, k_)) {
    Tensor probe = Tensor::borrow(DType::kFloat32, Shape{m, k_}, const_cast<float *>(a));
    SI_RETURN_IF_ERROR(attach_active_set(&probe));
    return run_sparse(a, m, *probe.active_set(), *rows, y, ctx);
  }
  SI_RETURN_IF_ERROR(run_dense(a, m, y, ctx));
  if (ctx.profile != nullptr) {
    ctx.profile->density =
        usable ? active->density() : double(f32_count_nonzero(a, m * k_, m * k_)) / double(m * k_);
  }
  return Status::ok();
}

Status ConstWeightMatmul::run_sparse(const float *a, int64_t m, const ActiveSet &active,
                                     const PackedRows &rows, float *y,
                                     const RunContext &ctx) const {
  f32_sparse_rows_gemm(a, m, k_, ActiveRows{active.indices.data(), active.count.data(), k_}, rows,
                       bias_.empty() ? nullptr : bias_.data(), y, n_, ctx.threads);
  if (relu_) relu_in_place(y, m * n_);
  if (ctx.profile != nullptr) {
    // A batch reads each weight row in the union of its rows' sets once.
    std::vector<bool> touched(static_cast<size_t>(k_), false);
    int64_t rows_read = 0;
    for (int64_t r = 0; r < m; ++r) {
      const int32_t *idx = active.indices.data() + r * k_;
      for (int64_t j = 0; j < active.count[size_t(r)]; ++j) {
        rows_read += !touched[size_t(idx[j])];
        touched[size_t(idx[j])] = true;
      }
    }
    ctx.profile->path = "sparse";
    ctx.profile->density = active.density();
    ctx.profile->weight_bytes_read = rows_read * n_ * int64_t(sizeof(float));
    ctx.profile->weight_bytes_dense = k_ * n_ * int64_t(sizeof(float));
  }
  return Status::ok();
}

Status ConstWeightMatmul::run_dense(const float *a, int64_t m, float *y,
                                    const RunContext &ctx) const {
  std::string error;
  if (!dense_->run(a, m, y, &error)) return internal_error(error);
  if (relu_) relu_in_place(y, m * n_);
  if (ctx.profile != nullptr) {
    ctx.profile->path = "dense";
    ctx.profile->weight_bytes_dense = k_ * n_ * int64_t(sizeof(float));
    ctx.profile->weight_bytes_read = ctx.profile->weight_bytes_dense;
  }
  return Status::ok();
}

}  // namespace si
