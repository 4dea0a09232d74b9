// Resize and Upsample through a real Session: hand-computed cases from the
// spec formulas, and random shapes against a line-by-line port of the ONNX
// reference (onnx/backend/test/case/node/resize.py), which interpolates each
// output point recursively over the axes instead of axis by axis.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

struct Config {
  std::string mode = "nearest";
  std::string coord = "half_pixel";
  std::string nearest = "round_prefer_floor";
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0;
};

std::vector<double> coeffs_of(const Config &c, double ratio, bool whole) {
  if (c.mode == "nearest") {
    if (whole) return {0, 1};
    if (c.nearest == "round_prefer_floor") return {double(ratio <= 0.5), double(ratio > 0.5)};
    if (c.nearest == "round_prefer_ceil") return {double(ratio < 0.5), double(ratio >= 0.5)};
    if (c.nearest == "floor") return {1, 0};
    return {0, 1};
  }
  if (c.mode == "linear") return {1 - ratio, ratio};
  const double A = c.cubic_a, r = ratio;
  return {((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A,
          ((A + 2) * r - (A + 3)) * r * r + 1,
          ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1,
          ((A * ((1 - r) + 1) - 5 * A) * ((1 - r) + 1) + 8 * A) * ((1 - r) + 1) - 4 * A};
}

// interpolate_1d_with_x. pytorch_half_pixel with a 1-long output maps to 0
// as the spec says (the Python reference uses -0.5; the two agree except for
// cubic).
double interp_1d(const std::vector<double> &data, double scale, int64_t x_out, int64_t out_len,
                 double roi0, double roi1, const Config &c) {
  const double in = double(data.size()), out_w = scale * in, x = double(x_out);
  double xo = 0;
  if (c.coord == "align_corners") {
    xo = out_w == 1 ? 0 : x * (in - 1) / (out_w - 1);
  } else if (c.coord == "asymmetric") {
    xo = x / scale;
  } else if (c.coord == "tf_crop_and_resize") {
    xo = out_w == 1 ? (roi1 - roi0) * (in - 1) / 2 : x * (roi1 - roi0) * (in - 1) / (out_w - 1);
    xo += roi0 * (in - 1);
    if (xo < 0 || xo > in - 1) return c.extrapolation;
  } else if (c.coord == "pytorch_half_pixel") {
    xo = out_len > 1 ? (x + 0.5) / scale - 0.5 : 0;
  } else if (c.coord == "tf_half_pixel_for_nn") {
    xo = (x + 0.5) / scale;
  } else {
    xo = (x + 0.5) / scale - 0.5;
  }
  const double fl = std::floor(xo);
  const bool whole = fl == xo;
  std::vector<double> coeffs = coeffs_of(c, whole ? 1.0 : xo - fl, whole);
  const int64_t n = int64_t(coeffs.size());
  // get_neighbor: edge-pad by ceil(n / 2), take the n indexes nearest to x
  // (ties to the smaller), in ascending order.
  const int64_t pad = (n + 1) / 2, len = int64_t(data.size());
  std::vector<int64_t> order;
  for (int64_t i = 0; i < len + 2 * pad; ++i) order.push_back(i);
  const double xp = xo + double(pad);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return std::fabs(xp - double(a)) < std::fabs(xp - double(b));
  });
  order.resize(size_t(n));
  std::sort(order.begin(), order.end());
  if (c.exclude_outside) {
    double sum = 0;
    for (int64_t t = 0; t < n; ++t) {
      const int64_t idx = order[size_t(t)] - pad;
      if (idx < 0 || idx >= len) coeffs[size_t(t)] = 0;
      sum += coeffs[size_t(t)];
    }
    for (double &v : coeffs) v /= sum;
  }
  double acc = 0;
  for (int64_t t = 0; t < n; ++t) {
    const int64_t idx = std::clamp<int64_t>(order[size_t(t)] - pad, 0, len - 1);
    acc += coeffs[size_t(t)] * data[size_t(idx)];
  }
  return acc;
}

// interpolate_nd_with_x over the axes from `axis` on.
double interp_nd(const double *data, const Shape &shape, const Shape &out, size_t axis,
                 const std::vector<double> &scales, const std::vector<int64_t> &x,
                 const std::vector<double> &roi, const Config &c) {
  const int64_t inner = count(Shape(shape.begin() + long(axis) + 1, shape.end()));
  std::vector<double> line(static_cast<size_t>(shape[axis]));
  for (int64_t i = 0; i < shape[axis]; ++i) {
    line[size_t(i)] = axis + 1 == shape.size()
                          ? data[i]
                          : interp_nd(data + i * inner, shape, out, axis + 1, scales, x, roi, c);
  }
  const size_t r = shape.size();
  return interp_1d(line, scales[axis], x[axis], out[axis], roi.empty() ? 0 : roi[axis],
                   roi.empty() ? 1 : roi[axis + r], c);
}

std::vector<float> reference(const Tensor &x, const Shape &out, const std::vector<double> &scales,
                             const std::vector<double> &roi, const Config &c) {
  std::vector<double> data(x.data<float>(), x.data<float>() + x.numel());
  std::vector<float> y(size_t(count(out)));
  for (int64_t f = 0; f < count(out); ++f) {
    std::vector<int64_t> coord(out.size());
    int64_t rest = f;
    for (size_t i = out.size(); i-- > 0;) {
      coord[i] = rest % out[i];
      rest /= out[i];
    }
    y[size_t(f)] = float(interp_nd(data.data(), x.shape(), out, 0, scales, coord, roi, c));
  }
  return y;
}

std::map<std::string, Attribute> attrs_of(const Config &c) {
  return {{"mode", attr_string(c.mode)},
          {"coordinate_transformation_mode", attr_string(c.coord)},
          {"nearest_mode", attr_string(c.nearest)},
          {"cubic_coeff_a", attr_float(float(c.cubic_a))},
          {"exclude_outside", attr_int(c.exclude_outside)},
          {"extrapolation_value", attr_float(float(c.extrapolation))}};
}

Status resize_sizes(const Tensor &x, const std::vector<int64_t> &sizes, const Config &c,
                    std::vector<Tensor> *out, const Tensor &roi = Tensor()) {
  OpSpec spec;
  spec.op_type = "Resize";
  spec.opset = 13;
  spec.attrs = attrs_of(c);
  spec.inputs = {x, roi, Tensor(), make_i64({int64_t(sizes.size())}, sizes)};
  return run_op(spec, out);
}

Status resize_scales(const Tensor &x, const std::vector<float> &scales, const Config &c,
                     std::vector<Tensor> *out, int opset = 13, const Tensor &roi = Tensor()) {
  OpSpec spec;
  spec.op_type = "Resize";
  spec.opset = opset;
  spec.attrs = attrs_of(c);
  const Tensor s = make_f32({int64_t(scales.size())}, scales);
  spec.inputs = opset <= 10 ? std::vector<Tensor>{x, s} : std::vector<Tensor>{x, roi, s};
  if (opset <= 10) spec.attrs = {{"mode", attr_string(c.mode)}};
  return run_op(spec, out);
}

void expect_close(const std::vector<float> &got, const std::vector<float> &want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-5 + 1e-4 * std::fabs(want[i])) << "at " << i;
}

// ------------------------------------------------------------------ by hand

TEST(OpsResize, HandComputed1D) {
  const Tensor x4 = make_f32({4}, {1, 2, 3, 4});
  std::vector<Tensor> out;
  Config c;
  c.mode = "linear";
  // half_pixel x2: x = (o + 0.5) / 2 - 0.5, clamped at both ends.
  ASSERT_TRUE(resize_scales(x4, {2.f}, c, &out).is_ok());
  expect_close(to_vector_f32(out[0]), {1, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75, 4});
  // align_corners to 7: x = o * 3 / 6.
  c.coord = "align_corners";
  ASSERT_TRUE(resize_sizes(x4, {7}, c, &out).is_ok());
  expect_close(to_vector_f32(out[0]), {1, 1.5, 2, 2.5, 3, 3.5, 4});
  // asymmetric to 6 (scale 1.5): x = o / 1.5.
  c.coord = "asymmetric";
  ASSERT_TRUE(resize_sizes(x4, {6}, c, &out).is_ok());
  expect_close(to_vector_f32(out[0]), {1, 1 + 2 / 3.f, 1 + 4 / 3.f, 3, 3 + 2 / 3.f, 4});
  // pytorch_half_pixel to 1 samples x = 0.
  c.coord = "pytorch_half_pixel";
  ASSERT_TRUE(resize_sizes(x4, {1}, c, &out).is_ok());
  expect_close(to_vector_f32(out[0]), {1});
  // tf_crop_and_resize, roi [0.4, 1.2] to 3: x = 1.2 + o * 0.8 * 3 / 2, the
  // last point (3.6) lies outside and takes the extrapolation value.
  c.coord = "tf_crop_and_resize";
  c.extrapolation = -9;
  ASSERT_TRUE(resize_sizes(x4, {3}, c, &out, make_f32({2}, {0.4f, 1.2f})).is_ok());
  expect_close(to_vector_f32(out[0]), {2.2f, 3.4f, -9});

  const Tensor x3 = make_f32({3}, {10, 20, 30});
  Config n;
  n.coord = "asymmetric";
  n.nearest = "round_prefer_ceil";  // x = o / 2: ties go up
  ASSERT_TRUE(resize_sizes(x3, {6}, n, &out).is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>({10, 20, 20, 30, 30, 30}));
  n.nearest = "round_prefer_floor";  // ties go down
  ASSERT_TRUE(resize_sizes(x3, {6}, n, &out).is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>({10, 10, 20, 20, 30, 30}));
  n.coord = "half_pixel";
  n.nearest = "ceil";  // x = (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, ...
  ASSERT_TRUE(resize_sizes(x3, {6}, n, &out).is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>({10, 20, 20, 30, 30, 30}));
  n.nearest = "floor";
  ASSERT_TRUE(resize_sizes(x3, {6}, n, &out).is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>({10, 10, 10, 20, 20, 30}));
  n.coord = "tf_half_pixel_for_nn";  // x = (o + 0.5) * 3 / 2 = 0.75, 2.25
  n.nearest = "round_prefer_floor";
  ASSERT_TRUE(resize_sizes(x3, {2}, n, &out).is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), std::vector<float>({20, 30}));
}

TEST(OpsResize, LegacyFormsAreAsymmetricFloor) {
  // Upsample-7/9 and Resize-10 nearest: y[o] = x[floor(o / scale)].
  const Tensor x = make_f32({1, 1, 2, 2}, {1, 2, 3, 4});
  const std::vector<float> want = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                                   3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
  std::vector<Tensor> out;
  OpSpec up7;
  up7.op_type = "Upsample";
  up7.opset = 7;
  up7.attrs = {{"scales", attr_floats({1, 1, 2, 3})}};
  up7.inputs = {x};
  ASSERT_TRUE(run_op(up7, &out).is_ok());
  EXPECT_EQ(out[0].shape(), Shape({1, 1, 4, 6}));
  EXPECT_EQ(to_vector_f32(out[0]), want);
  OpSpec up9 = up7;
  up9.opset = 9;
  up9.attrs.clear();
  up9.inputs = {x, make_f32({4}, {1, 1, 2, 3})};
  ASSERT_TRUE(run_op(up9, &out).is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), want);
  Config c;
  ASSERT_TRUE(resize_scales(x, {1, 1, 2, 3}, c, &out, 10).is_ok());
  EXPECT_EQ(to_vector_f32(out[0]), want);
  // Linear Resize-10 is asymmetric too: x = o / 2 along the one resized axis.
  c.mode = "linear";
  ASSERT_TRUE(resize_scales(make_f32({2}, {1, 3}), {2}, c, &out, 10).is_ok());
  expect_close(to_vector_f32(out[0]), {1, 2, 3, 3});
}

TEST(OpsResize, IdentityIsAViewAndNearestKeepsAnyDtype) {
  const Tensor x = make_f32({1, 2, 3}, {1, 2, 3, 4, 5, 6});
  std::vector<Tensor> out;
  Config c;
  c.mode = "linear";
  ASSERT_TRUE(resize_scales(x, {1, 1, 1}, c, &out).is_ok());
  EXPECT_EQ(out[0].raw(), x.raw());
  const Tensor xi = make_tensor<int8_t>(DType::kInt8, {2, 2}, {-1, 2, -3, 4});
  Config n;
  n.coord = "asymmetric";
  n.nearest = "floor";
  ASSERT_TRUE(resize_sizes(xi, {2, 4}, n, &out).is_ok());
  EXPECT_EQ(values_of<int8_t>(out[0]), std::vector<int8_t>({-1, -1, 2, 2, -3, -3, 4, 4}));
}

// ------------------------------------------------------------------ vs reference

TEST(OpsResize, RandomAgainstOnnxReference) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  const char *modes[] = {"nearest", "linear", "cubic"};
  const char *coords[] = {"half_pixel",         "asymmetric",           "align_corners",
                          "pytorch_half_pixel", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  const char *rounds[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  const float scale_pool[] = {0.5f, 0.6f, 0.75f, 1.f, 1.f, 1.5f, 2.f, 3.f};
  for (int iter = 0; iter < 300; ++iter) {
    Config c;
    c.mode = modes[iter % 3];
    c.coord = coords[(iter / 3) % 6];
    if (c.mode != "nearest" && c.coord == "tf_half_pixel_for_nn") continue;
    c.nearest = rounds[rng() % 4];
    c.cubic_a = rng() % 2 ? -0.75 : -0.5;
    // exclude_outside only reweights linear and cubic taps; for nearest the
    // Python reference divides 0 by 0 when the picked neighbour is outside.
    c.exclude_outside = c.mode != "nearest" && rng() % 3 == 0;
    c.extrapolation = rng() % 2 ? 0.0 : 7.5;
    const int rank = 1 + int(rng() % 4);
    Shape shape;
    for (int i = 0; i < rank; ++i) shape.push_back(1 + int64_t(rng() % 4));
    const Tensor x = make_f32(shape, random_floats(rng, count(shape)));
    std::vector<double> roi;
    Tensor roi_t;
    if (c.coord == "tf_crop_and_resize") {
      std::vector<float> r(static_cast<size_t>(2 * rank));
      for (int i = 0; i < rank; ++i) {
        r[size_t(i)] = float(int(rng() % 7) - 1) / 10.f;         // -0.1 .. 0.5
        r[size_t(i + rank)] = float(int(rng() % 7) + 6) / 10.f;  // 0.6 .. 1.2
      }
      roi.assign(r.begin(), r.end());
      roi_t = make_f32({2 * rank}, r);
    }
    std::vector<double> scales(static_cast<size_t>(rank));
    Shape out_shape(static_cast<size_t>(rank));
    std::vector<Tensor> out;
    Status s;
    const bool by_sizes = rng() % 2 == 0;
    if (by_sizes) {
      std::vector<int64_t> sizes;
      for (int i = 0; i < rank; ++i) {
        sizes.push_back(1 + int64_t(rng() % 7));
        scales[size_t(i)] = double(sizes.back()) / double(shape[size_t(i)]);
        out_shape[size_t(i)] = sizes.back();
      }
      s = resize_sizes(x, sizes, c, &out, roi_t);
    } else {
      std::vector<float> sc;
      for (int i = 0; i < rank; ++i) {
        sc.push_back(scale_pool[rng() % 8]);
        scales[size_t(i)] = sc.back();
        double len = double(shape[size_t(i)]) * double(sc.back());
        if (!roi.empty()) len *= roi[size_t(i + rank)] - roi[size_t(i)];
        out_shape[size_t(i)] = int64_t(std::floor(len));
      }
      s = resize_scales(x, sc, c, &out, 13, roi_t);
    }
    SCOPED_TRACE(c.mode + " " + c.coord + " " + c.nearest + " exclude " +
                 std::to_string(c.exclude_outside) + " A " + std::to_string(c.cubic_a) + " in " +
                 shape_str(shape) + " out " + shape_str(out_shape) +
                 (by_sizes ? " (sizes)" : " (scales)"));
    ASSERT_TRUE(s.is_ok()) << s.message();
    ASSERT_EQ(out[0].shape(), out_shape);
    expect_close(to_vector_f32(out[0]), reference(x, out_shape, scales, roi, c));
  }
}

TEST(OpsResize, Errors) {
  const Tensor x = make_f32({2, 2}, {1, 2, 3, 4});
  std::vector<Tensor> out;
  Config c;
  Status s = resize_scales(x, {2.f}, c, &out);
  EXPECT_NE(s.message().find("one value per axis"), std::string::npos) << s.message();
  s = resize_scales(x, {2.f, 0.f}, c, &out);
  EXPECT_NE(s.message().find("positive"), std::string::npos) << s.message();
  s = resize_scales(x, {2.f, NAN}, c, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = resize_scales(x, {1e30f, 1e30f}, c, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = resize_sizes(x, {2, -1}, c, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  s = resize_sizes(make_f32({0, 2}, {}), {3, 2}, c, &out);
  EXPECT_NE(s.message().find("empty axis"), std::string::npos) << s.message();

  OpSpec both;
  both.op_type = "Resize";
  both.opset = 13;
  both.inputs = {x, Tensor(), make_f32({2}, {1, 1}), make_i64({2}, {2, 2})};
  s = run_op(both, &out);
  EXPECT_NE(s.message().find("only one of scales and sizes"), std::string::npos) << s.message();
  OpSpec neither = both;
  neither.inputs = {x, Tensor(), make_f32({0}, {})};
  s = run_op(neither, &out);
  EXPECT_NE(s.message().find("one of scales and sizes"), std::string::npos) << s.message();

  c.mode = "linear";
  s = resize_sizes(make_tensor<int8_t>(DType::kInt8, {2}, {1, 2}), {4}, c, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.message();
  c.coord = "tf_crop_and_resize";
  s = resize_sizes(x, {3, 3}, c, &out);
  EXPECT_NE(s.message().find("roi"), std::string::npos) << s.message();
  c.coord = "bogus";
  s = resize_sizes(x, {3, 3}, c, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  c = Config();
  c.mode = "area";
  s = resize_sizes(x, {3, 3}, c, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  c = Config();
  c.nearest = "nearest_even";
  s = resize_sizes(x, {3, 3}, c, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
}

}  // namespace
}  // namespace si::test
