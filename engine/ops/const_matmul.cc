#include "engine/ops/const_matmul.h"

#include <cmath>
#include <cstring>
#include <string>

#include "kernels/cpu_features.h"
#include "kernels/dense/rows_gemm.h"

namespace si {

double sparse_crossover_density(int64_t m, int64_t n) {
  // From bench/sparse_matmul_bench (bench/RESULTS.md), one thread, weights
  // beyond L3, independent random active sets per row.
  if (std::strcmp(dispatch_isa(), "avx512") != 0) {
    // Without AVX-512 the dense path is the own kernels (dense_impl), measured
    // against them (bench/sparse_matmul_bench, Zen 3, 1 thread, 4096x1024,
    // 8192x2048, 2048x8192): at batch 1 the gather kernel over every row ties
    // with the dense GEMV (0.97-1.03x), so a layer gathers below 0.9 and holds
    // the rows only where its input may be sparse. Batch 4 crosses at
    // 0.24-0.32, batch 16 at 0.19-0.23, batch 64 at 0.18-0.19 (linear between
    // the measured densities 0.1 and 0.3).
    if (m <= 1) return 0.9;
    if (m <= 4) return 0.25;
    return m <= 16 ? 0.2 : 0.18;
  }
  // AVX-512 (Zen 5), oneDNN brgemm on its packed layout. Batch 1: the gather
  // kernel over oneDNN (whose 1-row calls run padded to 4 rows) is 0.87x at
  // density 1 for 4096x1024, 0.94x for 8192x2048 and 1.18x for 2048x8192
  // (long rows stream better), and ahead from density 0.5 down. Batch 4
  // crosses between 0.3 (0.74x) and 0.1 (1.72x), batch 16 between 0.3
  // (0.63x) and 0.1 (1.33x), batch 64 between 0.3 (0.73x) and 0.1 (1.79x).
  if (m <= 1) return n >= 8192 ? 2.0 : 0.85;
  if (m <= 4) return 0.2;
  if (m <= 16) return 0.13;
  if (m <= 64) return 0.2;
  return 0.15;
}

bool dense_uses_own_panels() {
  return std::strcmp(dispatch_isa(), "avx512") != 0;
}

namespace {

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

const char *dense_impl_name(DenseImpl impl) {
  switch (impl) {
    case DenseImpl::kRowsGemv:
      return "rows_gemv";
    case DenseImpl::kPanels:
      return "panels";
    case DenseImpl::kDnnlIp:
      return "dnnl_ip";
    case DenseImpl::kDnnlMatmul:
      return "dnnl_matmul";
  }
  return "?";
}

Status ConstWeightMatmul::create(const ConstMatmulSpec &spec, const float *w,
                                 const ConstMatmulPolicy &policy,
                                 std::unique_ptr<ConstWeightMatmul> *out) {
  auto mm = std::unique_ptr<ConstWeightMatmul>(new ConstWeightMatmul());
  mm->k_ = spec.k;
  mm->n_ = spec.n;
  mm->relu_ = spec.relu;
  const ExecMode mode = policy.mode;
  // Skipping x == 0 terms is exact only if 0 * w == 0 for every weight: a
  // matrix with Inf or NaN stays dense so both paths give the same NaNs.
  const bool finite = mode != ExecMode::kDense && all_finite(w, spec.k * spec.n);
  const bool gathers_dense_rows = policy.one_row_calls && sparse_crossover_density(1, spec.n) > 1.0;
  mm->sparse_ok_ =
      finite && (mode == ExecMode::kSparse ||
                 (mode == ExecMode::kAuto && (policy.sparse_input || gathers_dense_rows)));
  // Without AVX-512 oneDNN 2.6 has no brgemm: it keeps its weights plain and
  // runs gemm:jit on them, which the own kernels beat at every batch size
  // (bench/dense_matmul_bench --sweep): the dense layout is the own column
  // panels. With one copy a sparse consumer runs its dense path on the rows
  // instead. AVX-512 keeps the choices measured before this table (oneDNN's
  // packed matmul).
  mm->own_dense_ = dense_uses_own_panels();
  if (spec.bias != nullptr) mm->bias_.assign(spec.bias, spec.bias + spec.n);
  if (mm->sparse_ok_) SI_RETURN_IF_ERROR(mm->pack_rows(spec, w));
  const bool borrow = mm->sparse_ok_ && policy.single_copy;
  if (mode != ExecMode::kSparse || !mm->sparse_ok_) {
    if (mm->own_dense_ && !borrow) {
      SI_RETURN_IF_ERROR(mm->pack_panels(spec, w));
    } else {
      SI_RETURN_IF_ERROR(mm->make_dense(spec, w, borrow));
    }
  }
  *out = std::move(mm);
  return Status::ok();
}

Status ConstWeightMatmul::pack_rows(const ConstMatmulSpec &spec, const float *w) {
  std::vector<float> scaled;
  if (spec.alpha != 1.f) {
    scaled.assign(w, w + spec.k * spec.n);
    for (float &v : scaled) v *= spec.alpha;
    w = scaled.data();
  }
  rows_ = std::make_unique<PackedRows>();
  if (!rows_->pack(w, spec.k, spec.n, spec.trans_b)) {
    return out_of_memory("cannot allocate packed weights [" + std::to_string(spec.k) + "," +
                         std::to_string(spec.n) + "]");
  }
  return Status::ok();
}

Status ConstWeightMatmul::pack_panels(const ConstMatmulSpec &spec, const float *w) {
  panels_ = std::make_unique<PackedPanels>();
  if (!panels_->pack(w, spec.k, spec.n, spec.trans_b, spec.alpha)) {
    return out_of_memory("cannot allocate packed weights [" + std::to_string(spec.k) + "," +
                         std::to_string(spec.n) + "]");
  }
  return Status::ok();
}

Status ConstWeightMatmul::make_dense(const ConstMatmulSpec &spec, const float *w,
                                     bool borrow_rows) {
  DnnlMatmulParams p;
  p.k = spec.k;
  p.n = spec.n;
  p.bias = spec.bias;
  // oneDNN's relu post-op turns NaN into 0 while the Relu op (and PyTorch)
  // keep it: both paths apply relu_in_place instead, so fusing a Relu never
  // changes a result.
  p.relu = false;
  std::string error;
  if (borrow_rows) {
    // On the row layout oneDNN's inner_product beats its matmul on AVX2
    // (bench/dense_matmul_bench --sweep, dnnl_ip_plain vs dnnl_matmul: 1.1-1.8x
    // at M=8-64 on a Zen 3 with the weights in DRAM, equal in L3). With
    // brgemm the single-copy layer keeps the matmul it has always run.
    p.inner_product = own_dense_;
    dense_ = DnnlPackedMatmul::create_borrowed(p, rows_->data(), rows_->ld(), &error);
    dense_is_plain_ = true;
  } else {
    p.trans_b = spec.trans_b;
    p.alpha = spec.alpha;
    dense_ = DnnlPackedMatmul::create(p, w, &error);
  }
  if (dense_ == nullptr) {
    return internal_error(error + " for weight [" + std::to_string(spec.k) + "," +
                          std::to_string(spec.n) + "]");
  }
  return Status::ok();
}

double ConstWeightMatmul::crossover(int64_t m) const {
  // oneDNN on the unpacked row layout is about 2.6x slower than the gather
  // kernel at batch 1 (bench/dense_matmul_bench prepack:0 vs
  // bench/sparse_matmul_bench d1.00): one row always gathers.
  if (dense_is_plain_ && m == 1) return 2.0;
  return sparse_crossover_density(m, n_);
}

bool ConstWeightMatmul::sparse_enough(const float *a, int64_t m) const {
  const double density = crossover(m);
  if (density > 1.0) return true;
  const int64_t total = m * k_;
  const auto limit = static_cast<int64_t>(density * double(total));
  return f32_count_nonzero(a, total, limit) < limit;
}

DenseImpl ConstWeightMatmul::dense_impl(int64_t m) const {
  if (!own_dense_) return DenseImpl::kDnnlMatmul;
  // AVX2 (Zen 3, bench/RESULTS.md): at 1-4 rows the streamed kernel on the
  // rows and the panels' several-stream kernel read the weights at close to
  // the measured bandwidth (the rows ahead at 4), 2.2-5.4x oneDNN's gemm:jit;
  // from 8 rows the panels' register tiles are 1.1-1.6x oneDNN's
  // inner_product on the rows, which a single-copy layer keeps.
  if (m <= kRowsGemvMaxRows && rows_ != nullptr) return DenseImpl::kRowsGemv;
  return panels_ != nullptr ? DenseImpl::kPanels : DenseImpl::kDnnlIp;
}

std::string ConstWeightMatmul::dense_plan() const {
  if (panels_ == nullptr && dense_ == nullptr) return "";
  if (!own_dense_) return dense_impl_name(DenseImpl::kDnnlMatmul);
  const std::string max = std::to_string(kRowsGemvMaxRows);
  const DenseImpl small = dense_impl(1), large = dense_impl(kRowsGemvMaxRows + 1);
  if (small == large) return dense_impl_name(small);
  return std::string(dense_impl_name(small)) + " M<=" + max + ", " + dense_impl_name(large) +
         " M>" + max;
}

size_t ConstWeightMatmul::weight_bytes() const {
  return (dense_ ? dense_->packed_bytes() : 0) + (rows_ ? rows_->size_bytes() : 0) +
         (panels_ ? panels_->size_bytes() : 0);
}

Status ConstWeightMatmul::run(const float *a, int64_t m, const ActiveSet *active, float *y,
                              const RunContext &ctx) const {
  if (m == 0) return Status::ok();  // no output to write (kSparse may hold no dense path)
  if (!sparse_ok_) return run_dense(a, m, y, ctx);
  const PackedRows *rows = rows_.get();
  const bool usable = active != nullptr && active->k == k_ && active->rows == m;
  if (ctx.mode == ExecMode::kSparse || (dense_ == nullptr && panels_ == nullptr)) {
    if (usable) return run_sparse(a, m, *active, *rows, y, ctx);
    // Forced sparse without a producer upstream: find the active rows here.
    return run_sparse_scanned(a, m, *rows, y, ctx);
  }
  if (usable && active->density() < crossover(m)) {
    return run_sparse(a, m, *active, *rows, y, ctx);
  }
  // No producer's active set arrived (the input is a graph input, or the set
  // was lost on the way, through a pool or a reshape of the last axis): count
  // first, and find the active rows only if the sparse path will use them.
  if (!usable && sparse_enough(a, m)) return run_sparse_scanned(a, m, *rows, y, ctx);
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

Status ConstWeightMatmul::run_sparse_scanned(const float *a, int64_t m, const PackedRows &rows,
                                             float *y, const RunContext &ctx) const {
  Tensor probe = Tensor::borrow(DType::kFloat32, Shape{m, k_}, const_cast<float *>(a));
  SI_RETURN_IF_ERROR(attach_active_set(&probe));
  return run_sparse(a, m, *probe.active_set(), rows, y, ctx);
}

Status ConstWeightMatmul::run_dense(const float *a, int64_t m, float *y,
                                    const RunContext &ctx) const {
  const DenseImpl impl = dense_impl(m);
  const float *bias = bias_.empty() ? nullptr : bias_.data();
  if (impl == DenseImpl::kRowsGemv) {
    f32_dense_rows_gemm(a, m, k_, *rows_, bias, y, n_, ctx.threads);
  } else if (impl == DenseImpl::kPanels) {
    f32_dense_panels_gemm(a, m, k_, *panels_, bias, y, n_, ctx.threads);
  } else {
    std::string error;
    if (!dense_->run(a, m, y, &error)) return internal_error(error);
  }
  if (relu_) relu_in_place(y, m * n_);
  if (ctx.profile != nullptr) {
    switch (impl) {
      case DenseImpl::kRowsGemv:
        ctx.profile->path = "dense:rows_gemv";
        break;
      case DenseImpl::kPanels:
        ctx.profile->path = "dense:panels";
        break;
      case DenseImpl::kDnnlIp:
        ctx.profile->path = "dense:dnnl_ip";
        break;
      case DenseImpl::kDnnlMatmul:
        ctx.profile->path = "dense:dnnl_matmul";
        break;
    }
    ctx.profile->weight_bytes_dense = k_ * n_ * int64_t(sizeof(float));
    ctx.profile->weight_bytes_read = ctx.profile->weight_bytes_dense;
  }
  return Status::ok();
}

}  // namespace si
