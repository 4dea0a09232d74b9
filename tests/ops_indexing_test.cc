// Indexing, scatter and block-layout ops (issue 14) through a real Session:
// edge cases the ONNX backend cases do not reach (negative axes, empty and
// size-1 dims, out-of-range indices, reductions with duplicates, TopK ties
// and NaN), and randomized comparisons with loops written here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "engine/session.h"
#include "tests/graph_builder.h"
#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Status run(const std::string &op, int opset, std::vector<Tensor> inputs, std::vector<Tensor> *out,
           std::map<std::string, Attribute> attrs = {}, int num_outputs = 1) {
  OpSpec spec;
  spec.op_type = op;
  spec.opset = opset;
  spec.inputs = std::move(inputs);
  spec.attrs = std::move(attrs);
  spec.num_outputs = num_outputs;
  return run_op(spec, out);
}

// An out-of-range index is an invalid_argument that names the node.
void expect_rejected(const Status &st, const std::string &what) {
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
  EXPECT_NE(st.message().find("node_under_test"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(what), std::string::npos) << st.message();
}

// ---- TopK ---------------------------------------------------------------------

// Naive TopK of one line: a stable sort with NaN above every number.
std::vector<std::pair<float, int64_t>> naive_topk(const std::vector<float> &line, int64_t k,
                                                  bool largest) {
  std::vector<std::pair<float, int64_t>> v;
  for (size_t i = 0; i < line.size(); ++i) v.push_back({line[i], int64_t(i)});
  auto key = [](float x) {
    return std::isnan(x) ? std::numeric_limits<double>::infinity() * 2 : double(x);
  };
  std::stable_sort(v.begin(), v.end(), [&](const auto &a, const auto &b) {
    const bool an = std::isnan(a.first), bn = std::isnan(b.first);
    if (an || bn) return largest ? (an && !bn) : (!an && bn);
    return largest ? key(a.first) > key(b.first) : key(a.first) < key(b.first);
  });
  v.resize(size_t(k));
  return v;
}

TEST(OpsIndexing, TopKMatchesNaiveWithTiesAndNaN) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int iter = 0; iter < 40; ++iter) {
    const int64_t outer = 1 + rng() % 3, n = 1 + rng() % 9, inner = 1 + rng() % 3;
    const int64_t k = rng() % (n + 1);
    const bool largest = rng() % 2;
    std::vector<float> x(size_t(outer * n * inner));
    // Few distinct values, so ties are common; some NaN.
    for (float &v : x) v = rng() % 7 == 0 ? kNaN : float(int(rng() % 5) - 2);
    std::vector<Tensor> out;
    // Axis 1 of [outer, n, inner], given as -2.
    ASSERT_TRUE(run("TopK", 11, {make_f32({outer, n, inner}, x), make_i64({1}, {k})}, &out,
                    {{"axis", attr_int(-2)}, {"largest", attr_int(largest)}}, 2)
                    .is_ok());
    ASSERT_EQ(out[0].shape(), (Shape{outer, k, inner}));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        std::vector<float> line;
        for (int64_t j = 0; j < n; ++j) line.push_back(x[size_t((o * n + j) * inner + i)]);
        const auto want = naive_topk(line, k, largest);
        for (int64_t j = 0; j < k; ++j) {
          const size_t at = size_t((o * k + j) * inner + i);
          EXPECT_TRUE(same_float(out[0].data<float>()[at], want[size_t(j)].first));
          EXPECT_EQ(out[1].data<int64_t>()[at], want[size_t(j)].second);
        }
      }
  }
}

TEST(OpsIndexing, TopKTiesTakeTheLowerIndexFirst) {
  std::vector<Tensor> out;
  ASSERT_TRUE(
      run("TopK", 11, {make_f32({5}, {1, 3, 3, 1, 3}), make_i64({1}, {4})}, &out, {}, 2).is_ok());
  EXPECT_EQ(values_of<int64_t>(out[1]), (std::vector<int64_t>{1, 2, 4, 0}));
  ASSERT_TRUE(run("TopK", 11, {make_f32({5}, {1, 3, 3, 1, 3}), make_i64({1}, {2})}, &out,
                  {{"largest", attr_int(0)}}, 2)
                  .is_ok());
  EXPECT_EQ(values_of<int64_t>(out[1]), (std::vector<int64_t>{0, 3}));
}

TEST(OpsIndexing, TopKKZeroAndKTooLarge) {
  std::vector<Tensor> out;
  ASSERT_TRUE(
      run("TopK", 11, {make_f32({2, 3}, {1, 2, 3, 4, 5, 6}), make_i64({1}, {0})}, &out, {}, 2)
          .is_ok());
  EXPECT_EQ(out[0].shape(), (Shape{2, 0}));
  expect_rejected(
      run("TopK", 11, {make_f32({2, 3}, {1, 2, 3, 4, 5, 6}), make_i64({1}, {4})}, &out, {}, 2),
      "k = 4");
  // Opset 1 takes k as an attribute.
  ASSERT_TRUE(run("TopK", 1, {make_f32({3}, {2, 9, 4})}, &out, {{"k", attr_int(2)}}, 2).is_ok());
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{9, 4}));
}

// ---- NonZero ------------------------------------------------------------------

TEST(OpsIndexing, NonZeroShapesFollowTheData) {
  std::vector<Tensor> out;
  ASSERT_TRUE(run("NonZero", 13, {make_f32({2, 3}, {0, 0, 0, 0, 0, 0})}, &out).is_ok());
  EXPECT_EQ(out[0].shape(), (Shape{2, 0}));
  ASSERT_TRUE(run("NonZero", 13, {make_f32({2, 2}, {0, kNaN, -0.f, 2})}, &out).is_ok());
  EXPECT_EQ(out[0].shape(), (Shape{2, 2}));  // NaN is non-zero, -0 is zero
  EXPECT_EQ(values_of<int64_t>(out[0]), (std::vector<int64_t>{0, 1, 1, 1}));
  ASSERT_TRUE(run("NonZero", 13, {make_f32({0, 4}, {})}, &out).is_ok());
  EXPECT_EQ(out[0].shape(), (Shape{2, 0}));
}

// ---- GatherElements / GatherND ------------------------------------------------

TEST(OpsIndexing, GatherElementsMatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int iter = 0; iter < 30; ++iter) {
    const Shape ds = {1 + int64_t(rng() % 3), 1 + int64_t(rng() % 4), 1 + int64_t(rng() % 3)};
    const int64_t axis = int64_t(rng() % 3);
    Shape is = ds;
    is[size_t(axis)] = int64_t(rng() % 5);  // any length along the axis, 0 included
    for (size_t d = 0; d < 3; ++d)
      if (int64_t(d) != axis) is[d] = 1 + int64_t(rng()) % ds[d];
    const std::vector<float> data = random_floats(rng, count(ds));
    std::vector<int64_t> idx(size_t(count(is)));
    for (int64_t &v : idx) v = int64_t(rng() % (2 * ds[size_t(axis)])) - ds[size_t(axis)];
    std::vector<Tensor> out;
    ASSERT_TRUE(run("GatherElements", 13, {make_f32(ds, data), make_i64(is, idx)}, &out,
                    {{"axis", attr_int(axis - 3)}})
                    .is_ok());
    ASSERT_EQ(out[0].shape(), is);
    for (int64_t a = 0; a < is[0]; ++a)
      for (int64_t b = 0; b < is[1]; ++b)
        for (int64_t c = 0; c < is[2]; ++c) {
          int64_t co[3] = {a, b, c};
          int64_t v = idx[size_t((a * is[1] + b) * is[2] + c)];
          co[axis] = v < 0 ? v + ds[size_t(axis)] : v;
          EXPECT_EQ(out[0].data<float>()[(a * is[1] + b) * is[2] + c],
                    data[size_t((co[0] * ds[1] + co[1]) * ds[2] + co[2])]);
        }
  }
}

TEST(OpsIndexing, GathersRejectOutOfRangeIndices) {
  std::vector<Tensor> out;
  const Tensor data = make_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_rejected(
      run("GatherElements", 13, {data, make_i64({2, 1}, {0, 3})}, &out, {{"axis", attr_int(1)}}),
      "value 3");
  expect_rejected(
      run("GatherElements", 13, {data, make_i64({2, 1}, {-4, 0})}, &out, {{"axis", attr_int(1)}}),
      "value -4");
  // A non-axis dim of indices larger than data's would read past it.
  expect_rejected(
      run("GatherElements", 13, {data, make_i64({3, 1}, {0, 0, 0})}, &out, {{"axis", attr_int(1)}}),
      "exceed");
  expect_rejected(run("GatherND", 13, {data, make_i64({1, 2}, {1, 3})}, &out), "value 3");
  expect_rejected(run("GatherND", 13, {data, make_i64({1, 3}, {0, 0, 0})}, &out), "last dim");
}

TEST(OpsIndexing, GatherNDBatchDimsAndSlices) {
  std::vector<Tensor> out;
  // data [2, 2, 2], batch_dims 1, one index per batch picks a row.
  const Tensor data = make_f32({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  ASSERT_TRUE(
      run("GatherND", 13, {data, make_i64({2, 1}, {1, -2})}, &out, {{"batch_dims", attr_int(1)}})
          .is_ok());
  EXPECT_EQ(out[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{2, 3, 4, 5}));
  // No tuples: an empty output of the slice shape.
  ASSERT_TRUE(run("GatherND", 13, {data, make_i64({0, 1}, {})}, &out).is_ok());
  EXPECT_EQ(out[0].shape(), (Shape{0, 2, 2}));
}

// ---- ScatterElements / ScatterND ----------------------------------------------

TEST(OpsIndexing, ScatterNDReductionsApplyEveryDuplicate) {
  const Tensor data = make_f32({4}, {1, 2, 3, 4});
  const Tensor idx = make_i64({3, 1}, {1, 1, -1});
  const Tensor upd = make_f32({3}, {10, 20, 5});
  std::vector<Tensor> out;
  ASSERT_TRUE(
      run("ScatterND", 16, {data, idx, upd}, &out, {{"reduction", attr_string("add")}}).is_ok());
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{1, 32, 3, 9}));
  ASSERT_TRUE(
      run("ScatterND", 16, {data, idx, upd}, &out, {{"reduction", attr_string("mul")}}).is_ok());
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{1, 400, 3, 20}));
  // none: the last write of a duplicate wins.
  ASSERT_TRUE(run("ScatterND", 16, {data, idx, upd}, &out).is_ok());
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{1, 20, 3, 5}));
  // int64 data.
  ASSERT_TRUE(run("ScatterND", 16,
                  {make_i64({2, 2}, {1, 2, 3, 4}), make_i64({1, 1}, {1}), make_i64({1, 2}, {5, 6})},
                  &out, {{"reduction", attr_string("add")}})
                  .is_ok());
  EXPECT_EQ(values_of<int64_t>(out[0]), (std::vector<int64_t>{1, 2, 8, 10}));
}

TEST(OpsIndexing, ScattersRejectOutOfRangeIndicesAndBadUpdates) {
  const Tensor data = make_f32({2, 2}, {1, 2, 3, 4});
  std::vector<Tensor> out;
  expect_rejected(run("ScatterND", 16, {data, make_i64({1, 2}, {0, 2}), make_f32({1}, {9})}, &out),
                  "value 2");
  expect_rejected(run("ScatterND", 16, {data, make_i64({1, 1}, {0}), make_f32({1}, {9})}, &out),
                  "updates");
  expect_rejected(
      run("ScatterElements", 16, {data, make_i64({1, 2}, {0, -3}), make_f32({1, 2}, {7, 8})}, &out),
      "value -3");
  expect_rejected(run("Scatter", 9, {data, make_i64({1, 1}, {5}), make_f32({1, 1}, {7})}, &out),
                  "value 5");
}

TEST(OpsIndexing, ScatterElementsMatchesNaive) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const char *modes[] = {"none", "add", "mul"};
  for (int iter = 0; iter < 30; ++iter) {
    const Shape ds = {1 + int64_t(rng() % 3), 1 + int64_t(rng() % 4)};
    const int64_t axis = int64_t(rng() % 2);
    Shape is = {1 + int64_t(rng()) % ds[0], 1 + int64_t(rng()) % ds[1]};
    is[size_t(axis)] = int64_t(rng() % 4);
    const std::string mode = modes[rng() % 3];
    std::vector<int64_t> data(size_t(count(ds))), upd(size_t(count(is))), idx(size_t(count(is)));
    for (int64_t &v : data) v = int64_t(rng() % 9) - 4;
    for (int64_t &v : upd) v = int64_t(rng() % 9) - 4;
    for (int64_t &v : idx) v = int64_t(rng() % ds[size_t(axis)]);
    std::vector<int64_t> want = data;
    for (int64_t a = 0; a < is[0]; ++a)
      for (int64_t b = 0; b < is[1]; ++b) {
        const size_t p = size_t(a * is[1] + b);
        const int64_t r = axis == 0 ? idx[p] : a, c = axis == 1 ? idx[p] : b;
        int64_t &y = want[size_t(r * ds[1] + c)];
        y = mode == "add" ? y + upd[p] : mode == "mul" ? y * upd[p] : upd[p];
      }
    std::vector<Tensor> out;
    ASSERT_TRUE(run("ScatterElements", 16,
                    {make_i64(ds, data), make_i64(is, idx), make_i64(is, upd)}, &out,
                    {{"axis", attr_int(axis)}, {"reduction", attr_string(mode)}})
                    .is_ok());
    EXPECT_EQ(values_of<int64_t>(out[0]), want) << mode;
  }
}

// A scatter whose data is an intermediate it reads last takes over data's
// buffer (reuse_input): the result must be the same as with a copy.
TEST(OpsIndexing, ScattersInPlaceOnAnIntermediate) {
  for (const char *op : {"ScatterND", "ScatterElements"}) {
    GraphBuilder b(test_seed());
    b.input("x", {4});
    const int idx = b.input("idx", std::string(op) == "ScatterND" ? Shape{2, 1} : Shape{2});
    b.g.values[size_t(idx)].dtype = DType::kInt64;
    b.input("u", {2});
    b.node("Add", "double", {"x", "x"}, {"d"});
    b.node(op, "scatter", {"d", "idx", "u"}, {"y"}).attrs["reduction"] = attr_string("add");
    b.g.nodes.back().opset = 16;
    b.output("y");
    SessionOptions options;
    options.threads = 1;
    std::unique_ptr<Session> s;
    ASSERT_TRUE(Session::create(b.g, options, &s).is_ok()) << op;
    const Shape is = std::string(op) == "ScatterND" ? Shape{2, 1} : Shape{2};
    std::vector<Tensor> out;
    Status st =
        s->run({make_f32({4}, {1, 2, 3, 4}), make_i64(is, {3, -4}), make_f32({2}, {10, 20})}, &out);
    ASSERT_TRUE(st.is_ok()) << st.message();
    EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{22, 4, 6, 18})) << op;
    // Rejected before the first write, naming the node.
    st = s->run({make_f32({4}, {1, 2, 3, 4}), make_i64(is, {0, 4}), make_f32({2}, {10, 20})}, &out);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.message();
    EXPECT_NE(st.message().find("scatter"), std::string::npos) << st.message();
  }
}

// ---- OneHot, CumSum, Trilu ----------------------------------------------------

TEST(OpsIndexing, OneHotOutOfRangeGivesOffValues) {
  std::vector<Tensor> out;
  ASSERT_TRUE(run("OneHot", 11,
                  {make_i64({4}, {0, -1, 3, -4}), make_i64({}, {3}), make_f32({2}, {-1, 5})}, &out,
                  {{"axis", attr_int(0)}})
                  .is_ok());
  EXPECT_EQ(out[0].shape(), (Shape{3, 4}));
  EXPECT_EQ(values_of<float>(out[0]),
            (std::vector<float>{5, -1, -1, -1, -1, -1, -1, -1, -1, 5, -1, -1}));
  expect_rejected(
      run("OneHot", 11, {make_i64({1}, {0}), make_i64({}, {0}), make_f32({2}, {0, 1})}, &out),
      "depth");
}

TEST(OpsIndexing, CumSumModesAndNegativeAxis) {
  std::vector<Tensor> out;
  const Tensor x = make_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor axis = make_i64({}, {-1});
  ASSERT_TRUE(run("CumSum", 14, {x, axis}, &out).is_ok());
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{1, 3, 6, 4, 9, 15}));
  ASSERT_TRUE(
      run("CumSum", 14, {x, axis}, &out, {{"exclusive", attr_int(1)}, {"reverse", attr_int(1)}})
          .is_ok());
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{5, 3, 0, 11, 6, 0}));
  ASSERT_TRUE(run("CumSum", 14, {make_i64({3}, {1, 2, 3}), make_i64({}, {0})}, &out).is_ok());
  EXPECT_EQ(values_of<int64_t>(out[0]), (std::vector<int64_t>{1, 3, 6}));
  expect_rejected(run("CumSum", 14, {x, make_i64({}, {2})}, &out), "axis 2");
}

TEST(OpsIndexing, TriluBeyondTheMatrixAndEmpty) {
  std::vector<Tensor> out;
  const Tensor x = make_f32({2, 3}, {1, 2, 3, 4, 5, 6});
  ASSERT_TRUE(run("Trilu", 14, {x, make_i64({}, {5})}, &out).is_ok());
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{0, 0, 0, 0, 0, 0}));
  ASSERT_TRUE(run("Trilu", 14, {x, make_i64({}, {-5})}, &out).is_ok());
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  ASSERT_TRUE(run("Trilu", 14, {x, make_i64({}, {-1})}, &out, {{"upper", attr_int(0)}}).is_ok());
  EXPECT_EQ(values_of<float>(out[0]), (std::vector<float>{0, 0, 0, 4, 0, 0}));
  ASSERT_TRUE(run("Trilu", 14, {make_f32({3, 0, 2}, {})}, &out).is_ok());
  EXPECT_EQ(out[0].shape(), (Shape{3, 0, 2}));
}

// ---- DepthToSpace / SpaceToDepth ----------------------------------------------

TEST(OpsIndexing, BlockLayoutsMatchTheSpecFormulaAndInvert) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (const char *mode : {"DCR", "CRD"}) {
    const int64_t b = 2, n = 2, c = 3, h = 2, w = 3;
    const Shape xs = {n, c * b * b, h, w};
    const std::vector<float> x = random_floats(rng, count(xs));
    std::vector<Tensor> out;
    ASSERT_TRUE(run("DepthToSpace", 13, {make_f32(xs, x)}, &out,
                    {{"blocksize", attr_int(b)}, {"mode", attr_string(mode)}})
                    .is_ok());
    ASSERT_EQ(out[0].shape(), (Shape{n, c, h * b, w * b}));
    for (int64_t in = 0; in < n; ++in)
      for (int64_t ic = 0; ic < c; ++ic)
        for (int64_t y = 0; y < h * b; ++y)
          for (int64_t z = 0; z < w * b; ++z) {
            const int64_t i = y % b, j = z % b;
            const int64_t src_c =
                std::string(mode) == "DCR" ? (i * b + j) * c + ic : ic * b * b + i * b + j;
            EXPECT_EQ(out[0].data<float>()[((in * c + ic) * h * b + y) * w * b + z],
                      x[size_t(((in * c * b * b + src_c) * h + y / b) * w + z / b)]);
          }
    if (std::string(mode) == "DCR") {  // SpaceToDepth inverts DCR
      std::vector<Tensor> back;
      ASSERT_TRUE(run("SpaceToDepth", 13, {out[0]}, &back, {{"blocksize", attr_int(b)}}).is_ok());
      EXPECT_EQ(values_of<float>(back[0]), x);
    }
  }
  std::vector<Tensor> out;
  expect_rejected(run("SpaceToDepth", 13, {make_f32({1, 1, 3, 2}, std::vector<float>(6, 0.f))},
                      &out, {{"blocksize", attr_int(2)}}),
                  "multiples");
}

}  // namespace
}  // namespace si::test
