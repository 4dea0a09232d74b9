#include "kernels/dense/dnnl_softmax.h"

#include <omp.h>

#include <array>
#include <cassert>
#include <limits>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>

#include "kernels/dense/dnnl_engine.h"
#include "kernels/ref/parallel.h"
#include "kernels/ref/softmax.h"

namespace si {

namespace {

using dt = dnnl::memory::data_type;

// Distinct shapes kept compiled per op; past it the cache starts over
// (oneDNN's own primitive cache makes re-creating a recent one cheap).
constexpr size_t kMaxCachedShapes = 64;

// The non-finite scan is a cheap read pass: worth a team only when large.
constexpr int64_t kScanParallelMin = int64_t{1} << 15;

// Whether the reference gives this row something oneDNN may not: a NaN or
// +inf anywhere (x - max is then NaN for the whole row), or only -inf (the
// max is -inf). Branch-free so it vectorises.
bool needs_reference(const float *x, int64_t n) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  int not_below_inf = 0, above_neg_inf = 0;
  for (int64_t i = 0; i < n; ++i) {
    not_below_inf |= !(x[i] < kInf);
    above_neg_inf |= x[i] > -kInf;
  }
  return not_below_inf != 0 || above_neg_inf == 0;
}

}  // namespace

struct DnnlSoftmax::Impl {
  struct Prim {
    bool fast = false;  // a jit implementation: otherwise the caller keeps the reference
    dnnl::softmax_v2_forward primitive;
    dnnl::memory::desc md, scratchpad_md;
  };

  mutable std::mutex mu;
  mutable std::map<std::array<int64_t, 3>, std::shared_ptr<const Prim>> cache;

  // Throws dnnl::error.
  std::shared_ptr<const Prim> primitive_for(int64_t rows, int64_t n) const {
    // Keyed by the team size too: oneDNN sizes a primitive's work split at creation.
    const std::array<int64_t, 3> key = {rows, n, omp_get_max_threads()};
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = cache.find(key);
      if (it != cache.end()) return it->second;
    }
    // Compiled outside the lock; a concurrent duplicate is harmless, the first insert wins.
    auto prim = std::make_shared<Prim>();
    prim->md = dnnl::memory::desc({rows, n}, dt::f32, dnnl::memory::format_tag::ab);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::softmax_v2_forward::desc d(dnnl::prop_kind::forward_inference,
                                           dnnl::algorithm::softmax_accurate, prim->md, prim->md,
                                           1);
    const dnnl::softmax_v2_forward::primitive_desc pd(d, attr, dnnl_cpu_engine());
    // "ref:any" is oneDNN's scalar loop, no faster than ours.
    prim->fast = std::string(pd.impl_info_str()).rfind("ref", 0) != 0;
    if (prim->fast) {
      prim->primitive = dnnl::softmax_v2_forward(pd);
      prim->scratchpad_md = pd.scratchpad_desc();
    }
    std::lock_guard<std::mutex> lock(mu);
    if (cache.size() >= kMaxCachedShapes) cache.clear();
    return cache.emplace(key, std::move(prim)).first->second;
  }
};

DnnlSoftmax::DnnlSoftmax() : impl_(std::make_unique<Impl>()) {}
DnnlSoftmax::~DnnlSoftmax() = default;

bool DnnlSoftmax::fast_for(int64_t rows, int64_t n) const {
  assert(rows > 0 && n > 0);
  try {
    return impl_->primitive_for(rows, n)->fast;
  } catch (const dnnl::error &) {
    return false;  // oneDNN rejects the shape: the reference runs it
  } catch (const std::bad_alloc &) {
    return false;
  }
}

bool DnnlSoftmax::run(const float *x, float *y, int64_t rows, int64_t n, int threads,
                      std::string *error) const {
  try {
    std::shared_ptr<const Impl::Prim> prim = impl_->primitive_for(rows, n);
    assert(prim->fast);
    const dnnl::engine &eng = dnnl_cpu_engine();
    dnnl::stream stream(eng);
    dnnl::memory src(prim->md, eng, const_cast<float *>(x)), dst(prim->md, eng, y);
    prim->primitive.execute(stream,
                            {{DNNL_ARG_SRC, src},
                             {DNNL_ARG_DST, dst},
                             {DNNL_ARG_SCRATCHPAD, dnnl::memory(prim->scratchpad_md, eng)}});
    stream.wait();
  } catch (const dnnl::error &e) {
    *error = dnnl_message(e) + " running Softmax";
    return false;
  } catch (const std::bad_alloc &) {
    *error = "out of memory running softmax";
    return false;
  }
  ref::parallel_ranges(rows, threads, rows * n >= kScanParallelMin ? 2 : rows + 1,
                       [&](int64_t begin, int64_t end) {
                         for (int64_t r = begin; r < end; ++r) {
                           if (!needs_reference(x + r * n, n)) continue;
                           ref::softmax_f32(x + r * n, y + r * n, 1, n, 1, 1);
                         }
                       });
  return true;
}

}  // namespace si
