#include "kernels/ref/pad.h"

#include <cassert>
#include <cstring>
#include <vector>

namespace si::ref {

namespace {

// Source index along an axis of size n for output index o, or -1 for a
// constant fill.
int64_t source_index(int64_t o, int64_t begin, int64_t n, PadMode mode) {
  int64_t i = o - begin;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::kConstant:
      return -1;
    case PadMode::kEdge:
      return i < 0 ? 0 : n - 1;
    case PadMode::kReflect: {
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      i %= period;
      if (i < 0) i += period;
      return i < n ? i : period - i;
    }
  }
  return -1;
}

void fill(char *dst, int64_t n, const char *value, size_t elem) {
  for (int64_t j = 0; j < n; ++j) std::memcpy(dst + size_t(j) * elem, value, elem);
}

}  // namespace

void pad_bytes(const void *x, const int64_t *shape, const int64_t *x_strides, const int64_t *begin,
               const int64_t *out_shape, size_t rank, size_t elem_size, PadMode mode,
               const void *value, void *y) {
  const char *src = static_cast<const char *>(x);
  const char *val = static_cast<const char *>(value);
  char *dst = static_cast<char *>(y);
  const int64_t elem = int64_t(elem_size);
  if (rank == 0) {
    std::memcpy(dst, src, elem_size);
    return;
  }
  int64_t rows = 1;
  for (size_t k = 0; k < rank; ++k) {
    assert(begin[k] >= 0 && out_shape[k] >= shape[k] + begin[k]);
    assert(mode == PadMode::kConstant || shape[k] > 0 || out_shape[k] == 0);
    if (k + 1 < rank) rows *= out_shape[k];
  }
  const size_t last = rank - 1;
  const int64_t width = out_shape[last], n = shape[last], b = begin[last];
  const int64_t xs = x_strides[last];
  if (rows == 0 || width == 0) return;
  std::vector<int64_t> idx(last, 0);
  for (int64_t row = 0; row < rows; ++row, dst += width * elem) {
    int64_t off = 0;
    bool outside = false;
    for (size_t k = 0; k < last && !outside; ++k) {
      const int64_t i = source_index(idx[k], begin[k], shape[k], mode);
      outside = i < 0;
      off += i * x_strides[k];
    }
    if (outside) {
      fill(dst, width, val, elem_size);
    } else {
      const char *line = src + off * elem;
      if (mode == PadMode::kConstant) {
        fill(dst, b, val, elem_size);
        if (xs == 1) {
          std::memcpy(dst + b * elem, line, size_t(n) * elem_size);
        } else {
          for (int64_t j = 0; j < n; ++j)
            std::memcpy(dst + (b + j) * elem, line + j * xs * elem, elem_size);
        }
        fill(dst + (b + n) * elem, width - b - n, val, elem_size);
      } else {
        for (int64_t o = 0; o < width; ++o)
          std::memcpy(dst + o * elem, line + source_index(o, b, n, mode) * xs * elem, elem_size);
      }
    }
    for (size_t k = last; k-- > 0;) {
      if (++idx[k] < out_shape[k]) break;
      idx[k] = 0;
    }
  }
}

}  // namespace si::ref
