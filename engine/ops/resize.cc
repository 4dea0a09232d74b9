// Resize (opset 10-17) and Upsample (opset 7-10): one 1-D pass per axis whose
// size or sampling changes; an all-identity resize is a view of the input.
#include <algorithm>
#include <cmath>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/ops/ops.h"
#include "kernels/ref/resize.h"

namespace si {

namespace {

using ref::NearestRound;
using ref::ResizeCoord;
using ref::ResizeMode;

std::string str(int64_t v) {
  return std::to_string(v);
}

struct ResizeAttrs {
  bool legacy = false;        // opset <= 10: X, scales; asymmetric, floor
  bool scales_attr = false;   // Upsample-7 takes scales as an attribute
  std::vector<float> scales;  // Upsample-7 only
  ResizeMode mode = ResizeMode::kNearest;
  ResizeCoord coord = ResizeCoord::kHalfPixel;
  NearestRound nearest = NearestRound::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  float extrapolation = 0.f;
};

std::string floats_str(const std::vector<double> &v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

class ResizeKernel final : public OpKernel {
 public:
  explicit ResizeKernel(ResizeAttrs a) : a_(std::move(a)) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Plan p;
    SI_RETURN_IF_ERROR(plan(in, &p));
    out->push_back(OutputDesc{in[0]->dtype(), p.out, p.alias ? 0 : -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    Plan p;
    SI_RETURN_IF_ERROR(plan(in, &p));
    const Tensor &x = *in[0];
    Tensor &y = *out[0];
    if (y.numel() == 0 || p.alias) return Status::ok();
    const size_t elem = dtype_size(x.dtype());
    Shape cur = x.shape();
    const char *src = static_cast<const char *>(x.raw());
    std::vector<char> bufs[2];
    for (size_t k = 0; k < p.passes.size(); ++k) {
      const Pass &pass = p.passes[k];
      const size_t axis = size_t(pass.axis);
      int64_t outer = 1, inner = 1;
      for (size_t i = 0; i < axis; ++i) outer *= cur[i];
      for (size_t i = axis + 1; i < cur.size(); ++i) inner *= cur[i];
      const int64_t in_len = cur[axis], out_len = p.out[axis];
      char *dst = static_cast<char *>(y.raw());
      if (k + 1 < p.passes.size()) {
        bufs[k % 2].resize(size_t(outer * out_len * inner) * elem);
        dst = bufs[k % 2].data();
      }
      if (a_.mode == ResizeMode::kNearest) {
        ref::resize_axis_nearest_bytes(src, outer, in_len, size_t(inner) * elem, pass.taps, out_len,
                                       &a_.extrapolation, elem, dst);
      } else {
        ref::f32_resize_axis(reinterpret_cast<const float *>(src), outer, in_len, inner, pass.taps,
                             out_len, a_.extrapolation, reinterpret_cast<float *>(dst));
      }
      cur[axis] = out_len;
      src = dst;
    }
    return Status::ok();
  }

 private:
  struct Pass {
    int64_t axis;
    ref::ResizeTaps taps;
  };
  struct Plan {
    Shape out;
    std::vector<Pass> passes;  // shrinking axes first, so later passes touch less data
    bool alias = false;        // every axis maps onto itself: a view of the input
  };

  Status plan(const std::vector<const Tensor *> &in, Plan *p) const {
    const Tensor &x = *in[0];
    const int64_t r = x.rank();
    const Tensor *roi = nullptr, *scales = nullptr, *sizes = nullptr;
    if (a_.legacy) {
      if (!a_.scales_attr) scales = in.size() > 1 ? in[1] : nullptr;
    } else {
      roi = in.size() > 1 ? in[1] : nullptr;
      scales = in.size() > 2 ? in[2] : nullptr;
      sizes = in.size() > 3 ? in[3] : nullptr;
    }
    if (scales != nullptr && scales->numel() == 0) scales = nullptr;
    if (sizes != nullptr && sizes->numel() == 0) sizes = nullptr;
    const std::string ctx = " (input " + shape_str(x.shape()) + ")";
    if (a_.mode != ResizeMode::kNearest && x.dtype() != DType::kFloat32)
      return unsupported(std::string("linear and cubic modes on ") + dtype_name(x.dtype()));
    if (a_.coord == ResizeCoord::kTfCropAndResize && x.dtype() != DType::kFloat32)
      return unsupported(std::string("tf_crop_and_resize on ") + dtype_name(x.dtype()));

    std::vector<double> scale(size_t(r), 1.0), roi_start(size_t(r), 0.0), roi_end(size_t(r), 1.0);
    if (a_.coord == ResizeCoord::kTfCropAndResize) {
      if (roi == nullptr || roi->numel() != 2 * r || roi->dtype() != DType::kFloat32)
        return invalid_argument("tf_crop_and_resize needs a float32 roi of 2 * rank values" + ctx);
      for (int64_t i = 0; i < r; ++i) {
        roi_start[size_t(i)] = roi->data<float>()[i];
        roi_end[size_t(i)] = roi->data<float>()[i + r];
        if (!std::isfinite(roi_start[size_t(i)]) || !std::isfinite(roi_end[size_t(i)]))
          return invalid_argument("roi has a non-finite value" + ctx);
      }
    }
    p->out = x.shape();
    if (scales != nullptr || a_.scales_attr) {
      if (sizes != nullptr) return invalid_argument("only one of scales and sizes may be given");
      std::vector<double> s;
      if (a_.scales_attr) {
        s.assign(a_.scales.begin(), a_.scales.end());
      } else {
        if (scales->dtype() != DType::kFloat32)
          return invalid_argument(std::string("scales must be float32, got ") +
                                  dtype_name(scales->dtype()));
        s.assign(scales->data<float>(), scales->data<float>() + scales->numel());
      }
      if (int64_t(s.size()) != r)
        return invalid_argument("scales " + floats_str(s) + " must have one value per axis" + ctx);
      for (int64_t i = 0; i < r; ++i) {
        const double si = s[size_t(i)];
        if (!(si > 0) || !std::isfinite(si))
          return invalid_argument("scales " + floats_str(s) + " must be positive and finite" + ctx);
        double len = double(x.dim(i)) * si;
        if (a_.coord == ResizeCoord::kTfCropAndResize)
          len *= roi_end[size_t(i)] - roi_start[size_t(i)];
        len = std::floor(len);
        if (len > double(kMaxElements))
          return invalid_argument("scales " + floats_str(s) + " give an output above " +
                                  str(kMaxElements) + " elements" + ctx);
        p->out[size_t(i)] = len > 0 ? int64_t(len) : 0;
        scale[size_t(i)] = si;
      }
    } else if (sizes != nullptr) {
      if (sizes->dtype() != DType::kInt64)
        return invalid_argument(std::string("sizes must be int64, got ") +
                                dtype_name(sizes->dtype()));
      std::vector<int64_t> s(sizes->data<int64_t>(), sizes->data<int64_t>() + sizes->numel());
      if (int64_t(s.size()) != r)
        return invalid_argument("sizes " + shape_str(s) + " must have one value per axis" + ctx);
      for (int64_t i = 0; i < r; ++i) {
        const int64_t d = s[size_t(i)];
        if (d < 0 || d > kMaxElements)
          return invalid_argument("sizes " + shape_str(s) + " has a negative or huge dim" + ctx);
        p->out[size_t(i)] = d;
        if (x.dim(i) > 0) scale[size_t(i)] = double(d) / double(x.dim(i));
      }
    } else {
      return invalid_argument("one of scales and sizes must be given" + ctx);
    }
    int64_t n = 0;
    SI_RETURN_IF_ERROR(checked_numel(p->out, &n));
    if (n == 0) return Status::ok();
    for (int64_t i = 0; i < r; ++i) {
      if (x.dim(i) == 0)
        return invalid_argument("cannot resize empty axis " + str(i) + " to " +
                                str(p->out[size_t(i)]) + ctx);
    }
    for (int64_t i = 0; i < r; ++i) {
      ref::ResizeAxis ax;
      ax.in_len = x.dim(i);
      ax.out_len = p->out[size_t(i)];
      ax.scale = scale[size_t(i)];
      ax.mode = a_.mode;
      ax.coord = a_.coord;
      ax.nearest = a_.nearest;
      ax.cubic_a = a_.cubic_a;
      ax.exclude_outside = a_.exclude_outside;
      ax.roi_start = roi_start[size_t(i)];
      ax.roi_end = roi_end[size_t(i)];
      Pass pass{i, {}};
      ref::resize_axis_taps(ax, &pass.taps);
      if (!pass.taps.identity) p->passes.push_back(std::move(pass));
    }
    std::stable_sort(p->passes.begin(), p->passes.end(), [&](const Pass &a, const Pass &b) {
      auto shrinks = [&](const Pass &q) { return p->out[size_t(q.axis)] < x.dim(q.axis); };
      return shrinks(a) && !shrinks(b);
    });
    p->alias = p->passes.empty();
    return Status::ok();
  }

  ResizeAttrs a_;
};

Status parse_mode(const std::string &m, bool legacy, ResizeMode *out) {
  if (m == "nearest") {
    *out = ResizeMode::kNearest;
  } else if (m == "linear" || (legacy && m == "bilinear")) {
    *out = ResizeMode::kLinear;
  } else if (m == "cubic" && !legacy) {
    *out = ResizeMode::kCubic;
  } else {
    return invalid_model("unknown mode \"" + m + "\"");
  }
  return Status::ok();
}

}  // namespace

Status create_resize(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  if (!ctx.has_input(0)) return invalid_model("input X is missing");
  ResizeAttrs a;
  a.legacy = n.opset <= 10;
  SI_RETURN_IF_ERROR(parse_mode(n.attr_string("mode", "nearest"), a.legacy, &a.mode));
  if (a.legacy) {
    if (!ctx.has_input(1)) return invalid_model("input scales is missing");
    a.coord = ResizeCoord::kAsymmetric;
    a.nearest = NearestRound::kFloor;
  } else {
    if (!ctx.has_input(2) && !ctx.has_input(3))
      return invalid_model("one of the inputs scales and sizes is required");
    const std::string c = n.attr_string("coordinate_transformation_mode", "half_pixel");
    static const std::pair<const char *, ResizeCoord> coords[] = {
        {"half_pixel", ResizeCoord::kHalfPixel},
        {"asymmetric", ResizeCoord::kAsymmetric},
        {"align_corners", ResizeCoord::kAlignCorners},
        {"pytorch_half_pixel", ResizeCoord::kPytorchHalfPixel},
        {"tf_half_pixel_for_nn", ResizeCoord::kTfHalfPixelForNn},
        {"tf_crop_and_resize", ResizeCoord::kTfCropAndResize},
    };
    auto it = std::find_if(std::begin(coords), std::end(coords),
                           [&](const auto &e) { return c == e.first; });
    if (it == std::end(coords))
      return invalid_model("unknown coordinate_transformation_mode \"" + c + "\"");
    a.coord = it->second;
    const std::string nm = n.attr_string("nearest_mode", "round_prefer_floor");
    static const std::pair<const char *, NearestRound> rounds[] = {
        {"round_prefer_floor", NearestRound::kRoundPreferFloor},
        {"round_prefer_ceil", NearestRound::kRoundPreferCeil},
        {"floor", NearestRound::kFloor},
        {"ceil", NearestRound::kCeil},
    };
    auto rt = std::find_if(std::begin(rounds), std::end(rounds),
                           [&](const auto &e) { return nm == e.first; });
    if (rt == std::end(rounds)) return invalid_model("unknown nearest_mode \"" + nm + "\"");
    a.nearest = rt->second;
    a.cubic_a = n.attr_float("cubic_coeff_a", -0.75f);
    a.exclude_outside = n.attr_int("exclude_outside", 0) != 0;
    a.extrapolation = n.attr_float("extrapolation_value", 0.f);
  }
  *out = std::make_unique<ResizeKernel>(std::move(a));
  return Status::ok();
}

Status create_upsample(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  if (!ctx.has_input(0)) return invalid_model("input X is missing");
  ResizeAttrs a;
  a.legacy = true;
  a.coord = ResizeCoord::kAsymmetric;
  a.nearest = NearestRound::kFloor;
  SI_RETURN_IF_ERROR(parse_mode(n.attr_string("mode", "nearest"), true, &a.mode));
  if (n.opset < 9) {
    if (!n.has_attr("scales")) return invalid_model("attribute scales is missing");
    a.scales_attr = true;
    a.scales = n.attr_floats("scales");
  } else if (!ctx.has_input(1)) {
    return invalid_model("input scales is missing");
  }
  *out = std::make_unique<ResizeKernel>(std::move(a));
  return Status::ok();
}

}  // namespace si
