// Conv and ConvTranspose (1-D to 3-D, float32), and FusedConv: a Conv with
// its epilogue (a sum with a same-shaped tensor, then Relu or Clip) and its
// activations' layouts (plain or channel-blocked, set by
// assign_conv_layouts). A constant weight (and bias) is packed once for
// oneDNN at create; a weight known only at run time, or a problem oneDNN
// rejects, runs the reference kernels.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/ops.h"
#include "engine/ops/window.h"
#include "kernels/dense/dnnl_conv.h"
#include "kernels/ref/activation.h"
#include "kernels/ref/blocked_layout.h"
#include "kernels/ref/conv_ref.h"
#include "kernels/ref/parallel.h"

namespace si {

namespace {

// ref::f32_all_finite over the session's threads: the check reads x (and
// an addend) before each conv with an activation, 18 MB per mobilenet_v2
// run (about 0.4 ms of 9 at one thread), and the conv after it runs on the
// whole team anyway.
bool all_finite(const float *x, int64_t n, int threads) {
  if (threads <= 1 || n < ref::kElementwiseParallelMin) return ref::f32_all_finite(x, n);
  int bad = 0;
  ref::parallel_ranges(n, threads, 2, [&](int64_t begin, int64_t end) {
    if (!ref::f32_all_finite(x + begin, end - begin)) {
#pragma omp atomic write
      bad = 1;
    }
  });
  return bad == 0;
}

Status require_f32(const char *what, const Tensor &t) {
  if (t.dtype() == DType::kFloat32) return Status::ok();
  return unsupported(std::string("input ") + what + " has dtype " + dtype_name(t.dtype()) +
                     ", only float32 is supported");
}

std::string list(const std::vector<int64_t> &v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

// Shape checks shared by both directions: X [N, C, spatial...] and W of the
// same rank with 1 to 3 spatial dims, kernel_shape (if given) equal to W's.
Status check_operands(const Shape &x, const Shape &w, const WindowAttrs &a) {
  const std::string shapes = "X " + shape_str(x) + " and W " + shape_str(w);
  if (x.size() < 3 || w.size() != x.size())
    return invalid_argument("needs X and W of equal rank >= 3, got " + shapes);
  if (x.size() - 2 > size_t(ref::kMaxConvSpatial)) {
    return unsupported(std::to_string(x.size() - 2) + "-D convolution (" + shapes +
                       "); at most 3 spatial dims are supported");
  }
  const std::vector<int64_t> k(w.begin() + 2, w.end());
  if (!a.kernel.empty() && a.kernel != k)
    return invalid_argument("kernel_shape " + list(a.kernel) + " differs from W " + shape_str(w));
  return Status::ok();
}

Status check_bias(const Tensor *b, int64_t channels) {
  if (b == nullptr) return Status::ok();
  SI_RETURN_IF_ERROR(require_f32("B", *b));
  if (b->shape() != Shape{channels}) {
    return invalid_argument("B " + shape_str(b->shape()) + " must be [" + std::to_string(channels) +
                            "], one value per output channel");
  }
  return Status::ok();
}

ref::ConvParams to_params(const Shape &x, int64_t out_channels, int64_t group,
                          const std::vector<WindowDim> &dims) {
  ref::ConvParams p;
  p.batch = x[0];
  p.in_channels = x[1];
  p.out_channels = out_channels;
  p.group = group;
  p.rank = int(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    p.in[i] = dims[i].in;
    p.out[i] = dims[i].out;
    p.kernel[i] = dims[i].kernel;
    p.stride[i] = dims[i].stride;
    p.dilation[i] = dims[i].dilation;
    p.pad_begin[i] = dims[i].pad_begin;
    p.pad_end[i] = dims[i].pad_end;
  }
  return p;
}

Shape output_shape(const ref::ConvParams &p) {
  Shape y = {p.batch, p.out_channels};
  for (int i = 0; i < p.rank; ++i) y.push_back(p.out[i]);
  return y;
}

bool all_positive(const ref::ConvParams &p) {
  bool ok = p.batch > 0 && p.in_channels > 0 && p.out_channels > 0;
  for (int i = 0; i < p.rank; ++i) ok = ok && p.in[i] > 0 && p.out[i] > 0;
  return ok;
}

// Elements a load-time probe input may have: declared dims such as 2^40 would
// overflow oneDNN's own arithmetic (it divides by zero), and no real input of
// that size could be held anyway.
constexpr int64_t kMaxProbeElements = int64_t{1} << 31;

bool probe_fits(const Shape &x) {
  int64_t count = 0;
  return !x.empty() && checked_numel(x, &count).is_ok() && count <= kMaxProbeElements;
}

// The input shape W is packed for at load: X's declared shape where it is
// known and fits a probe, else batch 1 and spatial sizes the dilated kernel
// (the smallest that fits). Only picks the packed layout. Empty when even
// the kernel's extent overflows: nothing is packed then, and the real input
// meets the attribute checks at run time.
Shape representative_input(const LoadContext &ctx, const Shape &w, int64_t channels,
                           const WindowAttrs &a) {
  Shape x = {1, channels};
  for (size_t i = 2; i < w.size(); ++i) {
    const int64_t d = a.dilations.size() == w.size() - 2 ? a.dilations[i - 2] : 1;
    int64_t extent = 0;
    if (__builtin_mul_overflow(w[i] - 1, d, &extent) || extent >= kMaxProbeElements) return {};
    x.push_back(extent + 1);
  }
  const ValueInfo *info = ctx.input_info(0);
  if (info == nullptr || !info->has_shape || info->dims.size() != w.size()) return x;
  Shape declared = x;
  if (info->dims[0].size > 0) declared[0] = info->dims[0].size;
  for (size_t i = 2; i < w.size(); ++i)
    if (info->dims[i].size > 0) declared[i] = info->dims[i].size;
  return probe_fits(declared) ? declared : x;
}

// What Conv and ConvTranspose share: oneDNN on the weights packed at create
// when the problem allows, else the direction's reference kernel.
class PackedConvOp : public OpKernel {
 public:
  // Resolves the problem for these inputs; *p is the full description.
  virtual Status problem(const std::vector<const Tensor *> &in, ref::ConvParams *p) const = 0;

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    ref::ConvParams p;
    SI_RETURN_IF_ERROR(problem(in, &p));
    const Shape y = output_shape(p);
    const Tensor *addend = in.size() > 3 ? in[3] : nullptr;
    if (epilogue_.sum &&
        (addend == nullptr || addend->dtype() != DType::kFloat32 || addend->shape() != y)) {
      return invalid_argument("the addend must be float32 " + shape_str(y) +
                              " like the output, got " +
                              (addend ? shape_str(addend->shape()) : std::string("none")));
    }
    out->assign(1, OutputDesc{DType::kFloat32, y, -1});
    // The sum adds into the output, so the addend's own buffer saves a copy.
    if (epilogue_.sum) (*out)[0].reuse_input = 3;
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    ref::ConvParams p;
    SI_RETURN_IF_ERROR(problem(in, &p));
    if (out[0]->numel() == 0) return Status::ok();
    const float *addend = epilogue_.sum ? in[3]->data<float>() : nullptr;
    // oneDNN's relu and clip post-ops turn a NaN into a bound; an Inf or NaN
    // reaching them (through x or the addend) takes the exact path instead.
    const bool exact_only =
        epilogue_.act != ConvEpilogue::Act::kNone &&
        (!all_finite(in[0]->data<float>(), in[0]->numel(), ctx.threads) ||
         (addend != nullptr && !all_finite(addend, out[0]->numel(), ctx.threads)));
    if (packed_ && all_positive(p) && !exact_only) {
      std::string error;
      if (!packed_->run(p, in[0]->data<float>(), out[0]->data<float>(), &error, addend))
        return internal_error(error);
      return Status::ok();
    }
    run_unpacked(p, in, addend, out[0]->data<float>(), ctx.threads);
    return Status::ok();
  }

  // Packs the constant W (and B) for the problem of an input shaped xs. A
  // probe that does not fit leaves the weights unpacked; the same problem
  // with the real input reports its error at run time.
  void pack(const Shape &xs, const Tensor *w, const Tensor *b, bool transposed) {
    if (!probe_fits(xs)) return;
    const Tensor probe = Tensor::borrow(DType::kFloat32, xs, nullptr);
    ref::ConvParams p;
    bool fits = problem({&probe, w, b}, &p).is_ok() && all_positive(p);
    // A negative begin pad (a transposed convolution's crop) stays on the reference kernel.
    for (int i = 0; i < p.rank; ++i) fits = fits && p.pad_begin[i] >= 0;
    if (!fits) return;
    std::string error;
    packed_ = DnnlConv::create(p, transposed, w->data<float>(), b ? b->data<float>() : nullptr,
                               &error, layout_, epilogue_);
  }

  ConvLayout layout_;
  ConvEpilogue epilogue_;

 protected:
  virtual void run_reference(const ref::ConvParams &p, const float *x, const float *w,
                             const float *b, float *y, int threads) const = 0;

 private:
  // The reference kernels on plain copies of blocked sides, then the
  // epilogue in the order oneDNN applies it: sum, activation.
  void run_unpacked(const ref::ConvParams &p, const std::vector<const Tensor *> &in,
                    const float *addend, float *y, int threads) const {
    int64_t in_sp = 1, out_sp = 1;
    for (int i = 0; i < p.rank; ++i) {
      in_sp *= p.in[i];
      out_sp *= p.out[i];
    }
    const int64_t out_n = p.batch * p.out_channels * out_sp;
    const float *x = in[0]->data<float>();
    std::vector<float> x_plain, y_plain, addend_plain;
    if (addend == y) {  // computed in place: keep the addend before y is written
      addend_plain.assign(addend, addend + out_n);
      addend = addend_plain.data();
    }
    if (layout_.src_block != 0) {
      x_plain.resize(size_t(in[0]->numel()));
      ref::f32_blocked_to_plain(x, p.batch, p.in_channels, in_sp, layout_.src_block,
                                x_plain.data());
      x = x_plain.data();
    }
    float *yp = y;
    if (layout_.dst_block != 0) {
      y_plain.resize(size_t(out_n));
      yp = y_plain.data();
      if (addend != nullptr) {
        std::vector<float> plain(static_cast<size_t>(out_n));
        ref::f32_blocked_to_plain(addend, p.batch, p.out_channels, out_sp, layout_.dst_block,
                                  plain.data());
        addend_plain = std::move(plain);
        addend = addend_plain.data();
      }
    }
    const Tensor *b = in.size() > 2 ? in[2] : nullptr;
    run_reference(p, x, in[1]->data<float>(), b != nullptr ? b->data<float>() : nullptr, yp,
                  threads);
    for (int64_t i = 0; i < out_n; ++i) {
      float v = addend != nullptr ? yp[i] + addend[i] : yp[i];
      if (epilogue_.act == ConvEpilogue::Act::kRelu) v = v > 0.f || v != v ? v : 0.f;
      if (epilogue_.act == ConvEpilogue::Act::kClip)
        v = v < epilogue_.lo ? epilogue_.lo : v > epilogue_.hi ? epilogue_.hi : v;
      yp[i] = v;
    }
    if (layout_.dst_block != 0)
      ref::f32_plain_to_blocked(yp, p.batch, p.out_channels, out_sp, layout_.dst_block, y);
  }

  std::unique_ptr<DnnlConv> packed_;
};

// ---------------------------------------------------------------- Conv

class ConvOp final : public PackedConvOp {
 public:
  ConvOp(WindowAttrs attrs, int64_t group) : attrs_(std::move(attrs)), group_(group) {}

  Status problem(const std::vector<const Tensor *> &in, ref::ConvParams *p) const override {
    const Tensor &x = *in[0], &w = *in[1];
    const Tensor *b = in.size() > 2 ? in[2] : nullptr;
    SI_RETURN_IF_ERROR(require_f32("X", x));
    SI_RETURN_IF_ERROR(require_f32("W", w));
    SI_RETURN_IF_ERROR(check_operands(x.shape(), w.shape(), attrs_));
    const int64_t m = w.dim(0), c = x.dim(1);
    const std::string shapes = "X " + shape_str(x.shape()) + " and W " + shape_str(w.shape());
    if (w.dim(1) * group_ != c) {
      return invalid_argument("X has " + std::to_string(c) + " channels but W expects " +
                              std::to_string(w.dim(1)) + " per group x group " +
                              std::to_string(group_) + " (" + shapes + ")");
    }
    if (m % group_ != 0) {
      return invalid_argument("W's " + std::to_string(m) +
                              " output channels do not divide into group " +
                              std::to_string(group_) + " (" + shapes + ")");
    }
    SI_RETURN_IF_ERROR(check_bias(b, m));
    std::vector<WindowDim> dims;
    SI_RETURN_IF_ERROR(resolve_window(attrs_, Shape(x.shape().begin() + 2, x.shape().end()),
                                      Shape(w.shape().begin() + 2, w.shape().end()), shapes,
                                      &dims));
    *p = to_params(x.shape(), m, group_, dims);
    return Status::ok();
  }

  WindowAttrs attrs_;
  int64_t group_;

 private:
  void run_reference(const ref::ConvParams &p, const float *x, const float *w, const float *b,
                     float *y, int threads) const override {
    ref::f32_conv(p, x, w, b, y, threads);
  }
};

// ---------------------------------------------------------------- ConvTranspose

class ConvTransposeOp final : public PackedConvOp {
 public:
  ConvTransposeOp(WindowAttrs attrs, int64_t group, std::vector<int64_t> output_padding,
                  std::vector<int64_t> output_shape)
      : attrs_(std::move(attrs)),
        group_(group),
        output_padding_(std::move(output_padding)),
        output_shape_(std::move(output_shape)) {}

  Status problem(const std::vector<const Tensor *> &in, ref::ConvParams *p) const override {
    const Tensor &x = *in[0], &w = *in[1];
    const Tensor *b = in.size() > 2 ? in[2] : nullptr;
    SI_RETURN_IF_ERROR(require_f32("X", x));
    SI_RETURN_IF_ERROR(require_f32("W", w));
    SI_RETURN_IF_ERROR(check_operands(x.shape(), w.shape(), attrs_));
    const std::string shapes = "X " + shape_str(x.shape()) + " and W " + shape_str(w.shape());
    if (w.dim(0) != x.dim(1)) {
      return invalid_argument("X has " + std::to_string(x.dim(1)) + " channels but W expects " +
                              std::to_string(w.dim(0)) + " (" + shapes + ")");
    }
    if (x.dim(1) % group_ != 0) {
      return invalid_argument("X's " + std::to_string(x.dim(1)) +
                              " channels do not divide into group " + std::to_string(group_) +
                              " (" + shapes + ")");
    }
    const int64_t m = w.dim(1) * group_;
    SI_RETURN_IF_ERROR(check_bias(b, m));
    const size_t r = size_t(x.rank() - 2);
    auto bad_len = [&](const char *name, const std::vector<int64_t> &v, size_t want) {
      return invalid_argument(std::string(name) + " " + list(v) + " has " +
                              std::to_string(v.size()) + " values, expected " +
                              std::to_string(want) + " for " + shapes);
    };
    if (!attrs_.strides.empty() && attrs_.strides.size() != r)
      return bad_len("strides", attrs_.strides, r);
    if (!attrs_.dilations.empty() && attrs_.dilations.size() != r)
      return bad_len("dilations", attrs_.dilations, r);
    if (!attrs_.pads.empty() && attrs_.pads.size() != 2 * r)
      return bad_len("pads", attrs_.pads, 2 * r);
    if (!output_padding_.empty() && output_padding_.size() != r)
      return bad_len("output_padding", output_padding_, r);
    // output_shape may also list N and C first (older exporters).
    std::vector<int64_t> want = output_shape_;
    if (want.size() == r + 2) want.erase(want.begin(), want.begin() + 2);
    if (!want.empty() && want.size() != r) return bad_len("output_shape", output_shape_, r);

    p->batch = x.dim(0);
    p->in_channels = x.dim(1);
    p->out_channels = m;
    p->group = group_;
    p->rank = int(r);
    for (size_t i = 0; i < r; ++i) {
      const int64_t in_i = x.dim(int64_t(i) + 2), k = w.dim(int64_t(i) + 2);
      const int64_t s = attrs_.strides.empty() ? 1 : attrs_.strides[i];
      const int64_t d = attrs_.dilations.empty() ? 1 : attrs_.dilations[i];
      const int64_t op = output_padding_.empty() ? 0 : output_padding_[i];
      const int64_t k_eff = (k - 1) * d + 1;
      const int64_t full = s * (in_i - 1) + op + k_eff;  // output size with no padding
      int64_t out = 0, pb = 0;
      const bool same =
          attrs_.auto_pad == AutoPad::kSameUpper || attrs_.auto_pad == AutoPad::kSameLower;
      if (!want.empty() || same) {
        // A requested size above the unpadded one extends the end with zeros.
        out = !want.empty() ? want[i] : in_i * s;
        const int64_t total = std::max<int64_t>(0, full - out);
        pb = attrs_.auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
      } else {
        const bool pads = attrs_.auto_pad == AutoPad::kNotSet && !attrs_.pads.empty();
        pb = pads ? attrs_.pads[i] : 0;
        out = full - pb - (pads ? attrs_.pads[i + r] : 0);
      }
      if (out < 0 || (out == 0 && in_i > 0)) {
        return invalid_argument("spatial axis " + std::to_string(i) + " would have output size " +
                                std::to_string(out) + " for " + shapes);
      }
      p->in[i] = in_i;
      p->out[i] = out;
      p->kernel[i] = k;
      p->stride[i] = s;
      p->dilation[i] = d;
      p->pad_begin[i] = pb;
      // What makes out = s*(in-1) + k_eff - pb - pe exact: output_padding and
      // a larger requested size turn into a negative end pad.
      p->pad_end[i] = s * (in_i - 1) + k_eff - pb - out;
    }
    return Status::ok();
  }

  WindowAttrs attrs_;
  int64_t group_;
  std::vector<int64_t> output_padding_, output_shape_;

 private:
  void run_reference(const ref::ConvParams &p, const float *x, const float *w, const float *b,
                     float *y, int threads) const override {
    ref::f32_conv_transpose(p, x, w, b, y, threads);
  }
};

Status read_common(const LoadContext &ctx, WindowAttrs *attrs, int64_t *group) {
  const Node &n = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return invalid_model("inputs X and W are required");
  if (ctx.num_inputs() > 3) return invalid_model("expects at most three inputs X, W, B");
  if (n.outputs.size() != 1) return invalid_model("expects exactly one output Y");
  SI_RETURN_IF_ERROR(read_window_attrs(n, attrs));
  if (attrs->ceil_mode) return invalid_model("has no ceil_mode attribute");
  *group = n.attr_int("group", 1);
  if (*group < 1) return invalid_model("group must be >= 1, got " + std::to_string(*group));
  return Status::ok();
}

// The constant weight and bias to pack, or false when either is not a
// constant float32 tensor (the reference kernel then runs).
bool constant_operands(const LoadContext &ctx, const Tensor **w, const Tensor **b) {
  *w = ctx.constant_input(1);
  *b = ctx.constant_input(2);
  if (*w == nullptr || (*w)->dtype() != DType::kFloat32 || (*w)->numel() == 0 || (*w)->rank() < 3)
    return false;
  if (ctx.has_input(2) && (*b == nullptr || (*b)->dtype() != DType::kFloat32)) return false;
  return true;
}

}  // namespace

Status create_conv(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  WindowAttrs attrs;
  int64_t group = 1;
  SI_RETURN_IF_ERROR(read_common(ctx, &attrs, &group));
  auto op = std::make_unique<ConvOp>(attrs, group);
  const Tensor *w = nullptr, *b = nullptr;
  if (constant_operands(ctx, &w, &b))
    op->pack(representative_input(ctx, w->shape(), w->dim(1) * group, attrs), w, b, false);
  *out = std::move(op);
  return Status::ok();
}

Status create_fused_conv(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  WindowAttrs attrs;
  int64_t group = 1;
  const Node &n = ctx.node;
  if (ctx.num_inputs() > 4) return invalid_model("expects at most four inputs X, W, B, addend");
  if (!ctx.has_input(0) || !ctx.has_input(1)) return invalid_model("inputs X and W are required");
  if (n.outputs.size() != 1) return invalid_model("expects exactly one output Y");
  SI_RETURN_IF_ERROR(read_window_attrs(n, &attrs));
  if (attrs.ceil_mode) return invalid_model("has no ceil_mode attribute");
  group = n.attr_int("group", 1);
  if (group < 1) return invalid_model("group must be >= 1, got " + std::to_string(group));
  auto op = std::make_unique<ConvOp>(attrs, group);
  const std::string act = n.attr_string("activation", "");
  if (act == "Relu") {
    op->epilogue_.act = ConvEpilogue::Act::kRelu;
  } else if (act == "Clip") {
    op->epilogue_.act = ConvEpilogue::Act::kClip;
    op->epilogue_.lo = n.attr_float("clip_min", 0.f);
    op->epilogue_.hi = n.attr_float("clip_max", 0.f);
  } else if (!act.empty()) {
    return invalid_model("unknown activation \"" + act + "\"");
  }
  op->epilogue_.sum = ctx.has_input(3);
  op->layout_.src_block = int(n.attr_int(kSrcBlockAttr, 0));
  op->layout_.dst_block = int(n.attr_int(kDstBlockAttr, 0));
  const Tensor *w = nullptr, *b = nullptr;
  if (constant_operands(ctx, &w, &b)) {
    // The layout pass blocked the edges from the declared shapes: W must
    // agree with them, or no blocked primitive fits.
    const int src = op->layout_.src_block, dst = op->layout_.dst_block;
    if (w->rank() >= 2 &&
        ((src != 0 && (w->dim(1) * group) % src != 0) || (dst != 0 && w->dim(0) % dst != 0))) {
      return invalid_model("W " + shape_str(w->shape()) +
                           " does not match the channel counts the model declares");
    }
    op->pack(representative_input(ctx, w->shape(), w->dim(1) * group, attrs), w, b, false);
  }
  *out = std::move(op);
  return Status::ok();
}

Status create_conv_transpose(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  WindowAttrs attrs;
  int64_t group = 1;
  SI_RETURN_IF_ERROR(read_common(ctx, &attrs, &group));
  const Node &n = ctx.node;
  std::vector<int64_t> output_shape = n.attr_ints("output_shape");
  auto op =
      std::make_unique<ConvTransposeOp>(attrs, group, n.attr_ints("output_padding"), output_shape);
  const Tensor *w = nullptr, *b = nullptr;
  // With output_shape the padding depends on the input size and may crop;
  // the reference kernel handles every such case.
  if (output_shape.empty() && constant_operands(ctx, &w, &b))
    op->pack(representative_input(ctx, w->shape(), w->dim(0), attrs), w, b, true);
  *out = std::move(op);
  return Status::ok();
}

}  // namespace si
