// Data-movement ops (Transpose, Slice, Split, Expand, Tile, Pad, Size,
// ConstantOfShape, Range, Einsum) through a real Session, each against a
// naive per-element reference written independently here.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <numeric>
#include <random>

#include "engine/ops/registry.h"
#include "kernels/ref/transpose.h"
#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();

const DType kAllTypes[] = {DType::kFloat32, DType::kInt64, DType::kInt32,
                           DType::kInt8,    DType::kUint8, DType::kBool};

Status run(const std::string &op, int opset, std::vector<Tensor> inputs, std::vector<Tensor> *out,
           std::map<std::string, Attribute> attrs = {}, std::vector<bool> constant = {},
           int num_outputs = 1) {
  OpSpec spec;
  spec.op_type = op;
  spec.opset = opset;
  spec.attrs = std::move(attrs);
  spec.inputs = std::move(inputs);
  spec.constant = std::move(constant);
  spec.num_outputs = num_outputs;
  return run_op(spec, out);
}

// Random contents of any dtype: bools are 0/1, everything else random bytes
// (floats from a range, so no NaN patterns hide mismatches).
Tensor random_tensor(std::mt19937 &rng, DType t, const Shape &shape) {
  Tensor x;
  EXPECT_TRUE(Tensor::allocate(t, shape, &x).is_ok());
  if (t == DType::kFloat32) {
    std::vector<float> v = random_floats(rng, x.numel());
    std::copy(v.begin(), v.end(), x.data<float>());
  } else {
    uint8_t *p = x.data<uint8_t>();
    for (size_t i = 0; i < x.size_bytes(); ++i)
      p[i] = t == DType::kBool ? uint8_t(rng() & 1) : uint8_t(rng());
  }
  return x;
}

Shape random_shape(std::mt19937 &rng, int rank, int64_t max_dim, bool allow_zero) {
  Shape s;
  for (int i = 0; i < rank; ++i)
    s.push_back(int64_t(rng() % uint32_t(max_dim + (allow_zero ? 1 : 0))) + (allow_zero ? 0 : 1));
  return s;
}

std::vector<int64_t> coords_of(int64_t flat, const Shape &s) {
  std::vector<int64_t> c(s.size());
  for (size_t i = s.size(); i-- > 0;) {
    c[i] = flat % s[i];
    flat /= s[i];
  }
  return c;
}

int64_t flat_of(const std::vector<int64_t> &c, const Shape &s) {
  int64_t f = 0;
  for (size_t i = 0; i < s.size(); ++i) f = f * s[i] + c[i];
  return f;
}

bool same_element(const Tensor &a, int64_t i, const Tensor &b, int64_t j) {
  const size_t e = dtype_size(a.dtype());
  return std::memcmp(static_cast<const char *>(a.raw()) + size_t(i) * e,
                     static_cast<const char *>(b.raw()) + size_t(j) * e, e) == 0;
}

// y must equal, element by element, x at source(output coords); source
// returns -1 for "fill with `fill`" positions.
template <typename Source>
void expect_gathered(const Tensor &x, const Tensor &y, const Shape &want, Source source,
                     const Tensor *fill = nullptr) {
  ASSERT_EQ(y.shape(), want);
  ASSERT_EQ(y.dtype(), x.dtype());
  for (int64_t f = 0; f < y.numel(); ++f) {
    const std::vector<int64_t> c = coords_of(f, want);
    const int64_t src = source(c);
    if (src < 0) {
      ASSERT_NE(fill, nullptr);
      ASSERT_TRUE(same_element(*fill, 0, y, f)) << "fill expected at output " << f;
    } else {
      ASSERT_TRUE(same_element(x, src, y, f)) << "output " << f << " should be input " << src;
    }
  }
}

Tensor i64(const std::vector<int64_t> &v) {
  return make_i64({int64_t(v.size())}, v);
}

// ------------------------------------------------------------------ kernels

TEST(StridedCopy, AllElementSizesAgainstIndexLoop) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (size_t elem : {1, 2, 3, 4, 8, 12}) {
    for (int iter = 0; iter < 40; ++iter) {
      const int rank = int(rng() % 5);
      const Shape shape = random_shape(rng, rank, 40 / (rank + 1) + 2, iter % 7 == 0);
      std::vector<int64_t> perm(static_cast<size_t>(rank));
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      const int64_t n = count(shape);
      std::vector<uint8_t> x(size_t(n) * elem), y(size_t(n) * elem, 0xAB);
      for (uint8_t &b : x) b = uint8_t(rng());
      ref::transpose_bytes(x.data(), shape.data(), perm.data(), perm.size(), elem, y.data());
      Shape out(perm.size());
      for (size_t k = 0; k < perm.size(); ++k) out[k] = shape[size_t(perm[k])];
      for (int64_t f = 0; f < n; ++f) {
        const std::vector<int64_t> c = coords_of(f, out);
        std::vector<int64_t> src(c.size());
        for (size_t k = 0; k < c.size(); ++k) src[size_t(perm[k])] = c[k];
        ASSERT_EQ(std::memcmp(&y[size_t(f) * elem], &x[size_t(flat_of(src, shape)) * elem], elem),
                  0)
            << "elem " << elem << " shape " << shape_str(shape) << " perm " << shape_str(perm);
      }
    }
  }
}

// ------------------------------------------------------------------ Transpose

TEST(OpsTranspose, RandomPermutationsAllDtypes) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (DType t : kAllTypes) {
    for (int iter = 0; iter < 30; ++iter) {
      const int rank = int(rng() % 6);
      const Shape shape = random_shape(rng, rank, 5, iter % 9 == 0);
      std::vector<int64_t> perm(static_cast<size_t>(rank));
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      const bool given = iter % 4 != 0;
      if (!given) {  // the default reverses the axes
        std::iota(perm.begin(), perm.end(), 0);
        std::reverse(perm.begin(), perm.end());
      }
      const Tensor x = random_tensor(rng, t, shape);
      std::vector<Tensor> out;
      std::map<std::string, Attribute> attrs;
      if (given) attrs["perm"] = attr_ints(perm);
      ASSERT_TRUE(run("Transpose", 13, {x}, &out, attrs).is_ok());
      Shape want;
      for (int64_t p : perm) want.push_back(shape[size_t(p)]);
      SCOPED_TRACE(shape_str(shape) + " perm " + shape_str(perm));
      expect_gathered(x, out[0], want, [&](const std::vector<int64_t> &c) {
        std::vector<int64_t> src(c.size());
        for (size_t k = 0; k < c.size(); ++k) src[size_t(perm[k])] = c[k];
        return flat_of(src, shape);
      });
    }
  }
}

TEST(OpsTranspose, LayoutPermutationsAcrossTileEdges) {
  std::mt19937 rng(test_seed());
  // NCHW<->NHWC and 2-D with sizes below, at and above the 32-wide tile.
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{2, 37, 33, 35}, {0, 2, 3, 1}},
      {{2, 33, 35, 37}, {0, 3, 1, 2}},
      {{64, 31}, {1, 0}},
      {{1, 65, 32}, {0, 2, 1}},
      {{3, 1, 70, 1, 5}, {4, 1, 2, 3, 0}},
      // Attention's kᵀ: the source stride is 4 KiB (the tile walks the
      // output side then), and a case where both sides are.
      {{1, 33, 16, 64}, {0, 2, 3, 1}},
      {{1, 1024, 1024}, {0, 2, 1}},
  };
  for (const auto &shape_perm : cases) {
    // Named references, not a structured binding: C++17 lambdas cannot capture
    // those (clang rejects it).
    const Shape &shape = shape_perm.first;
    const std::vector<int64_t> &perm = shape_perm.second;
    const Tensor x = random_tensor(rng, DType::kFloat32, shape);
    std::vector<Tensor> out;
    ASSERT_TRUE(run("Transpose", 13, {x}, &out, {{"perm", attr_ints(perm)}}).is_ok());
    Shape want;
    for (int64_t p : perm) want.push_back(shape[size_t(p)]);
    expect_gathered(x, out[0], want, [&](const std::vector<int64_t> &c) {
      std::vector<int64_t> src(c.size());
      for (size_t k = 0; k < c.size(); ++k) src[size_t(perm[k])] = c[k];
      return flat_of(src, shape);
    });
  }
}

TEST(OpsTranspose, OrderKeepingPermIsAView) {
  const Tensor x = make_f32({1, 4, 1, 3}, std::vector<float>(12, 1.f));
  std::vector<Tensor> out;
  ASSERT_TRUE(run("Transpose", 13, {x}, &out, {{"perm", attr_ints({2, 1, 0, 3})}}).is_ok());
  EXPECT_EQ(out[0].shape(), Shape({1, 4, 1, 3}));
  EXPECT_EQ(out[0].raw(), x.raw());
  EXPECT_EQ(find_op("", "Transpose", 13)->zeros.kind, ZeroKind::kZerosIfAllInputsZero);
}

TEST(OpsTranspose, BadPermutations) {
  const Tensor x = make_f32({2, 3}, {0, 1, 2, 3, 4, 5});
  for (const std::vector<int64_t> &perm :
       std::vector<std::vector<int64_t>>{{0, 0}, {0}, {0, 1, 2}, {0, 2}, {-1, 0}}) {
    std::vector<Tensor> out;
    Status s = run("Transpose", 13, {x}, &out, {{"perm", attr_ints(perm)}});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
    EXPECT_NE(s.message().find(shape_str(perm)), std::string::npos) << s.message();
  }
}

// ------------------------------------------------------------------ Slice

// Python's slice.indices() as the index list, with the one place the ONNX
// spec differs: with a negative step, a start below -len clamps to 0 (spec:
// "[0, dims - 1] for negative stepping") where Python takes -1 (empty).
std::vector<int64_t> python_slice(int64_t len, int64_t start, int64_t stop, int64_t step) {
  const __int128 n = len, st = step;
  __int128 b = start, e = stop;
  const __int128 lo = st < 0 ? -1 : 0, hi = st < 0 ? n - 1 : n;
  if (b < 0)
    b = std::max(b + n, st < 0 && n > 0 ? __int128(0) : lo);
  else if (b > hi)
    b = hi;
  if (e < 0)
    e = std::max(e + n, lo);
  else if (e > hi)
    e = hi;
  std::vector<int64_t> idx;
  for (__int128 i = b; st > 0 ? i < e : i > e; i += st) idx.push_back(int64_t(i));
  return idx;
}

int64_t random_bound(std::mt19937 &rng, int64_t dim) {
  switch (rng() % 8) {
    case 0:
      return kI64Max;
    case 1:
      return kI64Min;
    case 2:
      return -kI64Max;
    default:
      return int64_t(rng() % uint32_t(2 * dim + 7)) - dim - 3;
  }
}

TEST(OpsSlice, RandomAgainstPythonSlicing) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const int64_t steps_pool[] = {1, 1, 2, 3, -1, -1, -2, -3, kI64Max, kI64Min};
  for (int iter = 0; iter < 400; ++iter) {
    const int opset = iter % 3 == 0 ? 9 : (iter % 3 == 1 ? 10 : 13);
    const int rank = 1 + int(rng() % 4);
    const Shape shape = random_shape(rng, rank, 6, iter % 11 == 0);
    const DType t = kAllTypes[rng() % 6];
    const Tensor x = random_tensor(rng, t, shape);
    std::vector<int64_t> axes(static_cast<size_t>(rank));
    std::iota(axes.begin(), axes.end(), 0);
    std::shuffle(axes.begin(), axes.end(), rng);
    axes.resize(1 + rng() % uint32_t(rank));
    const bool with_axes = rng() % 4 != 0;
    if (!with_axes)  // default axes: 0..n-1
      for (size_t i = 0; i < axes.size(); ++i) axes[i] = int64_t(i);
    const bool with_steps = opset >= 10 && rng() % 3 != 0;
    std::vector<int64_t> starts, ends, steps, given_axes;
    for (int64_t a : axes) {
      starts.push_back(random_bound(rng, shape[size_t(a)]));
      ends.push_back(random_bound(rng, shape[size_t(a)]));
      steps.push_back(with_steps ? steps_pool[rng() % 10] : 1);
      given_axes.push_back(rng() % 2 ? a - rank : a);  // negative axes too
    }
    std::vector<std::vector<int64_t>> picks(static_cast<size_t>(rank));
    Shape want = shape;
    for (int64_t a = 0; a < rank; ++a) {
      picks[size_t(a)].resize(size_t(shape[size_t(a)]));
      std::iota(picks[size_t(a)].begin(), picks[size_t(a)].end(), 0);
    }
    for (size_t i = 0; i < axes.size(); ++i) {
      picks[size_t(axes[i])] = python_slice(shape[size_t(axes[i])], starts[i], ends[i], steps[i]);
      want[size_t(axes[i])] = int64_t(picks[size_t(axes[i])].size());
    }
    std::vector<Tensor> out;
    Status s;
    SCOPED_TRACE("opset " + std::to_string(opset) + " data " + shape_str(shape) + " starts " +
                 shape_str(starts) + " ends " + shape_str(ends) + " axes " + shape_str(given_axes) +
                 " steps " + shape_str(steps));
    if (opset == 9) {
      std::map<std::string, Attribute> attrs = {{"starts", attr_ints(starts)},
                                                {"ends", attr_ints(ends)}};
      if (with_axes) attrs["axes"] = attr_ints(given_axes);
      s = run("Slice", 9, {x}, &out, attrs);
    } else {
      std::vector<Tensor> in = {x, i64(starts), i64(ends)};
      if (with_axes || with_steps) in.push_back(with_axes ? i64(given_axes) : Tensor());
      if (with_steps) in.push_back(i64(steps));
      s = run("Slice", opset, in, &out, {}, {false, rng() % 2 == 0, false, true, false});
    }
    ASSERT_TRUE(s.is_ok()) << s.message();
    expect_gathered(x, out[0], want, [&](const std::vector<int64_t> &c) {
      std::vector<int64_t> src(c.size());
      for (size_t k = 0; k < c.size(); ++k) src[k] = picks[k][size_t(c[k])];
      return flat_of(src, shape);
    });
  }
}

TEST(OpsSlice, ClampingCases) {
  // data 0..9 along one axis; each row: start, end, step, expected indices.
  struct Case {
    int64_t start, end, step;
    std::vector<int64_t> want;
  };
  const std::vector<Case> cases = {
      {2, 5, 1, {2, 3, 4}},
      {-3, kI64Max, 1, {7, 8, 9}},                             // negative start, INT64_MAX end
      {-100, 3, 1, {0, 1, 2}},                                 // start below -dim clamps to 0
      {20, 30, 1, {}},                                         // start past the end
      {5, 2, 1, {}},                                           // empty forward range
      {kI64Max, kI64Min, -1, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},  // full reverse
      {-1, -11, -1, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},           // end -11 clamps to -1
      {20, 5, -2, {9, 7}},                                     // start past the end clamps to dim-1
      {8, -100, -3, {8, 5, 2}},                                // negative step, end below -dim
      {0, 10, kI64Max, {0}},                                   // huge step
      {9, 0, kI64Min, {9}},                                    // most negative step
      {-5, -2, 1, {5, 6, 7}},
  };
  std::vector<float> v(10);
  std::iota(v.begin(), v.end(), 0.f);
  const Tensor x = make_f32({10}, v);
  for (const Case &c : cases) {
    SCOPED_TRACE(std::to_string(c.start) + ":" + std::to_string(c.end) + ":" +
                 std::to_string(c.step));
    std::vector<Tensor> out;
    ASSERT_TRUE(
        run("Slice", 13, {x, i64({c.start}), i64({c.end}), i64({0}), i64({c.step})}, &out).is_ok());
    std::vector<float> want(c.want.begin(), c.want.end());
    EXPECT_EQ(to_vector_f32(out[0]), want);
  }
}

TEST(OpsSlice, WholeForwardSliceIsAView) {
  const Tensor x = make_f32({2, 3}, {0, 1, 2, 3, 4, 5});
  std::vector<Tensor> out;
  ASSERT_TRUE(run("Slice", 13, {x, i64({0, -kI64Max}), i64({kI64Max, 3})}, &out).is_ok());
  EXPECT_EQ(out[0].raw(), x.raw());
  ASSERT_TRUE(run("Slice", 13, {x, i64({-1}), i64({kI64Min}), i64({1}), i64({-1})}, &out).is_ok());
  EXPECT_NE(out[0].raw(), x.raw()) << "a reversed axis must be copied";
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>({2, 1, 0, 5, 4, 3}));
}

TEST(OpsSlice, Int32IndicesAndErrors) {
  const Tensor x = make_f32({3, 4}, std::vector<float>(12, 2.f));
  std::vector<Tensor> out;
  const Tensor s32 = make_tensor<int32_t>(DType::kInt32, {1}, {1});
  const Tensor e32 = make_tensor<int32_t>(DType::kInt32, {1}, {3});
  ASSERT_TRUE(run("Slice", 13, {x, s32, e32}, &out).is_ok());
  EXPECT_EQ(out[0].shape(), Shape({2, 4}));
  struct Bad {
    std::vector<Tensor> in;
    const char *needle;
  };
  const std::vector<Bad> bad = {
      {{x, i64({0}), i64({1}), i64({0}), i64({0})}, "step"},
      {{x, i64({0, 0}), i64({1, 1}), i64({1, -1})}, "repeated"},
      {{x, i64({0}), i64({1}), i64({2})}, "out of range"},
      {{x, i64({0, 0}), i64({1})}, "differ"},
      {{x, i64({0, 0, 0}), i64({1, 1, 1})}, "more starts"},
      {{x, make_f32({1}, {0.f}), i64({1})}, "int32 or int64"},
  };
  for (const Bad &b : bad) {
    Status s = run("Slice", 13, b.in, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
    EXPECT_NE(s.message().find(b.needle), std::string::npos) << s.message();
  }
  Status s = run("Slice", 9, {x}, &out, {{"starts", attr_ints({0})}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
}

// ------------------------------------------------------------------ Split

TEST(OpsSplit, RandomPartsAllForms) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int iter = 0; iter < 150; ++iter) {
    const int rank = 1 + int(rng() % 4);
    Shape shape = random_shape(rng, rank, 5, false);
    const int64_t axis = int64_t(rng() % uint32_t(rank));
    const int outputs = 1 + int(rng() % 4);
    const int form = iter % 3;  // 0: equal, 1: split attribute (opset 11), 2: split input (13)
    std::vector<int64_t> parts;
    if (form == 0) {
      shape[size_t(axis)] = outputs * int64_t(rng() % 3);
      parts.assign(size_t(outputs), shape[size_t(axis)] / outputs);
    } else {
      for (int k = 0; k < outputs; ++k) parts.push_back(int64_t(rng() % 4));  // zeros too
      shape[size_t(axis)] = std::accumulate(parts.begin(), parts.end(), int64_t{0});
    }
    const DType t = kAllTypes[rng() % 6];
    const Tensor x = random_tensor(rng, t, shape);
    const int64_t given_axis = rng() % 2 ? axis - rank : axis;
    std::vector<Tensor> out;
    Status s;
    if (form == 0) {
      s = run("Split", 13, {x}, &out, {{"axis", attr_int(given_axis)}}, {}, outputs);
    } else if (form == 1) {
      s = run("Split", 11, {x}, &out, {{"axis", attr_int(given_axis)}, {"split", attr_ints(parts)}},
              {}, outputs);
    } else {
      s = run("Split", 13, {x, i64(parts)}, &out, {{"axis", attr_int(given_axis)}}, {false, true},
              outputs);
    }
    SCOPED_TRACE(shape_str(shape) + " axis " + std::to_string(given_axis) + " parts " +
                 shape_str(parts));
    ASSERT_TRUE(s.is_ok()) << s.message();
    ASSERT_EQ(out.size(), size_t(outputs));
    int64_t offset = 0;
    for (int k = 0; k < outputs; ++k) {
      Shape want = shape;
      want[size_t(axis)] = parts[size_t(k)];
      expect_gathered(x, out[size_t(k)], want, [&](std::vector<int64_t> c) {
        c[size_t(axis)] += offset;
        return flat_of(c, shape);
      });
      offset += parts[size_t(k)];
    }
  }
}

TEST(OpsSplit, Errors) {
  const Tensor x = make_f32({5, 2}, std::vector<float>(10, 0.f));
  std::vector<Tensor> out;
  Status s = run("Split", 13, {x}, &out, {}, {}, 2);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  EXPECT_NE(s.message().find("divisible"), std::string::npos) << s.message();
  s = run("Split", 13, {x, i64({2, 2})}, &out, {}, {}, 2);
  EXPECT_NE(s.message().find("sum"), std::string::npos) << s.message();
  s = run("Split", 13, {x, i64({6, -1})}, &out, {}, {}, 2);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run("Split", 13, {x, i64({5})}, &out, {}, {}, 2);
  EXPECT_NE(s.message().find("one size per output"), std::string::npos) << s.message();
  s = run("Split", 13, {x}, &out, {{"axis", attr_int(2)}}, {}, 1);
  EXPECT_NE(s.message().find("out of range"), std::string::npos) << s.message();
  s = run("Split", 13, {x}, &out, {{"split", attr_ints({1, 4})}}, {}, 2);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
}

// ------------------------------------------------------------------ Expand, Tile

TEST(OpsExpand, BidirectionalBroadcast) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int iter = 0; iter < 150; ++iter) {
    const int rank = int(rng() % 5);
    const Shape full = random_shape(rng, rank, 4, iter % 13 == 0);
    Shape in, target;
    // Each side keeps a suffix of the full shape with some dims set to 1.
    const size_t in_rank = rng() % (full.size() + 1), t_rank = rng() % (full.size() + 1);
    for (size_t i = full.size() - in_rank; i < full.size(); ++i)
      in.push_back(rng() % 2 ? full[i] : 1);
    for (size_t i = full.size() - t_rank; i < full.size(); ++i)
      target.push_back(rng() % 2 ? full[i] : 1);
    Shape want;
    ASSERT_TRUE(naive_broadcast_shape(in, target, &want));
    const Tensor x = random_tensor(rng, kAllTypes[rng() % 6], in);
    std::vector<Tensor> out;
    SCOPED_TRACE(shape_str(in) + " to " + shape_str(target));
    ASSERT_TRUE(run("Expand", 13, {x, i64(target)}, &out, {}, {false, rng() % 2 == 0}).is_ok());
    expect_gathered(x, out[0], want, [&](const std::vector<int64_t> &c) {
      return broadcast_index(want, in, flat_of(c, want));
    });
    if (want == in) {
      EXPECT_EQ(out[0].raw(), x.raw()) << "same shape should be a view";
    }
  }
  std::vector<Tensor> out;
  Status s = run("Expand", 13, {make_f32({3}, {1, 2, 3}), i64({2})}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run("Expand", 13, {make_f32({1}, {1}), i64({1 << 21, 1 << 21})}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
}

TEST(OpsTile, RandomRepeats) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int iter = 0; iter < 150; ++iter) {
    const int rank = int(rng() % 5);
    const Shape shape = random_shape(rng, rank, 4, iter % 10 == 0);
    std::vector<int64_t> reps;
    for (int i = 0; i < rank; ++i) reps.push_back(int64_t(rng() % 4));  // 0 and 1 included
    const Tensor x = random_tensor(rng, kAllTypes[rng() % 6], shape);
    Shape want;
    for (int i = 0; i < rank; ++i) want.push_back(shape[size_t(i)] * reps[size_t(i)]);
    std::vector<Tensor> out;
    SCOPED_TRACE(shape_str(shape) + " repeats " + shape_str(reps));
    ASSERT_TRUE(run("Tile", 13, {x, i64(reps)}, &out).is_ok());
    expect_gathered(x, out[0], want, [&](std::vector<int64_t> c) {
      for (size_t i = 0; i < c.size(); ++i) c[i] %= shape[i];
      return flat_of(c, shape);
    });
  }
  const Tensor x = make_f32({2, 3}, std::vector<float>(6, 1.f));
  std::vector<Tensor> out;
  Status s = run("Tile", 13, {x, i64({2})}, &out);
  EXPECT_NE(s.message().find("one entry per input axis"), std::string::npos) << s.message();
  s = run("Tile", 13, {x, i64({1, -1})}, &out);
  EXPECT_NE(s.message().find("negative"), std::string::npos) << s.message();
  s = run("Tile", 13, {x, i64({kI64Max, 2})}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
}

// ------------------------------------------------------------------ Pad

// numpy's pad index rules, by repeated reflection rather than a period.
int64_t pad_source(int64_t i, int64_t n, const std::string &mode) {
  if (i >= 0 && i < n) return i;
  if (mode == "constant") return -1;
  if (mode == "edge") return i < 0 ? 0 : n - 1;
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

TEST(OpsPad, RandomModesAndCrops) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int iter = 0; iter < 300; ++iter) {
    const std::string mode = std::vector<std::string>{"constant", "reflect", "edge"}[iter % 3];
    const int opset = (iter / 3) % 3 == 0 ? 2 : ((iter / 3) % 3 == 1 ? 11 : 13);
    const DType t = opset == 2 ? DType::kFloat32 : kAllTypes[rng() % 6];
    const int rank = 1 + int(rng() % 4);
    const Shape shape = random_shape(rng, rank, 4, mode == "constant" && iter % 7 == 0);
    std::vector<int64_t> pads(static_cast<size_t>(2 * rank));
    Shape want(static_cast<size_t>(rank));
    for (int i = 0; i < rank; ++i) {
      const int64_t d = shape[size_t(i)];
      // Crops keep at least one element; reflect pads go past the axis size too.
      int64_t b = int64_t(rng() % 6) - 2, e = int64_t(rng() % 6) - 2;
      if (b < 0 && -b >= d) b = 0;
      if (e < 0 && -e + std::max<int64_t>(-b, 0) >= d) e = 0;
      pads[size_t(i)] = b;
      pads[size_t(i + rank)] = e;
      want[size_t(i)] = d + b + e;
    }
    const Tensor x = random_tensor(rng, t, shape);
    const Tensor value = random_tensor(rng, t, {});
    std::vector<Tensor> out;
    Status s;
    Tensor fill = value;
    if (opset == 2) {
      s = run("Pad", 2, {x}, &out,
              {{"mode", attr_string(mode)},
               {"pads", attr_ints(pads)},
               {"value", attr_float(value.data<float>()[0])}});
    } else if (iter % 2 == 0) {
      s = run("Pad", opset, {x, i64(pads), value}, &out, {{"mode", attr_string(mode)}},
              {false, true, false});
    } else {
      fill = random_tensor(rng, t, {});
      std::memset(fill.raw(), 0, fill.size_bytes());  // omitted constant_value pads with 0
      s = run("Pad", opset, {x, i64(pads)}, &out, {{"mode", attr_string(mode)}});
    }
    SCOPED_TRACE(mode + " opset " + std::to_string(opset) + " " + dtype_name(t) + shape_str(shape) +
                 " pads " + shape_str(pads));
    ASSERT_TRUE(s.is_ok()) << s.message();
    expect_gathered(
        x, out[0], want,
        [&](const std::vector<int64_t> &c) {
          std::vector<int64_t> src(c.size());
          for (int i = 0; i < rank; ++i) {
            const int64_t b = pads[size_t(i)], e = pads[size_t(i + rank)];
            const int64_t crop_b = std::max<int64_t>(-b, 0), crop_e = std::max<int64_t>(-e, 0);
            const int64_t n = shape[size_t(i)] - crop_b - crop_e;
            const int64_t j = pad_source(c[size_t(i)] - std::max<int64_t>(b, 0), n, mode);
            if (j < 0) return int64_t{-1};
            src[size_t(i)] = j + crop_b;
          }
          return flat_of(src, shape);
        },
        &fill);
  }
}

TEST(OpsPad, ExactValuesAndErrors) {
  // numpy.pad([1, 2, 3], (4, 4), "reflect") and "edge".
  const Tensor x = make_f32({3}, {1, 2, 3});
  std::vector<Tensor> out;
  ASSERT_TRUE(run("Pad", 13, {x, i64({4, 4})}, &out, {{"mode", attr_string("reflect")}}).is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>({1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3}));
  ASSERT_TRUE(run("Pad", 13, {x, i64({2, 1})}, &out, {{"mode", attr_string("edge")}}).is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>({1, 1, 1, 2, 3, 3}));
  ASSERT_TRUE(run("Pad", 1, {x}, &out, {{"paddings", attr_ints({-1, 1})}, {"value", attr_float(7)}})
                  .is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>({2, 3, 7}));

  Status s = run("Pad", 13, {x, i64({1})}, &out);
  EXPECT_NE(s.message().find("2 entries per input axis"), std::string::npos) << s.message();
  s = run("Pad", 13, {x, i64({-2, -2})}, &out);
  EXPECT_NE(s.message().find("crop more"), std::string::npos) << s.message();
  s = run("Pad", 13, {make_f32({0}, {}), i64({1, 1})}, &out, {{"mode", attr_string("reflect")}});
  EXPECT_NE(s.message().find("empty axis"), std::string::npos) << s.message();
  s = run("Pad", 13, {x, i64({1, 1}), make_i64({}, {1})}, &out);
  EXPECT_NE(s.message().find("constant_value"), std::string::npos) << s.message();
  s = run("Pad", 13, {x, i64({kI64Max, 0})}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run("Pad", 13, {x, i64({1, 1})}, &out, {{"mode", attr_string("wrap")}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  s = run("Pad", 2, {make_tensor<int8_t>(DType::kInt8, {1}, {1})}, &out,
          {{"pads", attr_ints({1, 1})}, {"value", attr_float(300)}});
  EXPECT_NE(s.message().find("does not fit"), std::string::npos) << s.message();
}

// ------------------------------------------------------------------ Size, ConstantOfShape, Range

TEST(OpsSize, CountsElements) {
  for (const Shape &s : std::vector<Shape>{{}, {0}, {3, 0, 2}, {2, 3, 4}}) {
    std::vector<Tensor> out;
    ASSERT_TRUE(
        run("Size", 13, {make_f32(s, std::vector<float>(size_t(count(s)), 0.f))}, &out).is_ok());
    EXPECT_EQ(out[0].dtype(), DType::kInt64);
    EXPECT_EQ(out[0].shape(), Shape());
    EXPECT_EQ(out[0].data<int64_t>()[0], count(s));
  }
}

TEST(OpsConstantOfShape, ValuesAndShapes) {
  Attribute v;
  v.kind = Attribute::Kind::kTensor;
  v.t = make_tensor<int32_t>(DType::kInt32, {1}, {-7});
  std::vector<Tensor> out;
  ASSERT_TRUE(run("ConstantOfShape", 9, {i64({2, 3})}, &out, {{"value", v}}).is_ok());
  EXPECT_EQ(out[0].dtype(), DType::kInt32);
  EXPECT_EQ(values_of<int32_t>(out[0]), std::vector<int32_t>(6, -7));
  ASSERT_TRUE(run("ConstantOfShape", 9, {i64({4})}, &out).is_ok());  // default float 0
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>(4, 0.f));
  ASSERT_TRUE(run("ConstantOfShape", 9, {make_i64({0}, {})}, &out, {{"value", v}}).is_ok());
  EXPECT_EQ(out[0].shape(), Shape());
  ASSERT_TRUE(run("ConstantOfShape", 9, {i64({3, 0})}, &out).is_ok());
  EXPECT_EQ(out[0].shape(), Shape({3, 0}));
  Status s = run("ConstantOfShape", 9, {i64({2, -1})}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run("ConstantOfShape", 9, {i64({1 << 30, 1 << 30})}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  v.t = make_f32({2}, {1, 2});
  s = run("ConstantOfShape", 9, {i64({2})}, &out, {{"value", v}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
}

template <typename T>
std::vector<T> naive_range(T start, T limit, T delta) {
  std::vector<T> v;
  for (__int128 x = start; delta > 0 ? x < __int128(limit) : x > __int128(limit); x += delta)
    v.push_back(T(x));
  return v;
}

TEST(OpsRange, IntegerAndFloat) {
  std::vector<Tensor> out;
  auto i32 = [](int32_t v) { return make_tensor<int32_t>(DType::kInt32, {}, {v}); };
  auto s64 = [](int64_t v) { return make_i64({}, {v}); };
  const std::vector<std::array<int32_t, 3>> i32_cases = {
      {0, 10, 3}, {10, 4, -2}, {5, 5, 1}, {5, 1, 1}, {-3, 3, 7}, {INT32_MIN, INT32_MAX, INT32_MAX}};
  for (const auto &c : i32_cases) {
    ASSERT_TRUE(run("Range", 11, {i32(c[0]), i32(c[1]), i32(c[2])}, &out).is_ok());
    EXPECT_EQ(values_of<int32_t>(out[0]), naive_range<int32_t>(c[0], c[1], c[2]))
        << c[0] << " " << c[1] << " " << c[2];
  }
  ASSERT_TRUE(run("Range", 11, {s64(kI64Min), s64(kI64Max), s64(kI64Max)}, &out).is_ok());
  EXPECT_EQ(values_of<int64_t>(out[0]), naive_range<int64_t>(kI64Min, kI64Max, kI64Max));
  ASSERT_TRUE(
      run("Range", 11, {make_f32({}, {1.f}), make_f32({}, {2.f}), make_f32({}, {0.3f})}, &out)
          .is_ok());
  ASSERT_EQ(out[0].numel(), 4);  // ceil(1 / 0.3)
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(out[0].data<float>()[i], float(1.0 + i * double(0.3f)));
  ASSERT_TRUE(
      run("Range", 11, {make_f32({}, {1.f}), make_f32({}, {2.f}), make_f32({}, {-1.f})}, &out)
          .is_ok());
  EXPECT_EQ(out[0].numel(), 0);

  Status s = run("Range", 11, {s64(0), s64(kI64Max), s64(1)}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run("Range", 11, {s64(0), s64(5), s64(0)}, &out);
  EXPECT_NE(s.message().find("delta"), std::string::npos) << s.message();
  s = run("Range", 11, {make_f32({}, {0}), make_f32({}, {1e30f}), make_f32({}, {1e-30f})}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run("Range", 11, {make_f32({}, {0}), make_f32({}, {INFINITY}), make_f32({}, {1})}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run("Range", 11, {s64(0), i32(5), s64(1)}, &out);
  EXPECT_NE(s.message().find("limit"), std::string::npos) << s.message();
}

// ------------------------------------------------------------------ Einsum

// Naive einsum over explicit letter equations: loop over every assignment
// of every label; a size-1 operand dim reads index 0 (broadcast).
std::vector<float> naive_einsum(const std::vector<std::string> &terms, const std::string &output,
                                const std::vector<Tensor> &in, Shape *out_shape) {
  std::map<char, int64_t> size;
  for (size_t i = 0; i < terms.size(); ++i)
    for (size_t a = 0; a < terms[i].size(); ++a)
      size[terms[i][a]] = std::max(size[terms[i][a]], in[i].dim(int64_t(a)));
  std::vector<char> labels;
  for (auto &kv : size) labels.push_back(kv.first);
  out_shape->clear();
  for (char c : output) out_shape->push_back(size[c]);
  std::vector<float> y(size_t(count(*out_shape)), 0.f);
  Shape all;
  for (char c : labels) all.push_back(size[c]);
  for (int64_t f = 0; f < count(all); ++f) {
    const std::vector<int64_t> c = coords_of(f, all);
    std::map<char, int64_t> at;
    for (size_t k = 0; k < labels.size(); ++k) at[labels[k]] = c[k];
    float prod = 1.f;
    for (size_t i = 0; i < terms.size(); ++i) {
      std::vector<int64_t> idx;
      for (size_t a = 0; a < terms[i].size(); ++a)
        idx.push_back(in[i].dim(int64_t(a)) == 1 ? 0 : at[terms[i][a]]);
      prod *= in[i].data<float>()[flat_of(idx, in[i].shape())];
    }
    std::vector<int64_t> oi;
    for (char ch : output) oi.push_back(at[ch]);
    y[size_t(flat_of(oi, *out_shape))] += prod;
  }
  return y;
}

struct EinsumCase {
  std::string equation;            // as given to the op
  std::vector<std::string> terms;  // the same without ellipsis, for the reference
  std::string output;
  std::vector<Shape> shapes;
};

TEST(OpsEinsum, EquationsAgainstNaiveLoops) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const std::vector<EinsumCase> cases = {
      {"ij,jk->ik", {"ij", "jk"}, "ik", {{3, 5}, {5, 4}}},
      {"ij,jk", {"ij", "jk"}, "ik", {{1, 7}, {7, 1}}},
      {"bij,bjk->bik", {"bij", "bjk"}, "bik", {{2, 3, 4}, {2, 4, 5}}},
      {"bij, bjk -> bik", {"bij", "bjk"}, "bik", {{1, 3, 4}, {1, 4, 2}}},
      {"ij,kj->ik", {"ij", "kj"}, "ik", {{3, 4}, {5, 4}}},
      {"ji,jk->ik", {"ji", "jk"}, "ik", {{4, 3}, {4, 5}}},
      {"ji,kj->ki", {"ji", "kj"}, "ki", {{4, 3}, {5, 4}}},
      {"bhqd,bhkd->bhqk", {"bhqd", "bhkd"}, "bhqk", {{2, 3, 4, 5}, {2, 3, 6, 5}}},
      {"bhqk,bhkd->bhqd", {"bhqk", "bhkd"}, "bhqd", {{2, 2, 3, 4}, {2, 2, 4, 5}}},
      {"...ij,...jk->...ik", {"xyij", "xyjk"}, "xyik", {{2, 1, 3, 4}, {1, 5, 4, 2}}},
      {"...ij,jk->...ik", {"xij", "jk"}, "xik", {{3, 2, 4}, {4, 5}}},
      {"ij->ji", {"ij"}, "ji", {{3, 4}}},
      {"ij->i", {"ij"}, "i", {{3, 4}}},
      {"ij", {"ij"}, "ij", {{3, 4}}},
      {"ji", {"ji"}, "ij", {{3, 4}}},  // implicit output is alphabetical
      {"i,i", {"i", "i"}, "", {{5}, {5}}},
      {"i,j->ij", {"i", "j"}, "ij", {{3}, {4}}},
      {"ab,ab->", {"ab", "ab"}, "", {{3, 4}, {3, 4}}},
      {"ijk,ikl->jl", {"ijk", "ikl"}, "jl", {{2, 3, 4}, {2, 4, 5}}},
      {"ij,jk,kl->il", {"ij", "jk", "kl"}, "il", {{2, 3}, {3, 4}, {4, 5}}},
      {"abc,cd->", {"abc", "cd"}, "", {{2, 3, 4}, {4, 2}}},
      {"ij,jk->ik", {"ij", "jk"}, "ik", {{0, 3}, {3, 4}}},  // empty output
      {"ij,jk->ik", {"ij", "jk"}, "ik", {{2, 0}, {0, 4}}},  // empty sum: zeros
      {"Ab,bC->AC", {"Ab", "bC"}, "AC", {{2, 3}, {3, 2}}},
  };
  for (const EinsumCase &c : cases) {
    SCOPED_TRACE(c.equation);
    std::vector<Tensor> in;
    for (const Shape &s : c.shapes) in.push_back(make_f32(s, random_floats(rng, count(s))));
    Shape want_shape;
    const std::vector<float> want = naive_einsum(c.terms, c.output, in, &want_shape);
    std::vector<Tensor> out;
    Status s = run("Einsum", 12, in, &out, {{"equation", attr_string(c.equation)}});
    ASSERT_TRUE(s.is_ok()) << s.message();
    ASSERT_EQ(out[0].shape(), want_shape);
    const std::vector<float> got = to_vector_f32(out[0]);
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-4f * (1.f + std::fabs(want[i]))) << "at " << i;
  }
}

TEST(OpsEinsum, Errors) {
  const Tensor a = make_f32({2, 3}, std::vector<float>(6, 1.f));
  const Tensor b = make_f32({4, 5}, std::vector<float>(20, 1.f));
  std::vector<Tensor> out;
  Status s = run("Einsum", 12, {make_f32({3, 3}, std::vector<float>(9, 1.f))}, &out,
                 {{"equation", attr_string("ii->i")}});
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.message();
  EXPECT_NE(s.message().find("ii->i"), std::string::npos) << s.message();
  s = run("Einsum", 12, {a, b}, &out, {{"equation", attr_string("ij,jk->ik")}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  EXPECT_NE(s.message().find("ij,jk->ik"), std::string::npos) << s.message();
  s = run("Einsum", 12, {a}, &out, {{"equation", attr_string("ijk->i")}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run("Einsum", 12, {a}, &out, {{"equation", attr_string("ij->iz")}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run("Einsum", 12, {a}, &out, {{"equation", attr_string("i$->i")}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  s = run("Einsum", 12, {a}, &out, {{"equation", attr_string("ij,jk->ik")}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  s = run("Einsum", 12, {a}, &out, {{"equation", attr_string("ij->ii")}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  s = run("Einsum", 12, {make_f32({2, 2, 3}, std::vector<float>(12, 1.f))}, &out,
          {{"equation", attr_string("...ij->ij")}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  // a x b is an outer product of 2^42 elements before the broadcast [1,1] sums it.
  const int64_t big = int64_t{1} << 21;
  const Tensor va = make_f32({big}, std::vector<float>(size_t(big), 1.f));
  s = run("Einsum", 12, {va, va, make_f32({1, 1}, {1.f})}, &out,
          {{"equation", attr_string("a,b,ab->")}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  EXPECT_NE(s.message().find("intermediate"), std::string::npos) << s.message();
  s = run("Einsum", 12, {make_i64({2}, {1, 2})}, &out, {{"equation", attr_string("i->i")}});
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.message();
}

}  // namespace
}  // namespace si::test
