#include "kernels/dense/dnnl_conv.h"
#include "kernels/dense/dnnl_engine.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

namespace si {

namespace {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

// Distinct problems kept compiled per layer; past it the cache starts over
// (oneDNN's own primitive cache makes re-creating a recent one cheap).
constexpr size_t kMaxCachedShapes = 64;

// Plain row-major strides of `d`.
dims dense_strides(const dims &d) {
  dims s(d.size(), 1);
  for (size_t i = d.size(); i-- > 1;) s[i - 1] = s[i] * d[i];
  return s;
}

// [batch, channels, sp...] plain, or with channels in blocks of `block`.
dnnl::memory::desc activation_md(const ref::ConvParams &p, int64_t channels, const int64_t *sp,
                                 int block) {
  dims d = {p.batch, channels};
  for (int i = 0; i < p.rank; ++i) d.push_back(sp[i]);
  if (block == 0) return dnnl::memory::desc(d, dt::f32, dense_strides(d));
  using tag = dnnl::memory::format_tag;
  static const tag k8[] = {tag::aBc8b, tag::aBcd8b, tag::aBcde8b};
  static const tag k16[] = {tag::aBc16b, tag::aBcd16b, tag::aBcde16b};
  assert(channels % block == 0 && (block == 8 || block == 16));
  return dnnl::memory::desc(d, dt::f32, (block == 8 ? k8 : k16)[p.rank - 1]);
}

// oneDNN numbers weights dims [G,] OC/G, IC/G, kernel... for both directions.
dims weights_dims(const ref::ConvParams &p) {
  dims d;
  if (p.group > 1) d.push_back(p.group);
  d.push_back(p.out_channels / p.group);
  d.push_back(p.in_channels / p.group);
  for (int i = 0; i < p.rank; ++i) d.push_back(p.kernel[i]);
  return d;
}

// ONNX's weights in memory: Conv [G][OC/G][IC/G][k...] is plain in oneDNN's
// dim order; ConvTranspose [G][IC/G][OC/G][k...] swaps the two channel dims.
dnnl::memory::desc onnx_weights_md(const ref::ConvParams &p, bool transposed) {
  const dims d = weights_dims(p);
  dims s = dense_strides(d);
  if (transposed) {
    const size_t o = p.group > 1 ? 1 : 0, i = o + 1;
    const int64_t ks = p.kernel_size();
    s[o] = ks;
    s[i] = ks * (p.out_channels / p.group);
  }
  return dnnl::memory::desc(d, dt::f32, s);
}

dnnl::memory::desc any_md(const dims &d) {
  return dnnl::memory::desc(d, dt::f32, dnnl::memory::format_tag::any);
}

dims spatial(const int64_t *v, int rank, int64_t minus = 0) {
  dims d;
  for (int i = 0; i < rank; ++i) d.push_back(v[i] - minus);
  return d;
}

dnnl::post_ops post_ops(const ConvEpilogue &e) {
  dnnl::post_ops ops;
  if (e.sum) ops.append_sum(1.f);
  if (e.act == ConvEpilogue::Act::kRelu)
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  if (e.act == ConvEpilogue::Act::kClip)
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, e.lo, e.hi);
  return ops;
}

}  // namespace

int dnnl_channel_block() {
  dnnl_cpu_engine();  // applies the SI_MAX_ISA cap first
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  const bool avx512 = isa == dnnl::cpu_isa::avx512_core || isa == dnnl::cpu_isa::avx512_core_vnni ||
                      isa == dnnl::cpu_isa::avx512_core_bf16 ||
                      isa == dnnl::cpu_isa::avx512_core_amx;
  return avx512 ? 16 : 8;
}

struct DnnlConv::Impl {
  // One compiled problem. The reorders exist where the primitive's layout
  // differs from the plain one at the boundary (or from the packed weights).
  struct Prim {
    dnnl::primitive primitive;
    dnnl::memory::desc src_md, dst_md, weights_md, scratchpad_md;
    dnnl::memory::desc user_src_md, user_dst_md;
    bool reorder_src = false, reorder_dst = false, reorder_weights = false;
    // dst_in_reorder brings a sum's addend into the primitive's dst layout.
    dnnl::reorder src_reorder, dst_reorder, dst_in_reorder, weights_reorder;
    std::string impl;
  };

  ref::ConvParams fixed;  // what create saw
  bool transposed = false;
  bool has_bias = false;
  ConvLayout layout;
  ConvEpilogue epilogue;
  dnnl::memory::desc weights_md;
  dnnl::memory weights;  // the only copy, in weights_md's layout
  dnnl::memory bias;
  std::shared_ptr<const Prim> first;

  mutable std::mutex mu;
  mutable std::map<std::vector<int64_t>, std::shared_ptr<const Prim>> cache;

  static std::vector<int64_t> key(const ref::ConvParams &p) {
    std::vector<int64_t> k = {p.batch};
    for (int i = 0; i < p.rank; ++i) {
      k.push_back(p.in[i]);
      k.push_back(p.out[i]);
      k.push_back(p.pad_begin[i]);
      k.push_back(p.pad_end[i]);
    }
    return k;
  }

  // Compiles `p` with weights in `w_md` (format any allowed). A blocked side
  // is asked for as it is (`pin`), so it needs no reorder; a plain one lets
  // oneDNN choose. Throws dnnl::error.
  std::shared_ptr<const Prim> compile(const ref::ConvParams &p, const dnnl::memory::desc &w_md,
                                      bool pin = true) const {
    const dnnl::engine &eng = dnnl_cpu_engine();
    auto prim = std::make_shared<Prim>();
    prim->user_src_md = activation_md(p, p.in_channels, p.in, layout.src_block);
    prim->user_dst_md = activation_md(p, p.out_channels, p.out, layout.dst_block);
    const dims src_d = prim->user_src_md.dims(), dst_d = prim->user_dst_md.dims();
    const dnnl::memory::desc src_md =
        pin && layout.src_block != 0 ? prim->user_src_md : any_md(src_d);
    const dnnl::memory::desc dst_md =
        pin && layout.dst_block != 0 ? prim->user_dst_md : any_md(dst_d);
    const dnnl::memory::desc b_md =
        has_bias ? dnnl::memory::desc({p.out_channels}, dt::f32, dnnl::memory::format_tag::a)
                 : dnnl::memory::desc();
    const dims st = spatial(p.stride, p.rank), dil = spatial(p.dilation, p.rank, 1);
    const dims pl = spatial(p.pad_begin, p.rank), pr = spatial(p.pad_end, p.rank);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    attr.set_post_ops(post_ops(epilogue));
    const auto fwd = dnnl::prop_kind::forward_inference;
    if (transposed) {
      const dnnl::deconvolution_forward::desc d(fwd, dnnl::algorithm::deconvolution_direct, src_md,
                                                w_md, b_md, dst_md, st, dil, pl, pr);
      const dnnl::deconvolution_forward::primitive_desc pd(d, attr, eng);
      prim->primitive = dnnl::deconvolution_forward(pd);
      fill(pd, prim.get());
    } else {
      const dnnl::convolution_forward::desc d(fwd, dnnl::algorithm::convolution_direct, src_md,
                                              w_md, b_md, dst_md, st, dil, pl, pr);
      const dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
      prim->primitive = dnnl::convolution_forward(pd);
      fill(pd, prim.get());
    }
    if (prim->src_md != prim->user_src_md) {
      prim->reorder_src = true;
      prim->src_reorder =
          dnnl::reorder(dnnl::reorder::primitive_desc(eng, prim->user_src_md, eng, prim->src_md));
    }
    if (prim->dst_md != prim->user_dst_md) {
      prim->reorder_dst = true;
      prim->dst_reorder =
          dnnl::reorder(dnnl::reorder::primitive_desc(eng, prim->dst_md, eng, prim->user_dst_md));
      if (epilogue.sum) {
        prim->dst_in_reorder =
            dnnl::reorder(dnnl::reorder::primitive_desc(eng, prim->user_dst_md, eng, prim->dst_md));
      }
    }
    if (weights && prim->weights_md != weights_md) {
      prim->reorder_weights = true;
      prim->weights_reorder =
          dnnl::reorder(dnnl::reorder::primitive_desc(eng, weights_md, eng, prim->weights_md));
    }
    return prim;
  }

  template <typename PD>
  static void fill(const PD &pd, Prim *prim) {
    prim->src_md = pd.src_desc();
    prim->dst_md = pd.dst_desc();
    prim->weights_md = pd.weights_desc();
    prim->scratchpad_md = pd.scratchpad_desc();
    prim->impl = pd.impl_info_str();
  }

  // Throws dnnl::error.
  std::shared_ptr<const Prim> primitive_for(const ref::ConvParams &p) const {
    const std::vector<int64_t> k = key(p);
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = cache.find(k);
      if (it != cache.end()) return it->second;
    }
    // Compiled outside the lock so one slow creation does not stall every
    // thread; a concurrent duplicate is harmless and the first insert wins.
    std::shared_ptr<const Prim> prim;
    try {
      prim = compile(p, weights_md);
    } catch (const dnnl::error &e) {
      if (e.status != dnnl_unimplemented) throw;
      try {
        prim = compile(p, any_md(weights_md.dims()));
      } catch (const dnnl::error &e2) {
        if (e2.status != dnnl_unimplemented) throw;
        prim = compile(p, any_md(weights_md.dims()), false);
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    if (cache.size() >= kMaxCachedShapes) cache.clear();
    return cache.emplace(k, std::move(prim)).first->second;
  }
};

DnnlConv::DnnlConv(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DnnlConv::~DnnlConv() = default;

size_t DnnlConv::packed_bytes() const {
  return impl_->weights_md.get_size();
}

std::string DnnlConv::impl_name() const {
  return impl_->first->impl;
}

std::unique_ptr<DnnlConv> DnnlConv::create(const ref::ConvParams &problem, bool transposed,
                                           const float *weights, const float *bias,
                                           std::string *error, ConvLayout layout,
                                           ConvEpilogue epilogue) {
  assert(problem.rank >= 1 && problem.rank <= ref::kMaxConvSpatial);
  assert(weights != nullptr);
  auto impl = std::make_unique<Impl>();
  impl->fixed = problem;
  impl->transposed = transposed;
  impl->has_bias = bias != nullptr;
  impl->layout = layout;
  impl->epilogue = epilogue;
  try {
    const dnnl::engine &eng = dnnl_cpu_engine();
    if (bias != nullptr) {
      impl->bias = dnnl::memory(
          dnnl::memory::desc({problem.out_channels}, dt::f32, dnnl::memory::format_tag::a), eng);
      std::copy(bias, bias + problem.out_channels,
                static_cast<float *>(impl->bias.get_data_handle()));
    }
    // weights stays empty while compiling, so the first problem picks the layout.
    std::shared_ptr<const Impl::Prim> first;
    try {
      first = impl->compile(problem, any_md(weights_dims(problem)));
    } catch (const dnnl::error &e) {
      if (e.status != dnnl_unimplemented) throw;
      first = impl->compile(problem, any_md(weights_dims(problem)), false);
    }
    impl->weights_md = first->weights_md;
    const dnnl::memory::desc user_md = onnx_weights_md(problem, transposed);
    dnnl::memory user(user_md, eng, const_cast<float *>(weights));
    impl->weights = dnnl::memory(impl->weights_md, eng);
    dnnl::stream stream(eng);
    dnnl::reorder(dnnl::reorder::primitive_desc(eng, user_md, eng, impl->weights_md))
        .execute(stream, user, impl->weights);
    stream.wait();
    impl->first = first;
    impl->cache.emplace(Impl::key(problem), first);
  } catch (const dnnl::error &e) {
    *error = dnnl_message(e) + (transposed ? " creating ConvTranspose" : " creating Conv");
    return nullptr;
  } catch (const std::bad_alloc &) {
    *error = "out of memory packing convolution weights";
    return nullptr;
  }
  return std::unique_ptr<DnnlConv>(new DnnlConv(std::move(impl)));
}

bool DnnlConv::run(const ref::ConvParams &p, const float *x, float *y, std::string *error,
                   const float *addend) const {
  const Impl &im = *impl_;
  assert(p.rank == im.fixed.rank && p.group == im.fixed.group);
  assert(p.in_channels == im.fixed.in_channels && p.out_channels == im.fixed.out_channels);
  assert(!im.epilogue.sum || addend != nullptr);
  try {
    std::shared_ptr<const Impl::Prim> prim = im.primitive_for(p);
    if (im.epilogue.sum && addend != y) std::memcpy(y, addend, prim->user_dst_md.get_size());
    const dnnl::engine &eng = dnnl_cpu_engine();
    dnnl::stream stream(eng);
    dnnl::memory user_src(prim->user_src_md, eng, const_cast<float *>(x));
    dnnl::memory user_dst(prim->user_dst_md, eng, y);
    dnnl::memory src = user_src, dst = user_dst, w = im.weights;
    if (prim->reorder_src) {
      src = dnnl::memory(prim->src_md, eng);
      prim->src_reorder.execute(stream, user_src, src);
    }
    if (prim->reorder_dst) {
      dst = dnnl::memory(prim->dst_md, eng);
      if (im.epilogue.sum) prim->dst_in_reorder.execute(stream, user_dst, dst);
    }
    if (prim->reorder_weights) {
      w = dnnl::memory(prim->weights_md, eng);
      dnnl::memory packed = im.weights;  // a handle copy: execute takes non-const memory
      prim->weights_reorder.execute(stream, packed, w);
    }
    std::unordered_map<int, dnnl::memory> args = {
        {DNNL_ARG_SRC, src},
        {DNNL_ARG_WEIGHTS, w},
        {DNNL_ARG_DST, dst},
        {DNNL_ARG_SCRATCHPAD, dnnl::memory(prim->scratchpad_md, eng)}};
    if (im.has_bias) args.emplace(DNNL_ARG_BIAS, im.bias);
    prim->primitive.execute(stream, args);
    if (prim->reorder_dst) prim->dst_reorder.execute(stream, dst, user_dst);
    stream.wait();
  } catch (const dnnl::error &e) {
    *error = dnnl_message(e) + (im.transposed ? " running ConvTranspose" : " running Conv");
    return false;
  } catch (const std::bad_alloc &) {
    *error = "out of memory running convolution";
    return false;
  }
  return true;
}

}  // namespace si
