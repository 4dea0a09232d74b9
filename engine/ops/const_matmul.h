// The product every consumer matmul shares: y[m,n] = act(a[m,k] · alpha·W[k,n] + bias[n])
// with a constant W. Holds W in the layouts the paths it may take need, and
// picks the path per call: the sparse gather-row kernel when the input's
// active set is sparse enough for this batch size, else oneDNN.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "engine/active_set.h"
#include "engine/op.h"
#include "kernels/dense/dnnl_matmul.h"
#include "kernels/sparse/sparse_matmul.h"

namespace si {

struct ConstMatmulSpec {
  int64_t k = 0;
  int64_t n = 0;
  bool trans_b = false;         // W stored [n,k] (nn.Linear, Gemm transB=1)
  float alpha = 1.f;            // folded into the stored weights
  const float *bias = nullptr;  // n values, or nullptr
  bool relu = false;
};

// Active fraction below which the sparse path is taken for a batch of m rows
// and n output columns; above 1 means always (even a dense input).
double sparse_crossover_density(int64_t m, int64_t n);

// Which layouts of W a consumer holds.
struct ConstMatmulPolicy {
  ExecMode mode = ExecMode::kAuto;
  // A producer upstream attaches active sets (mark_sparsity), so the sparse
  // layout is worth storing.
  bool sparse_input = false;
  // Never two copies of W (SessionOptions::single_weight_copy): a sparse
  // consumer runs its dense path on the row layout through oneDNN, unpacked.
  bool single_copy = false;
};

class ConstWeightMatmul {
 public:
  // kDense never stores the sparse layout; kSparse never stores the oneDNN
  // one. In kAuto a consumer of a marked input holds both (unless
  // single_copy), and one whose input nothing marks sparse is still watched
  // for zeros over its first calls (see calibrate()).
  static Status create(const ConstMatmulSpec &spec, const float *w, const ConstMatmulPolicy &policy,
                       std::unique_ptr<ConstWeightMatmul> *out);

  // `active` is a's active set, or nullptr if none came with it.
  Status run(const float *a, int64_t m, const ActiveSet *active, float *y,
             const RunContext &ctx) const;

  int64_t k() const { return k_; }
  int64_t n() const { return n_; }
  size_t weight_bytes() const;

 private:
  const PackedRows *rows() const { return rows_ready_.load(std::memory_order_acquire); }
  Status pack_rows(const ConstMatmulSpec &spec, const float *w);
  Status make_dense(const ConstMatmulSpec &spec, const float *w, bool borrow_rows);
  // This consumer's crossover density for a batch of m rows.
  double crossover(int64_t m) const;
  // Whether a's active fraction is under crossover(m). Counting stops at the
  // crossover, so a dense input costs only that fraction of a scan.
  bool sparse_enough(const float *a, int64_t m) const;
  // Counts the zeros of a call's input while calibration lasts; the call that
  // ends it makes the sparse layout if most calls were sparse enough.
  void calibrate(const float *a, int64_t m) const;
  void pack_rows_from_dense() const;
  Status run_sparse(const float *a, int64_t m, const ActiveSet &active, const PackedRows &rows,
                    float *y, const RunContext &ctx) const;
  // The sparse path on active sets found here, by scanning a.
  Status run_sparse_scanned(const float *a, int64_t m, const PackedRows &rows, float *y,
                            const RunContext &ctx) const;
  Status run_dense(const float *a, int64_t m, float *y, const RunContext &ctx) const;

  int64_t k_ = 0, n_ = 0;
  bool relu_ = false;
  bool dense_is_plain_ = false;  // dense_ borrows rows_ (single copy)
  std::unique_ptr<DnnlPackedMatmul> dense_;
  // Written once, at create or by the call that ends calibration, before
  // rows_ready_ publishes it; read only through rows().
  mutable std::unique_ptr<PackedRows> rows_;
  mutable std::atomic<const PackedRows *> rows_ready_{nullptr};
  mutable std::atomic<int> calibration_left_{0};
  mutable std::atomic<int> sparse_calls_{0};
  std::vector<float> bias_;  // for the sparse path (oneDNN keeps its own)
};

}  // namespace si
