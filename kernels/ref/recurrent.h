// Recurrent cells of ONNX LSTM, GRU and RNN, float32, one direction at a time.
//
// Two entry points share the cell arithmetic's definition but not its code:
//   f32_recurrent_ref: the naive oracle, straight from the ONNX equations
//     (x·W^T, h·R^T and every bias summed per gate, per step); tests compare
//     the engine's path against it.
//   f32_recurrent_gates: the run-time cell update, given the input projection
//     of every step (computed once as one big matmul) and this step's h·R^T
//     (computed by the caller's GEMV); the engine loops steps around it.
// Layout is ONNX layout 0: x [seq, batch, input], y [seq, dirs, batch, hidden]
// (the caller passes y at its direction and the stride between steps).
#pragma once

#include <cstdint>

namespace si::ref {

enum class RnnActKind {
  kRelu,
  kTanh,
  kSigmoid,
  kAffine,
  kLeakyRelu,
  kThresholdedRelu,
  kScaledTanh,
  kHardSigmoid,
  kElu,
  kSoftsign,
  kSoftplus,
};

struct RnnActivation {
  RnnActKind kind = RnnActKind::kSigmoid;
  float alpha = 0.f;
  float beta = 0.f;
};

float rnn_activate(const RnnActivation &act, float x);

enum class RnnCell { kRnn, kGru, kLstm };

// Gates per cell, in ONNX order: RNN i; GRU z r h; LSTM i o f c.
inline int64_t rnn_gate_count(RnnCell cell) {
  return cell == RnnCell::kRnn ? 1 : cell == RnnCell::kGru ? 3 : 4;
}

struct RnnDirection {
  RnnCell cell = RnnCell::kLstm;
  int64_t seq = 0, batch = 0, input = 0, hidden = 0;
  float clip = 0.f;  // > 0: gate pre-activations are clamped to [-clip, clip]
  // f, g, h as the spec names them (RNN uses f only, GRU f and g).
  RnnActivation f, g, h;
  bool input_forget = false;         // LSTM: f = 1 - i
  bool linear_before_reset = false;  // GRU
  bool reverse = false;
};

// One direction of the whole sequence. w [G*H, input], r [G*H, H], wb and rb
// [G*H] or nullptr (zero), peep [3H] (LSTM i o f) or nullptr, seq_lens [batch]
// or nullptr (all `seq`), h0/c0 [batch, H] or nullptr (zero). y (may be
// nullptr) gets h at every step, step t at y + t*y_step_stride, and zeros past
// a batch entry's length. h_out/c_out [batch, H] (may be nullptr) get the last
// state; c0/c_out only for LSTM.
void f32_recurrent_ref(const RnnDirection &p, const float *x, const float *w, const float *r,
                       const float *wb, const float *rb, const float *peep, const int32_t *seq_lens,
                       const float *h0, const float *c0, float *y, int64_t y_step_stride,
                       float *h_out, float *c_out);

// One step of one direction for the batch rows whose sequence is still
// running (active[b] != 0). xw [batch, G*H]: x·W^T + wb (and, for the gates
// where it simply adds, rb). hr [batch, G*H]: h·R^T with, GRU only, gate h
// handled per linear_before_reset:
//   linear_before_reset: hr's gate h is h·Rh^T + Rbh (rb_h is not used);
//   otherwise: the caller passes r_h and this function computes (r ⊙ h)·Rh^T
//     itself after the reset gate is known; hr's gate h is ignored.
// h [batch, H] and c [batch, H] (LSTM) are updated in place.
void f32_recurrent_gates(const RnnDirection &p, const float *xw, const float *hr, const float *r_h,
                         const float *peep, const uint8_t *active, float *h, float *c);

}  // namespace si::ref
