#include "kernels/weight_buffer.h"

#include <sys/mman.h>

#include <algorithm>

namespace si {

WeightBuffer alloc_weight_buffer(size_t bytes, size_t *capacity) {
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t align = bytes >= kHugePage ? kHugePage : 64;
  const size_t padded = (std::max<size_t>(bytes, 1) + align - 1) / align * align;
  void *p = std::aligned_alloc(align, padded);
  if (p == nullptr) return WeightBuffer();
  if (align == kHugePage) madvise(p, padded, MADV_HUGEPAGE);
  *capacity = padded;
  return WeightBuffer(p);
}

}  // namespace si
