#include "kernels/sparse/sparse_matmul.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/sparse/sparse_kernels.h"

namespace si {

namespace {

// Budget for the tile of Y a batch accumulates into while weight rows stream
// past: a quarter of a 1 MiB L2. Wide tiles matter more than L1 residency:
// short pieces of scattered weight rows defeat the hardware prefetcher.
constexpr int64_t kTileYBytes = int64_t{256} << 10;

// Below this many weight bytes gathered a second thread costs more in
// wake-up and barrier than it saves.
constexpr int64_t kBytesPerThread = int64_t{256} << 10;

}  // namespace

bool PackedRows::allocate(int64_t k, int64_t n) {
  const int64_t ld = (n + 15) / 16 * 16;
  size_t capacity = 0;
  WeightBuffer buffer = alloc_weight_buffer(size_t(k * ld) * sizeof(float), &capacity);
  if (!buffer) return false;
  std::memset(buffer.get(), 0, capacity);
  buffer_ = std::move(buffer);
  k_ = k;
  n_ = n;
  ld_ = ld;
  bytes_ = capacity;
  return true;
}

bool PackedRows::pack(const float *w, int64_t k, int64_t n, bool transposed) {
  if (!allocate(k, n)) return false;
  for (int64_t r = 0; r < k; ++r) {
    float *row = mutable_data() + r * ld_;
    if (transposed) {
      for (int64_t c = 0; c < n; ++c) row[c] = w[c * k + r];
    } else {
      std::memcpy(row, w + r * n, static_cast<size_t>(n) * sizeof(float));
    }
  }
  return true;
}

int64_t f32_find_active_rows(const float *x, int64_t m, int64_t k, int64_t ldx, int32_t *idx,
                             int64_t *count) {
  const CompactNonzeroFn compact = sparse_kernels().compact_nonzero;
  int64_t total = 0;
  for (int64_t r = 0; r < m; ++r) {
    count[r] = compact(x + r * ldx, k, idx + r * k);
    total += count[r];
  }
  return total;
}

int64_t f32_count_nonzero(const float *x, int64_t count, int64_t limit) {
  constexpr int64_t kBlock = 1024;  // vectorised counting between limit checks
  int64_t nonzero = 0;
  for (int64_t b = 0; b < count && nonzero < limit; b += kBlock) {
    const int64_t end = std::min(count, b + kBlock);
    int32_t in_block = 0;
    for (int64_t i = b; i < end; ++i) in_block += x[i] != 0.f;
    nonzero += in_block;
  }
  return std::min(nonzero, limit);
}

namespace {

void fill_bias(const float *bias, int64_t n0, int64_t n1, float *yr) {
  const size_t bytes = static_cast<size_t>(n1 - n0) * sizeof(float);
  if (bias != nullptr) {
    std::memcpy(yr + n0, bias + n0, bytes);
  } else {
    std::memset(yr + n0, 0, bytes);
  }
}

// Threads worth waking for `gathered` bytes of weights.
int useful_threads(int threads, int64_t gathered) {
  return int(std::max<int64_t>(1, std::min<int64_t>(threads, gathered / kBytesPerThread)));
}

// One row: N split evenly across threads, each streaming its part of every
// active weight row.
void gemv(const float *x, const int32_t *idx, int64_t count, const PackedRows &w, const float *bias,
          float *y, int threads) {
  const GatherRowsAxpyFn axpy = sparse_kernels().gather_rows_axpy;
  const int64_t n = w.cols();
  threads = useful_threads(threads, count * n * int64_t(sizeof(float)));
  const int64_t chunk = ((n + threads - 1) / threads + 15) / 16 * 16;
  const int64_t n_chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && n_chunks > 1)
  for (int64_t c = 0; c < n_chunks; ++c) {
    const int64_t n0 = c * chunk, n1 = std::min(n, n0 + chunk);
    fill_bias(bias, n0, n1, y);
    axpy(x, idx, count, w.data(), w.ld(), n0, n1, y);
  }
}

}  // namespace

void group_by_column(const float *x, int64_t m, int64_t ldx, int64_t k, const ActiveRows &active,
                     ActiveColumns *cols) {
  std::vector<int64_t> &next = cols->start;  // per k: count, then write cursor
  next.assign(static_cast<size_t>(k), 0);
  int64_t nnz = 0;
  for (int64_t r = 0; r < m; ++r) {
    const int32_t *idx = active.idx + r * active.idx_stride;
    for (int64_t j = 0; j < active.count[r]; ++j) ++next[static_cast<size_t>(idx[j])];
    nnz += active.count[r];
  }
  cols->ks.clear();
  int64_t offset = 0;
  for (int64_t c = 0; c < k; ++c) {
    const int64_t count = next[static_cast<size_t>(c)];
    next[static_cast<size_t>(c)] = offset;
    if (count == 0) continue;
    cols->ks.push_back(static_cast<int32_t>(c));
    offset += count;
  }
  cols->rows.resize(static_cast<size_t>(nnz));
  cols->vals.resize(static_cast<size_t>(nnz));
  for (int64_t r = 0; r < m; ++r) {
    const int32_t *idx = active.idx + r * active.idx_stride;
    for (int64_t j = 0; j < active.count[r]; ++j) {
      const size_t at = static_cast<size_t>(next[static_cast<size_t>(idx[j])]++);
      cols->rows[at] = static_cast<int32_t>(r);
      cols->vals[at] = x[r * ldx + idx[j]];
    }
  }
  // The cursors now point one past each column's entries: shift them into
  // per-union-entry starts.
  for (size_t i = 0; i < cols->ks.size(); ++i) next[i] = next[static_cast<size_t>(cols->ks[i])];
  next.resize(cols->ks.size());
  next.insert(next.begin(), 0);
}

void f32_sparse_rows_gemm(const float *x, int64_t m, int64_t ldx, const ActiveRows &active,
                          const PackedRows &w, const float *bias, float *y, int64_t ldy,
                          int threads) {
  const int64_t n = w.cols();
  if (n == 0 || m == 0) return;
  if (m == 1) return gemv(x, active.idx, active.count[0], w, bias, y, threads);

  // Each weight row of the union is read once per column chunk and applied
  // to every row that needs it. The chunk of Y lives in a private tile whose
  // row stride is padded off the N stride: rows N floats apart would all fall
  // in the same L1 sets.
  // A reference, not the thread_local itself: inside the parallel region the
  // name of a thread_local would mean each worker's own (empty) copy.
  thread_local ActiveColumns scratch;
  ActiveColumns &cols = scratch;
  group_by_column(x, m, ldx, w.rows(), active, &cols);
  const ScatterRowsAxpyFn scatter = sparse_kernels().scatter_rows_axpy;
  threads = useful_threads(threads, int64_t(cols.ks.size()) * n * int64_t(sizeof(float)));
  int64_t chunk = std::min((n + threads - 1) / threads, kTileYBytes / (m * int64_t(sizeof(float))));
  chunk = std::max<int64_t>(64, (chunk + 63) / 64 * 64);
  const int64_t n_chunks = (n + chunk - 1) / chunk;
  const int64_t tile_ld = chunk + 16;
#pragma omp parallel num_threads(threads) if (threads > 1 && n_chunks > 1)
  {
    thread_local std::vector<float> tile;
    tile.resize(static_cast<size_t>(m * tile_ld));
#pragma omp for schedule(static)
    for (int64_t c = 0; c < n_chunks; ++c) {
      const int64_t n0 = c * chunk, n1 = std::min(n, n0 + chunk), len = n1 - n0;
      for (int64_t r = 0; r < m; ++r) {
        fill_bias(bias == nullptr ? nullptr : bias + n0, 0, len, tile.data() + r * tile_ld);
      }
      const float *rows4[4];
      for (size_t i = 0; i < cols.ks.size(); i += 4) {
        const int nw = int(std::min<size_t>(4, cols.ks.size() - i));
        for (int q = 0; q < nw; ++q) rows4[q] = w.data() + cols.ks[i + size_t(q)] * w.ld() + n0;
        scatter(rows4, cols.start.data() + i, nw, cols.rows.data(), cols.vals.data(), 0, len,
                tile.data(), tile_ld);
      }
      for (int64_t r = 0; r < m; ++r) {
        std::memcpy(y + r * ldy + n0, tile.data() + r * tile_ld,
                    static_cast<size_t>(len) * sizeof(float));
      }
    }
  }
}

}  // namespace si
