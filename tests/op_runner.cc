#include "tests/op_runner.h"

#include <cstring>
#include <memory>

namespace si::test {

Status run_op(const OpSpec &spec, std::vector<Tensor> *outputs) {
  Graph g;
  Node node;
  node.op_type = spec.op_type;
  node.name = "node_under_test";
  node.domain = spec.domain;
  node.opset = spec.opset;
  node.attrs = spec.attrs;
  std::vector<Tensor> feeds;
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    const Tensor &t = spec.inputs[i];
    if (t.empty()) {
      node.inputs.push_back(-1);
      continue;
    }
    ValueInfo info;
    info.name = "in" + std::to_string(i);
    info.dtype = t.dtype();
    info.has_shape = true;
    for (int64_t d : t.shape()) info.dims.push_back(Dim{d, ""});
    int id = g.add_value(info);
    node.inputs.push_back(id);
    bool is_const = i < spec.constant.size() && spec.constant[i];
    if (is_const) {
      g.constants[id] = t;
    } else {
      g.inputs.push_back(id);
      feeds.push_back(t);
    }
  }
  for (int i = 0; i < spec.num_outputs; ++i) {
    ValueInfo info;
    info.name = "out" + std::to_string(i);
    int id = g.add_value(info);
    node.outputs.push_back(id);
    g.outputs.push_back(id);
  }
  g.nodes.push_back(node);
  std::unique_ptr<Session> session;
  SI_RETURN_IF_ERROR(Session::create(std::move(g), spec.options, &session));
  return session->run(feeds, outputs);
}

Attribute attr_int(int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::kInt;
  a.i = v;
  return a;
}

Attribute attr_float(float v) {
  Attribute a;
  a.kind = Attribute::Kind::kFloat;
  a.f = v;
  return a;
}

Attribute attr_string(const std::string &v) {
  Attribute a;
  a.kind = Attribute::Kind::kString;
  a.s = v;
  return a;
}

Attribute attr_ints(const std::vector<int64_t> &v) {
  Attribute a;
  a.kind = Attribute::Kind::kInts;
  a.ints = v;
  return a;
}

Attribute attr_floats(const std::vector<float> &v) {
  Attribute a;
  a.kind = Attribute::Kind::kFloats;
  a.floats = v;
  return a;
}

namespace {
template <typename T>
Tensor make(DType dtype, const Shape &shape, const std::vector<T> &values) {
  Tensor t;
  Status s = Tensor::allocate(dtype, shape, &t);
  if (!s.is_ok() || size_t(t.numel()) != values.size()) return Tensor();
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
  return t;
}
}  // namespace

Tensor make_f32(const Shape &shape, const std::vector<float> &values) {
  return make(DType::kFloat32, shape, values);
}

Tensor make_i64(const Shape &shape, const std::vector<int64_t> &values) {
  return make(DType::kInt64, shape, values);
}

std::vector<float> to_vector_f32(const Tensor &t) {
  const float *p = t.data<float>();
  return std::vector<float>(p, p + t.numel());
}

}  // namespace si::test
