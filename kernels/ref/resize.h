// ONNX Resize / Upsample as one 1-D pass per resized axis. Every mode the
// spec defines (nearest, linear, cubic) is a tensor product of 1-D
// interpolations, so resizing axis by axis gives the N-D result (up to float
// rounding), and each pass reads a small tap table built once per axis.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace si::ref {

enum class ResizeMode { kNearest, kLinear, kCubic };
enum class ResizeCoord {
  kHalfPixel,
  kAsymmetric,
  kAlignCorners,
  kPytorchHalfPixel,
  kTfHalfPixelForNn,
  kTfCropAndResize,
};
enum class NearestRound { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };

struct ResizeAxis {
  int64_t in_len = 0;
  int64_t out_len = 0;
  double scale = 1;  // output / input, as given (scales) or derived (sizes)
  ResizeMode mode = ResizeMode::kNearest;
  ResizeCoord coord = ResizeCoord::kHalfPixel;
  NearestRound nearest = NearestRound::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double roi_start = 0, roi_end = 1;  // kTfCropAndResize only
};

// Per output position: `taps` source indices (already clamped into
// [0, in_len)) and weights, and whether the position lies outside the
// crop box (kTfCropAndResize), where it takes the extrapolation value.
struct ResizeTaps {
  int taps = 1;
  std::vector<int64_t> index;  // [out_len * taps]
  std::vector<float> weight;   // [out_len * taps]
  std::vector<uint8_t> outside;
  bool identity = false;  // out_len == in_len and every output copies its own index
};

// The tap table of one axis, following the ONNX reference: the source
// coordinate from the coordinate transformation, then the nearest 1, 2 or 4
// neighbours (edge-clamped) with nearest-rounding, linear or cubic weights.
// Precondition: in_len >= 1 (an empty axis is never resized), out_len >= 0.
void resize_axis_taps(const ResizeAxis &axis, ResizeTaps *out);

// x viewed as [outer, in_len, inner] -> y [outer, out_len, inner].
void f32_resize_axis(const float *x, int64_t outer, int64_t in_len, int64_t inner,
                     const ResizeTaps &taps, int64_t out_len, float extrapolation, float *y);

// The same for nearest tables (taps == 1) over any dtype; `fill` (elem_size
// bytes) replaces outside positions.
void resize_axis_nearest_bytes(const void *x, int64_t outer, int64_t in_len, size_t inner_bytes,
                               const ResizeTaps &taps, int64_t out_len, const void *fill,
                               size_t elem_size, void *y);

}  // namespace si::ref
