#include "kernels/dense/panel_gemm.h"

#include <algorithm>
#include <cstring>

#include "kernels/dense/column_split.h"

namespace si {

namespace {

// Blocking for the 6x16 tile (Zen 3: 32 KiB L1d, 512 KiB L2 a core): a row
// block's x for one k block (6 x 256 floats, 6 KiB) stays in L1 while the
// group's panels for that k block (256 x 16 floats = 16 KiB each, 256 KiB for
// 16 panels, one contiguous run) pass under it from L2; the next row block
// reuses them there. (On a Zen 3, weights in DRAM: panels outer, row blocks
// inner ran the same at M = 4-128; software prefetch of the next block, spread
// over the later row blocks, cost 5-15% at M = 8-32 for 2-3% at M = 128.)
constexpr int64_t kPanelsPerGroup = 16;

// One register tile: rows [r0, r0 + mr) of panel p over the k block at k0.
// The last panel's padding columns are zeros; its outputs go through a
// scratch tile.
inline void panel_tile(RowsTileFn tile, const float *x, int64_t ldx, const PackedPanels &w,
                       int64_t k0, int64_t kc, int64_t p, int64_t r0, int mr, float *y,
                       int64_t ldy) {
  constexpr int64_t nr = PackedPanels::kWidth;
  const float *xr = x + r0 * ldx + k0, *wp = w.block(k0, p);
  const int64_t c0 = p * nr, cols = std::min(nr, w.cols() - c0);
  float *yt = y + r0 * ldy + c0;
  if (cols == nr) return tile(xr, ldx, mr, kc, wp, nr, yt, ldy);
  alignas(64) float partial[kRowsTileM * nr];
  for (int r = 0; r < mr; ++r)
    std::memcpy(partial + r * nr, yt + r * ldy, size_t(cols) * sizeof(float));
  tile(xr, ldx, mr, kc, wp, nr, partial, nr);
  for (int r = 0; r < mr; ++r)
    std::memcpy(yt + r * ldy, partial + r * nr, size_t(cols) * sizeof(float));
}

// Up to kRowsGemvMaxRows rows: the panels of a group run several at a time
// (PanelsGemvFn), the partial last one as a tile.
void panels_gemv_range(const DenseRowsKernels &kern, const float *x, int64_t m, int64_t ldx,
                       const PackedPanels &w, int64_t p0, int64_t p1, float *y, int64_t ldy) {
  constexpr int64_t nr = PackedPanels::kWidth;
  const int64_t k = w.rows(), full = w.cols() / nr;
  for (int64_t g0 = p0; g0 < p1; g0 += kPanelsPerGroup) {
    const int64_t g1 = std::min(p1, g0 + kPanelsPerGroup), gf = std::min(g1, full);
    for (int64_t k0 = 0; k0 < k; k0 += PackedPanels::kBlockK) {
      const int64_t kc = std::min(PackedPanels::kBlockK, k - k0);
      // Four rows as two passes of two: the second reads the group's block
      // (256 KiB) from L2, and both keep three panel streams in flight.
      const int64_t step = m == 4 ? 2 : m;
      for (int64_t r0 = 0; r0 < m && gf > g0; r0 += step)
        kern.panels_gemv(x + r0 * ldx + k0, ldx, int(step), kc, w.block(k0, g0), kc * nr, gf - g0,
                         y + r0 * ldy + g0 * nr, ldy);
      for (int64_t p = std::max(g0, gf); p < g1; ++p)
        panel_tile(kern.tile, x, ldx, w, k0, kc, p, 0, int(m), y, ldy);
    }
  }
}

void panels_range(RowsTileFn tile, const float *x, int64_t m, int64_t ldx, const PackedPanels &w,
                  int64_t p0, int64_t p1, float *y, int64_t ldy) {
  const int64_t k = w.rows(), kb = PackedPanels::kBlockK;
  const int64_t row_blocks = (m + kRowsTileM - 1) / kRowsTileM;
  // Row blocks as even as possible: 8 rows run as 4 + 4, not 6 + 2.
  auto rb = [&](int64_t b, int64_t *r0) {
    *r0 = b * m / row_blocks;
    return int((b + 1) * m / row_blocks - *r0);
  };
  for (int64_t g0 = p0; g0 < p1; g0 += kPanelsPerGroup) {
    const int64_t g1 = std::min(p1, g0 + kPanelsPerGroup);
    for (int64_t k0 = 0; k0 < k; k0 += kb) {
      const int64_t kc = std::min(kb, k - k0);
      for (int64_t b = 0; b < row_blocks; ++b) {
        int64_t r0;
        const int mr = rb(b, &r0);
        for (int64_t p = g0; p < g1; ++p) panel_tile(tile, x, ldx, w, k0, kc, p, r0, mr, y, ldy);
      }
    }
  }
}

}  // namespace

bool PackedPanels::pack(const float *w, int64_t k, int64_t n, bool transposed, float alpha) {
  k_ = k;
  n_ = n;
  const size_t floats = size_t(panels() * k * kWidth);
  buffer_ = alloc_weight_buffer(std::max<size_t>(floats, 1) * sizeof(float), &bytes_);
  if (buffer_ == nullptr) {
    bytes_ = 0;
    return false;
  }
  float *dst = static_cast<float *>(buffer_.get());
  std::memset(dst, 0, floats * sizeof(float));
  for (int64_t k0 = 0; k0 < k; k0 += kBlockK) {
    const int64_t kc = std::min(kBlockK, k - k0);
    for (int64_t p = 0; p < panels(); ++p) {
      const int64_t c0 = p * kWidth, cols = std::min(kWidth, n - c0);
      float *panel = dst + (block(k0, p) - data());
      for (int64_t j = 0; j < kc; ++j)
        for (int64_t c = 0; c < cols; ++c) {
          const float v = transposed ? w[(c0 + c) * k + k0 + j] : w[(k0 + j) * n + c0 + c];
          panel[j * kWidth + c] = alpha == 1.f ? v : v * alpha;
        }
    }
  }
  return true;
}

void f32_dense_panels_gemm(const float *x, int64_t m, int64_t ldx, const PackedPanels &w,
                           const float *bias, float *y, int64_t ldy, int threads,
                           const DenseRowsKernels *kernels) {
  const DenseRowsKernels &kern = kernels != nullptr ? *kernels : dense_rows_kernels();
  dense_detail::split_panels(m, w.rows(), w.cols(), PackedPanels::kWidth, bias, y, ldy, threads,
                             [&](int64_t p0, int64_t p1, int64_t, int64_t) {
                               if (m <= kRowsGemvMaxRows) {
                                 panels_gemv_range(kern, x, m, ldx, w, p0, p1, y, ldy);
                               } else {
                                 panels_range(kern.tile, x, m, ldx, w, p0, p1, y, ldy);
                               }
                             });
}

}  // namespace si
