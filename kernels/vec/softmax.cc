#include "kernels/vec/softmax.h"

#include <immintrin.h>

#include <cmath>
#include <limits>

#include "kernels/cpu_features.h"
#include "kernels/ref/parallel.h"
#include "kernels/ref/softmax.h"

namespace si {

namespace {

// As the reference: a team for 4096 elements and more.
constexpr int64_t kSoftmaxParallelMin = int64_t{1} << 12;

void softmax_rows__scalar(const float *x, float *y, int64_t rows, int64_t n) {
  ref::softmax_f32(x, y, rows, n, 1, 1);
}
void log_softmax_rows__scalar(const float *x, float *y, int64_t rows, int64_t n) {
  ref::log_softmax_f32(x, y, rows, n, 1, 1);
}

__attribute__((target("avx2"))) __m256i tail_mask(int64_t n) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), lanes);
}

// exp(d) for d <= 0 (x - max): 2^k e^r with k = round(d log2 e) and
// |r| <= ln2/2, e^r by the Cephes expf polynomial. Below -87.3 (where 2^k
// leaves the normal range) and at -inf the result is 0; the reference gives
// a denormal there, under 1e-38.
__attribute__((target("avx2,fma"))) __m256 exp_nonpositive(__m256 d) {
  const __m256 lo = _mm256_set1_ps(-87.33654475f);
  const __m256 underflow = _mm256_cmp_ps(d, lo, _CMP_LT_OQ);
  const __m256 c = _mm256_max_ps(d, lo);
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(c, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), c);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  const __m256 e = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
  return _mm256_andnot_ps(underflow, e);
}

__attribute__((target("avx2"))) float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

__attribute__((target("avx2"))) double hsum(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}

// One row; false (nothing written) when the reference must run it.
template <bool kLog>
__attribute__((target("avx2,fma"))) bool row(const float *x, float *y, int64_t n) {
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  const __m256 neg_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  const int64_t full = n & ~int64_t{7};
  const __m256i tail = tail_mask(n - full);
  // Masked-off lanes read as 0: -inf there keeps them out of the max.
  const __m256 tail_x =
      _mm256_blendv_ps(neg_inf, _mm256_maskload_ps(x + full, tail), _mm256_castsi256_ps(tail));
  // Two max chains: a max's latency, not its throughput, bounds one chain.
  __m256 mx0 = tail_x, mx1 = neg_inf;
  __m256 bad = _mm256_cmp_ps(tail_x, inf, _CMP_NLT_UQ);  // NaN or +inf
  int64_t i = 0;
  for (; i + 16 <= full; i += 16) {
    const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    mx0 = _mm256_max_ps(mx0, v0);
    mx1 = _mm256_max_ps(mx1, v1);
    bad = _mm256_or_ps(bad, _mm256_or_ps(_mm256_cmp_ps(v0, inf, _CMP_NLT_UQ),
                                         _mm256_cmp_ps(v1, inf, _CMP_NLT_UQ)));
  }
  if (i < full) {
    const __m256 v = _mm256_loadu_ps(x + i);
    mx0 = _mm256_max_ps(mx0, v);
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(v, inf, _CMP_NLT_UQ));
  }
  const float m = hmax(_mm256_max_ps(mx0, mx1));
  if (_mm256_movemask_ps(bad) != 0 || m == -std::numeric_limits<float>::infinity()) return false;
  const __m256 vm = _mm256_set1_ps(m);
  // Softmax: float partial sums of at most 16 terms a lane (error under 1e-6
  // of the sum, every term being positive), carried into double per block.
  // LogSoftmax carries every term: log(sum) near 0 would show a float sum's
  // rounding as a large relative error.
  constexpr int64_t kBlock = kLog ? 8 : 128;
  __m256d sum_lo = _mm256_setzero_pd(), sum_hi = _mm256_setzero_pd();
  auto carry = [&](__m256 part) {
    sum_lo = _mm256_add_pd(sum_lo, _mm256_cvtps_pd(_mm256_castps256_ps128(part)));
    sum_hi = _mm256_add_pd(sum_hi, _mm256_cvtps_pd(_mm256_extractf128_ps(part, 1)));
  };
  for (int64_t b = 0; b < full; b += kBlock) {
    const int64_t end = b + kBlock < full ? b + kBlock : full;
    __m256 part = _mm256_setzero_ps();
    for (int64_t j = b; j < end; j += 8) {
      const __m256 e = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(x + j), vm));
      if (!kLog) _mm256_storeu_ps(y + j, e);
      part = _mm256_add_ps(part, e);
    }
    carry(part);
  }
  if (full < n) {
    const __m256 e = exp_nonpositive(_mm256_sub_ps(tail_x, vm));  // 0 in masked-off lanes
    if (!kLog) _mm256_maskstore_ps(y + full, tail, e);
    carry(e);
  }
  const double sum = hsum(_mm256_add_pd(sum_lo, sum_hi));
  if (kLog) {
    // float(double(x - max) - log(sum)), the reference's rounding.
    const __m256d ls = _mm256_set1_pd(std::log(sum));
    auto out = [&](__m256 v) {
      const __m256 d = _mm256_sub_ps(v, vm);
      const __m128 lo =
          _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(d)), ls));
      const __m128 hi =
          _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(d, 1)), ls));
      return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
    };
    for (int64_t i = 0; i < full; i += 8) _mm256_storeu_ps(y + i, out(_mm256_loadu_ps(x + i)));
    if (full < n) _mm256_maskstore_ps(y + full, tail, out(tail_x));
  } else {
    const __m256 inv = _mm256_set1_ps(float(1.0 / sum));
    for (int64_t i = 0; i < full; i += 8)
      _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), inv));
    if (full < n)
      _mm256_maskstore_ps(y + full, tail, _mm256_mul_ps(_mm256_maskload_ps(y + full, tail), inv));
  }
  return true;
}

template <bool kLog>
void rows__avx2(const float *x, float *y, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    if (row<kLog>(x + r * n, y + r * n, n)) continue;
    if (kLog) {
      ref::log_softmax_f32(x + r * n, y + r * n, 1, n, 1, 1);
    } else {
      ref::softmax_f32(x + r * n, y + r * n, 1, n, 1, 1);
    }
  }
}

}  // namespace

void f32_softmax_rows__avx2(const float *x, float *y, int64_t rows, int64_t n) {
  rows__avx2<false>(x, y, rows, n);
}
void f32_log_softmax_rows__avx2(const float *x, float *y, int64_t rows, int64_t n) {
  rows__avx2<true>(x, y, rows, n);
}

const SoftmaxKernels &softmax_kernels() {
  static const SoftmaxKernels k = [] {
    const CpuFeatures &cpu = dispatch_features();
    if (cpu.avx2 && cpu.fma)
      return SoftmaxKernels{f32_softmax_rows__avx2, f32_log_softmax_rows__avx2, "avx2"};
    return SoftmaxKernels{softmax_rows__scalar, log_softmax_rows__scalar, "scalar"};
  }();
  return k;
}

void f32_softmax_rows(const SoftmaxKernels &k, bool log, const float *x, float *y, int64_t rows,
                      int64_t n, int threads) {
  if (n <= 0) return;
  const SoftmaxRowsFn fn = log ? k.log_softmax : k.softmax;
  const int64_t min_parallel =
      rows * n >= kSoftmaxParallelMin ? 2 : std::numeric_limits<int64_t>::max();
  ref::parallel_ranges(rows, threads, min_parallel, [&](int64_t begin, int64_t end) {
    fn(x + begin * n, y + begin * n, end - begin, n);
  });
}

}  // namespace si
