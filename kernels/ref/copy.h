// Data movement for the shape ops, over bytes so any dtype works.
#pragma once

#include <cstddef>
#include <cstdint>

namespace si::ref {

// data viewed as [outer, axis_dim, inner_bytes]; out as [outer, n_idx,
// inner_bytes]. Every idx[i] must already lie in [0, axis_dim).
void gather_bytes(const void *data, int64_t outer, int64_t axis_dim, size_t inner_bytes,
                  const int64_t *idx, int64_t n_idx, void *out);

// Input k viewed as [outer, block_bytes[k]]; out rows are the inputs' rows
// side by side, in order.
void concat_bytes(const void *const *srcs, const size_t *block_bytes, size_t n_srcs, int64_t outer,
                  void *out);

}  // namespace si::ref
