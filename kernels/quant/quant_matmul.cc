#include "kernels/quant/quant_matmul.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/dense/column_split.h"
#include "kernels/dense/rows_gemm.h"
#include "kernels/sparse/sparse_kernels.h"

namespace si {

namespace {

using dense_detail::fill_bias;
using dense_detail::useful_threads;

// As in the float batched kernel (sparse_matmul.cc): the tile of Y a batch
// accumulates into while weight rows stream past, a quarter of a 1 MiB L2.
constexpr int64_t kTileYBytes = int64_t{256} << 10;

// Columns of four weight rows dequantized at a time by the batched path:
// 4 x 1024 floats (16 KiB) stay in L1 while every row of the batch that needs
// them passes. A multiple of 32 (4-bit groups).
constexpr int64_t kDequantCols = 1024;

// Column chunks start at multiples of 64 (4-bit kernels need 32).
constexpr int64_t kChunkAlign = 64;

// The two weight formats as the drivers see them.
struct Q8 {
  using Packed = PackedQs8wRows;
  using Rows = Qs8wRows;
  static Qs8wGatherFn gather(const QuantKernels &k) { return k.qs8w_gather; }
  static Qs8wDequantFn dequant(const QuantKernels &k) { return k.qs8w_dequant; }
  static int64_t row_bytes(int64_t n) { return n; }
};
struct Q4 {
  using Packed = PackedQu4wRows;
  using Rows = Qu4wRows;
  static Qu4wGatherFn gather(const QuantKernels &k) { return k.qu4w_gather; }
  static Qu4wDequantFn dequant(const QuantKernels &k) { return k.qu4w_dequant; }
  static int64_t row_bytes(int64_t n) { return n / 2; }
};

template <typename F>
void sparse_gemm(const float *x, int64_t m, int64_t ldx, const ActiveRows &active,
                 const typename F::Packed &w, const float *bias, float *y, int64_t ldy, int threads,
                 const QuantKernels *kernels) {
  const int64_t n = w.cols();
  if (n == 0 || m == 0) return;
  const QuantKernels &kern = kernels != nullptr ? *kernels : quant_kernels();
  const typename F::Rows rows = w.view();
  if (m == 1) {
    const auto gather = F::gather(kern);
    const int64_t count = active.count[0];
    threads = useful_threads(threads, count * F::row_bytes(n));
    const int64_t chunk =
        ((n + threads - 1) / threads + kChunkAlign - 1) / kChunkAlign * kChunkAlign;
    const int64_t n_chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && n_chunks > 1)
    for (int64_t c = 0; c < n_chunks; ++c) {
      const int64_t n0 = c * chunk, n1 = std::min(n, n0 + chunk);
      fill_bias(bias, n0, n1, y);
      gather(x, active.idx, count, rows, n0, n1, y);
    }
    return;
  }
  // As f32_sparse_rows_gemm, with each group of four union rows dequantized
  // into an L1 buffer once per column piece and scattered by the float
  // kernel. A reference to the thread_local, not its name, inside the region.
  thread_local ActiveColumns scratch;
  ActiveColumns &cols = scratch;
  group_by_column(x, m, ldx, w.rows(), active, &cols);
  const auto dequant = F::dequant(kern);
  const ScatterRowsAxpyFn scatter = sparse_kernels().scatter_rows_axpy;
  threads = useful_threads(threads, int64_t(cols.ks.size()) * F::row_bytes(n));
  int64_t chunk = std::min((n + threads - 1) / threads, kTileYBytes / (m * int64_t(sizeof(float))));
  chunk = std::max(kChunkAlign, (chunk + kChunkAlign - 1) / kChunkAlign * kChunkAlign);
  const int64_t n_chunks = (n + chunk - 1) / chunk;
  const int64_t tile_ld = chunk + 16;  // off the power-of-two stride (L1 sets)
#pragma omp parallel num_threads(threads) if (threads > 1 && n_chunks > 1)
  {
    thread_local std::vector<float> tile, deq;
    tile.resize(static_cast<size_t>(m * tile_ld));
    deq.resize(static_cast<size_t>(4 * kDequantCols));
#pragma omp for schedule(static)
    for (int64_t c = 0; c < n_chunks; ++c) {
      const int64_t n0 = c * chunk, n1 = std::min(n, n0 + chunk), len = n1 - n0;
      for (int64_t r = 0; r < m; ++r)
        fill_bias(bias == nullptr ? nullptr : bias + n0, 0, len, tile.data() + r * tile_ld);
      const float *rows4[4];
      for (int q = 0; q < 4; ++q) rows4[q] = deq.data() + q * kDequantCols;
      for (size_t i = 0; i < cols.ks.size(); i += 4) {
        const int nw = int(std::min<size_t>(4, cols.ks.size() - i));
        for (int64_t s0 = n0; s0 < n1; s0 += kDequantCols) {
          const int64_t s1 = std::min(n1, s0 + kDequantCols);
          dequant(rows, cols.ks.data() + i, nw, s0, s1, deq.data(), kDequantCols);
          scatter(rows4, cols.start.data() + i, nw, cols.rows.data(), cols.vals.data(), 0, s1 - s0,
                  tile.data() + (s0 - n0), tile_ld);
        }
      }
      for (int64_t r = 0; r < m; ++r)
        std::memcpy(y + r * ldy + n0, tile.data() + r * tile_ld, size_t(len) * sizeof(float));
    }
  }
}

// 0, 1, ..., k - 1: every row, as an index list (the calling thread's).
const std::vector<int32_t> &every_k(int64_t k) {
  thread_local std::vector<int32_t> all;
  if (int64_t(all.size()) != k) {
    all.resize(size_t(k));
    for (int64_t i = 0; i < k; ++i) all[size_t(i)] = int32_t(i);
  }
  return all;
}

// A batch through every row: a block of kTileK rows x kTileCols columns is
// dequantized once into an L2 buffer (one dequant call, row runs of 1 KiB of
// int8 codes), and the float register tiles (rows_gemm.h) apply it to every
// row of the batch, the outputs held in registers over the block. A weight
// is decoded once per call, where the gather-and-scatter route of
// sparse_gemm decodes it once per call too but reloads the outputs for every
// four weight rows (M = 4, 2048 x 8192 int8: 17 ms a layer that way). The
// buffer's row stride is off a power of two (L1 sets), and a partial last
// panel goes through a scratch tile, as in the float tiled path.
constexpr int64_t kTileK = 64;
constexpr int64_t kTileCols = 1024;

template <typename F>
void dense_tiled(const float *x, int64_t m, int64_t ldx, const typename F::Packed &w,
                 const float *bias, float *y, int64_t ldy, int threads, const QuantKernels &kern) {
  const typename F::Rows rows = w.view();
  const auto dequant = F::dequant(kern);
  const RowsTileFn tile = dense_rows_kernels().tile;
  const int64_t k = w.rows(), n = w.cols(), ldb = kTileCols + 32 + 16;
  const std::vector<int32_t> &all = every_k(k);  // a reference, used inside the region
  const int64_t row_blocks = (m + kRowsTileM - 1) / kRowsTileM;
  dense_detail::split_panels(
      m, k, n, kRowsTileN, bias, y, ldy, threads, [&](int64_t p0, int64_t p1, int64_t, int64_t) {
        thread_local std::vector<float> buf;
        buf.assign(size_t(kTileK * ldb), 0.f);  // columns past n stay 0
        alignas(64) float partial[kRowsTileM * kRowsTileN];
        for (int64_t c0 = p0 * kRowsTileN; c0 < std::min(n, p1 * kRowsTileN); c0 += kTileCols) {
          const int64_t c1 = std::min({n, p1 * kRowsTileN, c0 + kTileCols});
          const int64_t a0 = c0 / 32 * 32;  // 4-bit dequantization starts on a group
          for (int64_t k0 = 0; k0 < k; k0 += kTileK) {
            const int64_t kc = std::min(kTileK, k - k0);
            dequant(rows, all.data() + k0, kc, a0, c1, buf.data(), ldb);
            for (int64_t p = c0; p < c1; p += kRowsTileN) {
              const int64_t cols = std::min<int64_t>(kRowsTileN, c1 - p);
              const float *wp = buf.data() + (p - a0);
              for (int64_t b = 0; b < row_blocks; ++b) {
                // Row blocks as even as possible: 8 rows run as 4 + 4, not 6 + 2.
                const int64_t r0 = b * m / row_blocks;
                const int mr = int((b + 1) * m / row_blocks - r0);
                const float *xr = x + r0 * ldx + k0;
                float *yt = y + r0 * ldy + p;
                if (cols == kRowsTileN) {
                  tile(xr, ldx, mr, kc, wp, ldb, yt, ldy);
                  continue;
                }
                for (int r = 0; r < mr; ++r)
                  std::memcpy(partial + r * kRowsTileN, yt + r * ldy, size_t(cols) * sizeof(float));
                tile(xr, ldx, mr, kc, wp, ldb, partial, kRowsTileN);
                for (int r = 0; r < mr; ++r)
                  std::memcpy(yt + r * ldy, partial + r * kRowsTileN, size_t(cols) * sizeof(float));
              }
            }
          }
        }
      });
}

// Every k active for every row. One row gathers every weight row (decoded
// in registers); a batch runs dense_tiled.
template <typename F>
void dense_gemm(const float *x, int64_t m, int64_t ldx, const typename F::Packed &w,
                const float *bias, float *y, int64_t ldy, int threads,
                const QuantKernels *kernels) {
  if (m > 1) {
    dense_tiled<F>(x, m, ldx, w, bias, y, ldy, threads,
                   kernels != nullptr ? *kernels : quant_kernels());
    return;
  }
  const int64_t count = w.rows();
  sparse_gemm<F>(x, m, ldx, ActiveRows{every_k(count).data(), &count, 0}, w, bias, y, ldy, threads,
                 kernels);
}

}  // namespace

void f32_qs8w_sparse_rows_gemm(const float *x, int64_t m, int64_t ldx, const ActiveRows &active,
                               const PackedQs8wRows &w, const float *bias, float *y, int64_t ldy,
                               int threads, const QuantKernels *kernels) {
  sparse_gemm<Q8>(x, m, ldx, active, w, bias, y, ldy, threads, kernels);
}

void f32_qu4w_sparse_rows_gemm(const float *x, int64_t m, int64_t ldx, const ActiveRows &active,
                               const PackedQu4wRows &w, const float *bias, float *y, int64_t ldy,
                               int threads, const QuantKernels *kernels) {
  sparse_gemm<Q4>(x, m, ldx, active, w, bias, y, ldy, threads, kernels);
}

void f32_qs8w_dense_rows_gemm(const float *x, int64_t m, int64_t ldx, const PackedQs8wRows &w,
                              const float *bias, float *y, int64_t ldy, int threads,
                              const QuantKernels *kernels) {
  dense_gemm<Q8>(x, m, ldx, w, bias, y, ldy, threads, kernels);
}

void f32_qu4w_dense_rows_gemm(const float *x, int64_t m, int64_t ldx, const PackedQu4wRows &w,
                              const float *bias, float *y, int64_t ldy, int threads,
                              const QuantKernels *kernels) {
  dense_gemm<Q4>(x, m, ldx, w, bias, y, ldy, threads, kernels);
}

}  // namespace si
