// MatMul, Gemm and the engine's FusedGemm. Constant 2-D weights go through the
// prepacked oneDNN kernel (packed once here, at create); MatMuls whose right
// operand is only known at run time (attention) go through oneDNN's batched
// matmul, compiled per shape, and the reference kernel where oneDNN has none.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/const_matmul.h"
#include "engine/ops/ops.h"
#include "kernels/dense/dnnl_batch_matmul.h"
#include "kernels/ref/matmul_ref.h"

namespace si {

namespace {

Status require_f32(const char *what, const Tensor &t) {
  if (t.dtype() == DType::kFloat32) return Status::ok();
  return unsupported(std::string("input ") + what + " has dtype " + dtype_name(t.dtype()) +
                     ", only float32 is supported");
}

int64_t leading_rows(const Shape &s) {
  int64_t m = 1;
  for (size_t i = 0; i + 1 < s.size(); ++i) m *= s[i];
  return m;
}

bool sparse_input(const LoadContext &ctx) {
  return ctx.node.attr_int(kSparseInputAttr, 0) != 0;
}

// A weight of K = 0 holds no data whatever its N, yet its bias and output
// rows take N floats each: refuse an N no session could hold before
// allocating for it.
Status check_columns(const LoadContext &ctx, int64_t n) {
  if (uint64_t(n) <= memory_limit(ctx.options) / sizeof(float)) return Status::ok();
  return out_of_memory("node " + ctx.node.name + " (" + ctx.node.op_type +
                       "): " + std::to_string(n) + " output columns exceed the memory limit");
}

// False when A's declared shape fixes more than one row per call.
bool may_run_one_row(const LoadContext &ctx) {
  const ValueInfo *a = ctx.input_info(0);
  if (a == nullptr || !a->has_shape || a->dims.empty()) return true;
  // Every axis but K counts rows; Gemm's transA puts K first.
  const size_t k_axis = ctx.node.attr_int("transA", 0) != 0 ? 0 : a->dims.size() - 1;
  int64_t rows = 1;
  for (size_t i = 0; i < a->dims.size(); ++i) {
    if (i == k_axis) continue;
    if (a->dims[i].size < 0) return true;
    rows *= a->dims[i].size;
  }
  return rows == 1;
}

Status pack_weights(const LoadContext &ctx, const ConstMatmulSpec &spec, const Tensor &w,
                    std::unique_ptr<ConstWeightMatmul> *out) {
  SI_RETURN_IF_ERROR(check_columns(ctx, spec.n));
  ConstMatmulPolicy policy;
  policy.mode = ctx.options.mode;
  policy.sparse_input = sparse_input(ctx);
  policy.one_row_calls = may_run_one_row(ctx);
  policy.single_copy = ctx.options.single_weight_copy;
  return ConstWeightMatmul::create(spec, w.data<float>(), policy, out);
}

// ---------------------------------------------------------------- MatMul

class MatMulOp : public OpKernel {
 public:
  explicit MatMulOp(std::unique_ptr<ConstWeightMatmul> packed) : packed_(std::move(packed)) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor &a = *in[0], &b = *in[1];
    SI_RETURN_IF_ERROR(require_f32("A", a));
    SI_RETURN_IF_ERROR(require_f32("B", b));
    Shape y;
    SI_RETURN_IF_ERROR(output_shape(a.shape(), b.shape(), &y));
    out->assign(1, OutputDesc{DType::kFloat32, y, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    const Tensor &a = *in[0], &b = *in[1];
    float *y = out[0]->data<float>();
    if (out[0]->numel() == 0) return Status::ok();
    if (packed_)
      return packed_->run(a.data<float>(), leading_rows(a.shape()), a.active_set(), y, ctx);
    std::vector<int64_t> ad, bd;
    if (dnnl_dims(a.shape(), b.shape(), &ad, &bd) && dnnl_.fast_for(ad, bd)) {
      std::string error;
      if (!dnnl_.run(ad, bd, a.data<float>(), b.data<float>(), y, &error))
        return internal_error(error);
      return Status::ok();
    }
    return run_batched(a, b, y);
  }

 private:
  // numpy.matmul: 1-D operands get a unit dim that the result drops; batch
  // dims broadcast.
  static Status output_shape(const Shape &a, const Shape &b, Shape *y) {
    const std::string both = "A " + shape_str(a) + " and B " + shape_str(b);
    if (a.empty() || b.empty()) return invalid_argument("MatMul needs rank >= 1, got " + both);
    const int64_t ka = a.back(), kb = b.size() == 1 ? b[0] : b[b.size() - 2];
    if (ka != kb) return invalid_argument("inner dimensions differ: " + both);
    const size_t ra = a.size() < 2 ? 0 : a.size() - 2, rb = b.size() < 2 ? 0 : b.size() - 2;
    const size_t rank = std::max(ra, rb);
    y->assign(rank, 1);
    for (size_t i = 0; i < rank; ++i) {
      const int64_t da = i + ra >= rank ? a[i + ra - rank] : 1;
      const int64_t db = i + rb >= rank ? b[i + rb - rank] : 1;
      if (da != db && da != 1 && db != 1)
        return invalid_argument("batch dimensions do not broadcast: " + both);
      (*y)[i] = da == 1 ? db : da;
    }
    if (a.size() >= 2) y->push_back(a[a.size() - 2]);
    if (b.size() >= 2) y->push_back(b.back());
    return Status::ok();
  }

  // The operands as oneDNN's matmul takes them: equal rank >= 2 with numpy's
  // 1-D promotion made explicit; a B of rank <= 2 takes A's batch as rows.
  // False where oneDNN cannot: an empty dim (k = 0 writes zeros) or a rank
  // above oneDNN's 12.
  static bool dnnl_dims(const Shape &as, const Shape &bs, std::vector<int64_t> *ad,
                        std::vector<int64_t> *bd) {
    const int64_t k = as.back(), n = bs.size() == 1 ? 1 : bs.back();
    if (bs.size() <= 2) {
      *ad = {leading_rows(as), k};
      *bd = {k, n};
    } else {
      const size_t ba = as.size() < 2 ? 0 : as.size() - 2, bb = bs.size() - 2;
      const size_t rank = std::max(ba, bb) + 2;
      if (rank > 12) return false;
      ad->assign(rank, 1);
      bd->assign(rank, 1);
      for (size_t i = 0; i < ba; ++i) (*ad)[rank - 2 - ba + i] = as[i];
      for (size_t i = 0; i < bb; ++i) (*bd)[rank - 2 - bb + i] = bs[i];
      (*ad)[rank - 2] = as.size() == 1 ? 1 : as[as.size() - 2];
      (*ad)[rank - 1] = k;
      (*bd)[rank - 2] = k;
      (*bd)[rank - 1] = n;
    }
    for (size_t i = 0; i < ad->size(); ++i)
      if ((*ad)[i] <= 0 || (*bd)[i] <= 0) return false;
    return true;
  }

  static Status run_batched(const Tensor &a, const Tensor &b, float *y) {
    const Shape &as = a.shape(), &bs = b.shape();
    const int64_t k = as.back();
    const int64_t n = bs.size() == 1 ? 1 : bs.back();
    if (bs.size() <= 2) {
      // One weight matrix for every batch entry: the batch merges into M.
      ref::f32_matmul(leading_rows(as), n, k, a.data<float>(), k, 1, b.data<float>(), n, 1, y);
      return Status::ok();
    }
    const int64_t m = as.size() == 1 ? 1 : as[as.size() - 2];
    const Shape ab(as.begin(), as.end() - std::min<size_t>(as.size(), 2));
    const Shape bb(bs.begin(), bs.end() - 2);
    const size_t rank = std::max(ab.size(), bb.size());
    // Element strides of each operand's batch dims, 0 where it broadcasts.
    std::vector<int64_t> sa(rank, 0), sb(rank, 0), dims(rank, 1);
    int64_t stride_a = m * k, stride_b = k * n;
    for (size_t i = rank; i-- > 0;) {
      const size_t off_a = rank - ab.size(), off_b = rank - bb.size();
      const int64_t da = i >= off_a ? ab[i - off_a] : 1, db = i >= off_b ? bb[i - off_b] : 1;
      dims[i] = da == 1 ? db : da;
      if (da != 1) sa[i] = stride_a;
      if (db != 1) sb[i] = stride_b;
      stride_a *= da;
      stride_b *= db;
    }
    const int64_t batch = numel(dims);
    std::vector<int64_t> off_a(size_t(batch), 0), off_b(size_t(batch), 0);
    std::vector<int64_t> idx(rank, 0);
    for (int64_t t = 0; t < batch; ++t) {
      int64_t oa = 0, ob = 0;
      for (size_t i = 0; i < rank; ++i) {
        oa += idx[i] * sa[i];
        ob += idx[i] * sb[i];
      }
      off_a[size_t(t)] = oa;
      off_b[size_t(t)] = ob;
      for (size_t i = rank; i-- > 0;) {
        if (++idx[i] < dims[i]) break;
        idx[i] = 0;
      }
    }
    ref::f32_batched_matmul(batch, m, n, k, a.data<float>(), off_a.data(), b.data<float>(),
                            off_b.data(), y);
    return Status::ok();
  }

  std::unique_ptr<ConstWeightMatmul> packed_;  // set when B is a constant float32 matrix
  DnnlBatchMatmul dnnl_;                       // B known at run time

 public:
  size_t packed_bytes() const override { return packed_ ? packed_->weight_bytes() : 0; }
  std::string dense_plan() const override { return packed_ ? packed_->dense_plan() : ""; }
  bool packs_input(size_t i) const override { return i == 1 && packed_ != nullptr; }
};

// ---------------------------------------------------------------- Gemm

// How C broadcasts over [M,N]: element strides, 0 along broadcast dims.
struct BiasView {
  int64_t row_stride = 0;
  int64_t col_stride = 0;
};

// Unidirectional broadcast of C to [M,N] (M or N < 0: not known yet).
bool c_broadcasts(const Shape &c, int64_t m, int64_t n, BiasView *v) {
  if (c.size() > 2) return false;
  const int64_t c1 = c.empty() ? 1 : c.back();
  const int64_t c0 = c.size() == 2 ? c[0] : 1;
  if (c1 != 1 && c1 != n) return false;
  if (c0 != 1 && (m < 0 || c0 != m)) return false;
  v->col_stride = c1 == 1 ? 0 : 1;
  v->row_stride = c0 == 1 ? 0 : c1;
  return true;
}

class GemmOp : public OpKernel {
 public:
  struct Config {
    float alpha = 1.f, beta = 1.f;
    bool trans_a = false, trans_b = false;
    bool exact_c = false;      // legacy opset <= 6 with broadcast=0: C must be [M,N]
    bool bias_folded = false;  // beta*C lives in the packed primitive
  };
  GemmOp(const Config &cfg, std::unique_ptr<ConstWeightMatmul> packed)
      : cfg_(cfg), packed_(std::move(packed)) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor &a = *in[0], &b = *in[1];
    const Tensor *c = in.size() > 2 ? in[2] : nullptr;
    SI_RETURN_IF_ERROR(require_f32("A", a));
    SI_RETURN_IF_ERROR(require_f32("B", b));
    const std::string shapes = "A " + shape_str(a.shape()) + (cfg_.trans_a ? " (transA)" : "") +
                               " and B " + shape_str(b.shape()) + (cfg_.trans_b ? " (transB)" : "");
    if (a.rank() != 2 || b.rank() != 2) return invalid_argument("Gemm needs 2-D " + shapes);
    const int64_t m = a.dim(cfg_.trans_a ? 1 : 0), k = a.dim(cfg_.trans_a ? 0 : 1);
    const int64_t kb = b.dim(cfg_.trans_b ? 1 : 0), n = b.dim(cfg_.trans_b ? 0 : 1);
    if (k != kb) return invalid_argument("inner dimensions differ: " + shapes);
    if (c != nullptr) {
      SI_RETURN_IF_ERROR(require_f32("C", *c));
      BiasView v;
      const bool ok = cfg_.exact_c ? c->shape() == Shape{m, n} : c_broadcasts(c->shape(), m, n, &v);
      if (!ok) {
        return invalid_argument("C " + shape_str(c->shape()) + " does not broadcast to [" +
                                std::to_string(m) + "," + std::to_string(n) + "] (" + shapes + ")");
      }
    }
    out->assign(1, OutputDesc{DType::kFloat32, Shape{m, n}, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    const Tensor &a = *in[0], &b = *in[1];
    const Tensor *c = in.size() > 2 ? in[2] : nullptr;
    Tensor &y = *out[0];
    const int64_t m = y.dim(0), n = y.dim(1), k = a.dim(cfg_.trans_a ? 0 : 1);
    if (y.numel() == 0) return Status::ok();
    float alpha = cfg_.alpha;
    if (packed_) {
      const float *ap = a.data<float>();
      std::vector<float> a_t;
      if (cfg_.trans_a && m > 1 && k > 1) {
        a_t.resize(size_t(m * k));
        for (int64_t i = 0; i < m; ++i)
          for (int64_t p = 0; p < k; ++p) a_t[size_t(i * k + p)] = ap[p * m + i];
        ap = a_t.data();
      }
      SI_RETURN_IF_ERROR(
          packed_->run(ap, m, cfg_.trans_a ? nullptr : a.active_set(), y.data<float>(), ctx));
      alpha = 1.f;  // folded into the packed weights
      if (cfg_.bias_folded) c = nullptr;
    } else {
      const int64_t a_rs = cfg_.trans_a ? 1 : k, a_cs = cfg_.trans_a ? m : 1;
      const int64_t b_rs = cfg_.trans_b ? 1 : n, b_cs = cfg_.trans_b ? k : 1;
      ref::f32_matmul(m, n, k, a.data<float>(), a_rs, a_cs, b.data<float>(), b_rs, b_cs,
                      y.data<float>());
    }
    if (c == nullptr && alpha == 1.f) return Status::ok();
    BiasView v;
    if (c != nullptr && !cfg_.exact_c) c_broadcasts(c->shape(), m, n, &v);
    if (c != nullptr && cfg_.exact_c) v = BiasView{n, 1};
    ref::f32_gemm_epilogue(m, n, alpha, cfg_.beta, c ? c->data<float>() : nullptr, v.row_stride,
                           v.col_stride, y.data<float>());
    return Status::ok();
  }

 private:
  Config cfg_;
  std::unique_ptr<ConstWeightMatmul> packed_;  // set when B is a constant float32 matrix
  DnnlBatchMatmul dnnl_;                       // B known at run time

 public:
  size_t packed_bytes() const override { return packed_ ? packed_->weight_bytes() : 0; }
  std::string dense_plan() const override { return packed_ ? packed_->dense_plan() : ""; }
  bool packs_input(size_t i) const override {
    return packed_ != nullptr && (i == 1 || (i == 2 && cfg_.bias_folded));
  }
};

// ---------------------------------------------------------------- FusedGemm

class FusedGemmOp : public OpKernel {
 public:
  FusedGemmOp(std::unique_ptr<ConstWeightMatmul> packed) : packed_(std::move(packed)) {}

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor &a = *in[0];
    SI_RETURN_IF_ERROR(require_f32("A", a));
    if (a.rank() < 1 || a.shape().back() != packed_->k()) {
      return invalid_argument("A " + shape_str(a.shape()) +
                              " does not end in K=" + std::to_string(packed_->k()) + " of weight " +
                              shape_str(in[1]->shape()));
    }
    Shape y(a.shape().begin(), a.shape().end() - 1);
    y.push_back(packed_->n());
    out->assign(1, OutputDesc{DType::kFloat32, y, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    if (out[0]->numel() == 0) return Status::ok();
    return packed_->run(in[0]->data<float>(), leading_rows(in[0]->shape()), in[0]->active_set(),
                        out[0]->data<float>(), ctx);
  }

 private:
  std::unique_ptr<ConstWeightMatmul> packed_;

 public:
  size_t packed_bytes() const override { return packed_->weight_bytes(); }
  std::string dense_plan() const override { return packed_->dense_plan(); }
  bool packs_input(size_t i) const override { return i == 1 || i == 2; }  // bias copied too
};

const Tensor *constant_matrix(const LoadContext &ctx, size_t i) {
  const Tensor *t = ctx.constant_input(i);
  return t != nullptr && t->dtype() == DType::kFloat32 && t->rank() == 2 ? t : nullptr;
}

}  // namespace

Status create_matmul(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  if (ctx.num_inputs() != 2 || !ctx.has_input(0) || !ctx.has_input(1))
    return invalid_model("MatMul takes 2 inputs");
  std::unique_ptr<ConstWeightMatmul> packed;
  if (const Tensor *w = constant_matrix(ctx, 1)) {
    ConstMatmulSpec p;
    p.k = w->dim(0);
    p.n = w->dim(1);
    SI_RETURN_IF_ERROR(pack_weights(ctx, p, *w, &packed));
  }
  *out = std::make_unique<MatMulOp>(std::move(packed));
  return Status::ok();
}

Status create_gemm(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &node = ctx.node;
  const bool has_c = ctx.has_input(2);
  if (!ctx.has_input(0) || !ctx.has_input(1) || ctx.num_inputs() > 3)
    return invalid_model("Gemm takes inputs A, B and an optional C");
  if (!has_c && node.opset < 11) return invalid_model("Gemm before opset 11 requires input C");
  GemmOp::Config cfg;
  cfg.alpha = node.attr_float("alpha", 1.f);
  cfg.beta = node.attr_float("beta", 1.f);
  cfg.trans_a = node.attr_int("transA", 0) != 0;
  cfg.trans_b = node.attr_int("transB", 0) != 0;
  cfg.exact_c = node.opset <= 6 && node.attr_int("broadcast", 0) == 0;
  std::unique_ptr<ConstWeightMatmul> packed;
  if (const Tensor *w = constant_matrix(ctx, 1)) {
    ConstMatmulSpec p;
    p.k = w->dim(cfg.trans_b ? 1 : 0);
    p.n = w->dim(cfg.trans_b ? 0 : 1);
    p.trans_b = cfg.trans_b;
    p.alpha = cfg.alpha;
    // A constant C that is one row of N values becomes the primitive's bias.
    SI_RETURN_IF_ERROR(check_columns(ctx, p.n));
    const Tensor *c = ctx.constant_input(2);
    BiasView v;
    std::vector<float> bias;
    if (c != nullptr && c->dtype() == DType::kFloat32 && !cfg.exact_c &&
        c_broadcasts(c->shape(), -1, p.n, &v)) {
      bias.resize(size_t(p.n));
      for (int64_t j = 0; j < p.n; ++j)
        bias[size_t(j)] = cfg.beta * c->data<float>()[j * v.col_stride];
      p.bias = bias.data();
      cfg.bias_folded = true;
    }
    SI_RETURN_IF_ERROR(pack_weights(ctx, p, *w, &packed));
  }
  *out = std::make_unique<GemmOp>(cfg, std::move(packed));
  return Status::ok();
}

Status create_fused_gemm(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const Node &node = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1) || ctx.num_inputs() > 3)
    return invalid_model("FusedGemm takes inputs A, B and an optional C");
  const Tensor *w = constant_matrix(ctx, 1);
  if (w == nullptr) return invalid_model("FusedGemm needs B to be a constant float32 matrix");
  const std::string act = node.attr_string("activation", "");
  if (act != "" && act != "Relu")
    return invalid_model("FusedGemm: unknown activation \"" + act + "\"");
  ConstMatmulSpec p;
  p.trans_b = node.attr_int("transB", 0) != 0;
  p.k = w->dim(p.trans_b ? 1 : 0);
  p.n = w->dim(p.trans_b ? 0 : 1);
  p.alpha = node.attr_float("alpha", 1.f);
  p.relu = act == "Relu";
  if (ctx.has_input(2)) {
    const Tensor *c = ctx.constant_input(2);
    if (c == nullptr || c->dtype() != DType::kFloat32 || c->numel() != p.n) {
      return invalid_model("FusedGemm needs C to be a constant float32 of " + std::to_string(p.n) +
                           " values");
    }
    p.bias = c->data<float>();
  }
  std::unique_ptr<ConstWeightMatmul> packed;
  SI_RETURN_IF_ERROR(pack_weights(ctx, p, *w, &packed));
  *out = std::make_unique<FusedGemmOp>(std::move(packed));
  return Status::ok();
}

}  // namespace si
