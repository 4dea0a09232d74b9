#include "kernels/ref/copy.h"

#include <cstring>

namespace si::ref {

void gather_bytes(const void *data, int64_t outer, int64_t axis_dim, size_t inner_bytes,
                  const int64_t *idx, int64_t n_idx, void *out) {
  // Empty elements may come with null storage; memcpy from null is undefined
  // even for 0 bytes.
  if (inner_bytes == 0) return;
  const char *src = static_cast<const char *>(data);
  char *dst = static_cast<char *>(out);
  for (int64_t o = 0; o < outer; ++o) {
    const char *slab = src + size_t(o * axis_dim) * inner_bytes;
    for (int64_t i = 0; i < n_idx; ++i) {
      std::memcpy(dst, slab + size_t(idx[i]) * inner_bytes, inner_bytes);
      dst += inner_bytes;
    }
  }
}

void concat_bytes(const void *const *srcs, const size_t *block_bytes, size_t n_srcs, int64_t outer,
                  void *out) {
  char *dst = static_cast<char *>(out);
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t k = 0; k < n_srcs; ++k) {
      if (block_bytes[k] == 0) continue;
      std::memcpy(dst, static_cast<const char *>(srcs[k]) + size_t(o) * block_bytes[k],
                  block_bytes[k]);
      dst += block_bytes[k];
    }
  }
}

}  // namespace si::ref
