// Quantized weights in the sparse path's row layout, packed once at load,
// and Y = bias + X·W over them (kernels/quant/quant_kernels.h has the
// arithmetic: float32 on the dequantized weights, bit for bit).
//
// Layout, chosen for the row gather: row k (what x_k multiplies) is one
// contiguous run of N codes, so an active row is one sequential stream, as in
// PackedRows. Scales that vary along N are stored as rows of N floats, one per
// block of K rows, shared by the block's rows (a gathered row needs its
// block's scale for every n); a per-row scale is one float per row. int4
// scale rows are fp16 when every scale of the weight is an fp16 value (what
// `sparse-infer quantize` writes): half the bytes, the same dequantized
// weights; otherwise they stay float32, since rounding them would change the
// results promised equal to the dequantized model's. Zero points stay separate
// from the codes (folding them into a float offset, q*s - zp*s, would round
// twice) and cost nothing when absent.
//
// Bytes a sparse int4 row gather reads per active row, N columns, block B,
// a active rows in its block: N/2 codes + (S N scales + N/2 zero points) / a,
// S = 4 (float32) or 2 (fp16). With B = 32 and every row of a block active
// that is 0.63 N (0.56 N with fp16); with one active row per block it is 5 N
// (3 N), more than a float32 row (4 N).
// bench/RESULTS.md ("int8/int4 kernels") measures it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/quant/quant_kernels.h"
#include "kernels/sparse/sparse_matmul.h"
#include "kernels/weight_buffer.h"

namespace si {

// Which elements share a scale and zero point, in the [K, N] view of the
// weight (y = x·W). DequantizeLinear on a MatMul weight [K, N]: axis 1 is
// kColumn, axis 0 kRow; on a Gemm transB=1 weight [N, K] the reverse.
enum class QuantAxis { kTensor, kRow, kColumn };

// An int8 or uint8 weight as DequantizeLinear gives it.
struct Qs8wSource {
  const void *q;     // int8_t or uint8_t codes, [k, n] row-major, or [n, k] when transposed
  bool is_unsigned;  // uint8 codes (and zero points)
  int64_t k, n;
  bool transposed;
  QuantAxis axis;
  const float *scale;  // 1, k or n values (kTensor, kRow, kColumn)
  const void *zero;    // as many zero points of the codes' type, or nullptr (0)
};

// ONNX Runtime's com.microsoft MatMulNBits weight (docs/ContribOperators.md):
// b is [n, k_blocks, block * bits / 8] bytes, k_blocks = ceil(k / block), the
// codes of each block packed along K, low bits first; scales [n, k_blocks];
// zero_points packed the same way, [n, ceil(k_blocks * bits / 8)] bytes, or
// nullptr for the default 2^(bits - 1).
struct MatMulNBitsSource {
  const uint8_t *b;
  const float *scales;
  const uint8_t *zero_points;
  int64_t k, n, block;
};

class PackedQs8wRows {
 public:
  // Return false when the memory cannot be allocated. Shapes and counts are
  // the caller's to check (the importer names the node).
  bool pack(const Qs8wSource &src);
  // MatMulNBits with bits 8: the scale rows per k block of `block` rows.
  bool pack(const MatMulNBitsSource &src);
  Qs8wRows view() const;
  int64_t rows() const { return k_; }
  int64_t cols() const { return n_; }
  size_t size_bytes() const;
  // w[k * n + c] = the dequantized weight (tests, and a reference path).
  void dequantize(float *w) const;

 private:
  bool allocate(int64_t k, int64_t n);
  WeightBuffer q_;
  size_t q_bytes_ = 0;
  int64_t k_ = 0, n_ = 0, ldq_ = 0, lds_ = 0, block_ = 0;
  std::vector<float> scale_, zero_;  // zero_ empty: all zero points 0
};

class PackedQu4wRows {
 public:
  // MatMulNBits with bits 4. Returns false when the memory cannot be
  // allocated.
  bool pack(const MatMulNBitsSource &src);
  Qu4wRows view() const;
  int64_t rows() const { return k_; }
  int64_t cols() const { return n_; }
  int64_t block() const { return block_; }
  // Whether the scales are held as fp16 (all of the source's are fp16 values).
  bool half_scales() const { return !scale_half_.empty(); }
  size_t size_bytes() const;
  void dequantize(float *w) const;

 private:
  WeightBuffer q_;
  size_t q_bytes_ = 0;
  int64_t k_ = 0, n_ = 0, ldq_ = 0, lds_ = 0, block_ = 0;
  std::vector<float> scale_;          // [k_blocks][lds_], or empty when scale_half_ holds them
  std::vector<uint16_t> scale_half_;  // fp16 bits, same layout
  std::vector<uint8_t> zero_;         // [k_blocks][ldq_] nibbles as the codes; empty: 8
};

// Y[m, :] = bias (or 0) + sum over k in active(m) of X[m, k] * W[k, :], as
// f32_sparse_rows_gemm: one row gathers its active rows (dequantized in
// registers), a batch reads each row of the union once, dequantizes it into
// an L1 buffer and applies it to every row that needs it (the float scatter
// kernel). Per output element the terms come in ascending k either way: a
// row gives the same bits alone or in any batch, on any thread count, and the
// bits of f32_sparse_rows_gemm on the dequantized matrix. Threads take N
// chunks. The kernels are quant_kernels(), or `kernels` when given (tests).
void f32_qs8w_sparse_rows_gemm(const float *x, int64_t m, int64_t ldx, const ActiveRows &active,
                               const PackedQs8wRows &w, const float *bias, float *y, int64_t ldy,
                               int threads, const QuantKernels *kernels = nullptr);
void f32_qu4w_sparse_rows_gemm(const float *x, int64_t m, int64_t ldx, const ActiveRows &active,
                               const PackedQu4wRows &w, const float *bias, float *y, int64_t ldy,
                               int threads, const QuantKernels *kernels = nullptr);

// Every row of W, for calls above the sparse crossover (zero x terms
// included, so NaN and Inf in x propagate as in a dense product). One row
// streams all weight rows with in-register dequantization (the gather with
// every k active); a batch dequantizes each block of 64 rows x 1024 columns
// once into a buffer that the float register tiles (kernels/dense/rows_gemm.h)
// read in place for every row of the batch. Same order, so the same bits, as
// the float dense kernels on the dequantized matrix.
void f32_qs8w_dense_rows_gemm(const float *x, int64_t m, int64_t ldx, const PackedQs8wRows &w,
                              const float *bias, float *y, int64_t ldy, int threads,
                              const QuantKernels *kernels = nullptr);
void f32_qu4w_dense_rows_gemm(const float *x, int64_t m, int64_t ldx, const PackedQu4wRows &w,
                              const float *bias, float *y, int64_t ldy, int threads,
                              const QuantKernels *kernels = nullptr);

}  // namespace si
