#include "kernels/ref/reduce.h"

#include <cassert>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/ref/broadcast.h"
#include "kernels/ref/parallel.h"

namespace si::ref {

namespace {

// Walks x in row-major order calling acc[o] = f(acc[o], x[i], o), where o is
// the output position of x[i]. A broadcast plan of (x, kept shape) -> x
// gives o's strides (0 along reduced dims) with runs of equal pattern merged,
// so the innermost loop is either a plain reduction or a plain row update.
template <typename T, typename Acc, typename F>
void fold(const std::vector<int64_t> &shape, const std::vector<bool> &reduced, const T *x, Acc *acc,
          F f) {
  std::vector<int64_t> kept = shape;
  for (size_t d = 0; d < shape.size(); ++d)
    if (reduced[d]) kept[d] = 1;
  const BroadcastPlan p = make_broadcast_plan(shape, kept, shape);
  if (p.numel == 0) return;
  const size_t rank = p.dims.size();
  const int64_t inner = p.dims[rank - 1];
  const int64_t so = p.b_strides[rank - 1];
  std::vector<int64_t> idx(rank, 0);
  int64_t o = 0;
  for (int64_t i = 0; i < p.numel; i += inner) {
    const T *xi = x + i;
    if (so == 0) {
      Acc s = acc[o];
      for (int64_t j = 0; j < inner; ++j) s = f(s, xi[j], o);
      acc[o] = s;
    } else {
      for (int64_t j = 0; j < inner; ++j) acc[o + j] = f(acc[o + j], xi[j], o + j);
    }
    for (size_t k = rank - 1; k-- > 0;) {
      o += p.b_strides[k];
      if (++idx[k] < p.dims[k]) break;
      o -= p.b_strides[k] * p.dims[k];
      idx[k] = 0;
    }
  }
}

void counts(const std::vector<int64_t> &shape, const std::vector<bool> &reduced, int64_t *n_out,
            int64_t *n_reduced) {
  *n_out = 1;
  *n_reduced = 1;
  for (size_t d = 0; d < shape.size(); ++d) (reduced[d] ? *n_reduced : *n_out) *= shape[d];
}

void reduce_float(ReduceOp op, const std::vector<int64_t> &shape, const std::vector<bool> &reduced,
                  const float *x, float *y) {
  int64_t n_out, n_red;
  counts(shape, reduced, &n_out, &n_red);
  if (n_out == 0) return;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<double> acc(size_t(n_out), 0.0);
  std::vector<double> shift;
  auto sum = [](double a, float v, int64_t) { return a + double(v); };
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kMean:
    case ReduceOp::kLogSum:
      fold(shape, reduced, x, acc.data(), sum);
      break;
    case ReduceOp::kMax:
      acc.assign(acc.size(), -kInf);
      // `v != v` is the NaN test: a NaN v replaces, a NaN a is never replaced.
      fold(shape, reduced, x, acc.data(),
           [](double a, float v, int64_t) { return (a < double(v) || v != v) ? double(v) : a; });
      break;
    case ReduceOp::kMin:
      acc.assign(acc.size(), kInf);
      fold(shape, reduced, x, acc.data(),
           [](double a, float v, int64_t) { return (a > double(v) || v != v) ? double(v) : a; });
      break;
    case ReduceOp::kProd:
      acc.assign(acc.size(), 1.0);
      fold(shape, reduced, x, acc.data(), [](double a, float v, int64_t) { return a * double(v); });
      break;
    case ReduceOp::kL1:
      fold(shape, reduced, x, acc.data(),
           [](double a, float v, int64_t) { return a + std::fabs(double(v)); });
      break;
    case ReduceOp::kL2:
    case ReduceOp::kSumSquare:
      fold(shape, reduced, x, acc.data(),
           [](double a, float v, int64_t) { return a + double(v) * double(v); });
      break;
    case ReduceOp::kLogSumExp: {
      shift.assign(size_t(n_out), -kInf);
      fold(shape, reduced, x, shift.data(),
           [](double a, float v, int64_t) { return (a < double(v) || v != v) ? double(v) : a; });
      // Shifting by an infinite or NaN max would turn exact answers into NaN;
      // unshifted, exp gives them directly (all -inf -> -inf, any +inf -> inf).
      for (double &s : shift)
        if (!std::isfinite(s)) s = 0.0;
      const double *sh = shift.data();
      fold(shape, reduced, x, acc.data(),
           [sh](double a, float v, int64_t o) { return a + std::exp(double(v) - sh[o]); });
      break;
    }
  }
  for (int64_t j = 0; j < n_out; ++j) {
    double r = acc[size_t(j)];
    switch (op) {
      case ReduceOp::kMean:
        r /= double(n_red);
        break;
      case ReduceOp::kL2:
        r = std::sqrt(r);
        break;
      case ReduceOp::kLogSum:
        r = std::log(r);
        break;
      case ReduceOp::kLogSumExp:
        r = std::log(r) + shift[size_t(j)];
        break;
      default:
        break;
    }
    y[j] = float(r);
  }
}

// Integer sums wrap: accumulate in uint64 (the low bits of the wrapped T
// result are those of the wrapped 64-bit one), compare in int64.
template <typename T>
void reduce_int(ReduceOp op, const std::vector<int64_t> &shape, const std::vector<bool> &reduced,
                const T *x, T *y) {
  int64_t n_out, n_red;
  counts(shape, reduced, &n_out, &n_red);
  if (n_out == 0) return;
  std::vector<uint64_t> acc(size_t(n_out), 0);
  using S = int64_t;
  auto u = [](T v) { return uint64_t(S(v)); };
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kMean:
      fold(shape, reduced, x, acc.data(), [u](uint64_t a, T v, int64_t) { return a + u(v); });
      break;
    case ReduceOp::kMax:
      acc.assign(acc.size(), uint64_t(S(std::numeric_limits<T>::lowest())));
      fold(shape, reduced, x, acc.data(),
           [u](uint64_t a, T v, int64_t) { return S(a) < S(v) ? u(v) : a; });
      break;
    case ReduceOp::kMin:
      acc.assign(acc.size(), uint64_t(S(std::numeric_limits<T>::max())));
      fold(shape, reduced, x, acc.data(),
           [u](uint64_t a, T v, int64_t) { return S(a) > S(v) ? u(v) : a; });
      break;
    case ReduceOp::kProd:
      acc.assign(acc.size(), 1);
      fold(shape, reduced, x, acc.data(), [u](uint64_t a, T v, int64_t) { return a * u(v); });
      break;
    case ReduceOp::kL1:
      fold(shape, reduced, x, acc.data(),
           [u](uint64_t a, T v, int64_t) { return v < 0 ? a - u(v) : a + u(v); });
      break;
    case ReduceOp::kSumSquare:
      fold(shape, reduced, x, acc.data(),
           [u](uint64_t a, T v, int64_t) { return a + u(v) * u(v); });
      break;
    default:
      assert(false && "integer reduction not supported");
      return;
  }
  for (int64_t j = 0; j < n_out; ++j) {
    uint64_t r = acc[size_t(j)];
    // Mean of the wrapped sum, read back as signed; n_red is 0 only when the
    // input is empty, where the integer mean has no value: give 0.
    if (op == ReduceOp::kMean) r = n_red == 0 ? 0 : uint64_t(S(r) / n_red);
    y[j] = T(r);
  }
}

template <typename T>
bool arg_better(bool is_max, bool select_last, T v, T best) {
  if constexpr (std::is_floating_point_v<T>) {
    if (v != v) return select_last || best == best;  // NaN wins; among NaNs, first or last
    if (best != best) return false;
  }
  if (select_last) return is_max ? v >= best : v <= best;
  return is_max ? v > best : v < best;
}

template <typename T>
void arg_reduce(bool is_max, bool select_last, const T *x, int64_t outer, int64_t n, int64_t inner,
                int64_t *y, int threads) {
  assert(n >= 1);
  const int64_t per_outer = n * inner > 0 ? n * inner : 1;
  const int64_t min_outer = kElementwiseParallelMin / per_outer + 1;
  parallel_ranges(outer, threads, min_outer, [&](int64_t begin, int64_t end) {
    std::vector<T> best(static_cast<size_t>(inner));
    for (int64_t o = begin; o < end; ++o) {
      const T *xo = x + o * n * inner;
      int64_t *yo = y + o * inner;
      for (int64_t i = 0; i < inner; ++i) {
        best[size_t(i)] = xo[i];
        yo[i] = 0;
      }
      for (int64_t k = 1; k < n; ++k) {
        const T *row = xo + k * inner;
        for (int64_t i = 0; i < inner; ++i) {
          if (arg_better(is_max, select_last, row[i], best[size_t(i)])) {
            best[size_t(i)] = row[i];
            yo[i] = k;
          }
        }
      }
    }
  });
}

}  // namespace

bool reduce_int_supported(ReduceOp op) {
  return op == ReduceOp::kSum || op == ReduceOp::kMean || op == ReduceOp::kMax ||
         op == ReduceOp::kMin || op == ReduceOp::kProd || op == ReduceOp::kL1 ||
         op == ReduceOp::kSumSquare;
}

void reduce_f32(ReduceOp op, const std::vector<int64_t> &shape, const std::vector<bool> &reduced,
                const float *x, float *y) {
  reduce_float(op, shape, reduced, x, y);
}
void reduce_i32(ReduceOp op, const std::vector<int64_t> &shape, const std::vector<bool> &reduced,
                const int32_t *x, int32_t *y) {
  reduce_int(op, shape, reduced, x, y);
}
void reduce_i64(ReduceOp op, const std::vector<int64_t> &shape, const std::vector<bool> &reduced,
                const int64_t *x, int64_t *y) {
  reduce_int(op, shape, reduced, x, y);
}

void arg_reduce_f32(bool is_max, bool select_last, const float *x, int64_t outer, int64_t n,
                    int64_t inner, int64_t *y, int threads) {
  arg_reduce(is_max, select_last, x, outer, n, inner, y, threads);
}
void arg_reduce_i8(bool is_max, bool select_last, const int8_t *x, int64_t outer, int64_t n,
                   int64_t inner, int64_t *y, int threads) {
  arg_reduce(is_max, select_last, x, outer, n, inner, y, threads);
}
void arg_reduce_u8(bool is_max, bool select_last, const uint8_t *x, int64_t outer, int64_t n,
                   int64_t inner, int64_t *y, int threads) {
  arg_reduce(is_max, select_last, x, outer, n, inner, y, threads);
}
void arg_reduce_i32(bool is_max, bool select_last, const int32_t *x, int64_t outer, int64_t n,
                    int64_t inner, int64_t *y, int threads) {
  arg_reduce(is_max, select_last, x, outer, n, inner, y, threads);
}
void arg_reduce_i64(bool is_max, bool select_last, const int64_t *x, int64_t outer, int64_t n,
                    int64_t inner, int64_t *y, int threads) {
  arg_reduce(is_max, select_last, x, outer, n, inner, y, threads);
}

}  // namespace si::ref
