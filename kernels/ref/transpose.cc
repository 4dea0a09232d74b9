#include "kernels/ref/transpose.h"

#include <cassert>
#include <cstring>
#include <vector>

namespace si::ref {

namespace {

// Square tile of the 2-D transpose: 32 x 32 floats is 4 KiB each way, well
// inside L1 for the read and the write side.
constexpr int64_t kTile = 32;

template <typename T>
void copy_run(const char *src, int64_t n, int64_t stride, char *dst) {
  const T *s = reinterpret_cast<const T *>(src);
  T *d = reinterpret_cast<T *>(dst);
  for (int64_t j = 0; j < n; ++j) d[j] = s[j * stride];
}

// dst[j] = src[j * stride] for j < n, element size elem.
void copy_run_bytes(const char *src, int64_t n, int64_t stride, size_t elem, char *dst) {
  if (stride == 1) {
    std::memcpy(dst, src, size_t(n) * elem);
    return;
  }
  switch (elem) {
    case 1:
      return copy_run<uint8_t>(src, n, stride, dst);
    case 2:
      return copy_run<uint16_t>(src, n, stride, dst);
    case 4:
      return copy_run<uint32_t>(src, n, stride, dst);
    case 8:
      return copy_run<uint64_t>(src, n, stride, dst);
    default:
      for (int64_t j = 0; j < n; ++j)
        std::memcpy(dst + size_t(j) * elem, src + j * stride * int64_t(elem), elem);
  }
}

// dst[r][c] = src[c * src_rs + r] for r < rows, c < cols: dst is [rows, cols]
// dense, src holds the columns contiguously.
template <typename T>
void transpose_tile_t(const char *src, int64_t rows, int64_t cols, int64_t src_rs, char *dst) {
  const T *s = reinterpret_cast<const T *>(src);
  T *d = reinterpret_cast<T *>(dst);
  // A tile touches kTile lines of the side walked with a stride. When that
  // stride is a multiple of 4 KiB they all fall in one L1 set (8 ways) and
  // evict each other on every pass: a head-split kᵀ ([tokens, heads*64] read
  // down a column) ran at a third of the speed. Walk the other side with
  // the stride then, unless it aliases too.
  const auto aliases = [](int64_t stride) { return (stride * int64_t(sizeof(T))) % 4096 == 0; };
  const bool read_runs = aliases(src_rs) && !aliases(cols);
  for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
    const int64_t r1 = r0 + kTile < rows ? r0 + kTile : rows;
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      const int64_t c1 = c0 + kTile < cols ? c0 + kTile : cols;
      if (read_runs) {
        for (int64_t c = c0; c < c1; ++c)
          for (int64_t r = r0; r < r1; ++r) d[r * cols + c] = s[c * src_rs + r];
      } else {
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t c = c0; c < c1; ++c) d[r * cols + c] = s[c * src_rs + r];
      }
    }
  }
}

void transpose_2d(const char *src, int64_t rows, int64_t cols, int64_t src_rs, size_t elem,
                  char *dst) {
  switch (elem) {
    case 1:
      return transpose_tile_t<uint8_t>(src, rows, cols, src_rs, dst);
    case 2:
      return transpose_tile_t<uint16_t>(src, rows, cols, src_rs, dst);
    case 4:
      return transpose_tile_t<uint32_t>(src, rows, cols, src_rs, dst);
    case 8:
      return transpose_tile_t<uint64_t>(src, rows, cols, src_rs, dst);
    default:
      for (int64_t r = 0; r < rows; ++r)
        copy_run_bytes(src + r * int64_t(elem), cols, src_rs, elem, dst + size_t(r * cols) * elem);
  }
}

}  // namespace

void strided_copy_bytes(const void *src, const int64_t *dims, const int64_t *src_strides,
                        size_t rank, size_t elem_size, void *dst) {
  // Drop size-1 axes and merge an axis into the next when the pair walks the
  // source as one run; dst is dense, so it never blocks a merge.
  std::vector<int64_t> d, s;
  for (size_t i = 0; i < rank; ++i) {
    assert(dims[i] >= 0);
    if (dims[i] == 0) return;
    if (dims[i] == 1) continue;
    if (!d.empty() && s.back() == src_strides[i] * dims[i]) {
      d.back() *= dims[i];
      s.back() = src_strides[i];
      continue;
    }
    d.push_back(dims[i]);
    s.push_back(src_strides[i]);
  }
  const char *x = static_cast<const char *>(src);
  char *y = static_cast<char *>(dst);
  const int64_t elem = int64_t(elem_size);
  if (d.empty()) {
    std::memcpy(y, x, elem_size);
    return;
  }
  const size_t r = d.size();
  // The output's second-last axis is the source's contiguous one: a (batched)
  // 2-D transpose, done in tiles so both sides stay in cache.
  const bool tiled = r >= 2 && s[r - 2] == 1 && s[r - 1] != 1;
  const size_t loops = tiled ? r - 2 : r - 1;
  const int64_t block = tiled ? d[r - 2] * d[r - 1] : d[r - 1];
  std::vector<int64_t> idx(loops, 0);
  int64_t off = 0;  // source offset in elements
  int64_t outer = 1;
  for (size_t i = 0; i < loops; ++i) outer *= d[i];
  for (int64_t o = 0; o < outer; ++o) {
    if (tiled) {
      transpose_2d(x + off * elem, d[r - 2], d[r - 1], s[r - 1], elem_size, y);
    } else {
      copy_run_bytes(x + off * elem, d[r - 1], s[r - 1], elem_size, y);
    }
    y += block * elem;
    for (size_t k = loops; k-- > 0;) {
      off += s[k];
      if (++idx[k] < d[k]) break;
      off -= s[k] * d[k];
      idx[k] = 0;
    }
  }
}

void transpose_bytes(const void *x, const int64_t *shape, const int64_t *perm, size_t rank,
                     size_t elem_size, void *y) {
  std::vector<int64_t> in_strides(rank), dims(rank), strides(rank);
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    in_strides[i] = stride;
    stride *= shape[i];
  }
  for (size_t k = 0; k < rank; ++k) {
    assert(perm[k] >= 0 && size_t(perm[k]) < rank);
    dims[k] = shape[perm[k]];
    strides[k] = in_strides[size_t(perm[k])];
  }
  strided_copy_bytes(x, dims.data(), strides.data(), rank, elem_size, y);
}

void tile_bytes(const void *x, const int64_t *shape, const int64_t *repeats, size_t rank,
                size_t elem_size, void *y) {
  // y viewed as [r0, d0, r1, d1, ...] is dense, and reads x with stride 0
  // along every repeat axis.
  std::vector<int64_t> dims(2 * rank), strides(2 * rank);
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    dims[2 * i] = repeats[i];
    strides[2 * i] = 0;
    dims[2 * i + 1] = shape[i];
    strides[2 * i + 1] = stride;
    stride *= shape[i];
  }
  strided_copy_bytes(x, dims.data(), strides.data(), 2 * rank, elem_size, y);
}

}  // namespace si::ref
