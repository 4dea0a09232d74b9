// Splits [0, n) into one contiguous range per thread when n is large enough
// to pay for waking a team; small tensors (batch 1) stay on the caller.
#pragma once

#include <omp.h>

#include <cstdint>

namespace si::ref {

template <typename Fn>
void parallel_ranges(int64_t n, int threads, int64_t min_parallel, Fn &&fn) {
  if (n <= 0) return;
  if (threads <= 1 || n < min_parallel) {
    fn(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num();
    const int64_t nt = omp_get_num_threads();
    const int64_t begin = n * t / nt;
    const int64_t end = n * (t + 1) / nt;
    if (begin < end) fn(begin, end);
  }
}

// Elementwise work below this many elements runs single-threaded: a team
// wake-up costs a few microseconds, which a 32K-float pass does not repay.
constexpr int64_t kElementwiseParallelMin = int64_t{1} << 15;

}  // namespace si::ref
