// Matmuls whose constant weight stays quantized (issue 13): com.microsoft
// MatMulNBits (bits 4 and 8) and the engine's QuantMatMul, which
// fuse_qdq_matmul makes from DequantizeLinear(int8/uint8 constant) feeding a
// MatMul or Gemm, or from a MatMulNBits with a Relu after it. The weight is
// packed once into kernels/quant's row layout, which serves both paths (the
// dense quant kernel is the gather kernel with every row active), so there is
// one copy of it and the initializers are freed (packs_input).
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/active_set.h"
#include "engine/ops/const_matmul.h"
#include "engine/ops/ops.h"
#include "kernels/quant/quant_matmul.h"

namespace si {

namespace {

// One packed weight, int8 rows (QDQ, MatMulNBits bits 8) or int4 rows.
struct QuantWeight {
  std::unique_ptr<PackedQs8wRows> s8;
  std::unique_ptr<PackedQu4wRows> u4;

  int64_t k() const { return s8 ? s8->rows() : u4->rows(); }
  int64_t n() const { return s8 ? s8->cols() : u4->cols(); }
  size_t bytes() const { return s8 ? s8->size_bytes() : u4->size_bytes(); }
  const char *kind() const { return s8 ? "qs8w" : "qu4w"; }
};

// What the product adds after x·W: y = relu?(alpha * (x·W) + bias).
struct Epilogue {
  float alpha = 1.f;
  std::vector<float> bias;  // n values (beta already applied), or empty
  bool relu = false;
};

bool all_finite(const float *v, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    if (!std::isfinite(v[i])) return false;
  return true;
}

class QuantMatmulOp : public OpKernel {
 public:
  // `gemm`: the output is [M, N] of a 2-D A (Gemm); else A[..., K] -> [..., N].
  QuantMatmulOp(QuantWeight w, Epilogue e, bool finite_scales, const LoadContext &ctx, bool gemm)
      : w_(std::move(w)), e_(std::move(e)), gemm_(gemm), name_(ctx.node.name) {
    sparse_input_ = ctx.node.attr_int(kSparseInputAttr, 0) != 0;
    const SessionOptions &options = ctx.options;
    // Skipping x == 0 terms is exact only if every dequantized weight is
    // finite (0 * Inf is NaN): a layer with a non-finite scale stays dense.
    sparse_ok_ = finite_scales && options.mode != ExecMode::kDense;
  }

  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    const Tensor &a = *in[0];
    if (a.dtype() != DType::kFloat32) {
      return unsupported("node " + name_ + ": input A has dtype " + dtype_name(a.dtype()) +
                         ", only float32 is supported");
    }
    if (a.rank() < 1 || a.shape().back() != w_.k() || (gemm_ && a.rank() != 2)) {
      return invalid_argument("node " + name_ + ": A " + shape_str(a.shape()) +
                              (gemm_ ? " is not 2-D or does" : " does") + " not end in K=" +
                              std::to_string(w_.k()) + " of the quantized weight");
    }
    Shape y(a.shape().begin(), a.shape().end() - 1);
    y.push_back(w_.n());
    out->assign(1, OutputDesc{DType::kFloat32, y, -1});
    return Status::ok();
  }

  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    if (out[0]->numel() == 0) return Status::ok();
    const Tensor &a = *in[0];
    const int64_t m = a.numel() / w_.k();
    float *y = out[0]->data<float>();
    const float *x = a.data<float>();
    const ActiveSet *active = a.active_set();
    const bool usable = active != nullptr && active->k == w_.k() && active->rows == m;
    bool sparse = false;
    if (sparse_ok_ && ctx.mode != ExecMode::kDense) {
      if (ctx.mode == ExecMode::kSparse) {
        sparse = true;
      } else if (usable) {
        sparse = active->density() < crossover(m);
      } else if (sparse_input_) {
        // mark_sparsity saw zeros coming but no producer's set arrived (a
        // graph input, or lost on the way): count, and stop at the crossover.
        const int64_t total = m * w_.k();
        const auto limit = static_cast<int64_t>(crossover(m) * double(total));
        sparse = f32_count_nonzero(x, total, limit) < limit;
      }
    }
    Tensor probe;
    if (sparse && !usable) {
      probe = Tensor::borrow(DType::kFloat32, Shape{m, w_.k()}, const_cast<float *>(x));
      SI_RETURN_IF_ERROR(attach_active_set(&probe));
      active = probe.active_set();
    }
    const float *bias = e_.alpha == 1.f && !e_.bias.empty() ? e_.bias.data() : nullptr;
    const int64_t k = w_.k(), n = w_.n();
    if (sparse) {
      const ActiveRows rows{active->indices.data(), active->count.data(), k};
      if (w_.s8) f32_qs8w_sparse_rows_gemm(x, m, k, rows, *w_.s8, bias, y, n, ctx.threads);
      if (w_.u4) f32_qu4w_sparse_rows_gemm(x, m, k, rows, *w_.u4, bias, y, n, ctx.threads);
    } else {
      if (w_.s8) f32_qs8w_dense_rows_gemm(x, m, k, *w_.s8, bias, y, n, ctx.threads);
      if (w_.u4) f32_qu4w_dense_rows_gemm(x, m, k, *w_.u4, bias, y, n, ctx.threads);
    }
    apply_epilogue(m, bias != nullptr, y);
    if (ctx.profile != nullptr) profile(m, sparse ? active : nullptr, x, ctx.profile);
    return Status::ok();
  }

  size_t packed_bytes() const override { return w_.bytes(); }
  std::string dense_plan() const override {
    return std::string(w_.kind()) + " rows (" + quant_kernels().isa + ")";
  }
  // Codes, scales, zero points and the bias are all copied at create.
  bool packs_input(size_t i) const override { return i != 0; }

 private:
  // The sparse and dense quant kernels are the same row kernel (with every
  // row active for dense), so at batch 1 skipping any row pays; batches use
  // the float layer's crossovers (union kernel vs dense rows), not yet
  // measured for the quant kernels.
  double crossover(int64_t m) const { return m <= 1 ? 1.0 : sparse_crossover_density(m, w_.n()); }

  void apply_epilogue(int64_t m, bool bias_done, float *y) const {
    const int64_t n = w_.n();
    if (e_.alpha != 1.f || (!bias_done && !e_.bias.empty())) {
      for (int64_t r = 0; r < m; ++r)
        for (int64_t c = 0; c < n; ++c) {
          float &v = y[r * n + c];
          v = e_.alpha * v + (e_.bias.empty() ? 0.f : e_.bias[size_t(c)]);
        }
    }
    // v < 0 keeps NaN as NaN, like the Relu op.
    if (e_.relu)
      for (int64_t i = 0; i < m * n; ++i) y[i] = y[i] < 0.f ? 0.f : y[i];
  }

  void profile(int64_t m, const ActiveSet *active, const float *x, MatmulProfile *p) const {
    const int64_t k = w_.k();
    const int64_t dense = int64_t(w_.bytes());
    p->weight_bytes_dense = dense;
    if (active == nullptr) {
      p->path = w_.s8 ? "dense:qs8w" : "dense:qu4w";
      p->density = double(f32_count_nonzero(x, m * k, m * k)) / double(m * k);
      p->weight_bytes_read = dense;
      return;
    }
    // A batch reads each weight row in the union of its rows' sets once.
    std::vector<bool> touched(size_t(k), false);
    int64_t rows_read = 0;
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < active->count[size_t(r)]; ++j) {
        const int32_t i = active->indices[size_t(r * k + j)];
        rows_read += !touched[size_t(i)];
        touched[size_t(i)] = true;
      }
    p->path = w_.s8 ? "sparse:qs8w" : "sparse:qu4w";
    p->density = active->density();
    p->weight_bytes_read = k == 0 ? 0 : rows_read * dense / k;
  }

  QuantWeight w_;
  Epilogue e_;
  bool gemm_ = false;
  bool sparse_ok_ = false;
  bool sparse_input_ = false;  // mark_sparsity: the input may hold exact zeros
  std::string name_;
};

std::string where(const LoadContext &ctx) {
  return "node " + ctx.node.name + " (" + ctx.node.op_type + ")";
}

// The constant input i of `dtype` with `count` elements, or an error naming it.
Status constant_of(const LoadContext &ctx, size_t i, const char *what, DType dtype, int64_t count,
                   const Tensor **out) {
  const Tensor *t = ctx.constant_input(i);
  if (t == nullptr) return unsupported(where(ctx) + ": " + what + " must be a constant");
  if (t->dtype() != dtype) {
    return invalid_model(where(ctx) + ": " + what + " has dtype " + dtype_name(t->dtype()) +
                         ", expected " + dtype_name(dtype));
  }
  if (count >= 0 && t->numel() != count) {
    return invalid_model(where(ctx) + ": " + what + " " + shape_str(t->shape()) + " has " +
                         std::to_string(t->numel()) + " values, expected " + std::to_string(count));
  }
  *out = t;
  return Status::ok();
}

Status out_of_memory_for(const LoadContext &ctx, int64_t k, int64_t n) {
  return out_of_memory(where(ctx) + ": cannot allocate quantized weights [" + std::to_string(k) +
                       "," + std::to_string(n) + "]");
}

// MatMulNBits inputs A, B, scales, zero_points?, g_idx?, bias? and attributes
// K, N, bits, block_size (ONNX Runtime docs/ContribOperators.md).
Status pack_nbits(const LoadContext &ctx, QuantWeight *w, Epilogue *e, bool *finite) {
  const Node &node = ctx.node;
  const int64_t k = node.attr_int("K", -1), n = node.attr_int("N", -1);
  const int64_t bits = node.attr_int("bits", 4), block = node.attr_int("block_size", -1);
  if (k <= 0 || n <= 0)
    return invalid_model(where(ctx) + ": attributes K and N must be given and positive");
  if (bits != 4 && bits != 8) {
    return unsupported(where(ctx) + ": bits " + std::to_string(bits) +
                       " is not supported (4 or 8)");
  }
  if (block < 16 || (block & (block - 1)) != 0) {
    return invalid_model(where(ctx) + ": block_size " + std::to_string(block) +
                         " is not a power of 2 of at least 16");
  }
  if (!ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2) || ctx.num_inputs() > 6)
    return invalid_model(where(ctx) + ": takes A, B, scales and optional zero_points, g_idx, bias");
  if (ctx.has_input(4)) {
    return unsupported(where(ctx) + ": g_idx (act-order reordering of K) is not supported");
  }
  const int64_t k_blocks = (k + block - 1) / block, blob = block * bits / 8;
  const Tensor *b = nullptr, *scales = nullptr, *zp = nullptr, *bias = nullptr;
  SI_RETURN_IF_ERROR(constant_of(ctx, 1, "B", DType::kUint8, n * k_blocks * blob, &b));
  if (b->rank() != 3 || b->dim(0) != n || b->dim(1) != k_blocks || b->dim(2) != blob) {
    return invalid_model(where(ctx) + ": B " + shape_str(b->shape()) + " is not [N, k_blocks, " +
                         "blob_size] = [" + std::to_string(n) + "," + std::to_string(k_blocks) +
                         "," + std::to_string(blob) + "]");
  }
  SI_RETURN_IF_ERROR(constant_of(ctx, 2, "scales", DType::kFloat32, n * k_blocks, &scales));
  if (ctx.has_input(3)) {
    const Tensor *t = ctx.constant_input(3);
    if (t != nullptr && t->dtype() != DType::kUint8) {
      return unsupported(where(ctx) + ": zero_points of dtype " + dtype_name(t->dtype()) +
                         " are not supported (only packed uint8)");
    }
    const int64_t per_col = (k_blocks * bits + 7) / 8;
    SI_RETURN_IF_ERROR(constant_of(ctx, 3, "zero_points", DType::kUint8, n * per_col, &zp));
  }
  if (ctx.has_input(5)) SI_RETURN_IF_ERROR(constant_of(ctx, 5, "bias", DType::kFloat32, n, &bias));
  MatMulNBitsSource src{
      b->data<uint8_t>(), scales->data<float>(), zp ? zp->data<uint8_t>() : nullptr, k, n, block};
  bool ok = false;
  if (bits == 8) {
    w->s8 = std::make_unique<PackedQs8wRows>();
    ok = w->s8->pack(src);
  } else {
    w->u4 = std::make_unique<PackedQu4wRows>();
    ok = w->u4->pack(src);
  }
  if (!ok) return out_of_memory_for(ctx, k, n);
  if (bias != nullptr) e->bias.assign(bias->data<float>(), bias->data<float>() + n);
  *finite = all_finite(scales->data<float>(), scales->numel());
  return Status::ok();
}

// QuantMatMul from DequantizeLinear -> MatMul/Gemm: inputs A, codes (int8 or
// uint8, 2-D), scale, zero point?, C?; attributes axis (-1 per tensor, else
// the DequantizeLinear axis 0/1 of the stored codes), transB, alpha, beta.
// fuse_qdq_matmul checked the shapes; they are checked again here since a
// hand-made graph may name the op directly.
Status pack_qdq(const LoadContext &ctx, QuantWeight *w, Epilogue *e, bool *finite) {
  const Node &node = ctx.node;
  const Tensor *q = ctx.constant_input(1);
  if (q == nullptr || (q->dtype() != DType::kInt8 && q->dtype() != DType::kUint8) || q->rank() != 2)
    return invalid_model(where(ctx) + ": the weight must be a constant 2-D int8 or uint8");
  const bool trans_b = node.attr_int("transB", 0) != 0;
  const int64_t k = q->dim(trans_b ? 1 : 0), n = q->dim(trans_b ? 0 : 1);
  const int64_t axis = node.attr_int("axis", -1);
  if (axis < -1 || axis > 1) return invalid_model(where(ctx) + ": axis must be -1, 0 or 1");
  QuantAxis qa = QuantAxis::kTensor;
  if (axis >= 0) qa = (axis == 1) != trans_b ? QuantAxis::kColumn : QuantAxis::kRow;
  const int64_t count = qa == QuantAxis::kTensor ? 1 : qa == QuantAxis::kRow ? k : n;
  const Tensor *scale = nullptr, *zp = nullptr;
  SI_RETURN_IF_ERROR(constant_of(ctx, 2, "scale", DType::kFloat32, count, &scale));
  if (ctx.has_input(3))
    SI_RETURN_IF_ERROR(constant_of(ctx, 3, "zero point", q->dtype(), count, &zp));
  Qs8wSource src{q->raw(),
                 q->dtype() == DType::kUint8,
                 k,
                 n,
                 trans_b,
                 qa,
                 scale->data<float>(),
                 zp ? zp->raw() : nullptr};
  w->s8 = std::make_unique<PackedQs8wRows>();
  if (!w->s8->pack(src)) return out_of_memory_for(ctx, k, n);
  e->alpha = node.attr_float("alpha", 1.f);
  if (ctx.has_input(4)) {
    const Tensor *c = ctx.constant_input(4);
    if (c == nullptr || c->dtype() != DType::kFloat32 || (c->numel() != 1 && c->numel() != n))
      return invalid_model(where(ctx) + ": C must be a constant float32 of 1 or N values");
    const float beta = node.attr_float("beta", 1.f);
    e->bias.resize(size_t(n));
    for (int64_t j = 0; j < n; ++j)
      e->bias[size_t(j)] = beta * c->data<float>()[c->numel() == 1 ? 0 : j];
  }
  *finite = all_finite(scale->data<float>(), scale->numel());
  return Status::ok();
}

Status finish(const LoadContext &ctx, QuantWeight w, Epilogue e, bool finite, bool gemm,
              std::unique_ptr<OpKernel> *out) {
  *out = std::make_unique<QuantMatmulOp>(std::move(w), std::move(e), finite, ctx, gemm);
  return Status::ok();
}

}  // namespace

Status create_matmul_nbits(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  QuantWeight w;
  Epilogue e;
  bool finite = false;
  SI_RETURN_IF_ERROR(pack_nbits(ctx, &w, &e, &finite));
  return finish(ctx, std::move(w), std::move(e), finite, false, out);
}

Status create_quant_matmul(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  const std::string source = ctx.node.attr_string("source", "");
  const std::string act = ctx.node.attr_string("activation", "");
  if (act != "" && act != "Relu")
    return invalid_model(where(ctx) + ": unknown activation \"" + act + "\"");
  QuantWeight w;
  Epilogue e;
  bool finite = false;
  if (source == "MatMulNBits") {
    SI_RETURN_IF_ERROR(pack_nbits(ctx, &w, &e, &finite));
  } else if (source == "DequantizeLinear") {
    SI_RETURN_IF_ERROR(pack_qdq(ctx, &w, &e, &finite));
  } else {
    return invalid_model(where(ctx) + ": unknown source \"" + source + "\"");
  }
  e.relu = act == "Relu";
  return finish(ctx, std::move(w), std::move(e), finite, ctx.node.attr_int("gemm", 0) != 0, out);
}

}  // namespace si
