#include "kernels/vec/maxpool.h"

#include <immintrin.h>

#include <algorithm>
#include <cassert>
#include <limits>

#include "kernels/cpu_features.h"
#include "kernels/ref/parallel.h"

namespace si {

namespace {

constexpr float kLowest = std::numeric_limits<float>::lowest();

// A team for problems of this many output elements times taps and more:
// a 2x2 pool over 128x28x28 (100K) repays one, a 14x14 one (25K) does not.
constexpr int64_t kMaxPoolParallelMin = int64_t{1} << 16;

// The taps of window o along one dim that fall inside [0, in): tap k sits
// at first + k * dilation for k in [begin, end).
struct Range {
  int64_t first, begin, end;
};

Range taps(const ref::PoolParams &p, int d, int64_t o) {
  Range r;
  r.first = o * p.stride[d] - p.pad_begin[d];
  const int64_t dil = p.dilation[d];
  // Ceiling divisions, skipped for dilation 1 (one per output otherwise).
  r.begin = r.first >= 0 ? 0 : dil == 1 ? -r.first : (-r.first + dil - 1) / dil;
  const int64_t left = p.in[d] - r.first;
  r.end = left <= 0 ? 0 : dil == 1 ? left : (left + dil - 1) / dil;
  if (r.end > p.kernel[d]) r.end = p.kernel[d];
  if (r.end < r.begin) r.end = r.begin;
  return r;
}

// One window's taps inside the input, in input positions (multiply by the
// block for floats): first tap at `off`, n[d] taps `step[d]` apart per dim.
struct Window {
  int64_t off;
  int64_t n[3];
  int64_t step[3];
};

// The problem with its spatial dims moved to the end (a 2-D pool runs as
// [1, H, W]), so the innermost loop is always the last spatial dim.
ref::PoolParams right_aligned(const ref::PoolParams &p) {
  ref::PoolParams q = p;
  const int shift = ref::kMaxPoolSpatial - p.rank;
  for (int d = ref::kMaxPoolSpatial - 1; d >= 0; --d) {
    const int s = d - shift;
    q.in[d] = s >= 0 ? p.in[s] : 1;
    q.out[d] = s >= 0 ? p.out[s] : 1;
    q.kernel[d] = s >= 0 ? p.kernel[s] : 1;
    q.stride[d] = s >= 0 ? p.stride[s] : 1;
    q.dilation[d] = s >= 0 ? p.dilation[s] : 1;
    q.pad_begin[d] = s >= 0 ? p.pad_begin[s] : 0;
    q.pad_end[d] = s >= 0 ? p.pad_end[s] : 0;
  }
  q.rank = ref::kMaxPoolSpatial;
  return q;
}

// Walks the rows of one problem: a row is (channel block g, o0, o1) of the
// right-aligned problem.
struct Rows {
  Rows(const ref::PoolParams &params, int64_t b) : p(right_aligned(params)), block(b) {}

  const ref::PoolParams p;
  const int64_t block;

  struct Row {
    const float *x;  // the channel block's input
    float *y;        // the row's first output
    Range t0, t1;
  };

  Row row(const float *x, float *y, int64_t r) const {
    const int64_t o1 = r % p.out[1], o0 = (r / p.out[1]) % p.out[0];
    const int64_t g = r / (p.out[1] * p.out[0]);
    return Row{x + g * p.in_plane() * block,
               y + (g * p.out_plane() + (o0 * p.out[1] + o1) * p.out[2]) * block, taps(p, 0, o0),
               taps(p, 1, o1)};
  }

  Window window(const Row &row, int64_t o2) const {
    const Range t2 = taps(p, 2, o2);
    Window w;
    w.n[0] = row.t0.end - row.t0.begin;
    w.n[1] = row.t1.end - row.t1.begin;
    w.n[2] = t2.end - t2.begin;
    w.step[2] = p.dilation[2];
    w.step[1] = p.dilation[1] * p.in[2];
    w.step[0] = p.dilation[0] * p.in[1] * p.in[2];
    w.off = ((row.t0.first + row.t0.begin * p.dilation[0]) * p.in[1] + row.t1.first +
             row.t1.begin * p.dilation[1]) *
                p.in[2] +
            t2.first + t2.begin * p.dilation[2];
    return w;
  }
};

// Lane `lane` of one window as the reference takes it: the first tap, then
// any larger one (so -inf taps give -inf, not lowest()); the first NaN wins
// and stops.
float lane_max(const float *x, int64_t block, const Window &w, int64_t lane) {
  float best = kLowest;
  bool first = true;
  for (int64_t i0 = 0; i0 < w.n[0]; ++i0)
    for (int64_t i1 = 0; i1 < w.n[1]; ++i1)
      for (int64_t i2 = 0; i2 < w.n[2]; ++i2) {
        const float v =
            x[(w.off + i0 * w.step[0] + i1 * w.step[1] + i2 * w.step[2]) * block + lane];
        if (v != v) return v;
        if (first || v > best) best = v;
        first = false;
      }
  return best;
}

// Runs Win::run<kTaps>(x, w, count, out) over every row in [row_begin,
// row_end): `count` windows along the last dim, the first `w`, each next one
// stride positions further, their outputs `block` floats apart from `out`.
// The windows wholly inside the input along the last dim go in one call
// with kTaps = their tap count there when it is 2 or 3 (0: w.n[2]); the
// edge windows one by one.
template <class Win>
void pool_rows(const Rows &rows, const float *x, float *y, int64_t row_begin, int64_t row_end) {
  const ref::PoolParams &p = rows.p;
  const int64_t s = p.stride[2], pad = p.pad_begin[2], n = p.out[2];
  const int64_t reach = p.in[2] - 1 + pad - (p.kernel[2] - 1) * p.dilation[2];
  const int64_t lo = std::min((pad + s - 1) / s, n);
  const int64_t hi = std::max(lo, std::min(reach < 0 ? 0 : reach / s + 1, n));
  const int64_t b = rows.block;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const Rows::Row row = rows.row(x, y, r);
    for (int64_t o2 = 0; o2 < lo; ++o2)
      Win::template run<0>(row.x, rows.window(row, o2), 1, s, row.y + o2 * b);
    if (lo < hi) {
      const Window w = rows.window(row, lo);
      float *out = row.y + lo * b;
      if (w.n[2] == 2) {
        Win::template run<2>(row.x, w, hi - lo, s, out);
      } else if (w.n[2] == 3) {
        Win::template run<3>(row.x, w, hi - lo, s, out);
      } else {
        Win::template run<0>(row.x, w, hi - lo, s, out);
      }
    }
    for (int64_t o2 = hi; o2 < n; ++o2)
      Win::template run<0>(row.x, rows.window(row, o2), 1, s, row.y + o2 * b);
  }
}

// acc starts at the first tap (lowest() for a window with none); acc =
// max(v, acc) returns acc on ties (the first tap wins, as the reference's
// `v > best`) and when either is NaN, so a NaN in the first tap sticks; a
// later NaN is only flagged, and flagged lanes are redone by lane_max.
// Either way a NaN output is the first NaN of its window.
template <int kVecs>
struct WindowsAvx2 {
  static constexpr int64_t kBlock = 8 * kVecs;

  template <int kTaps>
  __attribute__((target("avx2"))) static void run(const float *x, Window w, int64_t count,
                                                  int64_t stride, float *out) {
    const int64_t n2 = kTaps != 0 ? kTaps : w.n[2];
    for (int64_t c = 0; c < count; ++c, w.off += stride, out += kBlock) {
      const bool any = w.n[0] > 0 && w.n[1] > 0 && n2 > 0;
      __m256 acc[kVecs], nan[kVecs];
      for (int v = 0; v < kVecs; ++v) {
        acc[v] = any ? _mm256_loadu_ps(x + w.off * kBlock + 8 * v) : _mm256_set1_ps(kLowest);
        nan[v] = _mm256_setzero_ps();
      }
      for (int64_t i0 = 0; i0 < w.n[0]; ++i0)
        for (int64_t i1 = 0; i1 < w.n[1]; ++i1) {
          const float *q = x + (w.off + i0 * w.step[0] + i1 * w.step[1]) * kBlock;
          for (int64_t i2 = 0; i2 < n2; ++i2, q += w.step[2] * kBlock)
            for (int v = 0; v < kVecs; ++v) {
              const __m256 t = _mm256_loadu_ps(q + 8 * v);
              acc[v] = _mm256_max_ps(t, acc[v]);
              nan[v] = _mm256_or_ps(nan[v], _mm256_cmp_ps(t, t, _CMP_UNORD_Q));
            }
        }
      for (int v = 0; v < kVecs; ++v) {
        _mm256_storeu_ps(out + 8 * v, acc[v]);
        const int m = _mm256_movemask_ps(nan[v]);
        for (int l = 0; m != 0 && l < 8; ++l)
          if (m & (1 << l)) out[8 * v + l] = lane_max(x, kBlock, w, 8 * v + l);
      }
    }
  }
};

struct WindowsAvx512 {
  static constexpr int64_t kBlock = 16;

  template <int kTaps>
  __attribute__((target("avx512f"))) static void run(const float *x, Window w, int64_t count,
                                                     int64_t stride, float *out) {
    const int64_t n2 = kTaps != 0 ? kTaps : w.n[2];
    for (int64_t c = 0; c < count; ++c, w.off += stride, out += kBlock) {
      const bool any = w.n[0] > 0 && w.n[1] > 0 && n2 > 0;
      __m512 acc = any ? _mm512_loadu_ps(x + w.off * kBlock) : _mm512_set1_ps(kLowest);
      __mmask16 nan = 0;
      for (int64_t i0 = 0; i0 < w.n[0]; ++i0)
        for (int64_t i1 = 0; i1 < w.n[1]; ++i1) {
          const float *q = x + (w.off + i0 * w.step[0] + i1 * w.step[1]) * kBlock;
          for (int64_t i2 = 0; i2 < n2; ++i2, q += w.step[2] * kBlock) {
            const __m512 t = _mm512_loadu_ps(q);
            // _mm512_max_ps: GCC 12 warns of its undefined pass-through.
            acc = _mm512_mask_max_ps(acc, 0xFFFF, t, acc);
            nan = _kor_mask16(nan, _mm512_cmp_ps_mask(t, t, _CMP_UNORD_Q));
          }
        }
      _mm512_storeu_ps(out, acc);
      for (int l = 0; nan != 0 && l < 16; ++l)
        if (nan & (1u << l)) out[l] = lane_max(x, kBlock, w, l);
    }
  }
};

}  // namespace

void f32_max_pool_blocked__scalar(const ref::PoolParams &params, int64_t block, const float *x,
                                  float *y, int64_t row_begin, int64_t row_end) {
  const Rows rows(params, block);
  const ref::PoolParams &p = rows.p;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const Rows::Row row = rows.row(x, y, r);
    for (int64_t o2 = 0; o2 < p.out[2]; ++o2) {
      const Window w = rows.window(row, o2);
      for (int64_t l = 0; l < block; ++l) row.y[o2 * block + l] = lane_max(row.x, block, w, l);
    }
  }
}

void f32_max_pool_blocked__avx2(const ref::PoolParams &p, int64_t block, const float *x, float *y,
                                int64_t row_begin, int64_t row_end) {
  if (block == 8) return pool_rows<WindowsAvx2<1>>(Rows(p, 8), x, y, row_begin, row_end);
  if (block == 16) return pool_rows<WindowsAvx2<2>>(Rows(p, 16), x, y, row_begin, row_end);
  f32_max_pool_blocked__scalar(p, block, x, y, row_begin, row_end);
}

void f32_max_pool_blocked__avx512(const ref::PoolParams &p, int64_t block, const float *x, float *y,
                                  int64_t row_begin, int64_t row_end) {
  if (block == 16) return pool_rows<WindowsAvx512>(Rows(p, 16), x, y, row_begin, row_end);
  f32_max_pool_blocked__avx2(p, block, x, y, row_begin, row_end);
}

const MaxPoolKernels &max_pool_kernels() {
  static const MaxPoolKernels k = [] {
    const CpuFeatures &cpu = dispatch_features();
    if (cpu.avx512f) return MaxPoolKernels{f32_max_pool_blocked__avx512, "avx512"};
    if (cpu.avx2) return MaxPoolKernels{f32_max_pool_blocked__avx2, "avx2"};
    return MaxPoolKernels{f32_max_pool_blocked__scalar, "scalar"};
  }();
  return k;
}

int64_t max_pool_blocked_rows(const ref::PoolParams &p, int64_t block) {
  return p.planes / block * (p.out_plane() / p.out[p.rank - 1]);
}

void f32_max_pool_blocked(const MaxPoolKernels &k, const ref::PoolParams &p, int64_t block,
                          const float *x, float *y, int threads) {
  assert(p.rank >= 1 && p.rank <= ref::kMaxPoolSpatial);
  assert(block >= 1 && p.planes % block == 0);
  const int64_t rows = max_pool_blocked_rows(p, block);
  const int64_t work = p.planes * p.out_plane() * p.kernel[0] * p.kernel[1] * p.kernel[2];
  const int64_t min_parallel =
      work >= kMaxPoolParallelMin ? 2 : std::numeric_limits<int64_t>::max();
  ref::parallel_ranges(rows, threads, min_parallel,
                       [&](int64_t begin, int64_t end) { k.blocked(p, block, x, y, begin, end); });
}

}  // namespace si
