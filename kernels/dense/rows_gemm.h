// The engine's own dense product over the sparse path's row layout
// (PackedRows: row-major [K, N], rows padded to 16 floats):
// Y[m, :] = bias (or 0) + X[m, :] · W, every row of W read.
//
// oneDNN 2.6 without AVX-512 has no brgemm: its matmul runs gemm:jit on plain
// weights, which reads them at a quarter of the machine's bandwidth at batch 1
// and repacks them on every call at larger batches. These kernels read the
// layout the sparse path already holds, so a layer needs no second copy.
//
// Every output element adds its terms in ascending k with one fused
// multiply-add each, starting from the bias, in every variant and at every
// batch size: a row gives the same bits alone or in any batch, on any thread
// count, and equal to the gather kernel over all of its rows (up to the sign
// of an exact zero: the gather kernel skips 0·w terms).
#pragma once

#include <cstdint>

#include "kernels/sparse/sparse_matmul.h"

namespace si {

// Small batches, weight rows streamed: y[r * ldy + (n0:n1)] += sum over
// j < k of x[r * ldx + j] * w[j * ldw + (n0:n1)] for r < mr (1..4), terms in
// ascending j. Four weight rows stream per pass over the mr output rows.
using RowsGemvFn = void (*)(const float *x, int64_t ldx, int64_t mr, int64_t k, const float *w,
                            int64_t ldw, int64_t n0, int64_t n1, float *y, int64_t ldy);

// Register tile: y[r * ldy + c] += sum over j < kc of x[r * ldx + j] *
// w[j * ldw + c] for r < mr (1..kRowsTileM), c < kRowsTileN, terms in
// ascending j. Reads and writes all kRowsTileN columns of y and w: callers
// give a scratch tile for a partial one.
constexpr int kRowsTileM = 6;
constexpr int kRowsTileN = 16;
using RowsTileFn = void (*)(const float *x, int64_t ldx, int mr, int64_t kc, const float *w,
                            int64_t ldw, float *y, int64_t ldy);

// Small batches over column panels (kernels/dense/panel_gemm.h): for each
// of np panels q (16 columns, kc rows of 16 floats, panel q at
// w + q * panel_stride), y[r * ldy + 16 q + c] += sum over j < kc of
// x[r * ldx + j] * w[q * panel_stride + j * 16 + c], r < mr (1..4), terms
// in ascending j. Several panels run at once, so their weight streams do.
using PanelsGemvFn = void (*)(const float *x, int64_t ldx, int mr, int64_t kc, const float *w,
                              int64_t panel_stride, int64_t np, float *y, int64_t ldy);

void f32_rows_gemv__scalar(const float *x, int64_t ldx, int64_t mr, int64_t k, const float *w,
                           int64_t ldw, int64_t n0, int64_t n1, float *y, int64_t ldy);
void f32_rows_gemv__avx2(const float *x, int64_t ldx, int64_t mr, int64_t k, const float *w,
                         int64_t ldw, int64_t n0, int64_t n1, float *y, int64_t ldy);
void f32_rows_gemv__avx512(const float *x, int64_t ldx, int64_t mr, int64_t k, const float *w,
                           int64_t ldw, int64_t n0, int64_t n1, float *y, int64_t ldy);

void f32_rows_tile__scalar(const float *x, int64_t ldx, int mr, int64_t kc, const float *w,
                           int64_t ldw, float *y, int64_t ldy);
void f32_rows_tile__avx2(const float *x, int64_t ldx, int mr, int64_t kc, const float *w,
                         int64_t ldw, float *y, int64_t ldy);
void f32_rows_tile__avx512(const float *x, int64_t ldx, int mr, int64_t kc, const float *w,
                           int64_t ldw, float *y, int64_t ldy);

void f32_panels_gemv__scalar(const float *x, int64_t ldx, int mr, int64_t kc, const float *w,
                             int64_t panel_stride, int64_t np, float *y, int64_t ldy);
void f32_panels_gemv__avx2(const float *x, int64_t ldx, int mr, int64_t kc, const float *w,
                           int64_t panel_stride, int64_t np, float *y, int64_t ldy);
void f32_panels_gemv__avx512(const float *x, int64_t ldx, int mr, int64_t kc, const float *w,
                             int64_t panel_stride, int64_t np, float *y, int64_t ldy);

struct DenseRowsKernels {
  RowsGemvFn gemv;
  RowsTileFn tile;
  PanelsGemvFn panels_gemv;
  const char *isa;  // "avx512", "avx2" or "scalar"
};

// The best variants for dispatch_features(), chosen once.
const DenseRowsKernels &dense_rows_kernels();

// Batches of at most this many rows stream the weight rows (RowsGemvFn);
// larger ones run register tiles (RowsTileFn).
constexpr int64_t kRowsGemvMaxRows = 4;

// Y[m, :] (row stride ldy) = bias (or 0) + X[m, :] (row stride ldx) · W.
// Threads take disjoint column ranges, so the result does not depend on
// `threads`. Streams the weight rows up to kRowsGemvMaxRows rows, else tiles.
void f32_dense_rows_gemm(const float *x, int64_t m, int64_t ldx, const PackedRows &w,
                         const float *bias, float *y, int64_t ldy, int threads);
// The two strategies alone (benchmarks, tests): streamed needs
// m <= kRowsGemvMaxRows, tiled takes any m.
void f32_dense_rows_gemm_streamed(const float *x, int64_t m, int64_t ldx, const PackedRows &w,
                                  const float *bias, float *y, int64_t ldy, int threads);
void f32_dense_rows_gemm_tiled(const float *x, int64_t m, int64_t ldx, const PackedRows &w,
                               const float *bias, float *y, int64_t ldy, int threads);

}  // namespace si
