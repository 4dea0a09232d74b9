#include "kernels/weight_buffer.h"

#include <sys/mman.h>

#include <algorithm>

namespace si {

WeightBuffer alloc_weight_buffer(size_t bytes, size_t *capacity) {
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t align = bytes >= kHugePage ? kHugePage : 64;
  // Only the whole huge pages are advised: rounding the size up to 2 MiB
  // would cost a partly used huge page per matrix (a 768x768 float matrix,
  // 2.25 MiB, took 4 MiB; 1.31x the model's weights for OPT-125M's decoder),
  // while the tail in 4 KiB pages costs a few TLB misses.
  const size_t padded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  void *p = nullptr;
  if (posix_memalign(&p, align, padded) != 0) return WeightBuffer();
  if (align == kHugePage) madvise(p, padded / kHugePage * kHugePage, MADV_HUGEPAGE);
  *capacity = padded;
  return WeightBuffer(p);
}

}  // namespace si
