// oneDNN convolution and transposed convolution (deconvolution) with
// constant weights, an optional epilogue (a sum and an activation fused as
// post-ops) and activations plain NC[D]HW or channel-blocked.
//
// The weights are reordered ONCE, at create, into the layout oneDNN picks for
// them (format_tag::any) on the problem given to create; the plain copy is
// not kept. x and y are in the layouts `ConvLayout` names: the engine keeps
// edges between convolutions blocked (nChw8c on AVX2, nChw16c with AVX-512:
// what oneDNN's direct kernels run on) so they cross no reorder; a plain side
// whose primitive wants blocked activations is reordered through a per-call
// buffer (two passes over the activations).
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

// Channels per block of the blocked activation layout the convolutions of
// this machine (capped by SI_MAX_ISA) run fastest on: 16 with AVX-512, else 8.
int dnnl_channel_block();

// Each side's layout: 0 plain, else the block size (channels % block == 0).
struct ConvLayout {
  int src_block = 0;
  int dst_block = 0;
};

// y = act(conv(x) + bias [+ y's prior contents, the sum]). The addend uses
// the dst layout. Applied in oneDNN's registers, so the extra pass an Add or
// a Relu would make over the activations is not paid.
struct ConvEpilogue {
  enum class Act { kNone, kRelu, kClip };
  bool sum = false;
  Act act = Act::kNone;
  float lo = 0.f, hi = 0.f;  // kClip's bounds
};

class DnnlConv {
 public:
  // `problem` fixes the channels, group, rank, kernel, strides and dilations
  // and chooses the weights layout; every dim must be > 0. `weights` uses
  // ONNX's layout: Conv [out_channels, in_channels/group, kernel...],
  // ConvTranspose [in_channels, out_channels/group, kernel...]. `bias` holds
  // out_channels values or is null; it is copied. Returns nullptr and sets
  // *error when oneDNN rejects the problem or memory runs out.
  // `layout` and `epilogue` are fixed for the object's life.
  static std::unique_ptr<DnnlConv> create(const ref::ConvParams &problem, bool transposed,
                                          const float *weights, const float *bias,
                                          std::string *error, ConvLayout layout = {},
                                          ConvEpilogue epilogue = {});
  ~DnnlConv();

  // y from x, [batch, channels, spatial...] in the layouts create fixed. `p`
  // must keep what create fixed; batch, in/out sizes and pads may differ.
  // With a sum epilogue, `addend` (y's size and layout) is what is added; it
  // may be y itself, else it is copied into y first. Empty problems (batch
  // or an output dim 0) are the caller's to skip. Returns false and sets
  // *error if oneDNN fails.
  bool run(const ref::ConvParams &p, const float *x, float *y, std::string *error,
           const float *addend = nullptr) const;

  size_t packed_bytes() const;
  // oneDNN implementation name of the create-time problem, e.g. "jit:avx512_core".
  std::string impl_name() const;

  struct Impl;

 private:
  explicit DnnlConv(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace si
