// oneDNN max pooling (1-D to 3-D, float32) over plain NC[D]HW activations
// or the channel-blocked layout the convolutions use (dnnl_conv.h), so a
// pool between two convolutions keeps their layout and crosses no reorder.
//
// Primitives are compiled lazily per problem (batch, sizes, pads) and cached.
// Threading: run() is const and safe from many threads at once (a stream and
// scratchpad per call); it uses the calling thread's OpenMP team size.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "kernels/ref/pool_ref.h"

namespace si {

class DnnlMaxPool {
 public:
  // `block` is 0 for plain tensors, else the channel block of the layout.
  explicit DnnlMaxPool(int block);
  ~DnnlMaxPool();

  // y from x, [batch, channels, spatial...] in the layout the object was
  // made for (channels % block == 0); p.planes is ignored. Padding never
  // wins a max, as in ref::f32_max_pool; unlike it, a NaN in a window need
  // not propagate (oneDNN's max). Returns false and sets *error when oneDNN
  // rejects or fails the problem (the caller may then run the reference).
  bool run(const ref::PoolParams &p, int64_t batch, int64_t channels, const float *x, float *y,
           std::string *error) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace si
