#include "engine/ops/window.h"

#include <algorithm>

namespace si {

namespace {

std::string list(const std::vector<int64_t> &v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

Status check_positive(const std::vector<int64_t> &v, const char *name) {
  for (int64_t x : v)
    if (x < 1) return invalid_model(std::string(name) + " " + list(v) + " must all be >= 1");
  return Status::ok();
}

}  // namespace

Status read_window_attrs(const Node &n, WindowAttrs *a) {
  const std::string pad = n.attr_string("auto_pad", "NOTSET");
  if (pad == "NOTSET" || pad.empty()) {
    a->auto_pad = AutoPad::kNotSet;
  } else if (pad == "SAME_UPPER") {
    a->auto_pad = AutoPad::kSameUpper;
  } else if (pad == "SAME_LOWER") {
    a->auto_pad = AutoPad::kSameLower;
  } else if (pad == "VALID") {
    a->auto_pad = AutoPad::kValid;
  } else {
    return invalid_model("auto_pad \"" + pad +
                         "\" is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  }
  a->kernel = n.attr_ints("kernel_shape");
  a->strides = n.attr_ints("strides");
  a->dilations = n.attr_ints("dilations");
  a->pads = n.attr_ints("pads");
  a->ceil_mode = n.attr_int("ceil_mode", 0) != 0;
  SI_RETURN_IF_ERROR(check_positive(a->kernel, "kernel_shape"));
  SI_RETURN_IF_ERROR(check_positive(a->strides, "strides"));
  SI_RETURN_IF_ERROR(check_positive(a->dilations, "dilations"));
  for (int64_t p : a->pads)
    if (p < 0) return invalid_model("pads " + list(a->pads) + " must all be >= 0");
  if (a->pads.size() % 2 != 0)
    return invalid_model("pads " + list(a->pads) + " must hold a begin and an end per axis");
  const bool all_zero =
      std::all_of(a->pads.begin(), a->pads.end(), [](int64_t p) { return p == 0; });
  if (a->auto_pad != AutoPad::kNotSet && !all_zero)
    return invalid_model("pads " + list(a->pads) + " cannot be combined with auto_pad " + pad);
  return Status::ok();
}

Status resolve_window(const WindowAttrs &a, const std::vector<int64_t> &in,
                      const std::vector<int64_t> &kernel, const std::string &what,
                      std::vector<WindowDim> *dims) {
  const size_t r = in.size();
  auto bad_len = [&](const char *name, const std::vector<int64_t> &v, size_t want) {
    return invalid_argument(std::string(name) + " " + list(v) + " has " + std::to_string(v.size()) +
                            " values, expected " + std::to_string(want) + " for " + what);
  };
  if (kernel.size() != r) return bad_len("kernel_shape", kernel, r);
  if (!a.strides.empty() && a.strides.size() != r) return bad_len("strides", a.strides, r);
  if (!a.dilations.empty() && a.dilations.size() != r) return bad_len("dilations", a.dilations, r);
  if (!a.pads.empty() && a.pads.size() != 2 * r) return bad_len("pads", a.pads, 2 * r);
  dims->assign(r, WindowDim{});
  for (size_t i = 0; i < r; ++i) {
    WindowDim &d = (*dims)[i];
    d.in = in[i];
    d.kernel = kernel[i];
    d.stride = a.strides.empty() ? 1 : a.strides[i];
    d.dilation = a.dilations.empty() ? 1 : a.dilations[i];
    const int64_t k_eff = (d.kernel - 1) * d.dilation + 1;
    if (a.auto_pad == AutoPad::kSameUpper || a.auto_pad == AutoPad::kSameLower) {
      const int64_t out = (d.in + d.stride - 1) / d.stride;
      const int64_t total = std::max<int64_t>(0, (out - 1) * d.stride + k_eff - d.in);
      const int64_t small = total / 2;
      d.pad_begin = a.auto_pad == AutoPad::kSameUpper ? small : total - small;
      d.pad_end = total - d.pad_begin;
    } else if (a.auto_pad == AutoPad::kNotSet && !a.pads.empty()) {
      d.pad_begin = a.pads[i];
      d.pad_end = a.pads[i + r];
    }
    const int64_t span = d.in + d.pad_begin + d.pad_end - k_eff;
    if (span < 0) {
      return invalid_argument("spatial axis " + std::to_string(i) + " of size " +
                              std::to_string(d.in) + " with pads " + std::to_string(d.pad_begin) +
                              "+" + std::to_string(d.pad_end) + " is smaller than the kernel " +
                              std::to_string(d.kernel) + " dilated by " +
                              std::to_string(d.dilation) + " for " + what);
    }
    d.out = (a.ceil_mode ? (span + d.stride - 1) / d.stride : span / d.stride) + 1;
  }
  return Status::ok();
}

}  // namespace si
