// Max pooling (1-D to 3-D, float32) over channel-blocked activations, the
// layout the convolutions keep between them (kernels/ref/blocked_layout.h):
// [batch, channels / block, spatial..., block]. Each tap of a window is one
// contiguous vector of `block` channels, so a window's max is a few vector
// maxes; oneDNN 2.6's AVX2 pooling took 4-5x ONNX Runtime's time on these
// problems (bench/RESULTS.md).
//
// Semantics are ref::f32_max_pool's on the plain tensor, bit for bit: taps
// outside the input are skipped, a window with no tap inside gives
// numeric_limits<float>::lowest() (as ONNX Runtime), the first NaN of a
// window wins, and between equal values (+0 and -0) the first tap wins.
//
// Naming follows XNNPACK: f32_<operation>__<isa>.
#pragma once

#include <cstdint>

#include "kernels/ref/pool_ref.h"

namespace si {

// Output rows [row_begin, row_end) of the problem, a row being one channel
// block of one image and one position in every spatial output dim but the
// last, with its p.out[p.rank - 1] outputs; rows are numbered over the
// batch * channels / block blocks, then the output dims in order.
// p.planes is batch * channels, a multiple of block.
using MaxPoolBlockedFn = void (*)(const ref::PoolParams &p, int64_t block, const float *x, float *y,
                                  int64_t row_begin, int64_t row_end);

// Any block >= 1 (block 1 is the plain layout).
void f32_max_pool_blocked__scalar(const ref::PoolParams &p, int64_t block, const float *x, float *y,
                                  int64_t row_begin, int64_t row_end);
// Blocks of 8 and 16; other blocks run the scalar variant.
void f32_max_pool_blocked__avx2(const ref::PoolParams &p, int64_t block, const float *x, float *y,
                                int64_t row_begin, int64_t row_end);
// Blocks of 16 (one zmm); 8 runs the AVX2 variant, others the scalar one.
void f32_max_pool_blocked__avx512(const ref::PoolParams &p, int64_t block, const float *x, float *y,
                                  int64_t row_begin, int64_t row_end);

struct MaxPoolKernels {
  MaxPoolBlockedFn blocked;
  const char *isa;  // "avx512", "avx2" or "scalar"
};

// The best variant for dispatch_features() (SI_MAX_ISA caps it), chosen once.
const MaxPoolKernels &max_pool_kernels();

// The rows split over `threads` OpenMP threads when the problem is large
// enough to repay a team. The result does not depend on the thread count.
void f32_max_pool_blocked(const MaxPoolKernels &k, const ref::PoolParams &p, int64_t block,
                          const float *x, float *y, int threads);

// Output rows of the problem (the range the row functions take).
int64_t max_pool_blocked_rows(const ref::PoolParams &p, int64_t block);

}  // namespace si
