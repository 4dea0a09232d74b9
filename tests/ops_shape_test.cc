// Shape and data-movement ops through a real Session.
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "engine/ops/registry.h"
#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

std::vector<float> iota_f32(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0.f);
  return v;
}

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

// A view op returns the input's own buffer (no copy) with a new shape.
void expect_view(const Tensor &in, const Tensor &out, const Shape &shape) {
  EXPECT_EQ(out.shape(), shape);
  EXPECT_EQ(out.dtype(), in.dtype());
  EXPECT_EQ(out.raw(), in.raw()) << "expected an alias of the input";
}

// ------------------------------------------------------------------ Flatten

TEST(OpsFlatten, Axes) {
  const Shape s = {2, 3, 4, 5};
  const Tensor x = make_f32(s, iota_f32(120));
  for (int opset : {9, 11, 13}) {
    for (int64_t axis = -4; axis <= 4; ++axis) {
      if (opset < 11 && axis < 0) continue;
      SCOPED_TRACE("opset " + std::to_string(opset) + " axis " + std::to_string(axis));
      std::vector<Tensor> out;
      ASSERT_TRUE(run("Flatten", opset, {x}, &out, {{"axis", attr_int(axis)}}).is_ok());
      int64_t a = axis < 0 ? axis + 4 : axis, outer = 1;
      for (int64_t i = 0; i < a; ++i) outer *= s[size_t(i)];
      expect_view(x, out[0], {outer, 120 / outer});
    }
  }
  std::vector<Tensor> out;
  ASSERT_TRUE(run("Flatten", 13, {x}, &out).is_ok());  // default axis 1
  expect_view(x, out[0], {2, 60});
  ASSERT_TRUE(run("Flatten", 13, {make_f32({0, 3}, {})}, &out).is_ok());
  EXPECT_EQ(out[0].shape(), Shape({0, 3}));
  Status st = run("Flatten", 13, {x}, &out, {{"axis", attr_int(5)}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  st = run("Flatten", 13, {x}, &out, {{"axis", attr_int(-5)}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
}

// ------------------------------------------------------------------ Reshape

struct ReshapeCase {
  Shape in;
  std::vector<int64_t> spec;
  int64_t allowzero;
  Shape want;  // empty with ok=false: must fail
  bool ok;
};

TEST(OpsReshape, TargetShapes) {
  const std::vector<ReshapeCase> cases = {
      {{2, 3, 4}, {6, 4}, 0, {6, 4}, true},
      {{2, 3, 4}, {-1}, 0, {24}, true},
      {{2, 3, 4}, {0, -1}, 0, {2, 12}, true},  // 0 copies the input dim
      {{2, 3, 4}, {0, 0, 0}, 0, {2, 3, 4}, true},
      {{2, 3, 4, 5}, {2, 0, 1, -1}, 0, {2, 3, 1, 20}, true},
      {{2, 3, 4}, {4, -1, 0}, 0, {}, false},  // 0 copies 4: 24 / 16 is not whole
      {{2, 3, 4}, {1, 1, 2, 1, 12}, 0, {1, 1, 2, 1, 12}, true},
      {{0, 3}, {3, 0}, 1, {3, 0}, true},        // allowzero: literal 0
      {{0, 3}, {3, 0}, 0, {3, 3}, false},       // 0 copies dim 1 = 3: count mismatch
      {{0, 3, 4}, {0, -1}, 0, {0, 12}, false},  // -1 with a zero product is ambiguous
      {{2, 3, 4}, {-1, -1}, 0, {}, false},      // two -1
      {{2, 3, 4}, {5, -1}, 0, {}, false},       // not divisible
      {{2, 3, 4}, {2, 3, 5}, 0, {}, false},     // product mismatch
      {{2, 3, 4}, {2, -2, 12}, 0, {}, false},   // negative other than -1
      {{2, 3}, {0, 0, 0, 1}, 0, {}, false},     // 0 past the input rank
      {{2, 3}, {0, -1}, 1, {}, false},          // allowzero with 0 and -1
      {{}, {1, 1}, 0, {1, 1}, true},            // scalar to [1,1]
      {{1, 1}, {}, 0, {}, true},                // and back
  };
  for (const ReshapeCase &c : cases) {
    for (bool constant : {false, true}) {
      SCOPED_TRACE(shape_str(c.in) + " -> " + shape_str(c.spec) + " allowzero " +
                   std::to_string(c.allowzero) + (constant ? " constant shape" : ""));
      const Tensor x = make_f32(c.in, iota_f32(count(c.in)));
      std::vector<Tensor> out;
      Status s = run("Reshape", 14, {x, make_i64({int64_t(c.spec.size())}, c.spec)}, &out,
                     {{"allowzero", attr_int(c.allowzero)}}, {false, constant});
      if (!c.ok) {
        EXPECT_FALSE(s.is_ok());
        EXPECT_TRUE(s.code() == StatusCode::kInvalidArgument ||
                    s.code() == StatusCode::kInvalidModel)
            << s.message();
        EXPECT_NE(s.message().find(shape_str(c.spec)), std::string::npos) << s.message();
        continue;
      }
      ASSERT_TRUE(s.is_ok()) << s.message();
      expect_view(x, out[0], c.want);
    }
  }
}

TEST(OpsReshape, LegacyShapeAttribute) {
  const Tensor x = make_f32({2, 3}, iota_f32(6));
  std::vector<Tensor> out;
  ASSERT_TRUE(run("Reshape", 4, {x}, &out, {{"shape", attr_ints({3, -1})}}).is_ok());
  expect_view(x, out[0], {3, 2});
  // Before opset 14, a 0 always copies the input dim.
  ASSERT_TRUE(run("Reshape", 13, {x, make_i64({2}, {0, 3})}, &out).is_ok());
  expect_view(x, out[0], {2, 3});
  Status s = run("Reshape", 4, {x}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
}

// ------------------------------------------------------------------ Identity, Dropout

TEST(OpsIdentity, Aliases) {
  const Tensor x = make_i64({2, 2}, {1, 2, 3, 4});
  std::vector<Tensor> out;
  ASSERT_TRUE(run("Identity", 16, {x}, &out).is_ok());
  expect_view(x, out[0], {2, 2});
  EXPECT_EQ(find_op("", "Identity", 13)->zeros.kind, ZeroKind::kView);
  EXPECT_EQ(find_op("", "Reshape", 14)->zeros.kind, ZeroKind::kView);
  EXPECT_EQ(find_op("", "Flatten", 13)->zeros.kind, ZeroKind::kView);
  EXPECT_EQ(find_op("", "Dropout", 13)->zeros.kind, ZeroKind::kView);
}

TEST(OpsDropout, InferenceIsIdentityWithTrueMask) {
  const Tensor x = make_f32({3, 4}, iota_f32(12));
  const Tensor ratio = make_f32({}, {0.3f});
  const Tensor off = make_tensor<uint8_t>(DType::kBool, {}, {0});
  const Tensor on = make_tensor<uint8_t>(DType::kBool, {}, {1});
  std::vector<Tensor> out;
  ASSERT_TRUE(run("Dropout", 13, {x}, &out).is_ok());
  expect_view(x, out[0], {3, 4});
  ASSERT_TRUE(run("Dropout", 13, {x, ratio}, &out, {}, {}, 2).is_ok());
  expect_view(x, out[0], {3, 4});
  ASSERT_EQ(out[1].dtype(), DType::kBool);
  EXPECT_EQ(values_of<uint8_t>(out[1]), std::vector<uint8_t>(12, 1));
  ASSERT_TRUE(run("Dropout", 12, {x, ratio, off}, &out, {}, {false, true, false}, 2).is_ok());
  EXPECT_EQ(values_of<uint8_t>(out[1]), std::vector<uint8_t>(12, 1));
  // Opsets 10-11: ratio attribute, bool mask. Opset 7-9: mask of X's dtype.
  ASSERT_TRUE(run("Dropout", 11, {x}, &out, {{"ratio", attr_float(0.2f)}}, {}, 2).is_ok());
  EXPECT_EQ(out[1].dtype(), DType::kBool);
  ASSERT_TRUE(run("Dropout", 7, {x}, &out, {}, {}, 2).is_ok());
  ASSERT_EQ(out[1].dtype(), DType::kFloat32);
  EXPECT_EQ(to_vector_f32(out[1]), std::vector<float>(12, 1.f));
  ASSERT_TRUE(run("Dropout", 6, {x}, &out, {{"is_test", attr_int(1)}}).is_ok());
  expect_view(x, out[0], {3, 4});

  // Training mode is random unless the ratio is 0.
  for (bool constant : {false, true}) {
    Status s = run("Dropout", 13, {x, ratio, on}, &out, {}, {false, constant, constant});
    EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.message();
    s = run("Dropout", 13, {x, make_f32({}, {0.f}), on}, &out, {}, {false, constant, constant}, 2);
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_EQ(to_vector_f32(out[0]), iota_f32(12));
    EXPECT_EQ(values_of<uint8_t>(out[1]), std::vector<uint8_t>(12, 1));
  }
  Status s = run("Dropout", 6, {x}, &out);  // is_test defaults to 0: training
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.message();
}

// ------------------------------------------------------------------ Shape

TEST(OpsShape, StartEnd) {
  const Tensor x = make_f32({2, 3, 4, 5}, iota_f32(120));
  struct Case {
    int64_t start;
    bool has_end;
    int64_t end;
    std::vector<int64_t> want;
  };
  const std::vector<Case> cases = {
      {0, false, 0, {2, 3, 4, 5}},
      {1, false, 0, {3, 4, 5}},
      {-1, false, 0, {5}},
      {1, true, 2, {3}},
      {1, true, -1, {3, 4}},
      {-10, true, 10, {2, 3, 4, 5}},
      {3, true, 1, {}},
      {0, true, 0, {}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE("start " + std::to_string(c.start) + " end " + std::to_string(c.end));
    std::map<std::string, Attribute> attrs{{"start", attr_int(c.start)}};
    if (c.has_end) attrs["end"] = attr_int(c.end);
    std::vector<Tensor> out;
    ASSERT_TRUE(run("Shape", 15, {x}, &out, attrs).is_ok());
    ASSERT_EQ(out[0].dtype(), DType::kInt64);
    EXPECT_EQ(values_of<int64_t>(out[0]), c.want);
  }
  std::vector<Tensor> out;
  ASSERT_TRUE(run("Shape", 13, {make_f32({}, {1.f})}, &out).is_ok());
  EXPECT_EQ(out[0].shape(), Shape({0}));
}

// ------------------------------------------------------------------ Gather

TEST(OpsGather, MatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int it = 0; it < 80; ++it) {
    Shape ds(1 + rng() % 3);
    for (int64_t &d : ds) d = 1 + int64_t(rng() % 4);
    Shape is(rng() % 3);
    for (int64_t &d : is) d = int64_t(rng() % 3);
    const int64_t rank = int64_t(ds.size());
    const int64_t axis = int64_t(rng() % uint32_t(2 * rank)) - rank;
    const int64_t a = axis < 0 ? axis + rank : axis, dim = ds[size_t(a)];
    std::vector<int64_t> idx(size_t(count(is)));
    for (int64_t &v : idx) v = int64_t(rng() % uint32_t(2 * dim)) - dim;  // negatives too
    const bool i32 = it % 2 == 1;
    std::vector<int32_t> idx32(idx.begin(), idx.end());
    SCOPED_TRACE("data " + shape_str(ds) + " indices " + shape_str(is) + " axis " +
                 std::to_string(axis));
    const Tensor data = make_f32(ds, iota_f32(count(ds)));
    const Tensor it_t = i32 ? make_tensor(DType::kInt32, is, idx32) : make_i64(is, idx);
    std::vector<Tensor> out;
    Status s = run("Gather", 13, {data, it_t}, &out, {{"axis", attr_int(axis)}});
    ASSERT_TRUE(s.is_ok()) << s.message();
    Shape want(ds.begin(), ds.begin() + a);
    want.insert(want.end(), is.begin(), is.end());
    want.insert(want.end(), ds.begin() + a + 1, ds.end());
    ASSERT_EQ(out[0].shape(), want);
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < a; ++i) outer *= ds[size_t(i)];
    for (int64_t i = a + 1; i < rank; ++i) inner *= ds[size_t(i)];
    std::vector<float> y = to_vector_f32(out[0]);
    size_t pos = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t v : idx)
        for (int64_t j = 0; j < inner; ++j, ++pos)
          ASSERT_EQ(y[pos], float((o * dim + (v < 0 ? v + dim : v)) * inner + j));
  }
}

TEST(OpsGather, Errors) {
  const Tensor data = make_f32({3, 2}, iota_f32(6));
  std::vector<Tensor> out;
  for (int64_t bad : {3, -4}) {
    Status s = run("Gather", 13, {data, make_i64({2}, {0, bad})}, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
    EXPECT_NE(s.message().find(std::to_string(bad)), std::string::npos) << s.message();
  }
  Status s = run("Gather", 13, {data, make_i64({1}, {0})}, &out, {{"axis", attr_int(2)}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run("Gather", 13, {data, make_f32({1}, {0})}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  // Any data dtype: int64 rows.
  ASSERT_TRUE(
      run("Gather", 13, {make_i64({3}, {10, 20, 30}), make_i64({2}, {2, -3})}, &out).is_ok());
  EXPECT_EQ(values_of<int64_t>(out[0]), std::vector<int64_t>({30, 10}));
}

// ------------------------------------------------------------------ Unsqueeze, Squeeze

TEST(OpsUnsqueeze, AttributeAndInputForms) {
  const Tensor x = make_f32({3, 4}, iota_f32(12));
  struct Case {
    std::vector<int64_t> axes;
    Shape want;
  };
  const std::vector<Case> cases = {{{0}, {1, 3, 4}},       {{2}, {3, 4, 1}},
                                   {{-1}, {3, 4, 1}},      {{0, 3}, {1, 3, 4, 1}},
                                   {{3, 0}, {1, 3, 4, 1}}, {{1, 2, 4}, {3, 1, 1, 4, 1}}};
  for (const Case &c : cases) {
    for (int opset : {11, 13}) {
      SCOPED_TRACE("axes " + shape_str(c.axes) + " opset " + std::to_string(opset));
      std::vector<Tensor> out;
      Status s = opset < 13 ? run("Unsqueeze", opset, {x}, &out, {{"axes", attr_ints(c.axes)}})
                            : run("Unsqueeze", opset,
                                  {x, make_i64({int64_t(c.axes.size())}, c.axes)}, &out);
      ASSERT_TRUE(s.is_ok()) << s.message();
      expect_view(x, out[0], c.want);
    }
  }
  std::vector<Tensor> out;
  for (const std::vector<int64_t> &bad :
       std::vector<std::vector<int64_t>>{{4}, {-5}, {0, 0}, {0, -4}}) {
    Status s = run("Unsqueeze", 13, {x, make_i64({int64_t(bad.size())}, bad)}, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << shape_str(bad) << ": " << s.message();
  }
  Status s = run("Unsqueeze", 11, {x}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
}

TEST(OpsSqueeze, AttributeAndInputForms) {
  const Tensor x = make_f32({1, 3, 1, 4}, iota_f32(12));
  struct Case {
    std::vector<int64_t> axes;
    Shape want;
  };
  const std::vector<Case> cases = {
      {{}, {3, 4}}, {{0}, {3, 1, 4}}, {{-2}, {1, 3, 4}}, {{2, 0}, {3, 4}}};
  for (const Case &c : cases) {
    for (int opset : {6, 11, 13}) {
      if (opset < 11 && !c.axes.empty() && c.axes[0] < 0) continue;
      SCOPED_TRACE("axes " + shape_str(c.axes) + " opset " + std::to_string(opset));
      std::vector<Tensor> out;
      std::map<std::string, Attribute> attrs;
      std::vector<Tensor> inputs = {x};
      if (opset < 13 && !c.axes.empty()) attrs["axes"] = attr_ints(c.axes);
      if (opset >= 13 && !c.axes.empty())
        inputs.push_back(make_i64({int64_t(c.axes.size())}, c.axes));
      Status s = run("Squeeze", opset, inputs, &out, attrs);
      ASSERT_TRUE(s.is_ok()) << s.message();
      expect_view(x, out[0], c.want);
    }
  }
  std::vector<Tensor> out;
  Status s = run("Squeeze", 13, {x, make_i64({1}, {1})}, &out);  // dim 1 has size 3
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  EXPECT_NE(s.message().find("[1,3,1,4]"), std::string::npos) << s.message();
  s = run("Squeeze", 13, {x, make_i64({1}, {4})}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
}

// ------------------------------------------------------------------ Concat

TEST(OpsConcat, MatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int it = 0; it < 60; ++it) {
    Shape base(1 + rng() % 3);
    for (int64_t &d : base) d = 1 + int64_t(rng() % 3);
    const int64_t rank = int64_t(base.size());
    const int64_t axis = int64_t(rng() % uint32_t(2 * rank)) - rank;
    const size_t a = size_t(axis < 0 ? axis + rank : axis);
    const size_t n = 1 + rng() % 3;
    std::vector<Tensor> inputs;
    std::vector<std::vector<float>> vals;
    std::vector<Shape> shapes;
    Shape want = base;
    want[a] = 0;
    for (size_t k = 0; k < n; ++k) {
      Shape s = base;
      s[a] = int64_t(rng() % 3);  // 0: empty along the axis
      want[a] += s[a];
      vals.push_back(random_floats(rng, count(s)));
      shapes.push_back(s);
      inputs.push_back(make_f32(s, vals.back()));
    }
    SCOPED_TRACE("axis " + std::to_string(axis) + " first " + shape_str(shapes[0]));
    std::vector<Tensor> out;
    Status st = run("Concat", 13, inputs, &out, {{"axis", attr_int(axis)}},
                    std::vector<bool>(n, it % 2 == 0));
    ASSERT_TRUE(st.is_ok()) << st.message();
    ASSERT_EQ(out[0].shape(), want);
    // Element at output coordinate c comes from the input whose axis range holds c[a].
    std::vector<float> y = to_vector_f32(out[0]);
    for (int64_t i = 0; i < count(want); ++i) {
      Shape c(want.size());
      int64_t rem = i;
      for (size_t d = want.size(); d-- > 0;) {
        c[d] = rem % want[d];
        rem /= want[d];
      }
      size_t k = 0;
      while (c[a] >= shapes[k][a]) c[a] -= shapes[k++][a];
      int64_t flat = 0;
      for (size_t d = 0; d < c.size(); ++d) flat = flat * shapes[k][d] + c[d];
      ASSERT_EQ(y[size_t(i)], vals[k][size_t(flat)]) << "at " << i;
    }
  }
}

TEST(OpsConcat, Errors) {
  std::vector<Tensor> out;
  Status s = run("Concat", 13, {make_f32({2, 3}, iota_f32(6)), make_f32({3, 3}, iota_f32(9))}, &out,
                 {{"axis", attr_int(1)}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  EXPECT_NE(s.message().find("[3,3]"), std::string::npos) << s.message();
  s = run("Concat", 13, {make_f32({2}, {1, 2}), make_i64({2}, {1, 2})}, &out,
          {{"axis", attr_int(0)}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run("Concat", 13, {make_f32({2}, {1, 2})}, &out, {{"axis", attr_int(1)}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = run("Concat", 13, {make_f32({2}, {1, 2})}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
}

}  // namespace
}  // namespace si::test
