// Weight-only quantization: see quantize_weights.h for the formulas and the
// forms written.
#include "importers/onnx/quantize_weights.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <map>
#include <new>
#include <set>

#include "importers/onnx/internal.h"
#include "kernels/quant/half.h"

namespace si {

namespace {

constexpr const char *kMsDomain = "com.microsoft";

// One group of values (an int8 channel or an int4 block) quantized.
struct Group {
  float scale = 1;
  int zp = 0;
};

// The group's scale, rounded to the nearest fp16 value when `half` asks and
// one exists (not 0), so the engine can keep int4 scale rows as fp16.
float fit_scale(float scale, bool half) {
  const float h = round_to_half(scale);
  return half && h > 0 && half_exact(h) ? h : scale;
}

// Fills q[i] (in [-qmax, qmax] when symmetric, [0, levels] otherwise) and
// returns the group's scale and zero point. float32 throughout, rounding half
// to even (nearbyint in the default rounding mode), as the header states.
Group quantize_group(const std::vector<float> &v, bool symmetric, int qmax, int levels,
                     bool half_scale, std::vector<int> *q) {
  Group g;
  q->resize(v.size());
  if (symmetric) {
    float amax = 0;
    for (float x : v) amax = std::max(amax, std::fabs(x));
    g.scale = fit_scale(amax > 0 ? amax / float(qmax) : 1.0f, half_scale);
    for (size_t i = 0; i < v.size(); ++i)
      (*q)[i] = std::clamp(int(std::nearbyint(v[i] / g.scale)), -qmax, qmax);
    return g;
  }
  float lo = 0, hi = 0;
  for (float x : v) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  g.scale = fit_scale(hi > lo ? (hi - lo) / float(levels) : 1.0f, half_scale);
  g.zp = std::clamp(int(std::nearbyint(-lo / g.scale)), 0, levels);
  for (size_t i = 0; i < v.size(); ++i)
    (*q)[i] = std::clamp(int(std::nearbyint(v[i] / g.scale)) + g.zp, 0, levels);
  return g;
}

// A 2-D weight seen as N output channels of K values each: stored [K, N]
// (MatMul, Gemm transB 0) or [N, K] (Gemm transB 1).
struct Weight {
  const float *data = nullptr;
  int64_t K = 0, N = 0;
  bool n_major = false;
  size_t index(int64_t n, int64_t k) const { return size_t(n_major ? n * K + k : k * N + n); }
};

// The quantized form of one weight and, in the weight's own layout, its
// dequantized values.
struct QuantizedData {
  std::string codes;  // int8: the weight's layout; int4: [N, n_blocks, block_size / 2]
  std::vector<float> scales;
  std::string zero_points;  // int8: N bytes; int4: N * ceil(n_blocks / 2) bytes, or empty
  std::vector<float> dequantized;
  double max_abs_error = 0;
};

void dequantize_into(const Weight &w, int64_t n, int64_t k0, const std::vector<int> &q,
                     const Group &g, QuantizedData *out) {
  for (size_t i = 0; i < q.size(); ++i) {
    const size_t at = w.index(n, k0 + int64_t(i));
    const float d = float(q[i] - g.zp) * g.scale;
    out->dequantized[at] = d;
    out->max_abs_error = std::max(out->max_abs_error, double(std::fabs(w.data[at] - d)));
  }
}

QuantizedData quantize_int8(const Weight &w, bool symmetric) {
  QuantizedData out;
  const size_t total = size_t(w.K * w.N);
  out.codes.resize(total);
  out.dequantized.resize(total);
  out.zero_points.resize(size_t(w.N));
  std::vector<float> v(size_t(w.K));
  std::vector<int> q;
  for (int64_t n = 0; n < w.N; ++n) {
    for (int64_t k = 0; k < w.K; ++k) v[size_t(k)] = w.data[w.index(n, k)];
    const Group g = quantize_group(v, symmetric, 127, 255, false, &q);
    out.scales.push_back(g.scale);
    out.zero_points[size_t(n)] = char(uint8_t(g.zp));
    for (int64_t k = 0; k < w.K; ++k) out.codes[w.index(n, k)] = char(uint8_t(q[size_t(k)]));
    dequantize_into(w, n, 0, q, g, &out);
  }
  return out;
}

QuantizedData quantize_int4(const Weight &w, bool symmetric, int block) {
  QuantizedData out;
  const int64_t blocks = (w.K + block - 1) / block, blob = block / 2, zp_bytes = (blocks + 1) / 2;
  out.codes.assign(size_t(w.N * blocks * blob), 0);
  out.dequantized.resize(size_t(w.K * w.N));
  if (!symmetric) out.zero_points.assign(size_t(w.N * zp_bytes), 0);
  std::vector<float> v;
  std::vector<int> q;
  for (int64_t n = 0; n < w.N; ++n) {
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t k0 = b * block, len = std::min<int64_t>(block, w.K - k0);
      v.resize(size_t(len));
      for (int64_t i = 0; i < len; ++i) v[size_t(i)] = w.data[w.index(n, k0 + i)];
      Group g = quantize_group(v, symmetric, 7, 15, true, &q);
      dequantize_into(w, n, k0, q, g, &out);
      const int stored_zp = symmetric ? 8 : g.zp;  // MatMulNBits' default zero point is 8
      char *blob_at = &out.codes[size_t((n * blocks + b) * blob)];
      for (int64_t i = 0; i < block; ++i) {
        // Codes past K pad the last block with the zero point (they are never read).
        const int code = i < len ? q[size_t(i)] + (symmetric ? 8 : 0) : stored_zp;
        blob_at[i / 2] = char(uint8_t(blob_at[i / 2]) | uint8_t(code << (4 * (i % 2))));
      }
      out.scales.push_back(g.scale);
      if (!symmetric) {
        char &z = out.zero_points[size_t(n * zp_bytes + b / 2)];
        z = char(uint8_t(z) | uint8_t(g.zp << (4 * (b % 2))));
      }
    }
  }
  return out;
}

onnx::TensorProto make_tensor(const std::string &name, int32_t type, const Shape &dims,
                              const void *data, size_t bytes) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(type);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(data, bytes);
  return t;
}

// Replaces a tensor's stored data (any encoding) with raw float32 values.
void set_float_data(onnx::TensorProto *t, const std::vector<float> &values) {
  t->clear_float_data();
  t->clear_external_data();
  t->clear_data_location();
  t->set_raw_data(values.data(), values.size() * sizeof(float));
}

void add_int_attribute(onnx::NodeProto *node, const std::string &name, int64_t value) {
  onnx::AttributeProto *a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

int64_t int_attribute(const onnx::NodeProto &node, const std::string &name, int64_t fallback) {
  for (const onnx::AttributeProto &a : node.attribute())
    if (a.name() == name) return a.i();
  return fallback;
}

float float_attribute(const onnx::NodeProto &node, const std::string &name, float fallback) {
  for (const onnx::AttributeProto &a : node.attribute())
    if (a.name() == name) return a.f();
  return fallback;
}

// Every name a node of `g` (or of a subgraph in its attributes) reads.
void count_uses(const onnx::GraphProto &g, std::map<std::string, int> *uses) {
  for (const onnx::NodeProto &node : g.node()) {
    for (const std::string &in : node.input()) ++(*uses)[in];
    for (const onnx::AttributeProto &a : node.attribute()) {
      if (a.has_g()) count_uses(a.g(), uses);
      for (const onnx::GraphProto &sub : a.graphs()) count_uses(sub, uses);
    }
  }
}

class Rewriter {
 public:
  Rewriter(onnx::ModelProto *model, onnx::ModelProto *dequantized, const QuantizeOptions &options,
           const std::string &base_dir, QuantizedModel *out)
      : model_(model), deq_(dequantized), o_(options), base_dir_(base_dir), out_(out) {
    const onnx::GraphProto &g = model->graph();
    count_uses(g, &uses_);
    for (const onnx::ValueInfoProto &v : g.input()) graph_inputs_.insert(v.name());
    for (const onnx::ValueInfoProto &v : g.output()) graph_outputs_.insert(v.name());
    for (int i = 0; i < g.initializer_size(); ++i) initializers_[g.initializer(i).name()] = i;
    for (const auto &kv : uses_) names_.insert(kv.first);
    for (const auto &kv : initializers_) names_.insert(kv.first);
    for (const onnx::NodeProto &node : g.node()) {
      names_.insert(node.name());
      for (const std::string &o : node.output()) names_.insert(o);
    }
  }

  Status run() {
    onnx::GraphProto *g = model_->mutable_graph();
    std::vector<onnx::NodeProto> nodes;
    for (int i = 0; i < g->node_size(); ++i) {
      std::vector<onnx::NodeProto> replaced;
      SI_RETURN_IF_ERROR(rewrite(g->node(i), i, &replaced));
      for (onnx::NodeProto &n : replaced) nodes.push_back(std::move(n));
    }
    g->clear_node();
    for (onnx::NodeProto &n : nodes) *g->add_node() = std::move(n);
    // Drop the float initializers now read through their quantized form.
    std::vector<onnx::TensorProto> kept;
    for (int i = 0; i < g->initializer_size(); ++i)
      if (removed_.count(i) == 0) kept.push_back(std::move(*g->mutable_initializer(i)));
    g->clear_initializer();
    for (onnx::TensorProto &t : kept) *g->add_initializer() = std::move(t);
    for (onnx::TensorProto &t : added_) *g->add_initializer() = std::move(t);
    return Status::ok();
  }

 private:
  std::string unique(const std::string &base) {
    std::string name = base;
    for (int i = 1; names_.count(name) != 0; ++i) name = base + "_" + std::to_string(i);
    names_.insert(name);
    return name;
  }

  void skip(const std::string &b, const Shape &shape, const std::string &node,
            const std::string &why) {
    out_->skipped.push_back(b + " " + shape_str(shape) + " (" + node + "): " + why);
  }

  // The node unchanged, or the nodes that replace it.
  Status rewrite(const onnx::NodeProto &node, int index, std::vector<onnx::NodeProto> *out) {
    out->push_back(node);
    const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
    const bool gemm = node.op_type() == "Gemm";
    if (!default_domain || (!gemm && node.op_type() != "MatMul") || node.input_size() < 2)
      return Status::ok();
    const std::string &b = node.input(1);
    auto init = initializers_.find(b);
    if (init == initializers_.end()) return Status::ok();
    const onnx::TensorProto &proto = model_->graph().initializer(init->second);
    const Shape shape(proto.dims().begin(), proto.dims().end());
    if (shape.size() != 2 || shape[0] < o_.min_dim || shape[1] < o_.min_dim) return Status::ok();
    const std::string desc =
        node.op_type() + " " + (node.name().empty() ? "#" + std::to_string(index) : node.name());
    if (proto.data_type() != onnx::TensorProto::FLOAT) {
      skip(b, shape, desc, "not float32");
      return Status::ok();
    }
    if (graph_inputs_.count(b) != 0) {
      skip(b, shape, desc, "also a graph input, so a caller may override it");
      return Status::ok();
    }
    if (graph_outputs_.count(b) != 0) {
      skip(b, shape, desc, "also a graph output");
      return Status::ok();
    }
    if (uses_[b] != 1) {
      skip(b, shape, desc, "read by " + std::to_string(uses_[b]) + " nodes");
      return Status::ok();
    }
    const bool trans_b = gemm && int_attribute(node, "transB", 0) != 0;
    if (o_.format == WeightFormat::kInt4 && gemm &&
        (int_attribute(node, "transA", 0) != 0 || float_attribute(node, "alpha", 1) != 1 ||
         (node.input_size() > 2 && !node.input(2).empty() &&
          float_attribute(node, "beta", 1) != 1))) {
      skip(b, shape, desc, "Gemm with transA or alpha/beta != 1 has no MatMulNBits form");
      return Status::ok();
    }
    Tensor t;
    SI_RETURN_IF_ERROR(
        onnx_import::tensor_from_proto(proto, "initializer \"" + b + "\"", base_dir_, &t));
    Weight w;
    w.data = t.data<float>();
    w.n_major = trans_b;
    w.K = trans_b ? shape[1] : shape[0];
    w.N = trans_b ? shape[0] : shape[1];

    QuantizedWeight report;
    report.name = b;
    report.node = desc;
    report.shape = shape;
    report.bytes_before = uint64_t(w.K * w.N) * 4;
    const std::string mode = o_.symmetric ? "symmetric" : "asymmetric";
    QuantizedData q;
    out->clear();
    if (o_.format == WeightFormat::kInt8) {
      q = quantize_int8(w, o_.symmetric);
      report.format = std::string(o_.symmetric ? "int8" : "uint8") + " per-channel " + mode;
      emit_int8(node, b, shape, trans_b, q, out);
    } else {
      q = quantize_int4(w, o_.symmetric, o_.block_size);
      report.format = "int4 block " + std::to_string(o_.block_size) + " " + mode;
      emit_int4(node, b, w, q, out);
    }
    report.bytes_after = q.codes.size() + q.scales.size() * 4 + q.zero_points.size();
    report.max_abs_error = q.max_abs_error;
    set_float_data(deq_->mutable_graph()->mutable_initializer(init->second), q.dequantized);
    removed_.insert(init->second);
    out_->weights.push_back(report);
    return Status::ok();
  }

  void emit_int8(const onnx::NodeProto &node, const std::string &b, const Shape &shape,
                 bool trans_b, const QuantizedData &q, std::vector<onnx::NodeProto> *out) {
    const int32_t type = o_.symmetric ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8;
    const std::string qn = unique(b + "_quantized"), sn = unique(b + "_scale"),
                      zn = unique(b + "_zero_point"), dn = unique(b + "_dequantized");
    const Shape channels = {int64_t(q.scales.size())};
    added_.push_back(make_tensor(qn, type, shape, q.codes.data(), q.codes.size()));
    added_.push_back(
        make_tensor(sn, onnx::TensorProto::FLOAT, channels, q.scales.data(), q.scales.size() * 4));
    added_.push_back(make_tensor(zn, type, channels, q.zero_points.data(), q.zero_points.size()));
    onnx::NodeProto dq;
    dq.set_op_type("DequantizeLinear");
    dq.set_name(unique(b + "_DequantizeLinear"));
    dq.add_input(qn);
    dq.add_input(sn);
    dq.add_input(zn);
    dq.add_output(dn);
    add_int_attribute(&dq, "axis", trans_b ? 0 : 1);  // the output-channel axis
    out->push_back(dq);
    out->push_back(node);
    out->back().set_input(1, dn);
  }

  void emit_int4(const onnx::NodeProto &node, const std::string &b, const Weight &w,
                 const QuantizedData &q, std::vector<onnx::NodeProto> *out) {
    const int64_t blocks = (w.K + o_.block_size - 1) / o_.block_size;
    const std::string qn = unique(b + "_q4"), sn = unique(b + "_scales");
    added_.push_back(make_tensor(qn, onnx::TensorProto::UINT8, {w.N, blocks, o_.block_size / 2},
                                 q.codes.data(), q.codes.size()));
    added_.push_back(make_tensor(sn, onnx::TensorProto::FLOAT, {int64_t(q.scales.size())},
                                 q.scales.data(), q.scales.size() * 4));
    onnx::NodeProto mm;
    mm.set_op_type("MatMulNBits");
    mm.set_domain(kMsDomain);
    mm.set_name(node.name().empty() ? unique(b + "_MatMulNBits") : node.name());
    mm.add_input(node.input(0));
    mm.add_input(qn);
    mm.add_input(sn);
    if (!q.zero_points.empty()) {
      const std::string zn = unique(b + "_zero_points");
      added_.push_back(make_tensor(zn, onnx::TensorProto::UINT8, {int64_t(q.zero_points.size())},
                                   q.zero_points.data(), q.zero_points.size()));
      mm.add_input(zn);
    }
    add_int_attribute(&mm, "K", w.K);
    add_int_attribute(&mm, "N", w.N);
    add_int_attribute(&mm, "bits", 4);
    add_int_attribute(&mm, "block_size", o_.block_size);
    const std::string c = node.input_size() > 2 ? node.input(2) : "";
    if (c.empty()) {
      mm.add_output(node.output(0));
      out->push_back(mm);
      return;
    }
    auto bias = initializers_.find(c);
    if (bias != initializers_.end()) {
      const onnx::TensorProto &t = model_->graph().initializer(bias->second);
      if (t.data_type() == onnx::TensorProto::FLOAT && t.dims_size() == 1 && t.dims(0) == w.N) {
        while (mm.input_size() < 5) mm.add_input("");  // zero_points, g_idx
        mm.add_input(c);
        mm.add_output(node.output(0));
        out->push_back(mm);
        return;
      }
    }
    // Any other C (a [1, N] or [M, N] tensor, a computed value) broadcasts in an Add.
    const std::string product = unique(node.output(0) + "_matmul");
    mm.add_output(product);
    out->push_back(mm);
    onnx::NodeProto add;
    add.set_op_type("Add");
    add.set_name(unique(mm.name() + "_bias"));
    add.add_input(product);
    add.add_input(c);
    add.add_output(node.output(0));
    out->push_back(add);
  }

  onnx::ModelProto *model_;
  onnx::ModelProto *deq_;
  const QuantizeOptions &o_;
  std::string base_dir_;
  QuantizedModel *out_;
  std::map<std::string, int> uses_, initializers_;
  std::set<std::string> graph_inputs_, graph_outputs_, names_;
  std::set<int> removed_;
  std::vector<onnx::TensorProto> added_;
};

// Writes every external initializer of `g` inline, so the outputs stand
// alone wherever they are written.
Status inline_external_data(onnx::GraphProto *g, const std::string &base_dir) {
  for (onnx::TensorProto &t : *g->mutable_initializer()) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL) continue;
    Tensor value;
    SI_RETURN_IF_ERROR(
        onnx_import::tensor_from_proto(t, "initializer \"" + t.name() + "\"", base_dir, &value));
    t.clear_external_data();
    t.clear_data_location();
    t.set_raw_data(value.raw(), value.size_bytes());
  }
  return Status::ok();
}

Status serialize(const onnx::ModelProto &m, const std::string &what, std::string *out) {
  if (m.ByteSizeLong() > size_t(INT32_MAX) || !m.SerializeToString(out))
    return invalid_argument(what + " would exceed protobuf's 2 GiB limit for one file");
  return Status::ok();
}

Status quantize_parsed(onnx::ModelProto *model, const QuantizeOptions &o,
                       const std::string &base_dir, QuantizedModel *out) {
  onnx_import::OpsetMap opsets;
  SI_RETURN_IF_ERROR(onnx_import::check_opsets(*model, &opsets));
  SI_RETURN_IF_ERROR(onnx_import::run_checker(model, base_dir));
  if (o.format == WeightFormat::kInt8 && opsets[""] < 13) {
    return unsupported(
        "int8 QDQ needs per-axis DequantizeLinear (ai.onnx opset 13); the model "
        "imports opset " +
        std::to_string(opsets[""]) + " (convert it first, e.g. onnx.version_converter)");
  }
  if (o.format == WeightFormat::kInt4 && opsets.count(kMsDomain) != 0 && opsets[kMsDomain] != 1)
    return unsupported("the model imports com.microsoft opset " +
                       std::to_string(opsets[kMsDomain]) + "; MatMulNBits needs opset 1");
  onnx::ModelProto dequantized = *model;
  Rewriter rewriter(model, &dequantized, o, base_dir, out);
  SI_RETURN_IF_ERROR(rewriter.run());
  if (out->weights.empty()) {
    std::string why = "no MatMul/Gemm float32 constant weight of at least " +
                      std::to_string(o.min_dim) + " x " + std::to_string(o.min_dim) +
                      " to quantize";
    for (const std::string &s : out->skipped) why += "; skipped " + s;
    return invalid_argument(why);
  }
  if (o.format == WeightFormat::kInt4 && opsets.count(kMsDomain) == 0) {
    onnx::OperatorSetIdProto *ms = model->add_opset_import();
    ms->set_domain(kMsDomain);
    ms->set_version(1);
  }
  SI_RETURN_IF_ERROR(inline_external_data(model->mutable_graph(), base_dir));
  SI_RETURN_IF_ERROR(inline_external_data(dequantized.mutable_graph(), base_dir));
  SI_RETURN_IF_ERROR(serialize(*model, "the quantized model", &out->quantized));
  return serialize(dequantized, "the dequantized model", &out->dequantized);
}

}  // namespace

std::string block_size_error(int block_size) {
  if (block_size < 16 || block_size > 256 || (block_size & (block_size - 1)) != 0)
    return "--block-size must be a power of two from 16 to 256, got " + std::to_string(block_size);
  return "";
}

Status quantize_model_file(const std::string &path, const QuantizeOptions &options,
                           QuantizedModel *out) {
  if (options.format == WeightFormat::kInt4) {
    const std::string e = block_size_error(options.block_size);
    if (!e.empty()) return invalid_argument(e);
  }
  std::string bytes;
  SI_RETURN_IF_ERROR(onnx_import::read_model_file(path, &bytes));
  QuantizedModel result;
  Status s;
  try {
    onnx::ModelProto model;
    if (bytes.empty() || !model.ParseFromString(bytes) || !model.has_graph() ||
        !model.has_ir_version())
      return invalid_model(path + ": not a valid ONNX model");
    std::string().swap(bytes);
    s = quantize_parsed(&model, options, onnx_import::folder_of(path), &result);
  } catch (const std::bad_alloc &) {
    s = out_of_memory("out of memory while quantizing the model");
  } catch (const std::exception &e) {
    s = internal_error(std::string("unexpected error while quantizing the model: ") + e.what());
  }
  if (!s.is_ok()) return Status(s.code(), path + ": " + s.message());
  *out = std::move(result);
  return Status::ok();
}

}  // namespace si
