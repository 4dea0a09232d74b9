// Attributes shared by the sliding-window ops (Conv, ConvTranspose, MaxPool,
// AveragePool): auto_pad, kernel_shape, strides, dilations, pads, ceil_mode.
// Read once at create; resolved per call against the input's spatial sizes,
// because SAME padding and the output size depend on them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/status.h"

namespace si {

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

struct WindowAttrs {
  AutoPad auto_pad = AutoPad::kNotSet;
  std::vector<int64_t> kernel;                    // empty: not given (Conv takes it from W)
  std::vector<int64_t> strides, dilations, pads;  // empty: defaults
  bool ceil_mode = false;
};

// Reads and checks the attributes present on `n` (values >= 1, pads >= 0,
// pads twice the kernel's length, known auto_pad, not both pads and auto_pad).
Status read_window_attrs(const Node &n, WindowAttrs *a);

// One spatial dim of a forward window op after resolution.
struct WindowDim {
  int64_t in = 0, out = 0, kernel = 1, stride = 1, dilation = 1, pad_begin = 0, pad_end = 0;
};

// Resolves `a` for the spatial sizes `in` (kernel: the kernel sizes, from
// the attribute or W). Output size: floor (ceil with ceil_mode) of
// (in + pads - dilated kernel) / stride, plus 1; SAME_* pads make it
// ceil(in / stride). Fails naming `what` when a window does not fit.
Status resolve_window(const WindowAttrs &a, const std::vector<int64_t> &in,
                      const std::vector<int64_t> &kernel, const std::string &what,
                      std::vector<WindowDim> *dims);

}  // namespace si
