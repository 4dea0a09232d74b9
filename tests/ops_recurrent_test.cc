// LSTM, GRU and RNN through a real Session against the naive loop
// ref::f32_recurrent_ref (the ONNX equations term by term), over random
// configurations: every direction, layout 0 and 1, sequence_lens shorter than
// the sequence, batch 1, sequence 1, odd sizes, initial states, peepholes,
// clip and activation lists. Constant weights take the engine's path (one
// projection matmul, a GEMV per step, in every mode); weights fed at run
// time take the naive loop, which checks the layout and direction handling.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/ref/recurrent.h"
#include "tests/op_runner.h"
#include "tests/ops_test_util.h"

namespace si::test {
namespace {

using ref::RnnCell;

Attribute attr_strings(const std::vector<std::string> &v) {
  Attribute a;
  a.kind = Attribute::Kind::kStrings;
  a.strings = v;
  return a;
}

struct RnnCase {
  RnnCell cell = RnnCell::kLstm;
  int dirs = 1;
  bool reverse = false;
  bool batch_first = false;
  int64_t seq = 1, batch = 1, input = 1, hidden = 1;
  bool bias = false, lens = false, h0 = false, c0 = false, peep = false;
  float clip = 0.f;
  bool input_forget = false, lbr = false;
  std::vector<std::string> acts;  // empty: defaults
  std::vector<float> alphas, betas;
};

const char *op_name(RnnCell c) {
  return c == RnnCell::kRnn ? "RNN" : c == RnnCell::kGru ? "GRU" : "LSTM";
}

std::vector<float> randn(std::mt19937 &rng, int64_t n, float scale = 0.5f) {
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (float &x : v) x = d(rng);
  return v;
}

// The tensors of a case, in layout 0 for the reference.
struct RnnData {
  std::vector<float> x, w, r, b, h0, c0, p;  // x, h0, c0 in the case's layout
  std::vector<int32_t> lens;
};

ref::RnnActivation act_of(const std::string &name, float alpha, float beta) {
  using K = ref::RnnActKind;
  if (name == "Relu") return {K::kRelu, 0, 0};
  if (name == "Tanh") return {K::kTanh, 0, 0};
  if (name == "Sigmoid") return {K::kSigmoid, 0, 0};
  if (name == "HardSigmoid") return {K::kHardSigmoid, alpha, beta};
  if (name == "LeakyRelu") return {K::kLeakyRelu, alpha, 0};
  if (name == "Softsign") return {K::kSoftsign, 0, 0};
  return {K::kAffine, alpha, beta};
}

// [a, b, c] -> [b, a, c]
std::vector<float> swap01(const std::vector<float> &v, int64_t a, int64_t b, int64_t c) {
  std::vector<float> o(v.size());
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      for (int64_t k = 0; k < c; ++k) o[(j * a + i) * c + k] = v[(i * b + j) * c + k];
  return o;
}

// Y, Y_h, Y_c in the case's layout from the reference, one direction at a time.
std::vector<std::vector<float>> expected(const RnnCase &c, const RnnData &d) {
  const int64_t S = c.seq, B = c.batch, H = c.hidden, D = c.dirs;
  const int64_t G = ref::rnn_gate_count(c.cell) * H;
  const std::vector<float> x = c.batch_first ? swap01(d.x, B, S, c.input) : d.x;
  const std::vector<float> h0 = c.batch_first && c.h0 ? swap01(d.h0, B, D, H) : d.h0;
  const std::vector<float> c0 = c.batch_first && c.c0 ? swap01(d.c0, B, D, H) : d.c0;
  std::vector<float> y(static_cast<size_t>(S * D * B * H)), yh(static_cast<size_t>(D * B * H)),
      yc(yh.size());
  const int per_dir = c.cell == RnnCell::kRnn ? 1 : c.cell == RnnCell::kGru ? 2 : 3;
  for (int dir = 0; dir < D; ++dir) {
    ref::RnnDirection p;
    p.cell = c.cell;
    p.seq = S;
    p.batch = B;
    p.input = c.input;
    p.hidden = H;
    p.clip = c.clip;
    p.input_forget = c.input_forget;
    p.linear_before_reset = c.lbr;
    p.reverse = c.reverse || dir == 1;
    // Defaults, then the case's list (each test activation takes at most one
    // alpha and one beta, in order).
    ref::RnnActivation defaults[3] = {act_of("Sigmoid", 0, 0), act_of("Tanh", 0, 0),
                                      act_of("Tanh", 0, 0)};
    if (c.cell == RnnCell::kRnn) defaults[0] = act_of("Tanh", 0, 0);
    for (int k = 0; k < per_dir && !c.acts.empty(); ++k) {
      const size_t i = static_cast<size_t>(dir * per_dir + k);
      defaults[k] = act_of(c.acts[i], c.alphas[i], c.betas[i]);
    }
    p.f = defaults[0];
    p.g = defaults[1];
    p.h = defaults[2];
    ref::f32_recurrent_ref(
        p, x.data(), d.w.data() + dir * G * c.input, d.r.data() + dir * G * H,
        c.bias ? d.b.data() + dir * 2 * G : nullptr,
        c.bias ? d.b.data() + dir * 2 * G + G : nullptr,
        c.peep ? d.p.data() + dir * 3 * H : nullptr, c.lens ? d.lens.data() : nullptr,
        c.h0 ? h0.data() + dir * B * H : nullptr, c.c0 ? c0.data() + dir * B * H : nullptr,
        y.data() + dir * B * H, D * B * H, yh.data() + dir * B * H, yc.data() + dir * B * H);
  }
  if (c.batch_first) {
    std::vector<float> yb(y.size());
    for (int64_t s = 0; s < S; ++s)
      for (int64_t dd = 0; dd < D; ++dd)
        for (int64_t b = 0; b < B; ++b)
          for (int64_t j = 0; j < H; ++j)
            yb[((b * S + s) * D + dd) * H + j] = y[((s * D + dd) * B + b) * H + j];
    return {yb, swap01(yh, D, B, H), swap01(yc, D, B, H)};
  }
  return {y, yh, yc};
}

OpSpec spec_of(const RnnCase &c, const RnnData &d, bool constant_weights, ExecMode mode) {
  const int64_t S = c.seq, B = c.batch, H = c.hidden, D = c.dirs;
  const int64_t G = ref::rnn_gate_count(c.cell) * H;
  OpSpec spec;
  spec.op_type = op_name(c.cell);
  spec.opset = 14;
  spec.options.mode = mode;
  spec.attrs["hidden_size"] = attr_int(H);
  spec.attrs["direction"] = attr_string(D == 2      ? "bidirectional"
                                        : c.reverse ? "reverse"
                                                    : "forward");
  spec.attrs["layout"] = attr_int(c.batch_first ? 1 : 0);
  if (c.clip > 0) spec.attrs["clip"] = attr_float(c.clip);
  if (c.input_forget) spec.attrs["input_forget"] = attr_int(1);
  if (c.lbr) spec.attrs["linear_before_reset"] = attr_int(1);
  if (!c.acts.empty()) {
    spec.attrs["activations"] = attr_strings(c.acts);
    // Only the functions that take an alpha (beta) consume one.
    std::vector<float> alphas, betas;
    for (size_t i = 0; i < c.acts.size(); ++i) {
      const std::string &a = c.acts[i];
      if (a == "HardSigmoid" || a == "LeakyRelu" || a == "Affine") alphas.push_back(c.alphas[i]);
      if (a == "HardSigmoid" || a == "Affine") betas.push_back(c.betas[i]);
    }
    if (!alphas.empty()) spec.attrs["activation_alpha"] = attr_floats(alphas);
    if (!betas.empty()) spec.attrs["activation_beta"] = attr_floats(betas);
  }
  const Shape state = c.batch_first ? Shape{B, D, H} : Shape{D, B, H};
  spec.inputs = {make_f32(c.batch_first ? Shape{B, S, c.input} : Shape{S, B, c.input}, d.x),
                 make_f32({D, G, c.input}, d.w),
                 make_f32({D, G, H}, d.r),
                 c.bias ? make_f32({D, 2 * G}, d.b) : Tensor(),
                 c.lens ? make_tensor<int32_t>(DType::kInt32, {B}, d.lens) : Tensor(),
                 c.h0 ? make_f32(state, d.h0) : Tensor()};
  if (c.cell == RnnCell::kLstm) {
    spec.inputs.push_back(c.c0 ? make_f32(state, d.c0) : Tensor());
    spec.inputs.push_back(c.peep ? make_f32({D, 3 * H}, d.p) : Tensor());
  }
  spec.constant = {false, constant_weights, constant_weights, constant_weights};
  spec.num_outputs = c.cell == RnnCell::kLstm ? 3 : 2;
  return spec;
}

RnnCase random_case(std::mt19937 &rng) {
  auto pick = [&](std::initializer_list<int64_t> v) {
    return *(v.begin() + std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng));
  };
  auto coin = [&] { return std::uniform_int_distribution<int>(0, 1)(rng) == 1; };
  RnnCase c;
  c.cell = static_cast<RnnCell>(pick({0, 1, 2}));
  const int64_t dir = pick({0, 1, 2});
  c.dirs = dir == 2 ? 2 : 1;
  c.reverse = dir == 1;
  c.batch_first = coin();
  c.seq = pick({1, 2, 7});
  c.batch = pick({1, 3, 5});
  c.input = pick({1, 5, 13});
  c.hidden = pick({1, 3, 17});
  c.bias = coin();
  c.lens = coin();
  c.h0 = coin();
  c.c0 = c.cell == RnnCell::kLstm && coin();
  c.peep = c.cell == RnnCell::kLstm && coin();
  c.clip = coin() ? 0.f : 0.7f;
  c.input_forget = c.cell == RnnCell::kLstm && pick({0, 0, 1}) == 1;
  c.lbr = c.cell == RnnCell::kGru && coin();
  if (pick({0, 0, 1}) == 1) {
    static const char *const kNames[] = {"Relu",      "Tanh",     "Sigmoid", "HardSigmoid",
                                         "LeakyRelu", "Softsign", "Affine"};
    const int per_dir = c.cell == RnnCell::kRnn ? 1 : c.cell == RnnCell::kGru ? 2 : 3;
    // Gates (f, every function's first) stay bounded, else the state
    // overflows within a few steps; g and h may be any.
    for (int i = 0; i < per_dir * c.dirs; ++i) {
      c.acts.push_back(i % per_dir == 0 ? kNames[pick({1, 2, 3, 5})]
                                        : kNames[pick({0, 1, 2, 3, 4, 5, 6})]);
      c.alphas.push_back(std::uniform_real_distribution<float>(0.1f, 0.9f)(rng));
      c.betas.push_back(std::uniform_real_distribution<float>(-0.3f, 0.6f)(rng));
    }
  }
  return c;
}

RnnData random_data(const RnnCase &c, std::mt19937 &rng) {
  const int64_t H = c.hidden, D = c.dirs, G = ref::rnn_gate_count(c.cell) * H;
  RnnData d;
  d.x = randn(rng, c.seq * c.batch * c.input, 1.f);
  d.w = randn(rng, D * G * c.input);
  d.r = randn(rng, D * G * H);
  d.b = randn(rng, D * 2 * G);
  d.h0 = randn(rng, D * c.batch * H);
  d.c0 = randn(rng, D * c.batch * H);
  d.p = randn(rng, D * 3 * H);
  for (int64_t b = 0; b < c.batch; ++b)
    d.lens.push_back(std::uniform_int_distribution<int32_t>(0, int32_t(c.seq))(rng));
  if (c.lens) d.lens[0] = int32_t(c.seq);  // one full-length entry
  return d;
}

std::string describe(const RnnCase &c) {
  std::string s = std::string(op_name(c.cell)) + " dirs=" + std::to_string(c.dirs) +
                  (c.reverse ? " reverse" : "") + " layout=" + (c.batch_first ? "1" : "0") +
                  " S=" + std::to_string(c.seq) + " B=" + std::to_string(c.batch) +
                  " I=" + std::to_string(c.input) + " H=" + std::to_string(c.hidden) +
                  (c.bias ? " bias" : "") + (c.lens ? " lens" : "") + (c.h0 ? " h0" : "") +
                  (c.c0 ? " c0" : "") + (c.peep ? " peep" : "") + (c.clip > 0 ? " clip" : "") +
                  (c.input_forget ? " input_forget" : "") + (c.lbr ? " lbr" : "");
  for (const std::string &a : c.acts) s += " " + a;
  return s;
}

// rel: 1e-4 with the default (bounded) activations; unbounded gate
// activations (Relu, LeakyRelu, Affine as f) let the cell state grow and
// amplify the summation-order rounding of the matmuls over the steps.
void expect_close(const std::vector<float> &got, const std::vector<float> &want,
                  const std::string &what, float rel) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 1e-4f + rel * std::fabs(want[i])) << what << " at " << i;
  }
}

TEST(OpsRecurrent, RandomCasesMatchNaiveLoop) {
  const uint32_t seed = test_seed();
  SI_TRACE_SEED(seed);
  std::mt19937 rng(seed);
  for (int iter = 0; iter < 150; ++iter) {
    const RnnCase c = random_case(rng);
    const RnnData d = random_data(c, rng);
    const std::vector<std::vector<float>> want = expected(c, d);
    SCOPED_TRACE(describe(c));
    for (int variant = 0; variant < 4; ++variant) {
      const bool constant = variant < 3;
      const ExecMode mode = variant == 1   ? ExecMode::kDense
                            : variant == 2 ? ExecMode::kSparse
                                           : ExecMode::kAuto;
      std::vector<Tensor> out;
      const Status s = run_op(spec_of(c, d, constant, mode), &out);
      ASSERT_TRUE(s.is_ok()) << s.message();
      const std::string what =
          std::string(constant ? "constant weights, mode " : "fed weights, mode ") +
          exec_mode_name(mode);
      for (size_t k = 0; k < out.size(); ++k)
        expect_close(to_vector_f32(out[k]), want[k], what + ", output " + std::to_string(k),
                     c.acts.empty() ? 1e-4f : 1e-3f);
    }
  }
}

// Bidirectional LSTM with every optional input: two sessions on the same
// input give the same bytes, output by output.
TEST(OpsRecurrent, Deterministic) {
  std::mt19937 rng(7);
  RnnCase c;
  c.cell = RnnCell::kLstm;
  c.dirs = 2;
  c.seq = 4;
  c.batch = 2;
  c.input = 3;
  c.hidden = 5;
  c.bias = c.h0 = c.c0 = c.peep = c.lens = true;
  const RnnData d = random_data(c, rng);
  std::vector<Tensor> a, b;
  ASSERT_TRUE(run_op(spec_of(c, d, true, ExecMode::kAuto), &a).is_ok());
  ASSERT_TRUE(run_op(spec_of(c, d, true, ExecMode::kAuto), &b).is_ok());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].numel(), b[k].numel());
    EXPECT_EQ(0, std::memcmp(a[k].raw(), b[k].raw(), a[k].size_bytes())) << "output " << k;
  }
}

Status run_bad(RnnCase c, void (*edit)(OpSpec *), bool constant) {
  std::mt19937 rng(3);
  const RnnData d = random_data(c, rng);
  OpSpec spec = spec_of(c, d, constant, ExecMode::kAuto);
  edit(&spec);
  std::vector<Tensor> out;
  return run_op(spec, &out);
}

RnnCase small(RnnCell cell) {
  RnnCase c;
  c.cell = cell;
  c.seq = 2;
  c.batch = 2;
  c.input = 3;
  c.hidden = 4;
  return c;
}

TEST(OpsRecurrent, BadInputsNameTheNode) {
  for (bool constant : {true, false}) {
    SCOPED_TRACE(constant ? "constant weights" : "fed weights");
    Status s = run_bad(
        small(RnnCell::kGru),
        [](OpSpec *sp) {
          sp->inputs[1] = make_f32({1, 11, 3}, std::vector<float>(33, 0.f));
        },
        constant);
    EXPECT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("node_under_test"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("W [1,11,3]"), std::string::npos) << s.message();

    s = run_bad(
        small(RnnCell::kLstm), [](OpSpec *sp) { sp->attrs["hidden_size"] = attr_int(5); },
        constant);
    EXPECT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("node_under_test"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("hidden_size attribute is 5"), std::string::npos) << s.message();

    s = run_bad(
        small(RnnCell::kRnn),
        [](OpSpec *sp) {
          sp->inputs[2] = make_f32({1, 4, 3}, std::vector<float>(12, 0.f));
        },
        constant);
    EXPECT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("R [1,4,3]"), std::string::npos) << s.message();

    s = run_bad(
        small(RnnCell::kLstm),
        [](OpSpec *sp) {
          sp->inputs[3] = make_f32({1, 7}, std::vector<float>(7, 0.f));
        },
        constant);
    EXPECT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("B [1,7]"), std::string::npos) << s.message();
  }
  Status s = run_bad(
      small(RnnCell::kRnn), [](OpSpec *sp) { sp->attrs["activations"] = attr_strings({"Swish"}); },
      true);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.message();
  EXPECT_NE(s.message().find("node_under_test"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("\"Swish\""), std::string::npos) << s.message();
  s = run_bad(
      small(RnnCell::kGru),
      [](OpSpec *sp) { sp->attrs["activations"] = attr_strings({"Sigmoid"}); }, true);
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("takes 2"), std::string::npos) << s.message();
  s = run_bad(
      small(RnnCell::kGru),
      [](OpSpec *sp) {
        sp->inputs[4] = make_tensor<int32_t>(DType::kInt32, {2}, {1, 3});
      },
      true);
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("sequence_lens[1] = 3"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace si::test
