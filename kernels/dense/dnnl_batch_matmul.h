// oneDNN matmul for products whose both operands arrive at run time (attention
// q·kᵀ and p·v): c = a · b over plain row-major float32 tensors of equal rank
// r in [2, 12], a [batch..., m, k], b [batch..., k, n], c [batch..., m, n],
// each batch dim of a and b equal or 1 (broadcast).
//
// Nothing is packed: the primitive is compiled lazily per (shapes, thread
// count) and cached. oneDNN computes the same bits for a fixed shape and team
// size, so one session gives one result per input. A shape oneDNN only has a
// reference loop for (or rejects) is reported by fast_for, and the caller
// keeps kernels/ref.
//
// Threading: run() is const and safe from many threads at once (a stream and
// scratchpad per call); it uses the calling thread's OpenMP team size.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace si {

class DnnlBatchMatmul {
 public:
  DnnlBatchMatmul();
  ~DnnlBatchMatmul();

  // Whether oneDNN has an optimised implementation for these shapes; compiles
  // and caches it. Every dim > 0.
  bool fast_for(const std::vector<int64_t> &a_dims, const std::vector<int64_t> &b_dims) const;

  // Needs fast_for(a_dims, b_dims). Returns false and sets *error if oneDNN fails.
  bool run(const std::vector<int64_t> &a_dims, const std::vector<int64_t> &b_dims, const float *a,
           const float *b, float *c, std::string *error) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace si
