// LSTM, GRU and RNN (opsets 7 and later; 14 adds `layout`), float32: forward,
// reverse and bidirectional, sequence_lens, initial states, clip, the
// activation lists, LSTM peepholes and input_forget, GRU linear_before_reset.
//
// With constant W and R (every exported model) each direction runs as: the
// input projection X·W^T + biases of all steps in one matmul, then per step
// h·R^T (a GEMV at batch 1) and the cell update (ref::f32_recurrent_gates),
// both matmuls through ConstWeightMatmul (oneDNN or the engine's kernels).
// With W or R as graph inputs (the ONNX backend cases) the naive loop
// ref::f32_recurrent_ref runs instead. oneDNN's own RNN primitives are not
// used: they fix the activations (no activation lists, no clip on GRU, no
// peepholes with input_forget) and have no sequence_lens, so they would
// cover a subset behind a second code path.
#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/const_matmul.h"
#include "engine/ops/ops.h"
#include "kernels/ref/recurrent.h"

namespace si {

namespace {

using ref::RnnActivation;
using ref::RnnActKind;
using ref::RnnCell;

const char *cell_name(RnnCell cell) {
  return cell == RnnCell::kRnn ? "RNN" : cell == RnnCell::kGru ? "GRU" : "LSTM";
}

// Activation names as the spec lists them, with their default alpha and beta
// (those of the ONNX operator of the same name) and whether each is used.
struct ActSpec {
  const char *name;
  RnnActKind kind;
  bool uses_alpha, uses_beta;
  float alpha, beta;
};
constexpr ActSpec kActs[] = {
    {"relu", RnnActKind::kRelu, false, false, 0.f, 0.f},
    {"tanh", RnnActKind::kTanh, false, false, 0.f, 0.f},
    {"sigmoid", RnnActKind::kSigmoid, false, false, 0.f, 0.f},
    {"affine", RnnActKind::kAffine, true, true, 1.f, 0.f},
    {"leakyrelu", RnnActKind::kLeakyRelu, true, false, 0.01f, 0.f},
    {"thresholdedrelu", RnnActKind::kThresholdedRelu, true, false, 1.f, 0.f},
    {"scaledtanh", RnnActKind::kScaledTanh, true, true, 1.f, 1.f},
    {"hardsigmoid", RnnActKind::kHardSigmoid, true, true, 0.2f, 0.5f},
    {"elu", RnnActKind::kElu, true, false, 1.f, 0.f},
    {"softsign", RnnActKind::kSoftsign, false, false, 0.f, 0.f},
    {"softplus", RnnActKind::kSoftplus, false, false, 0.f, 0.f},
};

std::string lower(std::string s) {
  for (char &c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct RecurrentConfig {
  RnnCell cell = RnnCell::kLstm;
  int64_t hidden = -1;  // -1: from R at run time
  int dirs = 1;
  bool reverse = false;      // direction = "reverse"
  bool batch_first = false;  // layout = 1
  float clip = 0.f;
  RnnActivation acts[2][3];  // [direction][f, g, h]
  bool input_forget = false;
  bool linear_before_reset = false;
  std::vector<bool> present;  // node outputs Y, Y_h, Y_c given
};

// Reads activations / activation_alpha / activation_beta: per direction, the
// cell's function count; alphas and betas are consumed in order by the
// functions that take one (as ONNX Runtime reads them), else their defaults.
Status read_activations(const Node &n, RecurrentConfig *cfg) {
  const int per_dir = cfg->cell == RnnCell::kRnn ? 1 : cfg->cell == RnnCell::kGru ? 2 : 3;
  static const char *const kDefaults[3] = {"sigmoid", "tanh", "tanh"};
  std::vector<std::string> names;
  auto it = n.attrs.find("activations");
  if (it != n.attrs.end()) names = it->second.strings;
  if (!names.empty() && names.size() != static_cast<size_t>(per_dir * cfg->dirs)) {
    return invalid_model("activations lists " + std::to_string(names.size()) + " functions, " +
                         cell_name(cfg->cell) + " with " + std::to_string(cfg->dirs) +
                         " direction(s) takes " + std::to_string(per_dir * cfg->dirs));
  }
  const std::vector<float> alphas = n.attr_floats("activation_alpha");
  const std::vector<float> betas = n.attr_floats("activation_beta");
  size_t next_alpha = 0, next_beta = 0;
  for (int d = 0; d < cfg->dirs; ++d) {
    for (int k = 0; k < per_dir; ++k) {
      const std::string name = names.empty() ? (cfg->cell == RnnCell::kRnn ? "tanh" : kDefaults[k])
                                             : lower(names[static_cast<size_t>(d * per_dir + k)]);
      const ActSpec *spec = nullptr;
      for (const ActSpec &a : kActs)
        if (name == a.name) spec = &a;
      if (spec == nullptr) {
        return unsupported("activation \"" + names[static_cast<size_t>(d * per_dir + k)] +
                           "\" is not one of Relu, Tanh, Sigmoid, Affine, LeakyRelu, "
                           "ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus");
      }
      RnnActivation act{spec->kind, spec->alpha, spec->beta};
      if (spec->uses_alpha && next_alpha < alphas.size()) act.alpha = alphas[next_alpha++];
      if (spec->uses_beta && next_beta < betas.size()) act.beta = betas[next_beta++];
      cfg->acts[d][k] = act;
    }
  }
  return Status::ok();
}

// Sizes of one call, in layout 0 terms.
struct Dims {
  int64_t seq = 0, batch = 0, input = 0, hidden = 0;
};

// One direction's weights held by the kernel (constant W and R).
struct PackedDirection {
  std::unique_ptr<ConstWeightMatmul> proj;  // x·W^T + folded biases
  std::unique_ptr<ConstWeightMatmul> rec;   // h·R^T (+ Rb of GRU's gate h with lbr)
  std::vector<float> r_h;                   // GRU without lbr: Rh [H, H]
};

class RecurrentOp final : public OpKernel {
 public:
  explicit RecurrentOp(RecurrentConfig cfg) : cfg_(std::move(cfg)) {}

  Status pack(const LoadContext &ctx) {
    const Tensor *w = ctx.constant_input(1), *r = ctx.constant_input(2);
    const Tensor *b = ctx.has_input(3) ? ctx.constant_input(3) : nullptr;
    if (w == nullptr || r == nullptr || (ctx.has_input(3) && b == nullptr)) return Status::ok();
    Dims d;
    SI_RETURN_IF_ERROR(check_weights(*w, *r, b, &d));
    const int64_t H = d.hidden, G = ref::rnn_gate_count(cfg_.cell) * H;
    const bool gru_lbr = cfg_.cell == RnnCell::kGru && cfg_.linear_before_reset;
    ConstMatmulPolicy policy;
    policy.mode = ctx.options.mode;
    policy.single_copy = ctx.options.single_weight_copy;
    for (int dir = 0; dir < cfg_.dirs; ++dir) {
      PackedDirection pd;
      // Every bias adds to its gate's pre-activation except GRU's Rbh with
      // linear_before_reset, which the reset gate scales.
      std::vector<float> bias(static_cast<size_t>(G), 0.f), rec_bias(static_cast<size_t>(G), 0.f);
      if (b != nullptr) {
        const float *bd = b->data<float>() + dir * 2 * G;
        for (int64_t i = 0; i < G; ++i) {
          const bool to_rec = gru_lbr && i >= 2 * H;
          bias[i] = bd[i] + (to_rec ? 0.f : bd[G + i]);
          if (to_rec) rec_bias[i] = bd[G + i];
        }
      }
      ConstMatmulSpec ps;
      ps.k = d.input;
      ps.n = G;
      ps.trans_b = true;
      ps.bias = bias.data();
      SI_RETURN_IF_ERROR(
          ConstWeightMatmul::create(ps, w->data<float>() + dir * G * d.input, policy, &pd.proj));
      ConstMatmulSpec rs;
      rs.k = H;
      rs.n = G;
      rs.trans_b = true;
      rs.bias = gru_lbr ? rec_bias.data() : nullptr;
      const float *rd = r->data<float>() + dir * G * H;
      SI_RETURN_IF_ERROR(ConstWeightMatmul::create(rs, rd, policy, &pd.rec));
      if (cfg_.cell == RnnCell::kGru && !gru_lbr) pd.r_h.assign(rd + 2 * H * H, rd + 3 * H * H);
      packed_.push_back(std::move(pd));
    }
    packed_dims_ = d;
    return Status::ok();
  }

  bool packs_input(size_t i) const override { return !packed_.empty() && i >= 1 && i <= 3; }
  size_t packed_bytes() const override {
    size_t n = 0;
    for (const PackedDirection &p : packed_)
      n += p.proj->weight_bytes() + p.rec->weight_bytes() + p.r_h.size() * sizeof(float);
    return n;
  }

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Dims d;
    SI_RETURN_IF_ERROR(check(in, &d));
    const int64_t dirs = cfg_.dirs;
    const Shape y = cfg_.batch_first ? Shape{d.batch, d.seq, dirs, d.hidden}
                                     : Shape{d.seq, dirs, d.batch, d.hidden};
    const Shape state =
        cfg_.batch_first ? Shape{d.batch, dirs, d.hidden} : Shape{dirs, d.batch, d.hidden};
    out->clear();
    for (size_t i = 0; i < cfg_.present.size(); ++i)
      out->push_back(
          OutputDesc{DType::kFloat32, cfg_.present[i] ? (i == 0 ? y : state) : Shape{0}, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    Dims d;
    SI_RETURN_IF_ERROR(check(in, &d));
    const int64_t S = d.seq, B = d.batch, I = d.input, H = d.hidden, D = cfg_.dirs;
    const bool lstm = cfg_.cell == RnnCell::kLstm;
    // Layout 1 is transposed to layout 0 on entry and back on exit.
    std::vector<float> xt, h0t, c0t;
    const float *x = in[0]->data<float>();
    const float *h0 = input(in, 5), *c0 = lstm ? input(in, 6) : nullptr;
    if (cfg_.batch_first) {
      x = swap01(x, B, S, I, &xt);
      if (h0) h0 = swap01(h0, B, D, H, &h0t);
      if (c0) c0 = swap01(c0, B, D, H, &c0t);
    }
    const int32_t *lens = input_i32(in, 4);
    if (lens) {
      for (int64_t b = 0; b < B; ++b) {
        if (lens[b] < 0 || lens[b] > S) {
          return invalid_argument("sequence_lens[" + std::to_string(b) +
                                  "] = " + std::to_string(lens[b]) + " is outside [0, " +
                                  std::to_string(S) + "]");
        }
      }
    }
    // Y in layout 0 goes straight to the output; layout 1 through a scratch
    // copy; none at all when Y is not requested.
    const bool want_y = cfg_.present[0];
    std::vector<float> y_scratch(want_y && cfg_.batch_first ? static_cast<size_t>(S * D * B * H)
                                                            : 0);
    float *y = !want_y ? nullptr : cfg_.batch_first ? y_scratch.data() : out[0]->data<float>();
    std::vector<float> hl(static_cast<size_t>(D * B * H)), cl(hl.size());
    for (int dir = 0; dir < D; ++dir) {
      ref::RnnDirection p;
      p.cell = cfg_.cell;
      p.seq = S;
      p.batch = B;
      p.input = I;
      p.hidden = H;
      p.clip = cfg_.clip;
      p.f = cfg_.acts[dir][0];
      p.g = cfg_.acts[dir][1];
      p.h = cfg_.acts[dir][2];
      p.input_forget = cfg_.input_forget;
      p.linear_before_reset = cfg_.linear_before_reset;
      p.reverse = cfg_.reverse || dir == 1;
      const int64_t G = ref::rnn_gate_count(p.cell) * H;
      const float *peep = lstm ? input(in, 7) : nullptr;
      if (peep) peep += dir * 3 * H;
      const float *h0d = h0 ? h0 + dir * B * H : nullptr;
      const float *c0d = c0 ? c0 + dir * B * H : nullptr;
      float *yd = y ? y + dir * B * H : nullptr;
      float *hd = hl.data() + dir * B * H, *cd = cl.data() + dir * B * H;
      if (packed_.empty()) {
        const float *b = input(in, 3);
        ref::f32_recurrent_ref(p, x, in[1]->data<float>() + dir * G * I,
                               in[2]->data<float>() + dir * G * H, b ? b + dir * 2 * G : nullptr,
                               b ? b + dir * 2 * G + G : nullptr, peep, lens, h0d, c0d, yd,
                               D * B * H, hd, cd);
        continue;
      }
      SI_RETURN_IF_ERROR(run_packed(p, packed_[static_cast<size_t>(dir)], x, peep, lens, h0d, c0d,
                                    yd, D * B * H, hd, cd, ctx));
    }
    // Outputs in the requested layout.
    if (want_y && cfg_.batch_first) {
      // [S, D, B, H] -> [B, S, D, H]
      float *o = out[0]->data<float>();
      for (int64_t s = 0; s < S; ++s)
        for (int64_t dd = 0; dd < D; ++dd)
          for (int64_t b = 0; b < B; ++b)
            std::copy_n(y + ((s * D + dd) * B + b) * H, H, o + ((b * S + s) * D + dd) * H);
    }
    for (size_t k = 1; k < cfg_.present.size(); ++k) {
      if (!cfg_.present[k]) continue;
      const std::vector<float> &src = k == 1 ? hl : cl;
      float *o = out[k]->data<float>();
      if (cfg_.batch_first) {
        swap01_into(src.data(), D, B, H, o);
      } else {
        std::copy(src.begin(), src.end(), o);
      }
    }
    return Status::ok();
  }

 private:
  static const float *input(const std::vector<const Tensor *> &in, size_t i) {
    return i < in.size() && in[i] != nullptr ? in[i]->data<float>() : nullptr;
  }
  static const int32_t *input_i32(const std::vector<const Tensor *> &in, size_t i) {
    return i < in.size() && in[i] != nullptr ? in[i]->data<int32_t>() : nullptr;
  }
  // [a, b, c] -> [b, a, c]
  static void swap01_into(const float *src, int64_t a, int64_t b, int64_t c, float *dst) {
    for (int64_t i = 0; i < a; ++i)
      for (int64_t j = 0; j < b; ++j) std::copy_n(src + (i * b + j) * c, c, dst + (j * a + i) * c);
  }
  static const float *swap01(const float *src, int64_t a, int64_t b, int64_t c,
                             std::vector<float> *buf) {
    buf->resize(static_cast<size_t>(a * b * c));
    swap01_into(src, a, b, c, buf->data());
    return buf->data();
  }

  Status run_packed(const ref::RnnDirection &p, const PackedDirection &pd, const float *x,
                    const float *peep, const int32_t *lens, const float *h0, const float *c0,
                    float *y, int64_t y_stride, float *h_out, float *c_out,
                    const RunContext &ctx) const {
    const int64_t S = p.seq, B = p.batch, H = p.hidden, G = ref::rnn_gate_count(p.cell) * H;
    RunContext mm = ctx;
    mm.profile = nullptr;
    std::vector<float> xw(static_cast<size_t>(S * B * G)), hr(static_cast<size_t>(B * G));
    if (S * B > 0) SI_RETURN_IF_ERROR(pd.proj->run(x, S * B, nullptr, xw.data(), mm));
    std::vector<float> h(static_cast<size_t>(B * H), 0.f), c(h.size(), 0.f);
    if (h0) std::copy_n(h0, B * H, h.data());
    if (c0) std::copy_n(c0, B * H, c.data());
    std::vector<uint8_t> active(static_cast<size_t>(B));
    for (int64_t s = 0; s < S; ++s) {
      const int64_t t = p.reverse ? S - 1 - s : s;
      bool any = false;
      for (int64_t b = 0; b < B; ++b) {
        active[b] = !lens || t < lens[b];
        any = any || active[b];
      }
      if (any) {
        SI_RETURN_IF_ERROR(pd.rec->run(h.data(), B, nullptr, hr.data(), mm));
        ref::f32_recurrent_gates(p, xw.data() + t * B * G, hr.data(),
                                 pd.r_h.empty() ? nullptr : pd.r_h.data(), peep, active.data(),
                                 h.data(), c.data());
      }
      if (y == nullptr) continue;
      float *yt = y + t * y_stride;
      for (int64_t b = 0; b < B; ++b) {
        if (active[b]) {
          std::copy_n(h.data() + b * H, H, yt + b * H);
        } else {
          std::fill_n(yt + b * H, H, 0.f);
        }
      }
    }
    std::copy(h.begin(), h.end(), h_out);
    std::copy(c.begin(), c.end(), c_out);
    return Status::ok();
  }

  // W [D, G*H, I], R [D, G*H, H], B [D, 2*G*H]: their sizes, the hidden size
  // from R (and the attribute, if given).
  Status check_weights(const Tensor &w, const Tensor &r, const Tensor *b, Dims *d) const {
    const int64_t gates = ref::rnn_gate_count(cfg_.cell);
    for (const Tensor *t : {&w, &r, b}) {
      if (t != nullptr && t->dtype() != DType::kFloat32) {
        return unsupported(std::string(t == &w   ? "W"
                                       : t == &r ? "R"
                                                 : "B") +
                           " has dtype " + dtype_name(t->dtype()) + ", only float32 is supported");
      }
    }
    if (r.rank() != 3 || r.dim(0) != cfg_.dirs || r.dim(1) != gates * r.dim(2)) {
      return invalid_argument("R " + shape_str(r.shape()) +
                              " must be [num_directions = " + std::to_string(cfg_.dirs) + ", " +
                              std::to_string(gates) + "*hidden_size, hidden_size]");
    }
    const int64_t H = r.dim(2);
    if (H == 0) return invalid_argument("R " + shape_str(r.shape()) + " has hidden size 0");
    if (cfg_.hidden >= 0 && cfg_.hidden != H) {
      return invalid_argument("hidden_size attribute is " + std::to_string(cfg_.hidden) +
                              " but R " + shape_str(r.shape()) + " has hidden size " +
                              std::to_string(H));
    }
    if (w.rank() != 3 || w.dim(0) != cfg_.dirs || w.dim(1) != gates * H) {
      return invalid_argument("W " + shape_str(w.shape()) + " must be [" +
                              std::to_string(cfg_.dirs) + ", " + std::to_string(gates * H) +
                              ", input_size] for hidden size " + std::to_string(H));
    }
    if (b != nullptr && b->shape() != Shape{cfg_.dirs, 2 * gates * H}) {
      return invalid_argument("B " + shape_str(b->shape()) + " must be [" +
                              std::to_string(cfg_.dirs) + ", " + std::to_string(2 * gates * H) +
                              "]");
    }
    if (w.dim(2) == 0) return invalid_argument("W " + shape_str(w.shape()) + " has input_size 0");
    d->input = w.dim(2);
    d->hidden = H;
    return Status::ok();
  }

  Status check(const std::vector<const Tensor *> &in, Dims *d) const {
    const Tensor &x = *in[0];
    if (x.dtype() != DType::kFloat32) {
      return unsupported(std::string("X has dtype ") + dtype_name(x.dtype()) +
                         ", only float32 is supported");
    }
    if (packed_.empty()) {
      SI_RETURN_IF_ERROR(check_weights(*in[1], *in[2], in.size() > 3 ? in[3] : nullptr, d));
    } else {
      *d = packed_dims_;
    }
    if (x.rank() != 3 || x.dim(2) != d->input) {
      return invalid_argument("X " + shape_str(x.shape()) + " must be [" +
                              (cfg_.batch_first ? "batch, seq" : "seq, batch") +
                              ", input_size = " + std::to_string(d->input) + "]");
    }
    d->seq = cfg_.batch_first ? x.dim(1) : x.dim(0);
    d->batch = cfg_.batch_first ? x.dim(0) : x.dim(1);
    if (in.size() > 4 && in[4] != nullptr) {
      const Tensor &l = *in[4];
      if (l.dtype() != DType::kInt32 || l.shape() != Shape{d->batch}) {
        return invalid_argument(std::string("sequence_lens ") + dtype_name(l.dtype()) + " " +
                                shape_str(l.shape()) + " must be int32 [" +
                                std::to_string(d->batch) + "]");
      }
    }
    const Shape state = cfg_.batch_first ? Shape{d->batch, cfg_.dirs, d->hidden}
                                         : Shape{cfg_.dirs, d->batch, d->hidden};
    static const char *const kNames[] = {"", "", "", "", "", "initial_h", "initial_c", "P"};
    for (size_t i = 5; i < in.size() && i < 8; ++i) {
      if (in[i] == nullptr) continue;
      const Shape want = i == 7 ? Shape{cfg_.dirs, 3 * d->hidden} : state;
      if (in[i]->dtype() != DType::kFloat32 || in[i]->shape() != want) {
        return invalid_argument(std::string(kNames[i]) + " " + dtype_name(in[i]->dtype()) + " " +
                                shape_str(in[i]->shape()) + " must be float32 " + shape_str(want));
      }
    }
    return Status::ok();
  }

  RecurrentConfig cfg_;
  std::vector<PackedDirection> packed_;  // one per direction, or empty
  Dims packed_dims_;
};

Status create_recurrent(const LoadContext &ctx, RnnCell cell, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  RecurrentConfig cfg;
  cfg.cell = cell;
  const size_t max_inputs = cell == RnnCell::kLstm ? 8 : 6;
  if (ctx.num_inputs() < 3 || ctx.num_inputs() > max_inputs || !ctx.has_input(0) ||
      !ctx.has_input(1) || !ctx.has_input(2)) {
    return invalid_model(std::string("expects inputs X, W, R and up to ") +
                         std::to_string(max_inputs) + " in all, got " +
                         std::to_string(ctx.num_inputs()));
  }
  const size_t max_outputs = cell == RnnCell::kLstm ? 3 : 2;
  if (n.outputs.size() > max_outputs) {
    return invalid_model("has " + std::to_string(n.outputs.size()) + " outputs, at most " +
                         std::to_string(max_outputs));
  }
  for (int v : n.outputs) cfg.present.push_back(v >= 0);
  const std::string dir = n.attr_string("direction", "forward");
  if (dir == "bidirectional") {
    cfg.dirs = 2;
  } else if (dir == "reverse") {
    cfg.reverse = true;
  } else if (dir != "forward") {
    return invalid_model("direction \"" + dir + "\" is not forward, reverse or bidirectional");
  }
  if (n.has_attr("hidden_size")) {
    cfg.hidden = n.attr_int("hidden_size", 0);
    if (cfg.hidden <= 0)
      return invalid_model("hidden_size must be > 0, got " + std::to_string(cfg.hidden));
  }
  const int64_t layout = n.opset >= 14 ? n.attr_int("layout", 0) : 0;
  if (layout != 0 && layout != 1)
    return invalid_model("layout must be 0 or 1, got " + std::to_string(layout));
  cfg.batch_first = layout == 1;
  if (n.has_attr("clip")) {
    cfg.clip = n.attr_float("clip", 0.f);
    if (!(cfg.clip > 0.f))
      return invalid_model("clip must be > 0, got " + std::to_string(cfg.clip));
  }
  cfg.input_forget = cell == RnnCell::kLstm && n.attr_int("input_forget", 0) != 0;
  cfg.linear_before_reset = cell == RnnCell::kGru && n.attr_int("linear_before_reset", 0) != 0;
  SI_RETURN_IF_ERROR(read_activations(n, &cfg));
  auto op = std::make_unique<RecurrentOp>(std::move(cfg));
  SI_RETURN_IF_ERROR(op->pack(ctx));
  *out = std::move(op);
  return Status::ok();
}

}  // namespace

Status create_lstm(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_recurrent(ctx, RnnCell::kLstm, out);
}
Status create_gru(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_recurrent(ctx, RnnCell::kGru, out);
}
Status create_rnn(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_recurrent(ctx, RnnCell::kRnn, out);
}

}  // namespace si
