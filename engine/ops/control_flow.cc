// If, Loop and Scan: kernels that run a body graph through its own Executor,
// planned once at create. Every output is set_by_run (its shape is known only
// once the body ran); the body's tensors come from the call's BufferPool.
#include <algorithm>
#include <cstring>

#include "engine/executor.h"
#include "engine/ops/ops.h"

namespace si {

namespace {

// One body with its executor and where its captures come from.
class Body {
 public:
  Status create(const LoadContext &ctx, const std::string &attr) {
    const Subgraph *sub = nullptr;
    for (const Subgraph &s : ctx.node.subgraphs)
      if (s.attr == attr) sub = &s;
    if (sub == nullptr) return invalid_model("graph attribute \"" + attr + "\" is missing");
    attr_ = attr;
    scope_ = ctx.node.op_type + " \"" + ctx.node.name + "\" " + attr;
    capture_inputs_ = sub->capture_inputs;
    Status s = Executor::create(sub->graph, ctx.options, &exec_);
    if (!s.is_ok()) return Status(s.code(), attr + ": " + s.message());
    return Status::ok();
  }
  const Graph &graph() const { return exec_->graph(); }
  size_t num_inputs() const { return graph().inputs.size(); }
  size_t num_outputs() const { return graph().outputs.size(); }
  const std::string &attr() const { return attr_; }

  // `formal` feeds the body's inputs; the node's inputs `node_in` its captures.
  Status run(std::vector<const Tensor *> formal, const std::vector<const Tensor *> &node_in,
             const RunContext &ctx, std::vector<Tensor> *outputs) const {
    for (size_t i : capture_inputs_) formal.push_back(node_in[i]);
    BufferPool local(memory_limit(SessionOptions()));  // a kernel run outside a session
    RunProfile profile;
    profile.value_stats = ctx.value_stats;
    Status s = exec_->run(formal, outputs, ctx.pool ? *ctx.pool : local, ctx,
                          ctx.body_steps ? &profile : nullptr);
    if (!s.is_ok()) return Status(s.code(), attr_ + ": " + s.message());
    if (ctx.body_steps != nullptr)
      for (StepRecord &rec : profile.steps) flatten(scope_, std::move(rec), ctx.body_steps);
    return Status::ok();
  }
  size_t weight_bytes() const { return exec_->weight_bytes(); }

 private:
  // rec and its body steps, each scoped under `scope`.
  static void flatten(const std::string &scope, StepRecord rec, std::vector<StepRecord> *out) {
    std::vector<StepRecord> inner = std::move(rec.body_steps);
    rec.body_steps.clear();
    rec.scope = rec.scope.empty() ? scope : scope + " / " + rec.scope;
    out->push_back(std::move(rec));
    for (StepRecord &r : inner) {
      r.scope = scope + " / " + r.scope;
      out->push_back(std::move(r));
    }
  }

  std::string attr_, scope_;  // scope_: `If "/if_0" then_branch`
  std::vector<size_t> capture_inputs_;
  std::unique_ptr<Executor> exec_;
};

// The node's inputs as ONNX declares them (its bodies' captures follow).
size_t own_inputs(const Node &node) {
  size_t n = node.inputs.size();
  for (const Subgraph &s : node.subgraphs)
    for (size_t i : s.capture_inputs) n = std::min(n, i);
  return n;
}

void outputs_set_by_run(size_t n, std::vector<OutputDesc> *out) {
  out->assign(n, OutputDesc());
  for (OutputDesc &d : *out) d.set_by_run = true;
}

Status scalar_bool(const Tensor *t, const char *what, bool *out) {
  if (t->dtype() != DType::kBool || t->numel() != 1) {
    return invalid_argument(std::string(what) + " must be a bool tensor of one element, got " +
                            dtype_name(t->dtype()) + " " + shape_str(t->shape()));
  }
  *out = t->data<bool>()[0];
  return Status::ok();
}

Status check_declared_bool(const LoadContext &ctx, size_t i, const char *what) {
  const ValueInfo *info = ctx.input_info(i);
  if (info != nullptr && info->dtype != DType::kUndefined && info->dtype != DType::kBool)
    return invalid_model(std::string(what) + " is " + dtype_name(info->dtype) + ", must be bool");
  return Status::ok();
}

Status scalar_tensor(DType dtype, const void *v, Tensor *out) {
  SI_RETURN_IF_ERROR(Tensor::allocate(dtype, {}, out));
  std::memcpy(out->raw(), v, dtype_size(dtype));
  return Status::ok();
}

// Copies `part` into slot `index` of `whole` along `axis`: whole has part's
// shape with dim `axis` (of size n) inserted.
void copy_slot(const Tensor &part, int64_t axis, int64_t index, int64_t n, Tensor *whole,
               bool into_whole) {
  const Shape &ps = part.shape();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= ps[size_t(d)];
  for (size_t d = size_t(axis); d < ps.size(); ++d) inner *= ps[d];
  const size_t es = dtype_size(part.dtype()), block = size_t(inner) * es;
  char *w = static_cast<char *>(whole->raw());
  char *p = static_cast<char *>(part.raw());
  for (int64_t o = 0; o < outer; ++o) {
    char *wp = w + (size_t(o * n + index)) * block;
    char *pp = p + size_t(o) * block;
    if (block == 0) continue;
    if (into_whole) {
      std::memcpy(wp, pp, block);
    } else {
      std::memcpy(pp, wp, block);
    }
  }
}

// Stacks equally shaped `parts` along a new `axis` (reversed when asked).
// With no parts: 0 along a new axis 0 before `empty`'s declared dims (when
// the body declares them all), as ONNX Runtime gives.
Status stack(const std::vector<Tensor> &parts, int64_t axis, bool reverse, const ValueInfo &empty,
             BufferPool *pool, Tensor *out, const std::string &what) {
  if (parts.empty()) {
    Shape shape{0};
    for (const Dim &d : empty.dims) shape.push_back(d.size);
    if (!empty.has_shape ||
        std::count_if(shape.begin(), shape.end(), [](int64_t d) { return d < 0; }) > 0)
      shape = {0};
    return Tensor::allocate(empty.dtype == DType::kUndefined ? DType::kFloat32 : empty.dtype, shape,
                            out);
  }
  const Tensor &first = parts[0];
  for (const Tensor &p : parts) {
    if (p.dtype() != first.dtype() || p.shape() != first.shape()) {
      return invalid_argument(what + " changes from " + dtype_name(first.dtype()) + " " +
                              shape_str(first.shape()) + " to " + dtype_name(p.dtype()) + " " +
                              shape_str(p.shape()) + " between iterations");
    }
  }
  Shape shape = first.shape();
  const int64_t n = int64_t(parts.size());
  shape.insert(shape.begin() + axis, n);
  if (pool != nullptr) {
    SI_RETURN_IF_ERROR(pool->take(first.dtype(), shape, out));
  } else {
    SI_RETURN_IF_ERROR(Tensor::allocate(first.dtype(), shape, out));
  }
  for (int64_t i = 0; i < n; ++i)
    copy_slot(parts[size_t(i)], axis, reverse ? n - 1 - i : i, n, out, true);
  return Status::ok();
}

class IfKernel : public OpKernel {
 public:
  Status create(const LoadContext &ctx) {
    SI_RETURN_IF_ERROR(then_.create(ctx, "then_branch"));
    SI_RETURN_IF_ERROR(else_.create(ctx, "else_branch"));
    if (own_inputs(ctx.node) != 1) return invalid_model("takes one input (cond)");
    SI_RETURN_IF_ERROR(check_declared_bool(ctx, 0, "cond"));
    for (const Body *b : {&then_, &else_}) {
      if (b->num_inputs() != 0) return invalid_model(b->attr() + " must take no inputs");
      if (b->num_outputs() != ctx.node.outputs.size()) {
        return invalid_model(b->attr() + " returns " + std::to_string(b->num_outputs()) +
                             " outputs, the node has " + std::to_string(ctx.node.outputs.size()));
      }
    }
    outputs_ = ctx.node.outputs.size();
    return Status::ok();
  }
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    if (in[0] == nullptr) return invalid_argument("cond is required");
    outputs_set_by_run(outputs_, out);
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    bool cond = false;
    SI_RETURN_IF_ERROR(scalar_bool(in[0], "cond", &cond));
    std::vector<Tensor> results;
    SI_RETURN_IF_ERROR((cond ? then_ : else_).run({}, in, ctx, &results));
    for (size_t i = 0; i < out.size(); ++i) *out[i] = std::move(results[i]);
    return Status::ok();
  }
  size_t packed_bytes() const override { return then_.weight_bytes() + else_.weight_bytes(); }

 private:
  Body then_, else_;
  size_t outputs_ = 0;
};

// Loop: inputs M (trip count, optional), cond (optional), N loop-carried
// values; body (iter_num, cond, N values) -> (cond, N values, K scan outputs).
// With neither M nor a cond that turns false it loops forever, as ONNX
// Runtime does; only the memory limit (scan outputs grow) stops it.
class LoopKernel : public OpKernel {
 public:
  Status create(const LoadContext &ctx) {
    SI_RETURN_IF_ERROR(body_.create(ctx, "body"));
    const size_t own = own_inputs(ctx.node);
    if (own < 2)
      return invalid_model("takes at least 2 inputs (M, cond), got " + std::to_string(own));
    carried_ = own - 2;
    if (ctx.has_input(1)) SI_RETURN_IF_ERROR(check_declared_bool(ctx, 1, "cond"));
    if (body_.num_inputs() != carried_ + 2) {
      return invalid_model("body takes " + std::to_string(body_.num_inputs()) +
                           " inputs, must take 2 + " + std::to_string(carried_) +
                           " (iteration number, condition, loop-carried values)");
    }
    if (body_.num_outputs() < carried_ + 1 || ctx.node.outputs.size() != body_.num_outputs() - 1) {
      return invalid_model("body returns " + std::to_string(body_.num_outputs()) +
                           " outputs, must return 1 + " + std::to_string(carried_) +
                           " + one per scan output (the node has " +
                           std::to_string(ctx.node.outputs.size()) + " outputs)");
    }
    const Graph &g = body_.graph();
    for (size_t k = carried_ + 1; k < g.outputs.size(); ++k)
      scan_decls_.push_back(g.values[size_t(g.outputs[k])]);
    return Status::ok();
  }
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    for (size_t i = 0; i < carried_; ++i)
      if (in[2 + i] == nullptr)
        return invalid_argument("loop-carried input " + std::to_string(i) + " is missing");
    outputs_set_by_run(carried_ + scan_decls_.size(), out);
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    int64_t trips = -1;  // no limit
    if (in[0] != nullptr) {
      if (in[0]->dtype() != DType::kInt64 || in[0]->numel() != 1) {
        return invalid_argument("M must be an int64 tensor of one element, got " +
                                std::string(dtype_name(in[0]->dtype())) + " " +
                                shape_str(in[0]->shape()));
      }
      trips = in[0]->data<int64_t>()[0];
    }
    bool cond = true;
    if (in[1] != nullptr) SI_RETURN_IF_ERROR(scalar_bool(in[1], "cond", &cond));
    std::vector<Tensor> carried(carried_);
    for (size_t i = 0; i < carried_; ++i) carried[i] = *in[2 + i];
    std::vector<std::vector<Tensor>> scans(scan_decls_.size());
    for (int64_t it = 0; (trips < 0 || it < trips) && cond; ++it) {
      Tensor iter, cond_in;
      SI_RETURN_IF_ERROR(scalar_tensor(DType::kInt64, &it, &iter));
      SI_RETURN_IF_ERROR(scalar_tensor(DType::kBool, &cond, &cond_in));
      std::vector<const Tensor *> formal = {&iter, &cond_in};
      for (const Tensor &t : carried) formal.push_back(&t);
      std::vector<Tensor> results;
      SI_RETURN_IF_ERROR(body_.run(formal, in, ctx, &results));
      Status s = scalar_bool(&results[0], "the body's cond output", &cond);
      if (!s.is_ok())
        return Status(s.code(), "iteration " + std::to_string(it) + ": " + s.message());
      for (size_t i = 0; i < carried_; ++i) {
        Tensor old = std::move(carried[i]);
        carried[i] = std::move(results[1 + i]);
        if (ctx.pool != nullptr) ctx.pool->give(std::move(old));  // reused next iteration
      }
      for (size_t k = 0; k < scans.size(); ++k)
        scans[k].push_back(std::move(results[1 + carried_ + k]));
    }
    for (size_t i = 0; i < carried_; ++i) *out[i] = std::move(carried[i]);
    for (size_t k = 0; k < scans.size(); ++k) {
      SI_RETURN_IF_ERROR(stack(scans[k], 0, false, scan_decls_[k], ctx.pool, out[carried_ + k],
                               "scan output " + std::to_string(k)));
    }
    return Status::ok();
  }
  size_t packed_bytes() const override { return body_.weight_bytes(); }

 private:
  Body body_;
  size_t carried_ = 0;
  std::vector<ValueInfo> scan_decls_;  // the body's declarations of the scan outputs
};

// Scan (opset 9+): N state inputs, M scan inputs sliced along their scan
// axes; body (N states, M slices) -> (N states, K slices), the K slices
// stacked along the scan output axes.
class ScanKernel : public OpKernel {
 public:
  Status create(const LoadContext &ctx) {
    SI_RETURN_IF_ERROR(body_.create(ctx, "body"));
    if (!ctx.node.has_attr("num_scan_inputs"))
      return invalid_model("attribute \"num_scan_inputs\" is missing");
    const size_t own = own_inputs(ctx.node);
    const int64_t m = ctx.node.attr_int("num_scan_inputs", 0);
    if (m < 1 || size_t(m) > own)
      return invalid_model("num_scan_inputs " + std::to_string(m) + " must be in [1, " +
                           std::to_string(own) + "]");
    scan_in_ = size_t(m);
    states_ = own - scan_in_;
    if (body_.num_inputs() != own) {
      return invalid_model("body takes " + std::to_string(body_.num_inputs()) +
                           " inputs, the node has " + std::to_string(own));
    }
    if (body_.num_outputs() != ctx.node.outputs.size() || body_.num_outputs() < states_) {
      return invalid_model("body returns " + std::to_string(body_.num_outputs()) +
                           " outputs, the node has " + std::to_string(ctx.node.outputs.size()));
    }
    scan_out_ = body_.num_outputs() - states_;
    in_axes_ = ctx.node.attr_ints("scan_input_axes");
    in_dirs_ = ctx.node.attr_ints("scan_input_directions");
    out_axes_ = ctx.node.attr_ints("scan_output_axes");
    out_dirs_ = ctx.node.attr_ints("scan_output_directions");
    const std::pair<const char *, std::pair<std::vector<int64_t> *, size_t>> lists[] = {
        {"scan_input_axes", {&in_axes_, scan_in_}},
        {"scan_input_directions", {&in_dirs_, scan_in_}},
        {"scan_output_axes", {&out_axes_, scan_out_}},
        {"scan_output_directions", {&out_dirs_, scan_out_}}};
    for (const auto &l : lists) {
      std::vector<int64_t> &v = *l.second.first;
      if (v.empty()) v.assign(l.second.second, 0);
      if (v.size() != l.second.second) {
        return invalid_model("attribute \"" + std::string(l.first) + "\" has " +
                             std::to_string(v.size()) + " entries, must have " +
                             std::to_string(l.second.second));
      }
    }
    for (const auto *dirs : {&in_dirs_, &out_dirs_})
      for (int64_t d : *dirs)
        if (d != 0 && d != 1)
          return invalid_model("a scan direction must be 0 or 1, got " + std::to_string(d));
    const Graph &g = body_.graph();
    for (size_t k = 0; k < scan_out_; ++k)
      scan_decls_.push_back(g.values[size_t(g.outputs[states_ + k])]);
    return Status::ok();
  }
  Status reshape(const std::vector<const Tensor *> &in,
                 std::vector<OutputDesc> *out) const override {
    for (size_t i = 0; i < states_ + scan_in_; ++i)
      if (in[i] == nullptr) return invalid_argument("input " + std::to_string(i) + " is missing");
    outputs_set_by_run(states_ + scan_out_, out);
    return Status::ok();
  }
  Status run(const std::vector<const Tensor *> &in, const std::vector<Tensor *> &out,
             const RunContext &ctx) const override {
    int64_t len = -1;
    std::vector<int64_t> axes(scan_in_);
    for (size_t j = 0; j < scan_in_; ++j) {
      const Tensor &x = *in[states_ + j];
      int64_t a = in_axes_[j] < 0 ? in_axes_[j] + x.rank() : in_axes_[j];
      if (a < 0 || a >= x.rank())
        return invalid_argument("scan_input_axes[" + std::to_string(j) + "] is out of range for " +
                                shape_str(x.shape()));
      axes[j] = a;
      if (len >= 0 && x.dim(a) != len) {
        return invalid_argument("scan input " + std::to_string(j) + " has " +
                                std::to_string(x.dim(a)) + " steps, an earlier one " +
                                std::to_string(len));
      }
      len = x.dim(a);
    }
    std::vector<Tensor> states(states_);
    for (size_t i = 0; i < states_; ++i) states[i] = *in[i];
    std::vector<std::vector<Tensor>> scans(scan_out_);
    for (int64_t t = 0; t < len; ++t) {
      std::vector<Tensor> slices(scan_in_);
      for (size_t j = 0; j < scan_in_; ++j) {
        const Tensor &x = *in[states_ + j];
        Shape s = x.shape();
        s.erase(s.begin() + axes[j]);
        SI_RETURN_IF_ERROR(Tensor::allocate(x.dtype(), s, &slices[j]));
        copy_slot(slices[j], axes[j], in_dirs_[j] ? len - 1 - t : t, len, const_cast<Tensor *>(&x),
                  false);
      }
      std::vector<const Tensor *> formal;
      for (const Tensor &st : states) formal.push_back(&st);
      for (const Tensor &sl : slices) formal.push_back(&sl);
      std::vector<Tensor> results;
      SI_RETURN_IF_ERROR(body_.run(formal, in, ctx, &results));
      for (size_t i = 0; i < states_; ++i) states[i] = std::move(results[i]);
      for (size_t k = 0; k < scan_out_; ++k) scans[k].push_back(std::move(results[states_ + k]));
    }
    for (size_t i = 0; i < states_; ++i) *out[i] = std::move(states[i]);
    for (size_t k = 0; k < scan_out_; ++k) {
      const int64_t rank = scans[k].empty() ? 0 : scans[k][0].rank() + 1;
      int64_t a = out_axes_[k] < 0 ? out_axes_[k] + rank : out_axes_[k];
      if (!scans[k].empty() && (a < 0 || a >= rank))
        return invalid_argument("scan_output_axes[" + std::to_string(k) + "] is out of range");
      if (scans[k].empty()) a = 0;
      SI_RETURN_IF_ERROR(stack(scans[k], a, out_dirs_[k] != 0, scan_decls_[k], ctx.pool,
                               out[states_ + k], "scan output " + std::to_string(k)));
    }
    return Status::ok();
  }
  size_t packed_bytes() const override { return body_.weight_bytes(); }

 private:
  Body body_;
  size_t states_ = 0, scan_in_ = 0, scan_out_ = 0;
  std::vector<int64_t> in_axes_, in_dirs_, out_axes_, out_dirs_;
  std::vector<ValueInfo> scan_decls_;  // the body's declarations of the scan outputs
};

template <typename K>
Status create_with(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  auto k = std::make_unique<K>();
  SI_RETURN_IF_ERROR(k->create(ctx));
  *out = std::move(k);
  return Status::ok();
}

}  // namespace

Status create_if(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_with<IfKernel>(ctx, out);
}

Status create_loop(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_with<LoopKernel>(ctx, out);
}

Status create_scan(const LoadContext &ctx, std::unique_ptr<OpKernel> *out) {
  return create_with<ScanKernel>(ctx, out);
}

}  // namespace si
