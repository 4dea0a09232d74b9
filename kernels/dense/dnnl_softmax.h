// oneDNN softmax (softmax_accurate) over the last axis of a plain row-major
// [rows, n] float32 tensor: an ONNX Softmax whose view has inner == 1.
//
// oneDNN's jit softmax is 20-70x faster than the reference loops; its
// results differ from them in the last bits (float sums, oneDNN's own exp),
// within 1.5e-6 relative. Rows holding NaN or +inf, and rows of only -inf,
// are recomputed with ref::softmax_f32, so a non-finite input gives exactly
// the reference's result (a NaN row).
//
// Not LogSoftmax: oneDNN 2.6's softmax_log is off by up to 4e-6 absolute
// where the reference gives values near 0 (its log of a sum near 1), far
// outside the reference's tolerance, so LogSoftmax keeps kernels/ref.
//
// Primitives are compiled lazily per (rows, n, thread count) and cached.
// Threading: run() is const and safe from many threads at once (a stream and
// scratchpad per call); it uses the calling thread's OpenMP team size.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace si {

class DnnlSoftmax {
 public:
  DnnlSoftmax();
  ~DnnlSoftmax();

  // Whether oneDNN has a jit (non-reference) softmax for [rows, n]: the only
  // case worth taking over the reference loops. Depends on the shape (and
  // the ISA) alone; compiles and caches the primitive. rows, n > 0.
  bool fast_for(int64_t rows, int64_t n) const;

  // y = softmax of x over each row. Needs fast_for(rows, n).
  // `threads` sizes the scan for non-finite rows. Returns false and sets
  // *error if oneDNN fails.
  bool run(const float *x, float *y, int64_t rows, int64_t n, int threads,
           std::string *error) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace si
