// Kernels of the sparse path. Activations after a ReLU are mostly exact
// zeros; these kernels find the non-zero entries of a row and accumulate only
// the weight rows they select.
//
// Naming follows XNNPACK: f32_<operation>__<isa>. Each ISA variant computes
// exactly the same terms in the same order per output element, so variants
// agree bit for bit.
#pragma once

#include <cstdint>

namespace si {

// Writes the ascending indices i in [0, n) with x[i] != 0 into idx (room for
// n) and returns how many. NaN counts as non-zero, so the sparse path keeps
// the dense path's NaN pattern; -0.0 counts as zero.
using CompactNonzeroFn = int64_t (*)(const float *x, int64_t n, int32_t *idx);

// y[n0:n1] += sum over j < count of x[idx[j]] * w[idx[j] * ldw + (n0:n1)],
// terms added in order of j. w is row-major with row stride ldw (floats).
using GatherRowsAxpyFn = void (*)(const float *x, const int32_t *idx, int64_t count, const float *w,
                                  int64_t ldw, int64_t n0, int64_t n1, float *y);

// Up to four weight rows w[0..nw), each applied to its own outputs:
// y[rows[j] * ldy + (n0:n1)] += vals[j] * w[i][n0:n1] for j in
// [begin[i], begin[i+1]), rows i in ascending order. The batched sparse GEMM
// calls it with consecutive active k of the batch (CSC order), so each weight
// row is read once for every row of the batch that needs it, and four rows
// stream at once as in the single-row kernel.
using ScatterRowsAxpyFn = void (*)(const float *const *w, const int64_t *begin, int nw,
                                   const int32_t *rows, const float *vals, int64_t n0, int64_t n1,
                                   float *y, int64_t ldy);

int64_t f32_compact_nonzero__scalar(const float *x, int64_t n, int32_t *idx);
int64_t f32_compact_nonzero__avx2(const float *x, int64_t n, int32_t *idx);
int64_t f32_compact_nonzero__avx512(const float *x, int64_t n, int32_t *idx);

void f32_gather_rows_axpy__scalar(const float *x, const int32_t *idx, int64_t count, const float *w,
                                  int64_t ldw, int64_t n0, int64_t n1, float *y);
void f32_gather_rows_axpy__avx2(const float *x, const int32_t *idx, int64_t count, const float *w,
                                int64_t ldw, int64_t n0, int64_t n1, float *y);
void f32_gather_rows_axpy__avx512(const float *x, const int32_t *idx, int64_t count, const float *w,
                                  int64_t ldw, int64_t n0, int64_t n1, float *y);

void f32_scatter_rows_axpy__scalar(const float *const *w, const int64_t *begin, int nw,
                                   const int32_t *rows, const float *vals, int64_t n0, int64_t n1,
                                   float *y, int64_t ldy);
void f32_scatter_rows_axpy__avx2(const float *const *w, const int64_t *begin, int nw,
                                 const int32_t *rows, const float *vals, int64_t n0, int64_t n1,
                                 float *y, int64_t ldy);
void f32_scatter_rows_axpy__avx512(const float *const *w, const int64_t *begin, int nw,
                                   const int32_t *rows, const float *vals, int64_t n0, int64_t n1,
                                   float *y, int64_t ldy);

struct SparseKernels {
  CompactNonzeroFn compact_nonzero;
  GatherRowsAxpyFn gather_rows_axpy;
  ScatterRowsAxpyFn scatter_rows_axpy;
  const char *isa;  // "avx512", "avx2" or "scalar"
};

// The best variants for this CPU, chosen once.
const SparseKernels &sparse_kernels();

}  // namespace si
