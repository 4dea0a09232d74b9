#include "serve/kserve_json.h"

#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

namespace si::serve {
namespace {

using json = nlohmann::json;

// Names come from model files and folder names: invalid UTF-8 is replaced,
// not thrown.
std::string dump(const json &doc) {
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

struct DTypeName {
  DType dtype;
  const char *name;
};
constexpr DTypeName kDTypes[] = {
    {DType::kFloat32, "FP32"}, {DType::kInt64, "INT64"}, {DType::kInt32, "INT32"},
    {DType::kBool, "BOOL"},    {DType::kUint8, "UINT8"}, {DType::kInt8, "INT8"},
};

// Stores one JSON element as T, or fails: no silent float -> int truncation,
// no out-of-range wrap.
template <typename T>
bool store_element(const json &v, T *dst) {
  if constexpr (std::is_same_v<T, float>) {
    if (!v.is_number()) return false;
    *dst = static_cast<float>(v.get<double>());
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) return false;
    *dst = v.get<bool>();
  } else {
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (u > uint64_t(std::numeric_limits<T>::max())) return false;
      *dst = static_cast<T>(u);
    } else if (v.is_number_integer()) {
      const int64_t i = v.get<int64_t>();
      if (i < int64_t(std::numeric_limits<T>::min()) ||
          (i > 0 && uint64_t(i) > uint64_t(std::numeric_limits<T>::max()))) {
        return false;
      }
      *dst = static_cast<T>(i);
    } else {
      return false;
    }
  }
  return true;
}

// `data` may be flat or nested (row-major); either way it holds exactly
// t->numel() elements.
template <typename T>
Status fill_from_json(const json &data, const std::string &name, Tensor *t) {
  T *dst = t->data<T>();
  const int64_t n = t->numel();
  int64_t k = 0;
  // Depth-first over nested arrays without recursion: a hostile nesting
  // depth cannot overflow the stack (nlohmann's parser bounds it anyway).
  std::vector<std::pair<const json *, size_t>> frames{{&data, 0}};
  while (!frames.empty()) {
    auto &[arr, i] = frames.back();
    if (i == arr->size()) {
      frames.pop_back();
      continue;
    }
    const json &v = (*arr)[i++];
    if (v.is_array()) {
      frames.emplace_back(&v, 0);
      continue;
    }
    if (k == n) break;
    if (!store_element(v, dst + k)) {
      return invalid_argument("input \"" + name + "\": element " + std::to_string(k) + " (" +
                              v.dump() + ") is not a valid " + kserve_datatype(t->dtype()));
    }
    ++k;
  }
  if (k != n || !frames.empty()) {
    return invalid_argument("input \"" + name + "\": shape " + shape_str(t->shape()) + " needs " +
                            std::to_string(n) + " elements, data has " +
                            (k == n ? "more" : std::to_string(k)));
  }
  return Status::ok();
}

Status fill_tensor(const json &data, const std::string &name, Tensor *t) {
  switch (t->dtype()) {
    case DType::kFloat32:
      return fill_from_json<float>(data, name, t);
    case DType::kInt64:
      return fill_from_json<int64_t>(data, name, t);
    case DType::kInt32:
      return fill_from_json<int32_t>(data, name, t);
    case DType::kBool:
      return fill_from_json<bool>(data, name, t);
    case DType::kUint8:
      return fill_from_json<uint8_t>(data, name, t);
    case DType::kInt8:
      return fill_from_json<int8_t>(data, name, t);
    default:
      return internal_error("unhandled dtype");
  }
}

template <typename T>
json to_json_array(const Tensor &t) {
  const T *p = t.data<T>();
  json a = json::array();
  a.get_ref<json::array_t &>().reserve(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) a.push_back(p[i]);
  return a;
}

json tensor_data_json(const Tensor &t) {
  switch (t.dtype()) {
    case DType::kFloat32:
      return to_json_array<float>(t);
    case DType::kInt64:
      return to_json_array<int64_t>(t);
    case DType::kInt32:
      return to_json_array<int32_t>(t);
    case DType::kBool:
      return to_json_array<bool>(t);
    case DType::kUint8:
      return to_json_array<uint8_t>(t);
    case DType::kInt8:
      return to_json_array<int8_t>(t);
    default:
      return json::array();
  }
}

// A bool parameter of a "parameters" object; absent is false.
Status bool_parameter(const json &obj, const char *key, const std::string &where, bool *out) {
  *out = false;
  auto p = obj.find("parameters");
  if (p == obj.end()) return Status::ok();
  if (!p->is_object()) return invalid_argument(where + ": \"parameters\" must be an object");
  auto v = p->find(key);
  if (v == p->end()) return Status::ok();
  if (!v->is_boolean()) return invalid_argument(where + ": \"" + key + "\" must be a boolean");
  *out = v->get<bool>();
  return Status::ok();
}

Status parse_input(const json &in, const std::string &body, size_t *binary_offset,
                   InferRequest *out) {
  if (!in.is_object()) return invalid_argument("each of \"inputs\" must be an object");
  auto name_it = in.find("name");
  if (name_it == in.end() || !name_it->is_string()) {
    return invalid_argument("an input has no \"name\" string");
  }
  const std::string name = name_it->get<std::string>();
  const std::string where = "input \"" + name + "\"";
  auto dt_it = in.find("datatype");
  if (dt_it == in.end() || !dt_it->is_string()) {
    return invalid_argument(where + " has no \"datatype\" string");
  }
  DType dtype;
  if (!dtype_from_kserve(dt_it->get<std::string>(), &dtype)) {
    return invalid_argument(where + ": datatype " + dt_it->get<std::string>() +
                            " is not supported (FP32, INT64, INT32, BOOL, UINT8, INT8)");
  }
  auto shape_it = in.find("shape");
  if (shape_it == in.end() || !shape_it->is_array()) {
    return invalid_argument(where + " has no \"shape\" array");
  }
  Shape shape;
  for (const json &d : *shape_it) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0) {
      return invalid_argument(where + ": shape " + shape_it->dump() +
                              " must hold non-negative integers");
    }
    shape.push_back(d.get<int64_t>());
  }
  int64_t n;
  Status s = checked_numel(shape, &n);
  if (!s.is_ok()) return invalid_argument(where + ": " + s.message());
  // The data is copied into a fresh, aligned tensor: a borrowed pointer into
  // the body could be misaligned for the element type.
  Tensor t;
  SI_RETURN_IF_ERROR(Tensor::allocate(dtype, shape, &t));

  int64_t binary_size = -1;
  auto p = in.find("parameters");
  if (p != in.end()) {
    if (!p->is_object()) return invalid_argument(where + ": \"parameters\" must be an object");
    auto b = p->find("binary_data_size");
    if (b != p->end()) {
      if (!b->is_number_integer() || b->get<int64_t>() < 0) {
        return invalid_argument(where + ": binary_data_size must be a non-negative integer");
      }
      binary_size = b->get<int64_t>();
    }
  }
  auto data_it = in.find("data");
  if (binary_size >= 0) {
    if (data_it != in.end()) {
      return invalid_argument(where + " has both \"data\" and binary_data_size");
    }
    if (uint64_t(binary_size) != t.size_bytes()) {
      return invalid_argument(where + ": binary_data_size " + std::to_string(binary_size) +
                              " does not match " + dt_it->get<std::string>() + " " +
                              shape_str(shape) + " (" + std::to_string(t.size_bytes()) + " bytes)");
    }
    if (body.size() - *binary_offset < t.size_bytes()) {
      return invalid_argument(where + ": binary data ends " +
                              std::to_string(t.size_bytes() - (body.size() - *binary_offset)) +
                              " bytes short of its binary_data_size");
    }
    if (t.size_bytes() > 0) std::memcpy(t.raw(), body.data() + *binary_offset, t.size_bytes());
    *binary_offset += t.size_bytes();
  } else {
    if (data_it == in.end()) {
      return invalid_argument(where + " has neither \"data\" nor binary_data_size");
    }
    if (!data_it->is_array()) return invalid_argument(where + ": \"data\" must be an array");
    SI_RETURN_IF_ERROR(fill_tensor(*data_it, name, &t));
  }
  out->input_names.push_back(name);
  out->inputs.push_back(std::move(t));
  return Status::ok();
}

Status parse_document(const json &doc, const std::string &body, size_t json_size,
                      InferRequest *out) {
  if (!doc.is_object()) return invalid_argument("the request must be a JSON object");
  auto id = doc.find("id");
  if (id != doc.end()) {
    if (!id->is_string()) return invalid_argument("\"id\" must be a string");
    out->id = id->get<std::string>();
    out->has_id = true;
  }
  SI_RETURN_IF_ERROR(
      bool_parameter(doc, "binary_data_output", "request", &out->binary_data_output));
  auto inputs = doc.find("inputs");
  if (inputs == doc.end() || !inputs->is_array()) {
    return invalid_argument("the request has no \"inputs\" array");
  }
  size_t offset = json_size;
  for (const json &in : *inputs) SI_RETURN_IF_ERROR(parse_input(in, body, &offset, out));
  if (offset != body.size()) {
    return invalid_argument(std::to_string(body.size() - offset) +
                            " bytes of binary data follow the JSON that no input's "
                            "binary_data_size claims");
  }
  auto outputs = doc.find("outputs");
  if (outputs != doc.end()) {
    if (!outputs->is_array()) return invalid_argument("\"outputs\" must be an array");
    for (const json &o : *outputs) {
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) {
        return invalid_argument("each of \"outputs\" must be an object with a \"name\" string");
      }
      RequestedOutput r;
      r.name = o["name"].get<std::string>();
      bool binary_given = o.contains("parameters") && o["parameters"].is_object() &&
                          o["parameters"].contains("binary_data");
      SI_RETURN_IF_ERROR(bool_parameter(o, "binary_data", "output \"" + r.name + "\"", &r.binary));
      if (!binary_given) r.binary = out->binary_data_output;
      out->outputs.push_back(std::move(r));
    }
  }
  return Status::ok();
}

}  // namespace

const char *kserve_datatype(DType t) {
  for (const DTypeName &d : kDTypes) {
    if (d.dtype == t) return d.name;
  }
  return nullptr;
}

bool dtype_from_kserve(const std::string &name, DType *out) {
  for (const DTypeName &d : kDTypes) {
    if (name == d.name) {
      *out = d.dtype;
      return true;
    }
  }
  return false;
}

Status parse_infer_request(const std::string &body, size_t json_size, InferRequest *out) {
  *out = InferRequest();
  if (json_size > body.size()) {
    return invalid_argument("Inference-Header-Content-Length " + std::to_string(json_size) +
                            " exceeds the body's " + std::to_string(body.size()) + " bytes");
  }
  // nlohmann reports malformed JSON and wrong-typed access by exception; none
  // leaves this function.
  try {
    const json doc = json::parse(body.begin(), body.begin() + std::ptrdiff_t(json_size));
    return parse_document(doc, body, json_size, out);
  } catch (const json::exception &e) {
    return invalid_argument(std::string("malformed request JSON: ") + e.what());
  }
}

Status order_inputs(const InferRequest &request, const std::vector<ValueInfo> &model_inputs,
                    std::vector<Tensor> *out) {
  out->assign(model_inputs.size(), Tensor());
  std::vector<bool> given(model_inputs.size(), false);
  for (size_t r = 0; r < request.input_names.size(); ++r) {
    size_t i = 0;
    while (i < model_inputs.size() && model_inputs[i].name != request.input_names[r]) ++i;
    if (i == model_inputs.size()) {
      return invalid_argument("the model has no input \"" + request.input_names[r] + "\"");
    }
    if (given[i]) return invalid_argument("input \"" + request.input_names[r] + "\" given twice");
    given[i] = true;
    (*out)[i] = request.inputs[r];
  }
  for (size_t i = 0; i < model_inputs.size(); ++i) {
    if (!given[i]) return invalid_argument("missing input \"" + model_inputs[i].name + "\"");
  }
  return Status::ok();
}

Status write_infer_response(const std::string &model, const std::string &version,
                            const InferRequest &request,
                            const std::vector<ValueInfo> &model_outputs,
                            const std::vector<Tensor> &outputs, InferResponse *out) {
  std::vector<RequestedOutput> wanted = request.outputs;
  if (wanted.empty()) {
    for (const ValueInfo &v : model_outputs) wanted.push_back({v.name, request.binary_data_output});
  }
  json doc = {{"model_name", model}, {"model_version", version}};
  if (request.has_id) doc["id"] = request.id;
  json list = json::array();
  std::vector<const Tensor *> binary;
  for (const RequestedOutput &w : wanted) {
    size_t i = 0;
    while (i < model_outputs.size() && model_outputs[i].name != w.name) ++i;
    if (i == model_outputs.size()) {
      return invalid_argument("the model has no output \"" + w.name + "\"");
    }
    const Tensor &t = outputs[i];
    const char *datatype = kserve_datatype(t.dtype());
    if (datatype == nullptr) return internal_error("output \"" + w.name + "\" has no dtype");
    json o = {{"name", w.name}, {"datatype", datatype}, {"shape", t.shape()}};
    if (w.binary) {
      o["parameters"] = {{"binary_data_size", t.size_bytes()}};
      binary.push_back(&t);
    } else {
      o["data"] = tensor_data_json(t);
    }
    list.push_back(std::move(o));
  }
  doc["outputs"] = std::move(list);
  // Non-finite floats have no JSON form; nlohmann writes them as null.
  out->body = dump(doc);
  out->json_size = out->body.size();
  out->binary = !binary.empty();
  for (const Tensor *t : binary) {
    out->body.append(static_cast<const char *>(t->raw()), t->size_bytes());
  }
  return Status::ok();
}

namespace {
json value_infos_json(const std::vector<ValueInfo> &values) {
  json list = json::array();
  for (const ValueInfo &v : values) {
    json shape = json::array();
    for (const Dim &d : v.dims) shape.push_back(d.size);
    const char *datatype = kserve_datatype(v.dtype);
    list.push_back({{"name", v.name},
                    {"datatype", datatype != nullptr ? datatype : "UNKNOWN"},
                    {"shape", std::move(shape)}});
  }
  return list;
}
}  // namespace

std::string model_metadata_json(const std::string &name, const std::vector<std::string> &versions,
                                const std::vector<ValueInfo> &inputs,
                                const std::vector<ValueInfo> &outputs) {
  return dump(json{{"name", name},
                   {"versions", versions},
                   {"platform", "onnx_onnxv1"},
                   {"inputs", value_infos_json(inputs)},
                   {"outputs", value_infos_json(outputs)}});
}

std::string server_metadata_json(const std::string &version) {
  return dump(json{{"name", "sparse-infer"},
                   {"version", version},
                   {"extensions", {"binary_tensor_data", "parameters"}}});
}

std::string ready_json(bool ready) {
  return dump(json{{"ready", ready}});
}

std::string error_json(const std::string &message) {
  return dump(json{{"error", message}});
}

}  // namespace si::serve
