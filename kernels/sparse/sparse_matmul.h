// Y = bias + X·W where X is sparse: each row m of X touches only the rows of
// W listed in its active set. Exact: only terms with X[m,k] == 0 are skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/weight_buffer.h"

namespace si {

// The sparse path's weight layout: row-major [K, N] (a transposed [N, K]
// source is transposed once), each row padded to a multiple of 16 floats so
// rows start on a 64-byte boundary, in a huge-page weight buffer (fewer TLB
// misses when gathering rows across a large matrix).
class PackedRows {
 public:
  // Returns false when the memory cannot be allocated.
  bool pack(const float *w, int64_t k, int64_t n, bool transposed);
  // Zero-filled rows for a producer that writes them itself (mutable_data(),
  // row stride ld()). Returns false when the memory cannot be allocated.
  bool allocate(int64_t k, int64_t n);
  const float *data() const { return static_cast<const float *>(buffer_.get()); }
  float *mutable_data() { return static_cast<float *>(buffer_.get()); }
  int64_t rows() const { return k_; }
  int64_t cols() const { return n_; }
  int64_t ld() const { return ld_; }
  size_t size_bytes() const { return bytes_; }

 private:
  WeightBuffer buffer_;
  int64_t k_ = 0, n_ = 0, ld_ = 0;
  size_t bytes_ = 0;
};

// Per-row active sets of an [M, K] activation: row m's ascending non-zero
// column indices are idx[m * idx_stride .. + count[m]).
struct ActiveRows {
  const int32_t *idx;
  const int64_t *count;
  int64_t idx_stride;
};

// The batch's active entries regrouped by column k of X (CSC): for every k
// some row needs, the rows that need it and their values, rows ascending.
// The batched kernels read each weight row of the union once and apply it to
// every row listed under it.
struct ActiveColumns {
  std::vector<int32_t> ks;     // the union of active k, ascending
  std::vector<int64_t> start;  // entry i of ks owns rows/vals [start[i], start[i+1])
  std::vector<int32_t> rows;
  std::vector<float> vals;
};

// Fills `cols` from an [M, K] activation (row stride ldx) and its active
// sets. Callers keep `cols` across calls (thread_local): fresh buffers of
// this size come from mmap and cost page faults every call.
void group_by_column(const float *x, int64_t m, int64_t ldx, int64_t k, const ActiveRows &active,
                     ActiveColumns *cols);

// Y[m, :] = bias (or 0) + sum over k in active(m) of X[m, k] * W[k, :].
// One row gathers its active weight rows; a batch is regrouped by column of X
// so each weight row in the union of active sets is read once for all rows.
// Per output element the terms are added in ascending k either way, so a row
// gives bit-identical results alone or in any batch. Threads take N chunks.
void f32_sparse_rows_gemm(const float *x, int64_t m, int64_t ldx, const ActiveRows &active,
                          const PackedRows &w, const float *bias, float *y, int64_t ldy,
                          int threads);

// Fills active sets for an [M, K] activation (row stride ldx); returns the
// total number of non-zeros. idx needs room for M * K entries.
int64_t f32_find_active_rows(const float *x, int64_t m, int64_t k, int64_t ldx, int32_t *idx,
                             int64_t *count);

// Non-zeros among x[0, count) (NaN counts as non-zero, -0.0 as zero), but
// stops once `limit` are seen and returns limit then: a caller that only
// needs "fewer than limit?" reads little of a dense input.
int64_t f32_count_nonzero(const float *x, int64_t count, int64_t limit);

}  // namespace si
