#include "kernels/dense/dnnl_pool.h"

#include <cassert>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kernels/dense/dnnl_engine.h"

namespace si {

namespace {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;

// Distinct problems kept compiled; past it the cache starts over.
constexpr size_t kMaxCachedShapes = 64;

dnnl::memory::desc md(int64_t batch, int64_t channels, const int64_t *sp, int rank, int block) {
  dims d = {batch, channels};
  for (int i = 0; i < rank; ++i) d.push_back(sp[i]);
  static const tag plain[] = {tag::abc, tag::abcd, tag::abcde};
  static const tag k8[] = {tag::aBc8b, tag::aBcd8b, tag::aBcde8b};
  static const tag k16[] = {tag::aBc16b, tag::aBcd16b, tag::aBcde16b};
  const tag *t = block == 0 ? plain : block == 8 ? k8 : k16;
  return dnnl::memory::desc(d, dt::f32, t[rank - 1]);
}

dims to_dims(const int64_t *v, int rank, int64_t minus = 0) {
  dims d;
  for (int i = 0; i < rank; ++i) d.push_back(v[i] - minus);
  return d;
}

}  // namespace

struct DnnlMaxPool::Impl {
  struct Prim {
    dnnl::primitive primitive;
    dnnl::memory::desc src_md, dst_md, scratchpad_md;
  };
  int block = 0;
  mutable std::mutex mu;
  mutable std::map<std::vector<int64_t>, std::shared_ptr<const Prim>> cache;

  static std::vector<int64_t> key(const ref::PoolParams &p, int64_t batch, int64_t channels) {
    std::vector<int64_t> k = {batch, channels};
    for (int i = 0; i < p.rank; ++i) {
      k.push_back(p.in[i]);
      k.push_back(p.out[i]);
      k.push_back(p.pad_begin[i]);
      k.push_back(p.pad_end[i]);
    }
    return k;
  }

  // Throws dnnl::error.
  std::shared_ptr<const Prim> compile(const ref::PoolParams &p, int64_t batch,
                                      int64_t channels) const {
    auto prim = std::make_shared<Prim>();
    prim->src_md = md(batch, channels, p.in, p.rank, block);
    prim->dst_md = md(batch, channels, p.out, p.rank, block);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::pooling_v2_forward::desc d(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, prim->src_md,
        prim->dst_md, to_dims(p.stride, p.rank), to_dims(p.kernel, p.rank),
        to_dims(p.dilation, p.rank, 1), to_dims(p.pad_begin, p.rank), to_dims(p.pad_end, p.rank));
    const dnnl::pooling_v2_forward::primitive_desc pd(d, attr, dnnl_cpu_engine());
    prim->scratchpad_md = pd.scratchpad_desc();
    prim->primitive = dnnl::pooling_v2_forward(pd);
    return prim;
  }

  std::shared_ptr<const Prim> primitive_for(const ref::PoolParams &p, int64_t batch,
                                            int64_t channels) const {
    const std::vector<int64_t> k = key(p, batch, channels);
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = cache.find(k);
      if (it != cache.end()) return it->second;
    }
    // Compiled outside the lock; a concurrent duplicate is harmless.
    std::shared_ptr<const Prim> prim = compile(p, batch, channels);
    std::lock_guard<std::mutex> lock(mu);
    if (cache.size() >= kMaxCachedShapes) cache.clear();
    return cache.emplace(k, std::move(prim)).first->second;
  }
};

DnnlMaxPool::DnnlMaxPool(int block) : impl_(std::make_unique<Impl>()) {
  impl_->block = block;
}
DnnlMaxPool::~DnnlMaxPool() = default;

bool DnnlMaxPool::run(const ref::PoolParams &p, int64_t batch, int64_t channels, const float *x,
                      float *y, std::string *error) const {
  assert(p.rank >= 1 && p.rank <= ref::kMaxPoolSpatial);
  assert(impl_->block == 0 || channels % impl_->block == 0);
  try {
    std::shared_ptr<const Impl::Prim> prim = impl_->primitive_for(p, batch, channels);
    const dnnl::engine &eng = dnnl_cpu_engine();
    dnnl::stream stream(eng);
    std::unordered_map<int, dnnl::memory> args = {
        {DNNL_ARG_SRC, dnnl::memory(prim->src_md, eng, const_cast<float *>(x))},
        {DNNL_ARG_DST, dnnl::memory(prim->dst_md, eng, y)},
        {DNNL_ARG_SCRATCHPAD, dnnl::memory(prim->scratchpad_md, eng)}};
    prim->primitive.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error &e) {
    *error = dnnl_message(e) + " running MaxPool";
    return false;
  } catch (const std::bad_alloc &) {
    *error = "out of memory running MaxPool";
    return false;
  }
  return true;
}

}  // namespace si
