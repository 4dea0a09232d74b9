// The one loop that walks a BroadcastPlan: y[i] = f(a[...], b[...]) for every
// output position i (or y[i] = f(a[...], b[...], y[i]) when updating), split
// over threads by output range. Arithmetic, comparisons, Pow, Max/Min, PRelu
// and Where all run through it.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/ref/broadcast.h"
#include "kernels/ref/parallel.h"

namespace si::ref {

template <bool kUpdate, typename TA, typename TB, typename TY, typename F>
inline TY broadcast_call(const F &f, TA a, TB b, const TY *y) {
  if constexpr (kUpdate)
    return f(a, b, *y);
  else
    return f(a, b);
}

// The innermost group has stride 1 or 0 per operand (0 = broadcast scalar),
// so four loop shapes cover everything and each vectorises.
template <bool kUpdate, typename TA, typename TB, typename TY, typename F>
inline void broadcast_inner_run(const TA *a, int64_t sa, const TB *b, int64_t sb, TY *y, int64_t n,
                                const F &f) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) y[i] = broadcast_call<kUpdate>(f, a[i], b[i], y + i);
  } else if (sb == 1) {
    const TA av = a[0];
    for (int64_t i = 0; i < n; ++i) y[i] = broadcast_call<kUpdate>(f, av, b[i], y + i);
  } else if (sa == 1) {
    const TB bv = b[0];
    for (int64_t i = 0; i < n; ++i) y[i] = broadcast_call<kUpdate>(f, a[i], bv, y + i);
  } else {  // both broadcast: the output outgrows them (Where's third operand)
    const TA av = a[0];
    const TB bv = b[0];
    for (int64_t i = 0; i < n; ++i) y[i] = broadcast_call<kUpdate>(f, av, bv, y + i);
  }
}

// y may alias a (or b) when that operand has the output's own shape: each
// y[i] is written after reading the operand's element i only.
template <bool kUpdate = false, typename TA, typename TB, typename TY, typename F>
void broadcast_apply(const BroadcastPlan &p, const TA *a, const TB *b, TY *y, int threads,
                     int64_t min_parallel, F f) {
  const size_t rank = p.dims.size();
  const int64_t inner = p.dims[rank - 1];
  const int64_t sa = p.a_strides[rank - 1];
  const int64_t sb = p.b_strides[rank - 1];
  parallel_ranges(p.numel, threads, min_parallel, [&](int64_t begin, int64_t end) {
    // Locate `begin` in the outer odometer, then walk row by row.
    std::vector<int64_t> idx(rank, 0);
    int64_t row = begin / inner;
    int64_t col = begin % inner;
    int64_t ao = 0, bo = 0;
    for (size_t k = rank - 1; k-- > 0;) {
      idx[k] = row % p.dims[k];
      row /= p.dims[k];
      ao += idx[k] * p.a_strides[k];
      bo += idx[k] * p.b_strides[k];
    }
    int64_t e = begin;
    while (e < end) {
      int64_t len = inner - col < end - e ? inner - col : end - e;
      broadcast_inner_run<kUpdate>(a + ao + col * sa, sa, b + bo + col * sb, sb, y + e, len, f);
      e += len;
      col = 0;
      for (size_t k = rank - 1; k-- > 0;) {
        ao += p.a_strides[k];
        bo += p.b_strides[k];
        if (++idx[k] < p.dims[k]) break;
        ao -= p.a_strides[k] * p.dims[k];
        bo -= p.b_strides[k] * p.dims[k];
        idx[k] = 0;
      }
    }
  });
}

// y[i] = f(a[...], b[...], y[i]): a third operand that already has the
// output's shape (Where's else-branch, copied in first).
template <typename TA, typename TB, typename TY, typename F>
void broadcast_update(const BroadcastPlan &p, const TA *a, const TB *b, TY *y, int threads,
                      int64_t min_parallel, F f) {
  broadcast_apply<true>(p, a, b, y, threads, min_parallel, f);
}

}  // namespace si::ref
