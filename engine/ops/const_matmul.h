// The product every consumer matmul shares: y[m,n] = act(a[m,k] · alpha·W[k,n] + bias[n])
// with a constant W. Holds W in the layouts the paths it may take need, and
// picks the path per call: the sparse gather-row kernel when the input's
// active set is sparse enough for this batch size, else oneDNN.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/active_set.h"
#include "engine/op.h"
#include "kernels/dense/dnnl_matmul.h"
#include "kernels/dense/panel_gemm.h"
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

// Whether the dense path runs the engine's own kernels on a layout of their
// own (column panels: no oneDNN brgemm, i.e. no AVX-512) rather than oneDNN.
// Then a layer that may take both paths holds two layouts unless single_copy.
bool dense_uses_own_panels();

// Below this many output columns, counting the input's non-zeros (k floats a
// row) could cost over 3% of the matmul it may replace (k*n weights), so a
// consumer whose zeros only a count can find (mark_sparsity: a graph input)
// needs at least this many. Worst case measured (scan_share in
// bench/sparse_matmul_bench.cc, whole count then dense, K 4096, batch 16):
// 2.9% of dense at n = 64, 1.7% at n = 128.
constexpr int64_t kMinColsForInputScan = 128;

// Which layouts of W a consumer holds. Decided once, at load, from the graph
// alone: the arithmetic a given input meets never depends on earlier calls.
struct ConstMatmulPolicy {
  ExecMode mode = ExecMode::kAuto;
  // The input may hold exact zeros (mark_sparsity: a producer upstream, or a
  // graph input), so the sparse layout is worth storing.
  bool sparse_input = false;
  // Calls of one row are possible (the input's declared shape allows it).
  bool one_row_calls = true;
  // Never two copies of W (SessionOptions::single_weight_copy): a sparse
  // consumer runs its dense path on the row layout (the own streamed kernel
  // up to 4 rows, oneDNN beyond), unpacked.
  bool single_copy = false;
};

// The dense implementations a call may take (bench/dense_matmul_bench --sweep
// measures them). Which one runs depends on the CPU, fixed at load, and on the
// call's batch size, from a fixed table: still one input, one path.
enum class DenseImpl {
  kRowsGemv,    // the engine's kernel over the row layout (f32_dense_rows_gemm)
  kPanels,      // the engine's GEMM over its column panels (f32_dense_panels_gemm)
  kDnnlIp,      // oneDNN inner_product reading the row layout
  kDnnlMatmul,  // oneDNN matmul on its own packed layout (or on the rows, single copy)
};
// "rows_gemv", "panels", "dnnl_ip", "dnnl_matmul"
const char *dense_impl_name(DenseImpl impl);

class ConstWeightMatmul {
 public:
  // The row layout is held where the sparse path may run: kSparse, and in
  // kAuto a consumer of a marked input or one whose batch-1 calls gather even
  // dense rows (sparse_crossover_density(1, n) > 1). kSparse holds no dense
  // layout. Otherwise, with oneDNN brgemm (AVX-512), oneDNN's packed matmul;
  // without it the own column panels. A layer that may take both paths holds
  // both layouts, unless single_copy: then its dense path runs on the rows
  // (rows_gemv up to 4 rows, oneDNN's inner_product or matmul borrowing them
  // beyond). Each call picks its path from its own input only, so one input
  // always gives the same bytes.
  static Status create(const ConstMatmulSpec &spec, const float *w, const ConstMatmulPolicy &policy,
                       std::unique_ptr<ConstWeightMatmul> *out);

  // `active` is a's active set, or nullptr if none came with it.
  Status run(const float *a, int64_t m, const ActiveSet *active, float *y,
             const RunContext &ctx) const;

  int64_t k() const { return k_; }
  int64_t n() const { return n_; }
  size_t weight_bytes() const;
  // The dense implementation a call of m rows takes.
  DenseImpl dense_impl(int64_t m) const;
  // Which dense implementation serves which batch sizes, e.g.
  // "rows_gemv M<=4, panels M>4" (for --info); empty without a dense path.
  std::string dense_plan() const;

 private:
  Status pack_rows(const ConstMatmulSpec &spec, const float *w);
  Status pack_panels(const ConstMatmulSpec &spec, const float *w);
  Status make_dense(const ConstMatmulSpec &spec, const float *w, bool borrow_rows);
  // This consumer's crossover density for a batch of m rows.
  double crossover(int64_t m) const;
  // Whether a's active fraction is under crossover(m). Counting stops at the
  // crossover, so a dense input costs only that fraction of a scan.
  bool sparse_enough(const float *a, int64_t m) const;
  Status run_sparse(const float *a, int64_t m, const ActiveSet &active, const PackedRows &rows,
                    float *y, const RunContext &ctx) const;
  // The sparse path on active sets found here, by scanning a.
  Status run_sparse_scanned(const float *a, int64_t m, const PackedRows &rows, float *y,
                            const RunContext &ctx) const;
  Status run_dense(const float *a, int64_t m, float *y, const RunContext &ctx) const;

  int64_t k_ = 0, n_ = 0;
  bool relu_ = false;
  bool dense_is_plain_ = false;  // dense_ borrows rows_
  // Without brgemm the dense path runs the own kernels: on panels_, or with
  // one copy on rows_ (oneDNN's inner_product, dense_ borrowing rows_, for
  // batches past the streamed kernel).
  bool own_dense_ = false;
  bool sparse_ok_ = false;  // the sparse path may run on rows_
  std::unique_ptr<DnnlPackedMatmul> dense_;
  std::unique_ptr<PackedRows> rows_;      // the row layout, or nullptr
  std::unique_ptr<PackedPanels> panels_;  // the own dense layout, or nullptr
  std::vector<float> bias_;               // for the own kernels (oneDNN keeps its own)
};

}  // namespace si
