// oneDNN convolution and transposed convolution (deconvolution) with
// constant weights, over plain NC[D]HW activations.
//
// The weights are reordered ONCE, at create, into the layout oneDNN picks for
// them (format_tag::any) on the problem given to create; the plain copy is
// not kept. Inputs and outputs stay plain at this boundary: when the chosen
// primitive wants blocked activations (nChw16c and the like), run() reorders
// x in and y out through per-call buffers. That costs two passes over the
// activations and keeps every other op layout-agnostic.
//
// Batch, spatial sizes and padding may change between calls (primitives are
// compiled lazily per problem and cached). A problem whose primitive wants a
// different weights layout than the packed one gets the packed weights
// reordered into a per-call buffer: slower, still exact, no second copy kept.
//
// Threading: run() is const and safe to call from many threads at once: each
// call has its own dnnl::stream, buffers and scratchpad (scratchpad_mode::
// user). It uses the calling thread's OpenMP team size (omp_set_num_threads).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "kernels/ref/conv_ref.h"

namespace si {

class DnnlConv {
 public:
  // `problem` fixes the channels, group, rank, kernel, strides and dilations
  // and chooses the weights layout; every dim must be > 0. `weights` uses
  // ONNX's layout: Conv [out_channels, in_channels/group, kernel...],
  // ConvTranspose [in_channels, out_channels/group, kernel...]. `bias` holds
  // out_channels values or is null; it is copied. Returns nullptr and sets
  // *error when oneDNN rejects the problem or memory runs out.
  static std::unique_ptr<DnnlConv> create(const ref::ConvParams &problem, bool transposed,
                                          const float *weights, const float *bias,
                                          std::string *error);
  ~DnnlConv();

  // y from x, both plain [batch, channels, spatial...]. `p` must keep what
  // create fixed; batch, in/out sizes and pads may differ. Empty problems
  // (batch or an output dim 0) are the caller's to skip. Returns false and
  // sets *error if oneDNN fails.
  bool run(const ref::ConvParams &p, const float *x, float *y, std::string *error) const;

  size_t packed_bytes() const;
  // oneDNN implementation name of the create-time problem, e.g. "jit:avx512_core".
  std::string impl_name() const;

  struct Impl;

 private:
  explicit DnnlConv(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace si
