#include "kernels/dense/dnnl_matmul.h"
#include "kernels/dense/dnnl_engine.h"
#include "kernels/weight_buffer.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

namespace si {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// Distinct batch sizes kept compiled per layer. Past it the cache starts over;
// oneDNN's own primitive cache makes re-creating a recent shape cheap.
constexpr size_t kMaxCachedShapes = 64;

}  // namespace

struct DnnlPackedMatmul::Impl {
  // One compiled primitive; `rows` is how many rows of `a` one execute covers
  // (the call's M, or 1 when M rejected the pinned weights layout).
  struct Prim {
    dnnl::primitive primitive;
    dnnl::memory::desc scratchpad_md;
    int64_t rows = 0;
    std::string impl;
  };

  int64_t k = 0;
  int64_t n = 0;
  bool relu = false;
  bool inner_product = false;  // weights are [n,k] of an inner_product, else [k,n] of a matmul
  int64_t min_rows = 1;        // calls of fewer rows run padded to this many
  std::vector<float> bias;     // empty: no bias
  dnnl::memory::desc weights_md;
  WeightBuffer weights_buf;  // huge-page backed storage of `weights`
  dnnl::memory weights;      // the only copy of the weights, in weights_md's layout
  dnnl::memory bias_mem;
  std::shared_ptr<const Prim> m1;

  mutable std::mutex mu;
  mutable std::unordered_map<int64_t, std::shared_ptr<const Prim>> cache;

  dnnl::primitive_attr make_attr() const {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (relu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    return attr;
  }

  dnnl::memory::dims weight_dims() const {
    return inner_product ? dnnl::memory::dims{n, k} : dnnl::memory::dims{k, n};
  }

  dnnl::memory::desc bias_md() const {
    return inner_product ? dnnl::memory::desc({n}, dt::f32, tag::a)
                         : dnnl::memory::desc({1, n}, dt::f32, tag::ab);
  }

  dnnl::matmul::primitive_desc matmul_pd(int64_t m, const dnnl::memory::desc &w_md) const {
    const dnnl::memory::desc src_md({m, k}, dt::f32, tag::ab);
    const dnnl::memory::desc dst_md({m, n}, dt::f32, tag::ab);
    if (bias.empty()) {
      return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, w_md, dst_md), make_attr(),
                                          dnnl_cpu_engine());
    }
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, w_md, bias_md(), dst_md),
                                        make_attr(), dnnl_cpu_engine());
  }

  dnnl::inner_product_forward::primitive_desc ip_pd(int64_t m,
                                                    const dnnl::memory::desc &w_md) const {
    using ip = dnnl::inner_product_forward;
    const dnnl::memory::desc src_md({m, k}, dt::f32, tag::ab);
    const dnnl::memory::desc dst_md({m, n}, dt::f32, tag::ab);
    const auto kind = dnnl::prop_kind::forward_inference;
    if (bias.empty()) {
      return ip::primitive_desc(ip::desc(kind, src_md, w_md, dst_md), make_attr(),
                                dnnl_cpu_engine());
    }
    return ip::primitive_desc(ip::desc(kind, src_md, w_md, bias_md(), dst_md), make_attr(),
                              dnnl_cpu_engine());
  }

  // The layout the primitive for m rows wants for weights described by w_md.
  dnnl::memory::desc weights_desc_for(int64_t m, const dnnl::memory::desc &w_md) const {
    return inner_product ? ip_pd(m, w_md).weights_desc() : matmul_pd(m, w_md).weights_desc();
  }

  std::shared_ptr<const Prim> compile(int64_t m, const dnnl::memory::desc &w_md) const {
    auto p = std::make_shared<Prim>();
    if (inner_product) {
      const auto pd = ip_pd(m, w_md);
      p->primitive = dnnl::inner_product_forward(pd);
      p->scratchpad_md = pd.scratchpad_desc();
      p->impl = pd.impl_info_str();
    } else {
      const auto pd = matmul_pd(m, w_md);
      p->primitive = dnnl::matmul(pd);
      p->scratchpad_md = pd.scratchpad_desc();
      p->impl = pd.impl_info_str();
    }
    p->rows = m;
    return p;
  }

  // Throws dnnl::error when oneDNN fails for a reason other than the layout.
  std::shared_ptr<const Prim> primitive_for(int64_t m) const {
    if (m == 1) return m1;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = cache.find(m);
      if (it != cache.end()) return it->second;
    }
    // Compiled outside the lock so one slow creation does not stall every
    // thread; a concurrent duplicate is harmless and the first insert wins.
    std::shared_ptr<const Prim> p;
    try {
      p = compile(m, weights_md);
    } catch (const dnnl::error &e) {
      if (e.status != dnnl_unimplemented) throw;
      p = m1;
    }
    std::lock_guard<std::mutex> lock(mu);
    if (cache.size() >= kMaxCachedShapes) cache.clear();
    return cache.emplace(m, std::move(p)).first->second;
  }

  // k == 0: the product is empty, the result is the epilogue of zero.
  void fill_epilogue_only(int64_t m, float *c) const {
    for (int64_t i = 0; i < m; ++i) {
      float *row = c + i * n;
      for (int64_t j = 0; j < n; ++j) {
        const float v = bias.empty() ? 0.f : bias[size_t(j)];
        row[j] = relu ? std::max(v, 0.f) : v;
      }
    }
  }
};

DnnlPackedMatmul::DnnlPackedMatmul(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DnnlPackedMatmul::~DnnlPackedMatmul() = default;

int64_t DnnlPackedMatmul::k() const {
  return impl_->k;
}
int64_t DnnlPackedMatmul::n() const {
  return impl_->n;
}

size_t DnnlPackedMatmul::packed_bytes() const {
  return impl_->weights_buf ? impl_->weights_md.get_size() : 0;
}

std::string DnnlPackedMatmul::impl_name() const {
  return impl_->m1 ? impl_->m1->impl : "none";
}

// Both constructors: `place_weights` sets impl.weights_md and impl.weights
// (k, n > 0); the bias memory and the M=1 primitive follow. oneDNN errors and
// allocation failures come back as nullptr with *error naming `what`.
template <typename PlaceWeights>
std::unique_ptr<DnnlPackedMatmul::Impl> build_impl(const DnnlMatmulParams &params, const char *what,
                                                   std::string *error,
                                                   PlaceWeights &&place_weights) {
  assert(params.k >= 0 && params.n >= 0);
  auto impl = std::make_unique<DnnlPackedMatmul::Impl>();
  impl->k = params.k;
  impl->n = params.n;
  impl->relu = params.relu;
  impl->inner_product = params.inner_product;
  impl->min_rows = std::max<int64_t>(1, params.min_rows_per_call);
  const std::string shape =
      " weights [" + std::to_string(params.k) + "," + std::to_string(params.n) + "]";
  try {
    if (params.bias != nullptr) impl->bias.assign(params.bias, params.bias + params.n);
    if (params.k == 0 || params.n == 0) return impl;
    place_weights(*impl);
    if (!impl->bias.empty()) {
      impl->bias_mem = dnnl::memory(impl->bias_md(), dnnl_cpu_engine(), impl->bias.data());
    }
    impl->m1 = impl->compile(1, impl->weights_md);
    // Compiled at load, not on the first call: every call of fewer rows uses it.
    impl->primitive_for(impl->min_rows);
  } catch (const dnnl::error &e) {
    *error = dnnl_message(e) + " " + what + shape;
    return nullptr;
  } catch (const std::bad_alloc &) {
    *error = std::string("out of memory ") + what + shape;
    return nullptr;
  }
  return impl;
}

bool DnnlPackedMatmul::packs_weights(int64_t k, int64_t n) {
  if (k <= 0 || n <= 0) return false;
  try {
    Impl probe;
    probe.k = k;
    probe.n = n;
    const dnnl::memory::desc any_md({k, n}, dt::f32, tag::any);
    return probe.weights_desc_for(1, any_md) != dnnl::memory::desc({k, n}, dt::f32, tag::ab);
  } catch (const dnnl::error &) {
    return false;  // create() reports what oneDNN rejects
  }
}

std::unique_ptr<DnnlPackedMatmul> DnnlPackedMatmul::create(const DnnlMatmulParams &params,
                                                           const float *weights,
                                                           std::string *error) {
  assert(weights != nullptr || params.k * params.n == 0);
  auto impl = build_impl(params, "packing", error, [&](Impl &im) {
    const dnnl::engine &eng = dnnl_cpu_engine();
    // A [k,n] row-major weight is the [n,k] inner_product weight in `ba`.
    const tag plain = params.inner_product ? tag::ba : tag::ab;
    const tag transposed = params.inner_product ? tag::ab : tag::ba;
    if (params.prepack) {
      const dnnl::memory::desc any_md(im.weight_dims(), dt::f32, tag::any);
      im.weights_md = im.weights_desc_for(1, any_md);
    } else {
      im.weights_md = dnnl::memory::desc(im.weight_dims(), dt::f32, plain);
    }
    const dnnl::memory::desc user_md(im.weight_dims(), dt::f32,
                                     params.trans_b ? transposed : plain);
    dnnl::memory user(user_md, eng, const_cast<float *>(weights));
    size_t capacity = 0;
    im.weights_buf = alloc_weight_buffer(im.weights_md.get_size(), &capacity);
    if (!im.weights_buf) throw std::bad_alloc();
    im.weights = dnnl::memory(im.weights_md, eng, im.weights_buf.get());
    dnnl::primitive_attr reorder_attr;
    if (params.alpha != 1.f) reorder_attr.set_output_scales(0, {params.alpha});
    dnnl::reorder::primitive_desc reorder_pd(eng, user_md, eng, im.weights_md, reorder_attr);
    dnnl::stream stream(eng);
    dnnl::reorder(reorder_pd).execute(stream, user, im.weights);
    stream.wait();
  });
  if (impl == nullptr) return nullptr;
  return std::unique_ptr<DnnlPackedMatmul>(new DnnlPackedMatmul(std::move(impl)));
}

std::unique_ptr<DnnlPackedMatmul> DnnlPackedMatmul::create_borrowed(const DnnlMatmulParams &params,
                                                                    const float *weights,
                                                                    int64_t ldw,
                                                                    std::string *error) {
  assert(!params.trans_b && params.alpha == 1.f && ldw >= params.n);
  auto impl = build_impl(params, "borrowing", error, [&](Impl &im) {
    // The same bytes either way: [k,n] with row stride ldw, or the [n,k]
    // inner_product weight with column stride ldw.
    const dnnl::memory::dims strides =
        params.inner_product ? dnnl::memory::dims{1, ldw} : dnnl::memory::dims{ldw, 1};
    im.weights_md = dnnl::memory::desc(im.weight_dims(), dt::f32, strides);
    im.weights = dnnl::memory(im.weights_md, dnnl_cpu_engine(), const_cast<float *>(weights));
  });
  if (impl == nullptr) return nullptr;
  return std::unique_ptr<DnnlPackedMatmul>(new DnnlPackedMatmul(std::move(impl)));
}

bool DnnlPackedMatmul::run(const float *a, int64_t m, float *c, std::string *error) const {
  assert(m >= 0);
  const Impl &im = *impl_;
  if (m == 0 || im.n == 0) return true;
  if (im.k == 0) {
    im.fill_epilogue_only(m, c);
    return true;
  }
  if (m < im.min_rows) {
    // Zero rows pad the call; each row's result does not depend on the others.
    thread_local std::vector<float> padded_a, padded_c;
    padded_a.assign(size_t(im.min_rows * im.k), 0.f);
    padded_c.resize(size_t(im.min_rows * im.n));
    std::memcpy(padded_a.data(), a, size_t(m * im.k) * sizeof(float));
    if (!run(padded_a.data(), im.min_rows, padded_c.data(), error)) return false;
    std::memcpy(c, padded_c.data(), size_t(m * im.n) * sizeof(float));
    return true;
  }
  try {
    std::shared_ptr<const Impl::Prim> p = im.primitive_for(m);
    const dnnl::engine &eng = dnnl_cpu_engine();
    dnnl::stream stream(eng);
    dnnl::memory scratch(p->scratchpad_md, eng);
    const dnnl::memory::desc src_md({p->rows, im.k}, dt::f32, tag::ab);
    const dnnl::memory::desc dst_md({p->rows, im.n}, dt::f32, tag::ab);
    dnnl::memory src(src_md, eng, DNNL_MEMORY_NONE);
    dnnl::memory dst(dst_md, eng, DNNL_MEMORY_NONE);
    std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, src},
                                                  {DNNL_ARG_WEIGHTS, im.weights},
                                                  {DNNL_ARG_DST, dst},
                                                  {DNNL_ARG_SCRATCHPAD, scratch}};
    if (!im.bias.empty()) args.emplace(DNNL_ARG_BIAS, im.bias_mem);
    for (int64_t r = 0; r < m; r += p->rows) {
      src.set_data_handle(const_cast<float *>(a + r * im.k));
      dst.set_data_handle(c + r * im.n);
      p->primitive.execute(stream, args);
    }
    stream.wait();
  } catch (const dnnl::error &e) {
    *error = dnnl_message(e) +
             (im.inner_product ? " running inner_product [" : " running matmul [") +
             std::to_string(m) + "," + std::to_string(im.k) + "]x[" + std::to_string(im.k) + "," +
             std::to_string(im.n) + "]";
    return false;
  } catch (const std::bad_alloc &) {
    *error = "out of memory running matmul";
    return false;
  }
  return true;
}

}  // namespace si
