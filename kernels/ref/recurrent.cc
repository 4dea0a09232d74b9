#include "kernels/ref/recurrent.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

namespace si::ref {

float rnn_activate(const RnnActivation &a, float x) {
  switch (a.kind) {
    case RnnActKind::kRelu:
      return x > 0.f ? x : 0.f;
    case RnnActKind::kTanh:
      return std::tanh(x);
    case RnnActKind::kSigmoid:
      return 1.f / (1.f + std::exp(-x));
    case RnnActKind::kAffine:
      return a.alpha * x + a.beta;
    case RnnActKind::kLeakyRelu:
      return x >= 0.f ? x : a.alpha * x;
    case RnnActKind::kThresholdedRelu:
      return x > a.alpha ? x : 0.f;
    case RnnActKind::kScaledTanh:
      return a.alpha * std::tanh(a.beta * x);
    case RnnActKind::kHardSigmoid:
      return std::max(0.f, std::min(1.f, a.alpha * x + a.beta));
    case RnnActKind::kElu:
      return x >= 0.f ? x : a.alpha * (std::exp(x) - 1.f);
    case RnnActKind::kSoftsign:
      return x / (1.f + std::fabs(x));
    case RnnActKind::kSoftplus:
      return std::log1p(std::exp(x));
  }
  return x;
}

namespace {

float clipped(const RnnDirection &p, float v) {
  return p.clip > 0.f ? std::max(-p.clip, std::min(p.clip, v)) : v;
}

// sum_k a[k] * m[row*cols + k]
float dot_row(const float *a, const float *m, int64_t row, int64_t cols) {
  float s = 0.f;
  for (int64_t k = 0; k < cols; ++k) s += a[k] * m[row * cols + k];
  return s;
}

}  // namespace

void f32_recurrent_ref(const RnnDirection &p, const float *x, const float *w, const float *r,
                       const float *wb, const float *rb, const float *peep, const int32_t *seq_lens,
                       const float *h0, const float *c0, float *y, int64_t y_step_stride,
                       float *h_out, float *c_out) {
  const int64_t H = p.hidden, I = p.input;
  std::vector<float> h(static_cast<size_t>(p.batch * H), 0.f), c(h.size(), 0.f);
  std::vector<float> hn(static_cast<size_t>(H)), cn(hn.size());
  auto bias = [&](int64_t gate, int64_t j) {
    const int64_t row = gate * H + j;
    return (wb ? wb[row] : 0.f) + (rb ? rb[row] : 0.f);
  };
  for (int64_t b = 0; b < p.batch; ++b) {
    float *hb = h.data() + b * H;
    float *cb = c.data() + b * H;
    if (h0) std::copy(h0 + b * H, h0 + (b + 1) * H, hb);
    if (c0) std::copy(c0 + b * H, c0 + (b + 1) * H, cb);
    const int64_t len = seq_lens ? std::min<int64_t>(seq_lens[b], p.seq) : p.seq;
    if (y) {
      for (int64_t t = len; t < p.seq; ++t)
        std::fill(y + t * y_step_stride + b * H, y + t * y_step_stride + (b + 1) * H, 0.f);
    }
    for (int64_t s = 0; s < len; ++s) {
      const int64_t t = p.reverse ? len - 1 - s : s;
      const float *xt = x + (t * p.batch + b) * I;
      // x·W^T + h·R^T + biases of gate g, unit j.
      auto pre = [&](int64_t gate, int64_t j) {
        return dot_row(xt, w, gate * H + j, I) + dot_row(hb, r, gate * H + j, H) + bias(gate, j);
      };
      for (int64_t j = 0; j < H; ++j) {
        if (p.cell == RnnCell::kRnn) {
          hn[j] = rnn_activate(p.f, clipped(p, pre(0, j)));
        } else if (p.cell == RnnCell::kGru) {
          const float z = rnn_activate(p.f, clipped(p, pre(0, j)));
          float hh = 0.f;
          if (p.linear_before_reset) {
            const float rr = rnn_activate(p.f, clipped(p, pre(1, j)));
            const float lin = dot_row(hb, r, 2 * H + j, H) + (rb ? rb[2 * H + j] : 0.f);
            hh = dot_row(xt, w, 2 * H + j, I) + (wb ? wb[2 * H + j] : 0.f) + rr * lin;
          } else {
            float s_rh = 0.f;
            for (int64_t k = 0; k < H; ++k) {
              const float rk = rnn_activate(p.f, clipped(p, pre(1, k)));
              s_rh += rk * hb[k] * r[(2 * H + j) * H + k];
            }
            hh = dot_row(xt, w, 2 * H + j, I) + s_rh + bias(2, j);
          }
          hh = rnn_activate(p.g, clipped(p, hh));
          hn[j] = (1.f - z) * hh + z * hb[j];
        } else {
          const float pi = peep ? peep[j] : 0.f, po = peep ? peep[H + j] : 0.f,
                      pf = peep ? peep[2 * H + j] : 0.f;
          const float i = rnn_activate(p.f, clipped(p, pre(0, j) + pi * cb[j]));
          const float f =
              p.input_forget ? 1.f - i : rnn_activate(p.f, clipped(p, pre(2, j) + pf * cb[j]));
          const float g = rnn_activate(p.g, clipped(p, pre(3, j)));
          cn[j] = f * cb[j] + i * g;
          const float o = rnn_activate(p.f, clipped(p, pre(1, j) + po * cn[j]));
          hn[j] = o * rnn_activate(p.h, cn[j]);
        }
      }
      std::copy(hn.begin(), hn.end(), hb);
      if (p.cell == RnnCell::kLstm) std::copy(cn.begin(), cn.end(), cb);
      if (y) std::copy(hb, hb + H, y + t * y_step_stride + b * H);
    }
  }
  if (h_out) std::copy(h.begin(), h.end(), h_out);
  if (c_out && p.cell == RnnCell::kLstm) std::copy(c.begin(), c.end(), c_out);
}

void f32_recurrent_gates(const RnnDirection &p, const float *xw, const float *hr, const float *r_h,
                         const float *peep, const uint8_t *active, float *h, float *c) {
  const int64_t H = p.hidden, G = rnn_gate_count(p.cell) * H;
  std::vector<float> rh(p.cell == RnnCell::kGru ? static_cast<size_t>(2 * H) : 0);
  for (int64_t b = 0; b < p.batch; ++b) {
    if (!active[b]) continue;
    const float *xb = xw + b * G;
    const float *hrb = hr + b * G;
    float *hb = h + b * H;
    if (p.cell == RnnCell::kRnn) {
      for (int64_t j = 0; j < H; ++j) hb[j] = rnn_activate(p.f, clipped(p, xb[j] + hrb[j]));
    } else if (p.cell == RnnCell::kGru) {
      // rh[0..H): z, rh[H..2H): r (or r ⊙ h without linear_before_reset).
      float *z = rh.data(), *rr = rh.data() + H;
      for (int64_t j = 0; j < H; ++j) {
        z[j] = rnn_activate(p.f, clipped(p, xb[j] + hrb[j]));
        rr[j] = rnn_activate(p.f, clipped(p, xb[H + j] + hrb[H + j]));
      }
      if (p.linear_before_reset) {
        for (int64_t j = 0; j < H; ++j) {
          const float hh = rnn_activate(p.g, clipped(p, xb[2 * H + j] + rr[j] * hrb[2 * H + j]));
          hb[j] = (1.f - z[j]) * hh + z[j] * hb[j];
        }
      } else {
        assert(r_h != nullptr);
        for (int64_t j = 0; j < H; ++j) rr[j] *= hb[j];
        // Every (r ⊙ h)·Rh^T term reads the old h: all of them before any update.
        std::vector<float> lin(static_cast<size_t>(H));
        for (int64_t j = 0; j < H; ++j) lin[j] = dot_row(rr, r_h, j, H);
        for (int64_t j = 0; j < H; ++j) {
          const float hh = rnn_activate(p.g, clipped(p, xb[2 * H + j] + lin[j]));
          hb[j] = (1.f - z[j]) * hh + z[j] * hb[j];
        }
      }
    } else {
      float *cb = c + b * H;
      for (int64_t j = 0; j < H; ++j) {
        const float pi = peep ? peep[j] : 0.f, po = peep ? peep[H + j] : 0.f,
                    pf = peep ? peep[2 * H + j] : 0.f;
        const float i = rnn_activate(p.f, clipped(p, xb[j] + hrb[j] + pi * cb[j]));
        const float f =
            p.input_forget
                ? 1.f - i
                : rnn_activate(p.f, clipped(p, xb[2 * H + j] + hrb[2 * H + j] + pf * cb[j]));
        const float g = rnn_activate(p.g, clipped(p, xb[3 * H + j] + hrb[3 * H + j]));
        cb[j] = f * cb[j] + i * g;
        const float o = rnn_activate(p.f, clipped(p, xb[H + j] + hrb[H + j] + po * cb[j]));
        hb[j] = o * rnn_activate(p.h, cb[j]);
      }
    }
  }
}

}  // namespace si::ref
