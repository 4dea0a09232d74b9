// Helpers shared by the op and reference-kernel tests: replayable seeds,
// tensor builders for every dtype, and a naive broadcasting index.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace si::test {

// --gtest_random_seed=N replays a failure; 0 (the default) means a fixed seed
// so CI runs are reproducible.
inline uint32_t test_seed() {
  int flag = GTEST_FLAG_GET(random_seed);
  return flag != 0 ? uint32_t(flag) : 20240611u;
}

#define SI_TRACE_SEED(seed)                     \
  SCOPED_TRACE("seed " + std::to_string(seed) + \
               " (replay with --gtest_random_seed=" + std::to_string(seed) + ")")

template <typename T>
Tensor make_tensor(DType dtype, const Shape &shape, const std::vector<T> &values) {
  Tensor t;
  if (!Tensor::allocate(dtype, shape, &t).is_ok() || size_t(t.numel()) != values.size())
    return Tensor();
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
  return t;
}

template <typename T>
std::vector<T> values_of(const Tensor &t) {
  const T *p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

inline int64_t count(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// Flat index into a tensor of shape `in` (right-aligned against `out`,
// size-1 dims broadcast) for the output position with flat index `flat`.
inline int64_t broadcast_index(const Shape &out, const Shape &in, int64_t flat) {
  int64_t idx = 0, stride = 1;
  for (size_t k = 0; k < out.size(); ++k) {
    const size_t o = out.size() - 1 - k;
    const int64_t coord = flat % out[o];
    flat /= out[o];
    if (k < in.size()) {
      const int64_t d = in[in.size() - 1 - k];
      if (d != 1) idx += coord * stride;
      stride *= d;
    }
  }
  return idx;
}

// Numpy broadcast of two shapes, the plain way.
inline bool naive_broadcast_shape(const Shape &a, const Shape &b, Shape *out) {
  Shape pa = a, pb = b;
  while (pa.size() < pb.size()) pa.insert(pa.begin(), 1);
  while (pb.size() < pa.size()) pb.insert(pb.begin(), 1);
  out->clear();
  for (size_t i = 0; i < pa.size(); ++i) {
    if (pa[i] != pb[i] && pa[i] != 1 && pb[i] != 1) return false;
    out->push_back(pa[i] == 1 ? pb[i] : pa[i]);
  }
  return true;
}

inline std::vector<float> random_floats(std::mt19937 &rng, int64_t n, float lo = -4.f,
                                        float hi = 4.f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n > 0 ? n : 0));
  for (float &x : v) x = dist(rng);
  return v;
}

// Equal values, or both NaN.
inline bool same_float(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

}  // namespace si::test
