// Scatter ops: ScatterElements (and its opset 9-10 name Scatter) and
// ScatterND, with the none/add/mul reductions of opset 16. The output starts
// as a copy of data (or takes data's buffer when this is its last reader)
// and every index is checked before the first write.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/indices.h"
#include "engine/ops/ops.h"
#include "kernels/ref/broadcast.h"

namespace si {

namespace {

enum class Reduction { kNone, kAdd, kMul };

// y[dst] = u (none), y[dst] += u, y[dst] *= u, for n elements. Duplicate
// indices apply in index order: with none the last write wins.
template <typename T>
void combine(Reduction r, T *y, const T *u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    switch (r) {
      case Reduction::kNone:
        y[i] = u[i];
        break;
      case Reduction::kAdd:
        y[i] = T(y[i] + u[i]);
        break;
      case Reduction::kMul:
        y[i] = T(y[i] * u[i]);
        break;
    }
  }
}

// One scatter step of n elements of the output's dtype.
void combine_bytes(Reduction r, DType t, uint8_t *y, const uint8_t *u, int64_t n) {
  if (r == Reduction::kNone) {
    std::memcpy(y, u, size_t(n) * dtype_size(t));
    return;
  }
  visit_dtype(t, [&](auto z) {
    using T = decltype(z);
    combine<T>(r, reinterpret_cast<T *>(y), reinterpret_cast<const T *>(u), n);
  });
}

Status check_reducible(Reduction r, DType t) {
  if (r != Reduction::kNone && t == DType::kBool)
    return invalid_argument("reduction add/mul is not defined on bool data");
  return Status::ok();
}

// The output takes data's buffer when the executor hands it over; else a copy.
void start_from_data(const Tensor &data, Tensor &y) {
  if (y.raw() != data.raw() && data.size_bytes() != 0)
    std::memcpy(y.raw(), data.raw(), data.size_bytes());
}

class ScatterElementsKernel final : public OpKernel {
 public:
  ScatterElementsKernel(int64_t axis, Reduction r) : axis_(axis), r_(r) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    int64_t axis;
    SI_RETURN_IF_ERROR(check(in, &axis));
    out->push_back(OutputDesc{in[0]->dtype(), in[0]->shape(), -1, 0});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &data = *in[0], &indices = *in[1], &updates = *in[2];
    int64_t axis;
    SI_RETURN_IF_ERROR(check(in, &axis));
    std::vector<int64_t> idx;
    SI_RETURN_IF_ERROR(element_indices(data, indices, axis, &idx));
    Tensor &y = *out[0];
    start_from_data(data, y);
    const Shape &is = indices.shape();
    const Shape st = strides_of(data.shape());
    const size_t es = dtype_size(data.dtype()), rank = is.size();
    std::vector<int64_t> coord(rank, 0);
    uint8_t *dst = y.data<uint8_t>();
    const uint8_t *src = updates.data<uint8_t>();
    for (int64_t i = 0; i < indices.numel(); ++i) {
      int64_t off = 0;
      for (size_t d = 0; d < rank; ++d)
        off += (int64_t(d) == axis ? idx[size_t(i)] : coord[d]) * st[d];
      combine_bytes(r_, data.dtype(), dst + size_t(off) * es, src + size_t(i) * es, 1);
      for (size_t d = rank; d-- > 0;) {
        if (++coord[d] < is[d]) break;
        coord[d] = 0;
      }
    }
    return Status::ok();
  }

 private:
  Status check(const std::vector<const Tensor *> &in, int64_t *axis) const {
    const Tensor &data = *in[0], &indices = *in[1], &updates = *in[2];
    if (!ref::normalize_axis(axis_, data.rank(), axis)) {
      return invalid_argument("axis " + std::to_string(axis_) + " is out of range for data " +
                              shape_str(data.shape()));
    }
    SI_RETURN_IF_ERROR(check_element_indices(data, indices, *axis));
    if (updates.shape() != indices.shape() || updates.dtype() != data.dtype()) {
      return invalid_argument("updates " + std::string(dtype_name(updates.dtype())) + " " +
                              shape_str(updates.shape()) + " must match indices' shape " +
                              shape_str(indices.shape()) + " and data's dtype " +
                              dtype_name(data.dtype()));
    }
    return check_reducible(r_, data.dtype());
  }
  int64_t axis_;
  Reduction r_;
};

class ScatterNDKernel final : public OpKernel {
 public:
  explicit ScatterNDKernel(Reduction r) : r_(r) {}
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    NdPlan p;
    SI_RETURN_IF_ERROR(check(in, &p));
    out->push_back(OutputDesc{in[0]->dtype(), in[0]->shape(), -1, 0});
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &) const override {
    const Tensor &data = *in[0], &indices = *in[1], &updates = *in[2];
    NdPlan p;
    SI_RETURN_IF_ERROR(check(in, &p));
    std::vector<int64_t> offsets;
    SI_RETURN_IF_ERROR(nd_offsets(p, indices, 0, &offsets));
    Tensor &y = *out[0];
    start_from_data(data, y);
    const size_t es = dtype_size(data.dtype());
    for (size_t t = 0; t < offsets.size(); ++t) {
      combine_bytes(r_, data.dtype(), y.data<uint8_t>() + size_t(offsets[t]) * es,
                    updates.data<uint8_t>() + t * size_t(p.slice) * es, p.slice);
    }
    return Status::ok();
  }

 private:
  Status check(const std::vector<const Tensor *> &in, NdPlan *p) const {
    const Tensor &data = *in[0], &indices = *in[1], &updates = *in[2];
    SI_RETURN_IF_ERROR(nd_plan(data, indices, 0, p));
    // updates has GatherND's output shape: indices.shape[:-1] + data.shape[m:].
    if (updates.shape() != p->out_shape || updates.dtype() != data.dtype()) {
      return invalid_argument(
          "updates " + std::string(dtype_name(updates.dtype())) + " " + shape_str(updates.shape()) +
          " must be " + dtype_name(data.dtype()) + " " + shape_str(p->out_shape) + " for data " +
          shape_str(data.shape()) + " and indices " + shape_str(indices.shape()));
    }
    return check_reducible(r_, data.dtype());
  }
  Reduction r_;
};

Status read_reduction(const Node &n, Reduction *r) {
  const std::string s = n.attr_string("reduction", "none");
  if (s == "none")
    *r = Reduction::kNone;
  else if (s == "add")
    *r = Reduction::kAdd;
  else if (s == "mul")
    *r = Reduction::kMul;
  else
    return unsupported("reduction \"" + s + "\" is not supported (none, add, mul)");
  return Status::ok();
}

Status require_three(const LoadContext &ctx) {
  if (ctx.num_inputs() != 3 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2))
    return invalid_model("expects inputs data, indices and updates");
  return Status::ok();
}

}  // namespace

Status create_scatter_elements(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_three(ctx));
  Reduction r;
  SI_RETURN_IF_ERROR(read_reduction(ctx.node, &r));
  *out = std::make_unique<ScatterElementsKernel>(ctx.node.attr_int("axis", 0), r);
  return Status::ok();
}

Status create_scatter_nd(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  SI_RETURN_IF_ERROR(require_three(ctx));
  Reduction r;
  SI_RETURN_IF_ERROR(read_reduction(ctx.node, &r));
  *out = std::make_unique<ScatterNDKernel>(r);
  return Status::ok();
}

}  // namespace si
