#include "kernels/quant/quant_matmul.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/dense/column_split.h"
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

// Every k active for every row: one index list shared by all rows (stride 0).
template <typename F>
void dense_gemm(const float *x, int64_t m, int64_t ldx, const typename F::Packed &w,
                const float *bias, float *y, int64_t ldy, int threads,
                const QuantKernels *kernels) {
  thread_local std::vector<int32_t> all;
  thread_local std::vector<int64_t> counts;
  const int64_t k = w.rows();
  if (int64_t(all.size()) != k) {
    all.resize(size_t(k));
    for (int64_t i = 0; i < k; ++i) all[size_t(i)] = int32_t(i);
  }
  counts.assign(size_t(m), k);
  sparse_gemm<F>(x, m, ldx, ActiveRows{all.data(), counts.data(), 0}, w, bias, y, ldy, threads,
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
