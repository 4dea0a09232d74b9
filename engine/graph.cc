#include "engine/graph.h"

namespace si {

ValueInfo exact_value_info(const std::string &name, const Tensor &t) {
  ValueInfo info;
  info.name = name;
  if (t.is_sequence()) {
    info.dtype = t.element_dtype();
    info.sequence = true;
    return info;
  }
  info.dtype = t.dtype();
  info.has_shape = true;
  for (int64_t d : t.shape()) info.dims.push_back(Dim{d, ""});
  return info;
}

std::string value_type_name(const ValueInfo &info) {
  return (info.sequence ? "sequence of " : "") + std::string(dtype_name(info.dtype));
}

Status require_tensor_interface(const std::vector<ValueInfo> &inputs,
                                const std::vector<ValueInfo> &outputs, const std::string &who) {
  for (const auto *side : {&inputs, &outputs}) {
    for (const ValueInfo &v : *side) {
      if (!v.sequence) continue;
      return unsupported(std::string("graph ") + (side == &inputs ? "input" : "output") + " \"" +
                         v.name + "\" is a " + value_type_name(v) + "; " + who +
                         " exchanges tensors only");
    }
  }
  return Status::ok();
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

std::vector<NodeOrigin> Node::imported_nodes() const {
  if (!origins.empty()) return origins;
  return {NodeOrigin{op_type, name}};
}

int64_t Node::attr_int(const std::string &key, int64_t fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.i;
}

float Node::attr_float(const std::string &key, float fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.f;
}

std::string Node::attr_string(const std::string &key, const std::string &fallback) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? fallback : it->second.s;
}

std::vector<int64_t> Node::attr_ints(const std::string &key) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? std::vector<int64_t>{} : it->second.ints;
}

std::vector<float> Node::attr_floats(const std::string &key) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? std::vector<float>{} : it->second.floats;
}

std::string Node::describe() const {
  std::string d = domain.empty() ? "ai.onnx" : domain;
  return op_type + " (node \"" + name + "\", " + d + " opset " + std::to_string(opset) + ")";
}

int Graph::find_value(const std::string &name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

int Graph::add_value(ValueInfo info) {
  int id = static_cast<int>(values.size());
  if (!info.name.empty()) index_[info.name] = id;
  values.push_back(std::move(info));
  return id;
}

const Tensor *Graph::constant(int value) const {
  auto it = constants.find(value);
  return it == constants.end() ? nullptr : &it->second;
}

std::map<std::string, int> Graph::op_histogram() const {
  std::map<std::string, int> h;
  for (const Node &n : nodes) {
    ++h[n.op_type];
    for (const Subgraph &body : n.subgraphs)
      for (const auto &kv : body.graph->op_histogram()) h[kv.first] += kv.second;
  }
  return h;
}

}  // namespace si
