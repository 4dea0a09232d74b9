#include "kernels/dense/rows_gemm.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/dense/column_split.h"

namespace si {

namespace {

// Streamed batches: the outputs one pass over the weight rows updates (mr
// rows of a column range) stay within 64 KiB of L2 while four rows stream.
// Narrower passes split each weight row into runs read at different times,
// which the prefetcher follows less well (M=4 at 8192x2048 on a Zen 3, one
// run: 8.9 ms with 16 KiB passes, 5.0 ms with 64 KiB).
constexpr int64_t kGemvOutputFloats = 16384;

// Tiled batches: k per register-tile call, and 16-column panels per group. A
// group's weights for one k block (256 x 2048 floats, 2 MiB) are copied into a
// buffer of contiguous panels: the copy streams 8 KiB runs of each weight row
// (short runs at a large stride leave the prefetcher idle), and each panel's
// 16 KiB then stays in L1 while every row block of x passes over it. Read in
// place, rows a power of two apart fall into the same cache sets and evict
// each other (3x slower at 8192x2048, M=32).
constexpr int64_t kTileK = 256;
constexpr int64_t kPanelsPerGroup = 128;

// Columns [n0, n1) of every row, streaming the weight rows.
void gemv_cols(const DenseRowsKernels &kern, const float *x, int64_t m, int64_t ldx,
               const PackedRows &w, int64_t n0, int64_t n1, float *y, int64_t ldy) {
  const int64_t cols = kGemvOutputFloats / m;
  for (int64_t c0 = n0; c0 < n1; c0 += cols) {
    kern.gemv(x, ldx, m, w.rows(), w.data(), w.ld(), c0, std::min(n1, c0 + cols), y, ldy);
  }
}

// Panels [p0, p1) (16 columns each) of every row, in register tiles. The
// last panel may be partial: the row layout's padding makes its weights
// readable, and its outputs go through a scratch tile.
void tile_panels(const DenseRowsKernels &kern, const float *x, int64_t m, int64_t ldx,
                 const PackedRows &w, int64_t p0, int64_t p1, float *y, int64_t ldy) {
  const int64_t k = w.rows(), n = w.cols(), ldw = w.ld();
  alignas(64) float partial[kRowsTileM * kRowsTileN];
  // Panel q of the group at k block k0: block[q][j][0:16] = w[k0 + j][c + 0:16].
  thread_local std::vector<float> buffer;
  buffer.resize(size_t(kPanelsPerGroup * kTileK * kRowsTileN));
  float *block = buffer.data();
  const int64_t row_blocks = (m + kRowsTileM - 1) / kRowsTileM;
  for (int64_t g0 = p0; g0 < p1; g0 += kPanelsPerGroup) {
    const int64_t g1 = std::min(p1, g0 + kPanelsPerGroup);
    for (int64_t k0 = 0; k0 < k; k0 += kTileK) {
      const int64_t kc = std::min(kTileK, k - k0);
      for (int64_t j = 0; j < kc; ++j) {
        const float *src = w.data() + (k0 + j) * ldw + g0 * kRowsTileN;
        for (int64_t q = 0; q < g1 - g0; ++q) {
          std::memcpy(block + (q * kTileK + j) * kRowsTileN, src + q * kRowsTileN,
                      kRowsTileN * sizeof(float));
        }
      }
      for (int64_t p = g0; p < g1; ++p) {
        for (int64_t b = 0; b < row_blocks; ++b) {
          // Row blocks as even as possible: 8 rows run as 4 + 4, not 6 + 2.
          const int64_t r0 = b * m / row_blocks;
          const int mr = int((b + 1) * m / row_blocks - r0);
          const float *xr = x + r0 * ldx + k0;
          const int64_t c0 = p * kRowsTileN, cols = std::min<int64_t>(kRowsTileN, n - c0);
          const float *wp = block + (p - g0) * kTileK * kRowsTileN;
          float *yt = y + r0 * ldy + c0;
          if (cols == kRowsTileN) {
            kern.tile(xr, ldx, mr, kc, wp, kRowsTileN, yt, ldy);
            continue;
          }
          for (int r = 0; r < mr; ++r)
            std::memcpy(partial + r * kRowsTileN, yt + r * ldy, size_t(cols) * sizeof(float));
          kern.tile(xr, ldx, mr, kc, wp, kRowsTileN, partial, kRowsTileN);
          for (int r = 0; r < mr; ++r)
            std::memcpy(yt + r * ldy, partial + r * kRowsTileN, size_t(cols) * sizeof(float));
        }
      }
    }
  }
}

}  // namespace

const DenseRowsKernels &dense_rows_kernels() {
  static const DenseRowsKernels table = [] {
    DenseRowsKernels k{f32_rows_gemv__scalar, f32_rows_tile__scalar, f32_panels_gemv__scalar,
                       "scalar"};
    const CpuFeatures &cpu = dispatch_features();
    if (cpu.avx2 && cpu.fma)
      k = {f32_rows_gemv__avx2, f32_rows_tile__avx2, f32_panels_gemv__avx2, "avx2"};
    if (cpu.avx512f)
      k = {f32_rows_gemv__avx512, f32_rows_tile__avx512, f32_panels_gemv__avx512, "avx512"};
    return k;
  }();
  return table;
}

namespace {

// Columns split across threads in whole 16-column panels.
template <typename Body>
void split_panels(const PackedRows &w, int64_t m, const float *bias, float *y, int64_t ldy,
                  int threads, Body &&body) {
  dense_detail::split_panels(m, w.rows(), w.cols(), kRowsTileN, bias, y, ldy, threads,
                             std::forward<Body>(body));
}

}  // namespace

void f32_dense_rows_gemm_streamed(const float *x, int64_t m, int64_t ldx, const PackedRows &w,
                                  const float *bias, float *y, int64_t ldy, int threads) {
  assert(m <= kRowsGemvMaxRows);
  const DenseRowsKernels &kern = dense_rows_kernels();
  split_panels(w, m, bias, y, ldy, threads, [&](int64_t, int64_t, int64_t n0, int64_t n1) {
    gemv_cols(kern, x, m, ldx, w, n0, n1, y, ldy);
  });
}

void f32_dense_rows_gemm_tiled(const float *x, int64_t m, int64_t ldx, const PackedRows &w,
                               const float *bias, float *y, int64_t ldy, int threads) {
  const DenseRowsKernels &kern = dense_rows_kernels();
  split_panels(w, m, bias, y, ldy, threads, [&](int64_t p0, int64_t p1, int64_t, int64_t) {
    tile_panels(kern, x, m, ldx, w, p0, p1, y, ldy);
  });
}

void f32_dense_rows_gemm(const float *x, int64_t m, int64_t ldx, const PackedRows &w,
                         const float *bias, float *y, int64_t ldy, int threads) {
  if (m <= kRowsGemvMaxRows)
    return f32_dense_rows_gemm_streamed(x, m, ldx, w, bias, y, ldy, threads);
  f32_dense_rows_gemm_tiled(x, m, ldx, w, bias, y, ldy, threads);
}

}  // namespace si
