// The engine's own dense GEMM (bench/dense_matmul_bench --sweep: "panels"),
// over weights packed once at load into column panels: panel p holds columns
// [16p, 16p + 16) of W (the last one zero-padded), 16 floats per k. K is cut
// into blocks of kBlockK, and block b of every panel lies in one run
// ([block][panel][k in block][16]): a register tile reads one unit-stride
// stream, a thread's panels for one block are a single contiguous stream,
// and a call copies nothing.
//
// Same order as kernels/dense/rows_gemm.h: every output element adds its
// terms in ascending k with one fused multiply-add each, starting from the
// bias, whatever the batch size, blocking or thread count. A row gives the
// same bits alone or in any batch, through these panels or the row layout's
// kernels.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/dense/rows_gemm.h"
#include "kernels/weight_buffer.h"

namespace si {

class PackedPanels {
 public:
  static constexpr int64_t kWidth = kRowsTileN;  // columns per panel
  static constexpr int64_t kBlockK = 256;        // k per block

  // W is [k, n] row-major, or [n, k] when `transposed`; every weight is
  // multiplied by `alpha` on the way. Returns false when the memory cannot be
  // allocated.
  bool pack(const float *w, int64_t k, int64_t n, bool transposed, float alpha = 1.f);
  // Rows [k0, k0 + kBlockK) (fewer in the last block) of panel p, kWidth
  // floats each; k0 a multiple of kBlockK.
  const float *block(int64_t k0, int64_t p) const {
    return data() + k0 * panels() * kWidth + p * std::min(kBlockK, k_ - k0) * kWidth;
  }
  const float *data() const { return static_cast<const float *>(buffer_.get()); }
  int64_t rows() const { return k_; }
  int64_t cols() const { return n_; }
  int64_t panels() const { return (n_ + kWidth - 1) / kWidth; }
  size_t size_bytes() const { return bytes_; }

 private:
  WeightBuffer buffer_;
  int64_t k_ = 0, n_ = 0;
  size_t bytes_ = 0;
};

// Y[m, :] (row stride ldy) = bias (or 0) + X[m, :] (row stride ldx) · W.
// Threads take disjoint ranges of panels, so the result does not depend on
// `threads`. Up to kRowsGemvMaxRows rows run PanelsGemvFn (several panels'
// streams at once), more run 6x16 register tiles (RowsTileFn). The kernels
// are dense_rows_kernels(), or `kernels` when given (tests).
void f32_dense_panels_gemm(const float *x, int64_t m, int64_t ldx, const PackedPanels &w,
                           const float *bias, float *y, int64_t ldy, int threads,
                           const DenseRowsKernels *kernels = nullptr);

}  // namespace si
