// Memory for large, read-mostly buffers (packed weights). A matrix read in
// full on every call pays a TLB miss per 4 KiB page; 2 MiB pages cut that by
// 512x, so buffers of 2 MiB and more are 2 MiB aligned and their whole 2 MiB
// pages advised for transparent huge pages (THP is often in "madvise" mode).
// Smaller ones are 64-byte aligned.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>

namespace si {

struct FreeWeightBuffer {
  void operator()(void *p) const { std::free(p); }
};
using WeightBuffer = std::unique_ptr<void, FreeWeightBuffer>;

// At least `bytes` (rounded up to 64; *capacity gets the size).
// Empty on allocation failure.
WeightBuffer alloc_weight_buffer(size_t bytes, size_t *capacity);

}  // namespace si
