#include "kernels/dense/dnnl_batch_matmul.h"

#include <omp.h>

#include <cassert>
#include <map>
#include <mutex>
#include <new>
#include <utility>

#include "kernels/dense/dnnl_engine.h"

namespace si {

namespace {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

// Distinct shape pairs kept compiled per op; past it the cache starts over
// (oneDNN's own primitive cache makes re-creating a recent one cheap).
constexpr size_t kMaxCachedShapes = 64;

dnnl::memory::desc plain_md(const dims &d) {
  dims s(d.size(), 1);
  for (size_t i = d.size(); i-- > 1;) s[i - 1] = s[i] * d[i];
  return dnnl::memory::desc(d, dt::f32, s);
}

}  // namespace

struct DnnlBatchMatmul::Impl {
  struct Prim {
    bool fast = false;  // not oneDNN's reference loop: otherwise the caller keeps kernels/ref
    dnnl::matmul primitive;
    dnnl::memory::desc a_md, b_md, c_md, scratchpad_md;
  };

  mutable std::mutex mu;
  mutable std::map<std::vector<int64_t>, std::shared_ptr<const Prim>> cache;

  // Throws dnnl::error.
  std::shared_ptr<const Prim> primitive_for(const dims &a, const dims &b) const {
    assert(a.size() == b.size() && a.size() >= 2);
    // Keyed by the team size too: oneDNN sizes a primitive's work split at creation.
    std::vector<int64_t> key(a);
    key.insert(key.end(), b.begin(), b.end());
    key.push_back(omp_get_max_threads());
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = cache.find(key);
      if (it != cache.end()) return it->second;
    }
    // Compiled outside the lock; a concurrent duplicate is harmless, the first insert wins.
    auto prim = std::make_shared<Prim>();
    const size_t r = a.size();
    dims c(r);
    for (size_t i = 0; i + 2 < r; ++i) c[i] = a[i] == 1 ? b[i] : a[i];
    c[r - 2] = a[r - 2];
    c[r - 1] = b[r - 1];
    prim->a_md = plain_md(a);
    prim->b_md = plain_md(b);
    prim->c_md = plain_md(c);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    try {
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(prim->a_md, prim->b_md, prim->c_md),
                                            attr, dnnl_cpu_engine());
      // "ref:any" is a scalar loop, no faster than kernels/ref.
      prim->fast = std::string(pd.impl_info_str()).rfind("ref", 0) != 0;
      if (prim->fast) {
        prim->primitive = dnnl::matmul(pd);
        prim->scratchpad_md = pd.scratchpad_desc();
      }
    } catch (const dnnl::error &) {
      // A shape or broadcast oneDNN does not take: cached as not fast, so the
      // reference runs it without asking oneDNN again.
    }
    std::lock_guard<std::mutex> lock(mu);
    if (cache.size() >= kMaxCachedShapes) cache.clear();
    return cache.emplace(std::move(key), std::move(prim)).first->second;
  }
};

DnnlBatchMatmul::DnnlBatchMatmul() : impl_(std::make_unique<Impl>()) {}
DnnlBatchMatmul::~DnnlBatchMatmul() = default;

bool DnnlBatchMatmul::fast_for(const std::vector<int64_t> &a_dims,
                               const std::vector<int64_t> &b_dims) const {
  try {
    return impl_->primitive_for(a_dims, b_dims)->fast;
  } catch (const dnnl::error &) {
    return false;
  } catch (const std::bad_alloc &) {
    return false;
  }
}

bool DnnlBatchMatmul::run(const std::vector<int64_t> &a_dims, const std::vector<int64_t> &b_dims,
                          const float *a, const float *b, float *c, std::string *error) const {
  try {
    std::shared_ptr<const Impl::Prim> prim = impl_->primitive_for(a_dims, b_dims);
    assert(prim->fast);
    const dnnl::engine &eng = dnnl_cpu_engine();
    dnnl::stream stream(eng);
    prim->primitive.execute(
        stream, {{DNNL_ARG_SRC, dnnl::memory(prim->a_md, eng, const_cast<float *>(a))},
                 {DNNL_ARG_WEIGHTS, dnnl::memory(prim->b_md, eng, const_cast<float *>(b))},
                 {DNNL_ARG_DST, dnnl::memory(prim->c_md, eng, c)},
                 {DNNL_ARG_SCRATCHPAD, dnnl::memory(prim->scratchpad_md, eng)}});
    stream.wait();
  } catch (const dnnl::error &e) {
    *error = dnnl_message(e) + " running MatMul";
    return false;
  } catch (const std::bad_alloc &) {
    *error = "out of memory running MatMul";
    return false;
  }
  return true;
}

}  // namespace si
