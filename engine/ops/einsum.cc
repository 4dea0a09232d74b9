// Einsum over float32 as transposes, sums and batched matmuls: labels only
// one operand uses are summed first, then operands are folded pairwise
// ([batch, m, k] x [batch, k, n]), then the result is permuted into the
// output order. Ellipsis dims broadcast like numpy; a label repeated within
// one operand (a diagonal) is not supported.
#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "engine/ops/ops.h"
#include "kernels/ref/matmul_ref.h"
#include "kernels/ref/transpose.h"

namespace si {

namespace {

constexpr int kLetters = 52;  // a-z, A-Z; ellipsis dims take labels from 52 up

int letter_label(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

// One operand term: letters before and after an optional "...".
struct Term {
  std::vector<int> head, tail;
  bool ellipsis = false;
};

struct Equation {
  std::vector<Term> inputs;
  Term output;
  bool explicit_output = false;
};

Status parse_term(const std::string &t, const std::string &eq, Term *out) {
  for (size_t i = 0; i < t.size(); ++i) {
    if (t.compare(i, 3, "...") == 0) {
      if (out->ellipsis) return invalid_model("equation \"" + eq + "\" has two ellipses in a term");
      out->ellipsis = true;
      i += 2;
      continue;
    }
    const int l = letter_label(t[i]);
    if (l < 0)
      return invalid_model("equation \"" + eq + "\" has an invalid character '" +
                           std::string(1, t[i]) + "'");
    (out->ellipsis ? out->tail : out->head).push_back(l);
  }
  return Status::ok();
}

Status parse_equation(const std::string &raw, Equation *eq) {
  std::string s;
  for (char c : raw)
    if (!std::isspace(static_cast<unsigned char>(c))) s += c;
  const size_t arrow = s.find("->");
  const std::string lhs = s.substr(0, arrow);
  size_t start = 0;
  while (true) {
    const size_t comma = lhs.find(',', start);
    Term t;
    SI_RETURN_IF_ERROR(parse_term(lhs.substr(start, comma - start), raw, &t));
    eq->inputs.push_back(std::move(t));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  eq->explicit_output = arrow != std::string::npos;
  if (eq->explicit_output) {
    SI_RETURN_IF_ERROR(parse_term(s.substr(arrow + 2), raw, &eq->output));
    std::vector<int> labels = eq->output.head;
    labels.insert(labels.end(), eq->output.tail.begin(), eq->output.tail.end());
    std::sort(labels.begin(), labels.end());
    if (std::adjacent_find(labels.begin(), labels.end()) != labels.end())
      return invalid_model("equation \"" + raw + "\" repeats an output label");
  } else {
    // Implicit output: ellipsis dims, then labels used exactly once, in
    // alphabetical order.
    std::array<int, kLetters> uses{};
    for (const Term &t : eq->inputs) {
      for (int l : t.head) ++uses[size_t(l)];
      for (int l : t.tail) ++uses[size_t(l)];
      eq->output.ellipsis = eq->output.ellipsis || t.ellipsis;
    }
    for (int l = 0; l < kLetters; ++l)
      if (uses[size_t(l)] == 1) eq->output.tail.push_back(l);
  }
  return Status::ok();
}

// A float tensor carried between steps, with one label per axis.
struct Operand {
  std::vector<int> labels;
  Shape shape;
  std::vector<float> data;
};

// Permutes `a` so its axes follow `order` (a permutation of its labels).
void permute(Operand *a, const std::vector<int> &order) {
  if (order == a->labels) return;
  std::vector<int64_t> perm;
  Shape shape;
  for (int l : order) {
    const int64_t p = std::find(a->labels.begin(), a->labels.end(), l) - a->labels.begin();
    perm.push_back(p);
    shape.push_back(a->shape[size_t(p)]);
  }
  std::vector<float> out(a->data.size());
  if (!out.empty())
    ref::transpose_bytes(a->data.data(), a->shape.data(), perm.data(), perm.size(), sizeof(float),
                         out.data());
  a->data = std::move(out);
  a->labels = order;
  a->shape = std::move(shape);
}

// Sums `a` over every label not in `keep`.
void sum_out(Operand *a, const std::vector<bool> &keep) {
  std::vector<int> kept, summed;
  for (int l : a->labels) (keep[size_t(l)] ? kept : summed).push_back(l);
  if (summed.empty()) return;
  std::vector<int> order = kept;
  order.insert(order.end(), summed.begin(), summed.end());
  permute(a, order);
  int64_t rows = 1, cols = 1;
  Shape shape;
  for (size_t i = 0; i < a->labels.size(); ++i) {
    if (i < kept.size()) {
      rows *= a->shape[i];
      shape.push_back(a->shape[i]);
    } else {
      cols *= a->shape[i];
    }
  }
  // Row sums as a product with a ones column keeps this on one matmul kernel.
  const std::vector<float> ones(size_t(std::max<int64_t>(cols, 1)), 1.f);
  std::vector<float> out(static_cast<size_t>(rows));
  ref::f32_matmul(rows, 1, cols, a->data.data(), cols, 1, ones.data(), 1, 1, out.data());
  a->data = std::move(out);
  a->labels = kept;
  a->shape = std::move(shape);
}

int64_t size_of(const Operand &a, int l) {
  const auto it = std::find(a.labels.begin(), a.labels.end(), l);
  return it == a.labels.end() ? -1 : a.shape[size_t(it - a.labels.begin())];
}

// a x b over their shared labels; labels in `keep` survive, the others are
// contracted. Shared kept labels are batch axes (size 1 broadcasts).
Status contract(const Operand &a_in, const Operand &b_in, const std::vector<bool> &keep,
                Operand *out) {
  Operand a = a_in, b = b_in;
  std::vector<int> batch, m_labels, k_labels, n_labels;
  for (int l : a.labels) {
    const bool shared = size_of(b, l) >= 0;
    if (shared) {
      (keep[size_t(l)] ? batch : k_labels).push_back(l);
    } else {
      m_labels.push_back(l);
    }
  }
  for (int l : b.labels)
    if (size_of(a, l) < 0) n_labels.push_back(l);
  int64_t m = 1, n = 1, k = 1;
  for (int l : m_labels) m *= size_of(a, l);
  for (int l : n_labels) n *= size_of(b, l);
  for (int l : k_labels) {
    if (size_of(a, l) != size_of(b, l))
      return unsupported("summed label sizes " + std::to_string(size_of(a, l)) + " and " +
                         std::to_string(size_of(b, l)) + " differ (broadcast of a summed label)");
    k *= size_of(a, l);
  }
  std::vector<int> a_order = batch, b_order = batch;
  a_order.insert(a_order.end(), m_labels.begin(), m_labels.end());
  a_order.insert(a_order.end(), k_labels.begin(), k_labels.end());
  b_order.insert(b_order.end(), k_labels.begin(), k_labels.end());
  b_order.insert(b_order.end(), n_labels.begin(), n_labels.end());
  permute(&a, a_order);
  permute(&b, b_order);
  // Batch offsets: an odometer over the broadcast batch dims.
  Shape batch_dims;
  std::vector<int64_t> a_strides(batch.size()), b_strides(batch.size());
  int64_t sa = m * k, sb = k * n;
  for (size_t i = batch.size(); i-- > 0;) {
    const int64_t da = a.shape[i], db = b.shape[i];
    a_strides[i] = da == 1 ? 0 : sa;
    b_strides[i] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
  }
  int64_t nb = 1;
  for (size_t i = 0; i < batch.size(); ++i) {
    batch_dims.push_back(std::max(a.shape[i], b.shape[i]));
    nb *= batch_dims.back();
  }
  std::vector<int64_t> a_off(static_cast<size_t>(nb)), b_off(static_cast<size_t>(nb));
  std::vector<int64_t> idx(batch.size(), 0);
  int64_t oa = 0, ob = 0;
  for (int64_t i = 0; i < nb; ++i) {
    a_off[size_t(i)] = oa;
    b_off[size_t(i)] = ob;
    for (size_t d = batch.size(); d-- > 0;) {
      oa += a_strides[d];
      ob += b_strides[d];
      if (++idx[d] < batch_dims[d]) break;
      oa -= a_strides[d] * batch_dims[d];
      ob -= b_strides[d] * batch_dims[d];
      idx[d] = 0;
    }
  }
  out->labels = batch;
  out->labels.insert(out->labels.end(), m_labels.begin(), m_labels.end());
  out->labels.insert(out->labels.end(), n_labels.begin(), n_labels.end());
  out->shape = batch_dims;
  for (int l : m_labels) out->shape.push_back(size_of(a, l));
  for (int l : n_labels) out->shape.push_back(size_of(b, l));
  // Intermediates of a chain can outgrow the output; hold them to the same cap.
  int64_t total = 0;
  Status s = checked_numel(out->shape, &total);
  if (!s.is_ok())
    return invalid_argument("intermediate " + shape_str(out->shape) + ": " + s.message());
  out->data.assign(size_t(total), 0.f);
  if (nb * m * n > 0)
    ref::f32_batched_matmul(nb, m, n, k, a.data.data(), a_off.data(), b.data.data(), b_off.data(),
                            out->data.data());
  return Status::ok();
}

class EinsumKernel final : public OpKernel {
 public:
  EinsumKernel(Equation eq, std::string text) : eq_(std::move(eq)), text_(std::move(text)) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    Resolved r;
    SI_RETURN_IF_ERROR(resolve(in, &r));
    out->push_back(OutputDesc{DType::kFloat32, r.out_shape, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    Resolved r;
    SI_RETURN_IF_ERROR(resolve(in, &r));
    try {
      return compute(in, r, out[0]);
    } catch (const std::bad_alloc &) {
      return out_of_memory("no memory for the intermediates of equation \"" + text_ + "\"");
    }
  }

 private:
  struct Resolved {
    std::vector<std::vector<int>> labels;  // per input, one per axis
    std::vector<int> out_labels;
    Shape out_shape;
    int num_labels = kLetters;
  };

  Status compute(const std::vector<const Tensor *> &in, const Resolved &r, Tensor *y) const {
    std::vector<Operand> ops(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      ops[i].labels = r.labels[i];
      ops[i].shape = in[i]->shape();
      ops[i].data.assign(in[i]->data<float>(), in[i]->data<float>() + in[i]->numel());
    }
    // A label survives a step while the output or a later operand uses it.
    auto needed_after = [&](size_t j) {
      std::vector<bool> keep(size_t(r.num_labels), false);
      for (int l : r.out_labels) keep[size_t(l)] = true;
      for (size_t i = j + 1; i < ops.size(); ++i)
        for (int l : ops[i].labels) keep[size_t(l)] = true;
      return keep;
    };
    for (size_t i = 0; i < ops.size(); ++i) {
      std::vector<bool> keep = needed_after(ops.size());
      for (size_t j = 0; j < ops.size(); ++j)
        if (j != i)
          for (int l : ops[j].labels) keep[size_t(l)] = true;
      sum_out(&ops[i], keep);
    }
    Operand acc = std::move(ops[0]);
    for (size_t j = 1; j < ops.size(); ++j) {
      Operand next;
      SI_RETURN_IF_ERROR(contract(acc, ops[j], needed_after(j), &next));
      acc = std::move(next);
    }
    permute(&acc, r.out_labels);
    if (!acc.data.empty()) std::copy(acc.data.begin(), acc.data.end(), y->data<float>());
    return Status::ok();
  }

  // Expands ellipses against the actual ranks and checks label sizes.
  Status resolve(const std::vector<const Tensor *> &in, Resolved *r) const {
    const std::string ctx = " (equation \"" + text_ + "\")";
    if (in.size() != eq_.inputs.size())
      return invalid_argument(std::to_string(in.size()) + " inputs for " +
                              std::to_string(eq_.inputs.size()) + " terms" + ctx);
    int64_t ell_rank = 0;
    std::vector<int64_t> ell(in.size(), 0);
    for (size_t i = 0; i < in.size(); ++i) {
      const Term &t = eq_.inputs[i];
      if (in[i]->dtype() != DType::kFloat32)
        return unsupported(std::string("Einsum on ") + dtype_name(in[i]->dtype()) + ctx);
      const int64_t named = int64_t(t.head.size() + t.tail.size());
      ell[i] = in[i]->rank() - named;
      if (ell[i] < 0 || (!t.ellipsis && ell[i] != 0))
        return invalid_argument("input " + std::to_string(i) + " " + shape_str(in[i]->shape()) +
                                " does not have the rank its term names" + ctx);
      ell_rank = std::max(ell_rank, ell[i]);
    }
    r->num_labels = kLetters + int(ell_rank);
    std::vector<int64_t> size(size_t(r->num_labels), -1);
    for (size_t i = 0; i < in.size(); ++i) {
      const Term &t = eq_.inputs[i];
      std::vector<int> labels = t.head;
      for (int64_t e = ell_rank - ell[i]; e < ell_rank; ++e) labels.push_back(kLetters + int(e));
      labels.insert(labels.end(), t.tail.begin(), t.tail.end());
      std::vector<int> sorted = labels;
      std::sort(sorted.begin(), sorted.end());
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
        return unsupported("a label repeated within input " + std::to_string(i) + " (diagonal)" +
                           ctx);
      for (size_t a = 0; a < labels.size(); ++a) {
        int64_t &s = size[size_t(labels[a])];
        const int64_t d = in[i]->dim(int64_t(a));
        if (s < 0 || s == 1) {
          s = d;
        } else if (d != s && d != 1) {
          return invalid_argument("input " + std::to_string(i) + " " + shape_str(in[i]->shape()) +
                                  " has size " + std::to_string(d) + " for a label of size " +
                                  std::to_string(s) + ctx);
        }
      }
      r->labels.push_back(std::move(labels));
    }
    const Term &o = eq_.output;
    // As numpy: ellipsis dims must reach an explicit output.
    if (!o.ellipsis && eq_.explicit_output && ell_rank > 0)
      return invalid_argument("output has no ellipsis for the inputs' ellipsis dims" + ctx);
    r->out_labels = o.head;
    if (o.ellipsis)
      for (int64_t e = 0; e < ell_rank; ++e) r->out_labels.push_back(kLetters + int(e));
    r->out_labels.insert(r->out_labels.end(), o.tail.begin(), o.tail.end());
    for (int l : r->out_labels) {
      if (size[size_t(l)] < 0)
        return invalid_argument("an output label does not appear in any input" + ctx);
      r->out_shape.push_back(size[size_t(l)]);
    }
    int64_t n = 0;
    return checked_numel(r->out_shape, &n);
  }

  Equation eq_;
  std::string text_;
};

}  // namespace

Status create_einsum(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &n = ctx.node;
  if (!n.has_attr("equation")) return invalid_model("attribute equation is missing");
  const std::string text = n.attr_string("equation", "");
  Equation eq;
  SI_RETURN_IF_ERROR(parse_equation(text, &eq));
  if (eq.inputs.size() != ctx.num_inputs())
    return invalid_model("equation \"" + text + "\" has " + std::to_string(eq.inputs.size()) +
                         " terms for " + std::to_string(ctx.num_inputs()) + " inputs");
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (!ctx.has_input(i)) return invalid_model("input " + std::to_string(i) + " is missing");
  *out = std::make_unique<EinsumKernel>(std::move(eq), text);
  return Status::ok();
}

}  // namespace si
