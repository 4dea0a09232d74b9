// Conversions between plain NC[D]HW activations and the channel-blocked
// layout oneDNN's direct convolutions run on: nC[D]HW{b}c, i.e. [N][C/b]
// [spatial][b], where the b channels of one pixel sit side by side. The
// engine keeps the edges between oneDNN convolutions (and the pools between
// them) in that layout so no call pays a reorder on each side of every conv;
// these loops are the reference for oneDNN's reorders and the fallback when
// a blocked edge meets a kernel that only reads plain tensors.
#pragma once

#include <cstdint>

namespace si::ref {

// channels % block == 0; spatial is the product of the spatial dims. The
// element counts are equal, so x and y have the same size (and must not overlap).
void f32_plain_to_blocked(const float *x, int64_t batch, int64_t channels, int64_t spatial,
                          int64_t block, float *y);
void f32_blocked_to_plain(const float *x, int64_t batch, int64_t channels, int64_t spatial,
                          int64_t block, float *y);

}  // namespace si::ref
