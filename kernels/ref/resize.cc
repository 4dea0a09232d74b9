#include "kernels/ref/resize.h"

#include <cassert>
#include <cmath>
#include <cstring>

namespace si::ref {

namespace {

// Source coordinate of output index o (ONNX coordinate_transformation_mode).
// length_resized is scale * in_len, unrounded, as the ONNX reference uses it.
double source_coord(const ResizeAxis &a, int64_t o, bool *outside) {
  const double x = double(o), in = double(a.in_len);
  const double length_resized = a.scale * in;
  *outside = false;
  switch (a.coord) {
    case ResizeCoord::kHalfPixel:
      return (x + 0.5) / a.scale - 0.5;
    case ResizeCoord::kAsymmetric:
      return x / a.scale;
    case ResizeCoord::kAlignCorners:
      return length_resized == 1 ? 0.0 : x * (in - 1) / (length_resized - 1);
    case ResizeCoord::kPytorchHalfPixel:
      return a.out_len > 1 ? (x + 0.5) / a.scale - 0.5 : 0.0;
    case ResizeCoord::kTfHalfPixelForNn:
      return (x + 0.5) / a.scale;
    case ResizeCoord::kTfCropAndResize: {
      const double span = a.roi_end - a.roi_start;
      double c =
          length_resized == 1 ? span * (in - 1) / 2 : x * span * (in - 1) / (length_resized - 1);
      c += a.roi_start * (in - 1);
      *outside = !(c >= 0 && c <= in - 1);
      return c;
    }
  }
  return 0.0;
}

void cubic_coeffs(double r, double A, double c[4]) {
  c[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
  c[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
  c[2] = ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1;
  c[3] = ((A * ((1 - r) + 1) - 5 * A) * ((1 - r) + 1) + 8 * A) * ((1 - r) + 1) - 4 * A;
}

}  // namespace

void resize_axis_taps(const ResizeAxis &a, ResizeTaps *out) {
  assert(a.in_len >= 1 && a.out_len >= 0);
  const int taps = a.mode == ResizeMode::kNearest ? 1 : a.mode == ResizeMode::kLinear ? 2 : 4;
  out->taps = taps;
  out->index.assign(size_t(a.out_len * taps), 0);
  out->weight.assign(size_t(a.out_len * taps), 0.f);
  out->outside.assign(size_t(a.out_len), 0);
  bool identity = a.out_len == a.in_len;
  const int64_t last = a.in_len - 1;
  for (int64_t o = 0; o < a.out_len; ++o) {
    bool outside = false;
    double x = source_coord(a, o, &outside);
    int64_t *idx = &out->index[size_t(o * taps)];
    float *w = &out->weight[size_t(o * taps)];
    if (outside) {
      out->outside[size_t(o)] = 1;
      identity = false;
      continue;
    }
    // Far outside the axis every tap clamps to the edge; bounding x keeps the
    // integer conversion defined without changing any result.
    x = std::fmax(-8.0, std::fmin(x, double(a.in_len) + 8.0));
    const double fl = std::floor(x);
    const bool whole = fl == x;
    if (a.mode == ResizeMode::kNearest) {
      int64_t i = int64_t(fl);
      const double r = x - fl;
      if (!whole) {
        switch (a.nearest) {
          case NearestRound::kRoundPreferFloor:
            i += r > 0.5 ? 1 : 0;
            break;
          case NearestRound::kRoundPreferCeil:
            i += r >= 0.5 ? 1 : 0;
            break;
          case NearestRound::kFloor:
            break;
          case NearestRound::kCeil:
            i += 1;
            break;
        }
      }
      idx[0] = i < 0 ? 0 : (i > last ? last : i);
      w[0] = 1.f;
      identity = identity && idx[0] == o;
      continue;
    }
    // The reference takes the neighbours left of x first: a whole x is the
    // right end of its window with ratio 1.
    const int64_t left = whole ? int64_t(fl) - 1 : int64_t(fl);
    const double ratio = whole ? 1.0 : x - fl;
    double c[4];
    int64_t first;
    if (a.mode == ResizeMode::kLinear) {
      c[0] = 1 - ratio;
      c[1] = ratio;
      first = left;
    } else {
      cubic_coeffs(ratio, a.cubic_a, c);
      first = left - 1;
    }
    if (a.exclude_outside) {
      double sum = 0;
      double kept[4];
      for (int t = 0; t < taps; ++t) {
        const int64_t i = first + t;
        kept[t] = i < 0 || i > last ? 0.0 : c[t];
        sum += kept[t];
      }
      if (sum != 0)
        for (int t = 0; t < taps; ++t) c[t] = kept[t] / sum;
    }
    double own = 0;
    for (int t = 0; t < taps; ++t) {
      const int64_t i = first + t;
      idx[t] = i < 0 ? 0 : (i > last ? last : i);
      w[t] = float(c[t]);
      if (idx[t] == o) {
        own += c[t];
      } else if (c[t] != 0) {
        identity = false;
      }
    }
    identity = identity && own == 1.0;
  }
  out->identity = identity;
}

void f32_resize_axis(const float *x, int64_t outer, int64_t in_len, int64_t inner,
                     const ResizeTaps &taps, int64_t out_len, float extrapolation, float *y) {
  const int nt = taps.taps;
  for (int64_t b = 0; b < outer; ++b) {
    const float *xb = x + b * in_len * inner;
    float *yb = y + b * out_len * inner;
    for (int64_t o = 0; o < out_len; ++o) {
      float *yo = yb + o * inner;
      if (taps.outside[size_t(o)]) {
        for (int64_t j = 0; j < inner; ++j) yo[j] = extrapolation;
        continue;
      }
      const int64_t *idx = &taps.index[size_t(o * nt)];
      const float *w = &taps.weight[size_t(o * nt)];
      const float *x0 = xb + idx[0] * inner;
      for (int64_t j = 0; j < inner; ++j) yo[j] = w[0] * x0[j];
      for (int t = 1; t < nt; ++t) {
        const float *xt = xb + idx[t] * inner;
        const float wt = w[t];
        for (int64_t j = 0; j < inner; ++j) yo[j] += wt * xt[j];
      }
    }
  }
}

void resize_axis_nearest_bytes(const void *x, int64_t outer, int64_t in_len, size_t inner_bytes,
                               const ResizeTaps &taps, int64_t out_len, const void *fill,
                               size_t elem_size, void *y) {
  assert(taps.taps == 1);
  const char *src = static_cast<const char *>(x);
  char *dst = static_cast<char *>(y);
  for (int64_t b = 0; b < outer; ++b) {
    const char *xb = src + size_t(b * in_len) * inner_bytes;
    for (int64_t o = 0; o < out_len; ++o, dst += inner_bytes) {
      if (taps.outside[size_t(o)]) {
        for (size_t j = 0; j < inner_bytes; j += elem_size) std::memcpy(dst + j, fill, elem_size);
      } else {
        std::memcpy(dst, xb + size_t(taps.index[size_t(o)]) * inner_bytes, inner_bytes);
      }
    }
  }
}

}  // namespace si::ref
