#include "kernels/ref/broadcast.h"

#include <cassert>
#include <cstring>

namespace si::ref {

bool normalize_axis(int64_t axis, int64_t rank, int64_t *out) {
  if (axis < -rank || axis >= rank) return false;
  *out = axis < 0 ? axis + rank : axis;
  return true;
}

bool broadcast_shape(const std::vector<int64_t> &a, const std::vector<int64_t> &b,
                     std::vector<int64_t> *out) {
  size_t rank = a.size() > b.size() ? a.size() : b.size();
  std::vector<int64_t> r(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) return false;
    r[i] = da == 1 ? db : da;
  }
  *out = std::move(r);
  return true;
}

BroadcastPlan make_broadcast_plan(const std::vector<int64_t> &a, const std::vector<int64_t> &b,
                                  const std::vector<int64_t> &out) {
  assert(a.size() <= out.size() && b.size() <= out.size());
  const size_t rank = out.size();
  BroadcastPlan p;
  p.numel = 1;
  for (int64_t d : out) p.numel *= d;
  // Walk from the innermost dim outwards, tracking each operand's running
  // stride, and merge a dim into the previous group when both operands keep
  // the same advance/broadcast pattern.
  std::vector<int64_t> dims, as, bs;
  std::vector<bool> a_bc, b_bc;
  int64_t a_run = 1, b_run = 1;
  for (size_t k = 0; k < rank; ++k) {
    size_t i = rank - 1 - k;
    int64_t d = out[i];
    if (d == 1) continue;  // contributes nothing to either index
    int64_t da = k < a.size() ? a[a.size() - 1 - k] : 1;
    int64_t db = k < b.size() ? b[b.size() - 1 - k] : 1;
    bool abc = da != d, bbc = db != d;
    if (!dims.empty() && a_bc.back() == abc && b_bc.back() == bbc) {
      dims.back() *= d;
    } else {
      dims.push_back(d);
      as.push_back(abc ? 0 : a_run);
      bs.push_back(bbc ? 0 : b_run);
      a_bc.push_back(abc);
      b_bc.push_back(bbc);
    }
    if (!abc) a_run *= d;
    if (!bbc) b_run *= d;
  }
  if (dims.empty()) {  // single element (or rank 0)
    dims.push_back(1);
    as.push_back(1);
    bs.push_back(1);
  }
  p.dims.assign(dims.rbegin(), dims.rend());
  p.a_strides.assign(as.rbegin(), as.rend());
  p.b_strides.assign(bs.rbegin(), bs.rend());
  return p;
}

void broadcast_copy(const void *src, const std::vector<int64_t> &src_shape, void *dst,
                    const std::vector<int64_t> &out_shape, size_t elem_size) {
  BroadcastPlan p = make_broadcast_plan(src_shape, out_shape, out_shape);
  if (p.numel == 0) return;
  const char *s = static_cast<const char *>(src);
  char *d = static_cast<char *>(dst);
  const size_t rank = p.dims.size();
  const int64_t inner = p.dims[rank - 1];
  const int64_t s_inner = p.a_strides[rank - 1];
  std::vector<int64_t> idx(rank, 0);
  int64_t s_off = 0;
  for (int64_t y = 0; y < p.numel; y += inner) {
    if (s_inner == 1) {
      std::memcpy(d + size_t(y) * elem_size, s + size_t(s_off) * elem_size,
                  size_t(inner) * elem_size);
    } else {
      for (int64_t j = 0; j < inner; ++j)
        std::memcpy(d + size_t(y + j) * elem_size, s + size_t(s_off) * elem_size, elem_size);
    }
    // Advance the outer counter (odometer over dims[0..rank-2]).
    for (size_t k = rank - 1; k-- > 0;) {
      s_off += p.a_strides[k];
      if (++idx[k] < p.dims[k]) break;
      s_off -= p.a_strides[k] * p.dims[k];
      idx[k] = 0;
    }
  }
}

}  // namespace si::ref
