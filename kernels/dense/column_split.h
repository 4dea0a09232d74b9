// Threads over disjoint column ranges, shared by the dense drivers
// (rows_gemm.cc, panel_gemm.cc). Internal to kernels/dense.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace si {
namespace dense_detail {

// Below this many weight bytes per thread a second thread costs more in
// wake-up and barrier than it saves (as in the sparse kernels).
constexpr int64_t kBytesPerThread = int64_t{256} << 10;

inline int useful_threads(int threads, int64_t bytes) {
  return int(std::max<int64_t>(1, std::min<int64_t>(threads, bytes / kBytesPerThread)));
}

inline void fill_bias(const float *bias, int64_t n0, int64_t n1, float *yr) {
  const size_t bytes = static_cast<size_t>(n1 - n0) * sizeof(float);
  if (bias != nullptr) {
    std::memcpy(yr + n0, bias + n0, bytes);
  } else {
    std::memset(yr + n0, 0, bytes);
  }
}

// The n columns of an [m, n] output split across threads in whole panels of
// `width` columns, each thread's range given to `body(p0, p1, n0, n1)` after
// its outputs are set to the bias (k == 0 leaves them so).
template <typename Body>
void split_panels(int64_t m, int64_t k, int64_t n, int64_t width, const float *bias, float *y,
                  int64_t ldy, int threads, Body &&body) {
  if (m == 0 || n == 0) return;
  threads = useful_threads(threads, k * n * int64_t(sizeof(float)));
  const int64_t panels = (n + width - 1) / width;
  const int64_t per_thread = (panels + threads - 1) / threads;
  const int64_t chunks = (panels + per_thread - 1) / per_thread;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t p0 = c * per_thread, p1 = std::min(panels, p0 + per_thread);
    const int64_t n0 = p0 * width, n1 = std::min(n, p1 * width);
    for (int64_t r = 0; r < m; ++r) fill_bias(bias, n0, n1, y + r * ldy);
    if (k > 0) body(p0, p1, n0, n1);
  }
}

}  // namespace dense_detail
}  // namespace si
