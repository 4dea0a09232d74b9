#include "kernels/sparse/sparse_matmul.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "kernels/sparse/sparse_kernels.h"

namespace si {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;
// Budget for the chunk of W that all rows of a batch gather from.
constexpr int64_t kChunkCacheBytes = int64_t{8} << 20;
// Below this many weight bytes gathered a second thread costs more in
// wake-up and barrier than it saves.
constexpr int64_t kBytesPerThread = int64_t{256} << 10;

}  // namespace

void PackedRows::Free::operator()(float *p) const {
  std::free(p);
}

bool PackedRows::pack(const float *w, int64_t k, int64_t n, bool transposed) {
  const int64_t ld = (n + 15) / 16 * 16;
  const size_t bytes = static_cast<size_t>(std::max<int64_t>(k * ld, 16)) * sizeof(float);
  const size_t align = bytes >= kHugePage ? kHugePage : 64;
  const size_t padded = (bytes + align - 1) / align * align;
  float *p = static_cast<float *>(std::aligned_alloc(align, padded));
  if (p == nullptr) return false;
  if (align == kHugePage) madvise(p, padded, MADV_HUGEPAGE);
  std::memset(p, 0, padded);
  for (int64_t r = 0; r < k; ++r) {
    float *row = p + r * ld;
    if (transposed) {
      for (int64_t c = 0; c < n; ++c) row[c] = w[c * k + r];
    } else {
      std::memcpy(row, w + r * n, static_cast<size_t>(n) * sizeof(float));
    }
  }
  data_.reset(p);
  k_ = k;
  n_ = n;
  ld_ = ld;
  bytes_ = padded;
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

void f32_sparse_rows_gemm(const float *x, int64_t m, int64_t ldx, const ActiveRows &active,
                          const PackedRows &w, const float *bias, float *y, int64_t ldy,
                          int threads) {
  const GatherRowsAxpyFn axpy = sparse_kernels().gather_rows_axpy;
  const int64_t n = w.cols();
  if (n == 0) return;
  int64_t gathered = 0;
  for (int64_t r = 0; r < m; ++r) gathered += active.count[r];
  gathered *= n * int64_t(sizeof(float));
  threads = int(std::max<int64_t>(1, std::min<int64_t>(threads, gathered / kBytesPerThread)));
  // One row: split N evenly across threads. Several rows: chunks sized so the
  // rows of W they touch are re-read from cache, not memory, by each row m.
  int64_t chunk = (n + threads - 1) / threads;
  if (m > 1) {
    int64_t fit = kChunkCacheBytes / (std::max<int64_t>(w.rows(), 1) * int64_t(sizeof(float)));
    chunk = std::min(chunk, std::max<int64_t>(fit, 64));
  }
  chunk = (chunk + 15) / 16 * 16;
  const int64_t n_chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && n_chunks > 1)
  for (int64_t c = 0; c < n_chunks; ++c) {
    const int64_t n0 = c * chunk, n1 = std::min(n, n0 + chunk);
    for (int64_t r = 0; r < m; ++r) {
      float *yr = y + r * ldy;
      if (bias != nullptr) {
        std::memcpy(yr + n0, bias + n0, static_cast<size_t>(n1 - n0) * sizeof(float));
      } else {
        std::memset(yr + n0, 0, static_cast<size_t>(n1 - n0) * sizeof(float));
      }
      axpy(x + r * ldx, active.idx + r * active.idx_stride, active.count[r], w.data(), w.ld(), n0,
           n1, yr);
    }
  }
}

}  // namespace si
