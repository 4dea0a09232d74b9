// Structure-aware fuzz target. The input bytes are a stream of choices that
// build a small, mostly valid model in code: an MLP-like chain over the ops
// the registry has (MatMul, Gemm, activations, shape ops, LayerNorm, and a
// conv stack once Conv is registered), with attributes, shapes, initializer
// sizes and input dims picked from the stream, plus rare deliberate
// corruptions (short initializers, bad dims, dangling names, cycles). The
// model is serialized, loaded and run twice: unoptimised on the dense path
// and optimised on the path the stream picks. Both runs must agree, so this
// reaches shape arithmetic, kernels and the sparse/fused paths, not only the
// parser. If and Loop steps build bodies that read outer values (issue 14).
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/registry.h"
#include "engine/session.h"
#include "importers/onnx/onnx_importer.h"

namespace {

// Reads choices from the fuzzer's bytes; once they run out every choice is 0,
// which the builder treats as "the plain, valid option".
class Choices {
 public:
  Choices(const uint8_t *data, size_t size) : p_(data), end_(data + size) {}
  uint32_t below(uint32_t n) {
    if (n <= 1) return 0;
    uint32_t v = 0;
    for (uint32_t range = 1; range < n && p_ < end_; range <<= 8) v = (v << 8) | *p_++;
    return v % n;
  }
  bool percent(uint32_t p) { return below(100) < p; }
  int64_t in(int64_t lo, int64_t hi) { return lo + int64_t(below(uint32_t(hi - lo + 1))); }

 private:
  const uint8_t *p_;
  const uint8_t *end_;
};

// A value the builder made, with the shape it expects it to have (empty
// `known` when it cannot tell).
struct Val {
  std::string name;
  int32_t elem = onnx::TensorProto::FLOAT;
  bool known = true;
  std::vector<int64_t> shape;
};

bool has_op(const char *op, int opset) {
  return si::find_op("", op, opset) != nullptr;
}

class Builder {
 public:
  Builder(Choices *c, onnx::ModelProto *m) : c_(*c), m_(*m), g_(*m->mutable_graph()) {}

  void build() {
    static const int kOpsets[] = {17, 13, 11, 9, 7, 12, 14, 15, 16, 10, 8};
    opset_ = kOpsets[c_.below(sizeof kOpsets / sizeof kOpsets[0])];
    m_.set_ir_version(opset_ >= 15 ? 8 : 7);
    m_.set_producer_name("fuzz_graph");
    onnx::OperatorSetIdProto *op = m_.add_opset_import();
    op->set_domain("");
    op->set_version(opset_);
    g_.set_name("fuzz");

    const bool conv = has_op("Conv", opset_) && c_.percent(30);
    add_graph_input(conv ? 4 : int(c_.in(1, 4)));
    const int steps = int(c_.in(1, 8));
    for (int i = 0; i < steps; ++i) step(conv);
    add_outputs();
    corrupt();
  }

  // Actual dims for each graph input (dynamic dims resolved from the stream).
  std::vector<std::vector<int64_t>> feed_shapes;
  // Results that legitimately depend on summation order beyond rounding: a
  // MaxPool window wholly in padding (pad >= kernel, or ceil_mode's last
  // window) gives -FLT_MAX, as in ONNX Runtime, whose sums overflow or cancel
  // differently per order even when later ops (Relu, Softmax) hide the
  // magnitudes; a Div by a computed value amplifies near-zero rounding. Only
  // statuses and shapes can be compared then.
  bool order_sensitive = false;

 private:
  std::string fresh(const char *prefix) { return std::string(prefix) + std::to_string(next_id_++); }

  int64_t dim() {
    switch (c_.below(12)) {
      case 0:
        return 0;
      case 1:
        return 16;
      default:
        return c_.in(1, 6);
    }
  }

  void add_graph_input(int rank) {
    Val x;
    x.name = "X";
    onnx::ValueInfoProto *vi = g_.add_input();
    vi->set_name(x.name);
    onnx::TypeProto::Tensor *tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    std::vector<int64_t> feed;
    for (int i = 0; i < rank; ++i) {
      int64_t d = rank == 4 && i == 1 ? c_.in(1, 4) : dim();
      onnx::TensorShapeProto::Dimension *pd = tt->mutable_shape()->add_dim();
      switch (c_.below(4)) {
        case 0:  // dynamic: the run picks the size
          pd->set_dim_param(i == 0 ? "N" : "D" + std::to_string(i));
          d = c_.percent(10) ? 0 : c_.in(1, 3);
          x.known = false;
          break;
        default:
          pd->set_dim_value(d);
      }
      x.shape.push_back(d);
      feed.push_back(d);
    }
    feed_shapes.push_back(feed);
    x.known = true;  // the shape of this run's feed
    vals_.push_back(x);
  }

  // A float initializer of `shape` whose values come from a small grid, so
  // that sums stay exact enough to compare two runs.
  std::string constant(std::vector<int64_t> shape, const char *prefix = "W") {
    // Tracked shapes can be off (that is the point); keep the weights small.
    for (int64_t &d : shape) d = std::min<int64_t>(std::max<int64_t>(d, 0), 64);
    for (;;) {
      int64_t total = 1;
      for (int64_t d : shape) total *= d;
      if (total <= (int64_t{1} << 16)) break;
      *std::max_element(shape.begin(), shape.end()) /= 2;
    }
    onnx::TensorProto *t = g_.add_initializer();
    t->set_name(fresh(prefix));
    t->set_data_type(onnx::TensorProto::FLOAT);
    int64_t n = 1;
    for (int64_t d : shape) {
      t->add_dims(d);
      n *= d;
    }
    std::string raw(size_t(n) * sizeof(float), '\0');
    const uint32_t seed = c_.below(256);
    for (int64_t i = 0; i < n; ++i) {
      float v = float(int((uint32_t(i) * 2654435761u + seed) % 9) - 4) * 0.25f;
      std::memcpy(&raw[size_t(i) * 4], &v, 4);
    }
    t->set_raw_data(raw);
    return t->name();
  }

  std::string int64_constant(const std::vector<int64_t> &values, bool scalar = false) {
    onnx::TensorProto *t = g_.add_initializer();
    t->set_name(fresh("I"));
    t->set_data_type(onnx::TensorProto::INT64);
    if (!scalar) t->add_dims(int64_t(values.size()));
    for (int64_t v : values) t->add_int64_data(v);
    return t->name();
  }

  std::string float_scalar(float v) {
    onnx::TensorProto *t = g_.add_initializer();
    t->set_name(fresh("s"));
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_float_data(v);
    return t->name();
  }

  onnx::NodeProto *node(const std::string &op, const std::vector<std::string> &inputs,
                        const std::string &output) {
    onnx::NodeProto *n = g_.add_node();
    n->set_op_type(op);
    n->set_name(fresh((op + "_").c_str()));
    for (const std::string &i : inputs) n->add_input(i);
    n->add_output(output);
    return n;
  }

  static void attr_int(onnx::NodeProto *n, const char *name, int64_t v) {
    onnx::AttributeProto *a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr_float(onnx::NodeProto *n, const char *name, float v) {
    onnx::AttributeProto *a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void attr_ints(onnx::NodeProto *n, const char *name, const std::vector<int64_t> &v) {
    onnx::AttributeProto *a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }

  // An axis in [-rank, rank), or just outside it now and then.
  int64_t axis(size_t rank, bool inclusive_end = false) {
    const int64_t r = int64_t(rank);
    if (c_.percent(5)) return c_.percent(50) ? r + 1 : -r - 1;
    return c_.in(-r, inclusive_end ? r : r - 1);
  }

  Val &pick() {
    // Mostly the newest value, so the graph is a chain with some branches.
    return c_.percent(70) ? vals_.back() : vals_[c_.below(uint32_t(vals_.size()))];
  }

  void push(const std::string &name, bool known, std::vector<int64_t> shape,
            int32_t elem = onnx::TensorProto::FLOAT) {
    vals_.push_back(Val{name, elem, known, std::move(shape)});
  }

  void step(bool conv) {
    Val x = pick();
    if (x.elem != onnx::TensorProto::FLOAT) x = vals_.front();
    if (conv && x.known && x.shape.size() == 4 && c_.percent(60) && conv_step(x)) return;
    if (c_.percent(12)) return c_.percent(50) ? if_step(x) : loop_step(x);
    switch (c_.below(12)) {
      case 0:
      case 1:
        return unary(x);
      case 2:
        return binary(x);
      case 3:
      case 4:
        return matmul(x);
      case 5:
        return gemm(x);
      case 6:
        return reshape(x);
      case 7:
        return flatten(x);
      case 8:
        return squeeze_unsqueeze(x);
      case 9:
        return concat(x);
      case 10:
        return gather(x);
      default:
        return layer_norm(x);
    }
  }

  void unary(const Val &x) {
    static const char *kOps[] = {
        "Relu",    "Sigmoid",    "Tanh",     "LeakyRelu", "ThresholdedRelu",
        "Softmax", "LogSoftmax", "Identity", "Dropout",   "Clip"};
    const std::string op = kOps[c_.below(10)];
    if (!has_op(op.c_str(), opset_)) return;
    const std::string y = fresh("u");
    std::vector<std::string> inputs{x.name};
    if (op == "Clip" && opset_ >= 11) {
      // min 0 makes it a sparsity producer (ReLU6 when max is 6).
      inputs.push_back(float_scalar(c_.percent(60) ? 0.f : -0.5f));
      if (c_.percent(50)) inputs.push_back(float_scalar(6.f));
    }
    onnx::NodeProto *n = node(op, inputs, y);
    if (op == "LeakyRelu") attr_float(n, "alpha", 0.125f * float(c_.below(8)));
    if (op == "ThresholdedRelu") attr_float(n, "alpha", 0.25f * float(c_.below(8)));
    if (op == "Clip" && opset_ < 11) {
      attr_float(n, "min", 0.f);
      if (c_.percent(50)) attr_float(n, "max", 6.f);
    }
    if ((op == "Softmax" || op == "LogSoftmax") && c_.percent(60))
      attr_int(n, "axis", axis(x.shape.size()));
    push(y, x.known, x.shape);
  }

  // A body node in `b` applying a random unary op (or a Mul by an outer
  // constant, read across the body boundary) to `in`.
  void body_unary(onnx::GraphProto *b, const std::string &in, const std::string &out) {
    static const char *kOps[] = {"Relu", "Sigmoid", "Tanh", "Identity", "Mul"};
    const std::string op = kOps[c_.below(5)];
    onnx::NodeProto *n = b->add_node();
    n->set_op_type(op);
    n->set_name(fresh((op + "_").c_str()));
    n->add_input(in);
    if (op == "Mul") n->add_input(float_scalar(0.5f * float(c_.in(-2, 2))));
    n->add_output(out);
  }
  static void body_io(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> *list,
                      const std::string &name, int32_t elem, int rank) {
    onnx::ValueInfoProto *vi = list->Add();
    vi->set_name(name);
    onnx::TypeProto::Tensor *tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    onnx::TensorShapeProto *shape = tt->mutable_shape();
    for (int i = 0; i < rank; ++i) shape->add_dim();
  }
  std::string bool_constant(bool v) {
    onnx::TensorProto *t = g_.add_initializer();
    t->set_name(fresh("b"));
    t->set_data_type(onnx::TensorProto::BOOL);
    t->add_int32_data(v ? 1 : 0);
    return t->name();
  }

  // If on ReduceSum(x) > 0 (or, now and then, a constant the load inlines);
  // each branch applies a unary op to x, read from the outer scope. Rarely a
  // branch returns one output too many.
  void if_step(const Val &x) {
    if (!has_op("If", opset_) || !has_op("Greater", opset_)) return;
    std::string cond;
    if (c_.percent(20)) {
      cond = bool_constant(c_.percent(50));
    } else {
      const std::string sum = fresh("sum");
      attr_int(node("ReduceSum", {x.name}, sum), "keepdims", 0);
      cond = fresh("cond");
      node("Greater", {sum, float_scalar(0.f)}, cond);
    }
    const std::string y = fresh("if");
    onnx::NodeProto *n = node("If", {cond}, y);
    const int rank = int(x.shape.size());
    for (const char *attr : {"then_branch", "else_branch"}) {
      onnx::AttributeProto *a = n->add_attribute();
      a->set_name(attr);
      a->set_type(onnx::AttributeProto::GRAPH);
      onnx::GraphProto *b = a->mutable_g();
      b->set_name(fresh(attr));
      const std::string out = fresh("br");
      body_unary(b, x.name, out);
      body_io(b->mutable_output(), out, onnx::TensorProto::FLOAT, rank);
      if (c_.percent(3)) body_io(b->mutable_output(), x.name, onnx::TensorProto::FLOAT, rank);
    }
    push(y, x.known, x.shape);
  }

  // Loop with a constant trip count M in [0, 3]: v carried through a unary
  // op per step, the body's cond passed through (or, rarely, M absent and
  // cond turned false by the first step), and now and then v's per-step
  // values as a scan output.
  void loop_step(const Val &x) {
    if (!has_op("Loop", opset_) || !has_op("Not", opset_)) return;
    const bool no_m = c_.percent(10);
    const int64_t trips = c_.in(0, 3);
    const bool scan = c_.percent(40);
    const std::string y = fresh("loop"), ys = fresh("scan");
    onnx::NodeProto *n = g_.add_node();
    n->set_op_type("Loop");
    n->set_name(fresh("Loop_"));
    n->add_input(no_m ? "" : int64_constant({trips}, true));
    n->add_input(bool_constant(true));
    n->add_input(x.name);
    n->add_output(y);
    if (scan) n->add_output(ys);
    onnx::AttributeProto *a = n->add_attribute();
    a->set_name("body");
    a->set_type(onnx::AttributeProto::GRAPH);
    onnx::GraphProto *b = a->mutable_g();
    b->set_name(fresh("body"));
    const int rank = int(x.shape.size());
    const std::string it = fresh("iter"), c_in = fresh("cin"), v = fresh("v"),
                      c_out = fresh("cout"), v_out = fresh("vout"), s_out = fresh("sout");
    body_io(b->mutable_input(), it, onnx::TensorProto::INT64, 0);
    body_io(b->mutable_input(), c_in, onnx::TensorProto::BOOL, 0);
    body_io(b->mutable_input(), v, onnx::TensorProto::FLOAT, rank);
    onnx::NodeProto *cn = b->add_node();
    cn->set_op_type(no_m ? "Not" : "Identity");
    cn->set_name(fresh("cond_"));
    cn->add_input(c_in);
    cn->add_output(c_out);
    body_unary(b, v, v_out);
    body_io(b->mutable_output(), c_out, onnx::TensorProto::BOOL, 0);
    body_io(b->mutable_output(), v_out, onnx::TensorProto::FLOAT, rank);
    if (scan) {
      onnx::NodeProto *sn = b->add_node();
      sn->set_op_type("Identity");
      sn->set_name(fresh("scan_"));
      sn->add_input(v_out);
      sn->add_output(s_out);
      body_io(b->mutable_output(), s_out, onnx::TensorProto::FLOAT, rank);
    }
    push(y, x.known, x.shape);
    if (scan) {
      std::vector<int64_t> shape = x.shape;
      shape.insert(shape.begin(), no_m ? 1 : trips);
      push(ys, x.known, shape);
    }
  }

  // Numpy broadcasting against a constant whose shape is a suffix of x's,
  // with some dims set to 1 (or, rarely, to a size that does not broadcast).
  void binary(const Val &x) {
    static const char *kOps[] = {"Add", "Mul", "Sub", "Div"};
    const std::string op = kOps[c_.below(4)];
    std::string other;
    std::vector<int64_t> out = x.shape;
    if (c_.percent(25) && vals_.size() > 1) {
      const Val &y = vals_[c_.below(uint32_t(vals_.size()))];
      if (y.elem != onnx::TensorProto::FLOAT) return;
      other = y.name;
    } else {
      std::vector<int64_t> shape(x.shape.end() - int64_t(c_.below(uint32_t(x.shape.size() + 1))),
                                 x.shape.end());
      for (int64_t &d : shape) {
        if (c_.percent(30)) d = 1;
        if (c_.percent(3)) d = d + 1;
      }
      other = constant(shape, "B");
      // Div by the grid's zeros would only compare inf with inf; shift it.
      if (op == "Div") {
        onnx::TensorProto *t = g_.mutable_initializer()->Mutable(g_.initializer_size() - 1);
        std::string raw = t->raw_data();
        for (size_t i = 0; i + 4 <= raw.size(); i += 4) {
          float v;
          std::memcpy(&v, &raw[i], 4);
          v = v >= 0 ? v + 0.5f : v - 0.5f;
          std::memcpy(&raw[i], &v, 4);
        }
        t->set_raw_data(raw);
      }
    }
    const std::string y = fresh("b");
    const bool x_first = c_.percent(80);
    // Dividing by a computed value turns rounding differences near zero
    // (1e-7 on one path, 0 on the other) into any difference at all.
    if (op == "Div" && !x_first) order_sensitive = true;
    node(
        op,
        x_first ? std::vector<std::string>{x.name, other} : std::vector<std::string>{other, x.name},
        y);
    push(y, x.known && other[0] == 'B', out);
  }

  void matmul(const Val &x) {
    if (!x.known || x.shape.empty()) return gemm(x);
    int64_t k = x.shape.back();
    if (c_.percent(4)) k += 1;  // K mismatch
    const int64_t n = c_.in(1, 12);
    std::vector<int64_t> w_shape{k, n};
    if (c_.percent(10)) w_shape.insert(w_shape.begin(), c_.in(1, 2));  // batched weight
    const std::string w = constant(w_shape);
    std::string y = fresh("mm");
    node("MatMul", {x.name, w}, y);
    std::vector<int64_t> out = x.shape;
    out.back() = n;
    if (w_shape.size() == 3 && out.size() < 3) out.insert(out.begin(), w_shape[0]);
    // The fusion pass looks for MatMul -> Add(row bias) -> Relu.
    if (c_.percent(60)) {
      const std::string b = constant({c_.percent(95) ? n : n + 1}, "bias");
      std::string z = fresh("bias_add");
      node("Add", {y, b}, z);
      y = z;
      if (c_.percent(70)) {
        z = fresh("relu");
        node("Relu", {y}, z);
        y = z;
      }
    }
    push(y, true, out);
  }

  void gemm(const Val &x0) {
    Val x = x0;
    if (!x.known || x.shape.size() != 2) {
      const std::string f = fresh("flat");
      node("Flatten", {x.name}, f);
      int64_t rows = 1, cols = 1;
      for (size_t i = 0; i < x.shape.size(); ++i) (i == 0 ? rows : cols) *= x.shape[i];
      x = Val{f, onnx::TensorProto::FLOAT, x.known, {rows, cols}};
    }
    const bool trans_a = c_.percent(20), trans_b = c_.percent(40);
    const int64_t m = trans_a ? x.shape[1] : x.shape[0];
    int64_t k = trans_a ? x.shape[0] : x.shape[1];
    if (c_.percent(4)) k += 1;
    const int64_t n = c_.in(1, 10);
    const std::string w =
        constant(trans_b ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n});
    std::vector<std::string> inputs{x.name, w};
    switch (c_.below(5)) {
      case 0:
        break;  // no C (opset 11+), an error before
      case 1:
        inputs.push_back(constant({n}, "C"));
        break;
      case 2:
        inputs.push_back(constant({1, n}, "C"));
        break;
      case 3:
        inputs.push_back(constant({m, n}, "C"));
        break;
      default:
        inputs.push_back(constant({}, "C"));
    }
    const std::string y = fresh("gemm");
    onnx::NodeProto *g = node("Gemm", inputs, y);
    if (trans_a) attr_int(g, "transA", 1);
    if (trans_b) attr_int(g, "transB", 1);
    if (c_.percent(20)) attr_float(g, "alpha", 0.5f * float(c_.in(0, 4)));
    if (c_.percent(20)) attr_float(g, "beta", 0.5f * float(c_.in(0, 4)));
    if (opset_ < 7 && inputs.size() == 3) attr_int(g, "broadcast", 1);
    std::string out = y;
    if (c_.percent(60)) {
      out = fresh("relu");
      node("Relu", {y}, out);
    }
    push(out, x.known, {m, n});
  }

  void reshape(const Val &x) {
    std::vector<int64_t> spec;
    std::vector<int64_t> out;
    int64_t total = 1;
    for (int64_t d : x.shape) total *= d;
    switch (c_.below(5)) {
      case 0:
        spec = {-1};
        out = {total};
        break;
      case 1:
        spec = {0, -1};
        if (!x.shape.empty()) out = {x.shape[0], x.shape[0] ? total / x.shape[0] : 0};
        break;
      case 2:
        spec = {1, -1};
        out = {1, total};
        break;
      case 3:  // a split of the last dim, if it has a factor 2
        spec = x.shape;
        if (!spec.empty() && spec.back() % 2 == 0 && spec.back() > 0) {
          spec.back() /= 2;
          spec.push_back(2);
        }
        out = spec;
        break;
      default:  // anything: zeros, -1s, sizes that do not multiply out
        for (int i = int(c_.in(0, 4)); i > 0; --i) spec.push_back(c_.in(-2, 5));
        break;
    }
    const std::string y = fresh("r");
    if (c_.percent(20) && vals_.size() > 1) {
      // The target shape computed by the graph: Shape of another value.
      const Val &s = vals_[c_.below(uint32_t(vals_.size()))];
      const std::string shp = fresh("shape");
      node("Shape", {s.name}, shp);
      node("Reshape", {x.name, shp}, y);
      push(y, x.known && s.known, s.shape);
      return;
    }
    if (opset_ < 5) {
      attr_ints(node("Reshape", {x.name}, y), "shape", spec);
    } else {
      onnx::NodeProto *n = node("Reshape", {x.name, int64_constant(spec)}, y);
      if (opset_ >= 14 && c_.percent(10)) attr_int(n, "allowzero", 1);
    }
    push(y, x.known && !out.empty(), out);
  }

  void flatten(const Val &x) {
    const int64_t a = axis(x.shape.size(), true);
    const std::string y = fresh("f");
    onnx::NodeProto *n = node("Flatten", {x.name}, y);
    if (c_.percent(80)) attr_int(n, "axis", a);
    const int64_t split = a < 0 ? a + int64_t(x.shape.size()) : a;
    int64_t rows = 1, cols = 1;
    for (size_t i = 0; i < x.shape.size(); ++i) (int64_t(i) < split ? rows : cols) *= x.shape[i];
    push(y, x.known, {rows, cols});
  }

  void squeeze_unsqueeze(const Val &x) {
    const bool squeeze = c_.percent(40);
    std::vector<int64_t> axes;
    std::vector<int64_t> out = x.shape;
    if (squeeze) {
      for (size_t i = 0; i < x.shape.size(); ++i)
        if (x.shape[i] == 1 && c_.percent(70)) axes.push_back(int64_t(i));
      if (c_.percent(5)) axes.push_back(0);  // maybe not a 1
      for (size_t i = axes.size(); i-- > 0;)
        if (size_t(axes[i]) < out.size()) out.erase(out.begin() + axes[i]);
    } else {
      const int64_t a = c_.in(0, int64_t(x.shape.size()));
      axes.push_back(c_.percent(30) ? a - int64_t(x.shape.size()) - 1 : a);
      out.insert(out.begin() + a, 1);
      if (c_.percent(5)) axes.push_back(axes[0]);  // repeated axis
    }
    const std::string y = fresh(squeeze ? "sq" : "unsq");
    const char *op = squeeze ? "Squeeze" : "Unsqueeze";
    if (opset_ >= 13) {
      std::vector<std::string> inputs{x.name};
      if (!axes.empty() || !squeeze) inputs.push_back(int64_constant(axes));
      node(op, inputs, y);
    } else {
      onnx::NodeProto *n = node(op, {x.name}, y);
      if (!axes.empty() || !squeeze) attr_ints(n, "axes", axes);
    }
    push(y, x.known, out);
  }

  void concat(const Val &x) {
    const Val &other = c_.percent(50) ? x : vals_[c_.below(uint32_t(vals_.size()))];
    if (other.elem != x.elem || x.shape.empty()) return;
    const int64_t a = axis(x.shape.size());
    const std::string y = fresh("cat");
    attr_int(node("Concat", {x.name, other.name}, y), "axis", a);
    std::vector<int64_t> out = x.shape;
    const int64_t ax = a < 0 ? a + int64_t(out.size()) : a;
    if (ax >= 0 && ax < int64_t(out.size()) && other.shape.size() == out.size())
      out[size_t(ax)] += other.shape[size_t(ax)];
    push(y, x.known && other.known, out);
  }

  void gather(const Val &x) {
    if (x.shape.empty()) return;
    const int64_t a = axis(x.shape.size());
    const int64_t ax = a < 0 ? a + int64_t(x.shape.size()) : a;
    const int64_t extent = ax >= 0 && ax < int64_t(x.shape.size()) ? x.shape[size_t(ax)] : 1;
    std::vector<int64_t> idx;
    const bool scalar = c_.percent(30);
    for (int i = scalar ? 1 : int(c_.in(0, 4)); i > 0; --i) {
      // Negative indices count from the end; rarely one is out of range.
      idx.push_back(c_.percent(3) ? extent : c_.in(-extent, extent > 0 ? extent - 1 : 0));
    }
    const std::string y = fresh("g");
    attr_int(node("Gather", {x.name, int64_constant(idx, scalar)}, y), "axis", a);
    std::vector<int64_t> out;
    for (int64_t i = 0; i < int64_t(x.shape.size()); ++i) {
      if (i != ax) {
        out.push_back(x.shape[size_t(i)]);
      } else if (!scalar) {
        out.push_back(int64_t(idx.size()));
      }
    }
    push(y, x.known, out);
  }

  void layer_norm(const Val &x) {
    if (!has_op("LayerNormalization", opset_) || x.shape.empty()) return unary(x);
    const int64_t a = axis(x.shape.size());
    const int64_t ax = a < 0 ? a + int64_t(x.shape.size()) : a;
    std::vector<int64_t> norm_shape;
    for (int64_t i = std::max<int64_t>(ax, 0); i < int64_t(x.shape.size()); ++i)
      norm_shape.push_back(x.shape[size_t(i)]);
    if (c_.percent(30)) norm_shape = {norm_shape.empty() ? 1 : norm_shape.back()};
    std::vector<std::string> inputs{x.name, constant(norm_shape, "scale")};
    if (c_.percent(50)) inputs.push_back(constant(norm_shape, "shift"));
    const std::string y = fresh("ln");
    onnx::NodeProto *n = node("LayerNormalization", inputs, y);
    attr_int(n, "axis", a);
    if (c_.percent(30)) attr_float(n, "epsilon", c_.percent(50) ? 0.f : 1e-3f);
    push(y, x.known, x.shape);
  }

  // Conv [N,C,H,W] with kernel, strides, pads, dilations and group from the
  // stream, then maybe a pooling op; false when the registry lacks them.
  bool conv_step(const Val &x) {
    const int64_t c = x.shape[1];
    if (c_.percent(30)) {
      static const char *kPools[] = {"MaxPool", "AveragePool", "GlobalAveragePool",
                                     "GlobalMaxPool"};
      const char *op = kPools[c_.below(4)];
      if (!has_op(op, opset_)) return false;
      const std::string y = fresh("pool");
      onnx::NodeProto *n = node(op, {x.name}, y);
      std::vector<int64_t> out = x.shape;
      if (op[0] == 'G') {
        out[2] = out[3] = 1;
      } else {
        const int64_t k = c_.in(1, 3), s = c_.in(1, 2), p = c_.in(0, 1);
        attr_ints(n, "kernel_shape", {k, k});
        if (s > 1) attr_ints(n, "strides", {s, s});
        if (p > 0) attr_ints(n, "pads", {p, p, p, p});
        const bool ceil_mode = c_.percent(10);
        if (ceil_mode) attr_int(n, "ceil_mode", 1);
        if (op[0] == 'M' && (ceil_mode || p >= k)) order_sensitive = true;
        for (int i = 2; i < 4; ++i) out[size_t(i)] = (out[size_t(i)] + 2 * p - k) / s + 1;
      }
      push(y, x.known, out);
      return true;
    }
    const int64_t group = c > 1 && c_.percent(30) ? c : 1;
    const int64_t m = group * c_.in(1, 4);
    const int64_t kh = c_.in(1, 3), kw = c_.percent(80) ? kh : c_.in(1, 3);
    const int64_t s = c_.in(1, 2), d = c_.percent(85) ? 1 : 2, p = c_.in(0, 2);
    std::vector<std::string> inputs{x.name, constant({m, c / group, kh, kw})};
    if (c_.percent(60)) inputs.push_back(constant({m}, "cb"));
    const std::string y = fresh("conv");
    onnx::NodeProto *n = node("Conv", inputs, y);
    if (c_.percent(70)) attr_ints(n, "kernel_shape", {kh, kw});
    if (s > 1) attr_ints(n, "strides", {s, s});
    if (d > 1) attr_ints(n, "dilations", {d, d});
    if (group > 1) attr_int(n, "group", group);
    if (c_.percent(15)) {
      static const char *kPads[] = {"SAME_UPPER", "SAME_LOWER", "VALID"};
      onnx::AttributeProto *a = n->add_attribute();
      a->set_name("auto_pad");
      a->set_type(onnx::AttributeProto::STRING);
      a->set_s(kPads[c_.below(3)]);
    } else if (p > 0) {
      attr_ints(n, "pads", {p, p, c_.percent(80) ? p : 0, p});
    }
    std::vector<int64_t> out{x.shape[0], m, 0, 0};
    const int64_t ks[2] = {kh, kw};
    for (int i = 0; i < 2; ++i) {
      out[size_t(2 + i)] = (x.shape[size_t(2 + i)] + 2 * p - d * (ks[i] - 1) - 1) / s + 1;
    }
    std::string last = y;
    if (c_.percent(60)) {
      last = fresh("relu");
      node("Relu", {y}, last);
    }
    push(last, x.known, out);
    return true;
  }

  void add_outputs() {
    std::vector<const Val *> outs{&vals_.back()};
    if (vals_.size() > 2 && c_.percent(20))
      outs.push_back(&vals_[c_.below(uint32_t(vals_.size()))]);
    for (const Val *v : outs) {
      if (v->name == "X" && vals_.size() > 1) continue;
      onnx::ValueInfoProto *vi = g_.add_output();
      vi->set_name(v->name);
      onnx::TypeProto::Tensor *tt = vi->mutable_type()->mutable_tensor_type();
      tt->set_elem_type(v->elem);
      // The checker wants a shape; dims of unknown size leave it to the run.
      onnx::TensorShapeProto *shape = tt->mutable_shape();
      for (size_t i = 0; i < v->shape.size(); ++i) shape->add_dim();
    }
  }

  // Rare damage a careless exporter or an attacker could do.
  void corrupt() {
    if (!c_.percent(8)) return;
    switch (c_.below(8)) {
      case 0:
        if (g_.initializer_size() > 0) {
          onnx::TensorProto *t =
              g_.mutable_initializer(int(c_.below(uint32_t(g_.initializer_size()))));
          if (t->has_raw_data() && !t->raw_data().empty()) t->mutable_raw_data()->pop_back();
        }
        break;
      case 1:
        if (g_.initializer_size() > 0) {
          onnx::TensorProto *t =
              g_.mutable_initializer(int(c_.below(uint32_t(g_.initializer_size()))));
          static const int64_t kDims[] = {-1, 0, int64_t{1} << 40, int64_t{1} << 62, 3};
          if (t->dims_size() > 0) t->set_dims(0, kDims[c_.below(5)]);
        }
        break;
      case 2:
        if (g_.node_size() > 0) g_.mutable_node(0)->set_input(0, "dangling");
        break;
      case 3:  // a cycle: the first node reads the last node's output
        if (g_.node_size() > 1)
          g_.mutable_node(0)->set_input(0, g_.node(g_.node_size() - 1).output(0));
        break;
      case 4:
        if (g_.node_size() > 1)
          g_.mutable_node(g_.node_size() - 1)->set_output(0, g_.node(0).output(0));
        break;
      case 5:
        if (g_.output_size() > 0) *g_.add_output() = g_.output(0);  // duplicate output
        break;
      case 6:
        if (g_.initializer_size() > 0) {
          g_.mutable_initializer(int(c_.below(uint32_t(g_.initializer_size()))))
              ->set_data_type(onnx::TensorProto::INT64);
        }
        break;
      default:
        if (g_.node_size() > 0) {
          onnx::AttributeProto *a =
              g_.mutable_node(int(c_.below(uint32_t(g_.node_size()))))->add_attribute();
          a->set_name("axis");
          a->set_type(onnx::AttributeProto::FLOAT);  // wrong type
          a->set_f(1.5f);
        }
    }
  }

  Choices &c_;
  onnx::ModelProto &m_;
  onnx::GraphProto &g_;
  int opset_ = 17;
  int next_id_ = 0;
  std::vector<Val> vals_;
};

// SI_FUZZ_VERBOSE=1 prints each model's statuses (to see what a crashing or
// slow input builds; the model itself: SI_FUZZ_DUMP=path).
bool verbose() {
  static const bool v = std::getenv("SI_FUZZ_VERBOSE") != nullptr;
  return v;
}

bool load(const std::string &bytes, si::ExecMode mode, bool optimize, bool single_copy,
          std::unique_ptr<si::Session> *out) {
  si::SessionOptions o;
  o.threads = 1;
  o.mode = mode;
  o.optimize = optimize;
  o.single_weight_copy = single_copy;
  o.max_memory_bytes = uint64_t{256} << 20;
  si::Status s = si::load_session_bytes(bytes.data(), bytes.size(), o, out);
  if (verbose())
    std::fprintf(stderr, "load (optimize=%d): %s\n", int(optimize), s.message().c_str());
  return s.is_ok();
}

// Largest finite magnitude in t.
float max_magnitude(const si::Tensor &t) {
  float m = 0.f;
  for (int64_t j = 0; j < t.numel(); ++j) {
    const float v = std::fabs(t.data<float>()[j]);
    if (std::isfinite(v)) m = std::max(m, v);
  }
  return m;
}

// Sparse and dense paths add the same terms in different orders, so an
// element may differ by rounding on the scale of the terms (cancellation),
// which the tensor's largest magnitude stands in for. Infinities of either
// sign agree: skipping 0*w terms can change the sign of an exactly zero sum
// (a -0.0 bias stays -0.0 on the sparse path and turns +0.0 on the dense
// one), and a later 1/x makes that -inf vs +inf.
bool close_enough(float a, float b, float scale) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return std::isinf(a) && std::isinf(b);
  return std::fabs(a - b) <= 1e-3f * (1.f + std::fabs(a) + std::fabs(b) + scale);
}

// Beyond this magnitude (a MaxPool window of padding only gives -FLT_MAX)
// the order of a sum decides what overflows to inf, and inf - inf is NaN:
// the two paths may then legitimately disagree on every element.
constexpr float kOrderSensitiveMagnitude = 1e30f;

[[noreturn]] void mismatch(const std::string &what) {
  std::fprintf(stderr, "dense/unoptimised and optimised runs disagree: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Choices c(data, size);
  onnx::ModelProto model;
  Builder b(&c, &model);
  b.build();
  std::string bytes;
  if (!model.SerializeToString(&bytes)) return 0;
  if (const char *dump = std::getenv("SI_FUZZ_DUMP")) {
    if (FILE *f = std::fopen(dump, "wb")) {
      std::fwrite(bytes.data(), 1, bytes.size(), f);
      std::fclose(f);
    }
  }

  static const si::ExecMode kModes[] = {si::ExecMode::kAuto, si::ExecMode::kSparse,
                                        si::ExecMode::kDense};
  const si::ExecMode mode = kModes[c.below(3)];
  std::unique_ptr<si::Session> reference, tested;
  if (!load(bytes, si::ExecMode::kDense, false, false, &reference)) return 0;

  std::vector<si::Tensor> inputs;
  const std::vector<si::ValueInfo> &infos = reference->inputs();
  for (size_t i = 0; i < infos.size(); ++i) {
    si::Tensor t;
    if (!si::Tensor::allocate(si::DType::kFloat32, b.feed_shapes[i], &t).is_ok()) return 0;
    // Zeros, negatives and positives from a grid, so ReLUs leave real sparsity.
    const uint32_t seed = c.below(256);
    for (int64_t j = 0; j < t.numel(); ++j)
      t.data<float>()[j] = float(int((uint32_t(j) * 7u + seed) % 9) - 4) * 0.5f;
    inputs.push_back(t);
  }
  // Read after everything else, so older corpus inputs keep their meaning.
  const bool single_copy = c.percent(30);
  const bool both = load(bytes, mode, true, single_copy, &tested);
  std::vector<si::Tensor> ref_out, out;
  si::Status ref_status = reference->run(inputs, &ref_out);
  if (verbose()) std::fprintf(stderr, "run: %s\n", ref_status.message().c_str());
  if (!both) return 0;
  si::Status status = tested->run(inputs, &out);
  if (verbose()) std::fprintf(stderr, "run (optimized): %s\n", status.message().c_str());
  // Only the optimised session drops dead nodes, whose errors the reference
  // still meets; the other way round is a bug.
  if (ref_status.is_ok() && !status.is_ok() && status.code() != si::StatusCode::kOutOfMemory) {
    mismatch("only the optimised run failed: " + status.message());
  }
  if (!ref_status.is_ok() || !status.is_ok()) return 0;
  if (ref_out.size() != out.size()) mismatch("output counts differ");
  for (size_t i = 0; i < out.size(); ++i) {
    if (ref_out[i].dtype() != out[i].dtype() || ref_out[i].shape() != out[i].shape()) {
      mismatch("output " + std::to_string(i) + " shapes " + si::shape_str(ref_out[i].shape()) +
               " vs " + si::shape_str(out[i].shape()));
    }
    if (out[i].dtype() != si::DType::kFloat32 || b.order_sensitive) continue;
    const float scale = max_magnitude(ref_out[i]);
    if (scale > kOrderSensitiveMagnitude) continue;
    for (int64_t j = 0; j < out[i].numel(); ++j) {
      const float a = ref_out[i].data<float>()[j], v = out[i].data<float>()[j];
      if (!close_enough(a, v, scale)) {
        mismatch("output " + std::to_string(i) + " element " + std::to_string(j) + ": " +
                 std::to_string(a) + " vs " + std::to_string(v));
      }
    }
  }
  return 0;
}
