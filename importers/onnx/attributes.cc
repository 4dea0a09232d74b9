// AttributeProto -> Attribute, and Constant nodes -> constant tensors.
#include <cstring>

#include "importers/onnx/internal.h"

namespace si::onnx_import {

namespace {

template <typename T>
Status vector_tensor(DType dtype, const Shape &shape, const T *values, size_t count, Tensor *out) {
  SI_RETURN_IF_ERROR(Tensor::allocate(dtype, shape, out));
  if (count > 0) std::memcpy(out->raw(), values, count * sizeof(T));
  return Status::ok();
}

}  // namespace

Status attribute_from_proto(const onnx::AttributeProto &a, const std::string &node_desc,
                            const std::string &base_dir, bool *kept, Attribute *out) {
  *kept = true;
  switch (a.type()) {
    case onnx::AttributeProto::FLOAT:
      out->kind = Attribute::Kind::kFloat;
      out->f = a.f();
      return Status::ok();
    case onnx::AttributeProto::INT:
      out->kind = Attribute::Kind::kInt;
      out->i = a.i();
      return Status::ok();
    case onnx::AttributeProto::STRING:
      out->kind = Attribute::Kind::kString;
      out->s = a.s();
      return Status::ok();
    case onnx::AttributeProto::TENSOR:
      out->kind = Attribute::Kind::kTensor;
      return tensor_from_proto(a.t(), "attribute \"" + a.name() + "\" of " + node_desc, base_dir,
                               &out->t);
    case onnx::AttributeProto::FLOATS:
      out->kind = Attribute::Kind::kFloats;
      out->floats.assign(a.floats().begin(), a.floats().end());
      return Status::ok();
    case onnx::AttributeProto::INTS:
      out->kind = Attribute::Kind::kInts;
      out->ints.assign(a.ints().begin(), a.ints().end());
      return Status::ok();
    case onnx::AttributeProto::STRINGS:
      out->kind = Attribute::Kind::kStrings;
      out->strings.assign(a.strings().begin(), a.strings().end());
      return Status::ok();
    default:
      *kept = false;
      return Status::ok();
  }
}

Status constant_node_value(const onnx::NodeProto &node, const std::string &node_desc,
                           const std::string &base_dir, Tensor *out) {
  if (node.attribute_size() != 1) {
    return invalid_model(node_desc + " needs exactly one value attribute, it has " +
                         std::to_string(node.attribute_size()));
  }
  const onnx::AttributeProto &a = node.attribute(0);
  const std::string &key = a.name();
  if (key == "value") {
    if (!a.has_t()) return invalid_model(node_desc + ": attribute \"value\" holds no tensor");
    return tensor_from_proto(a.t(), "attribute \"value\" of " + node_desc, base_dir, out);
  }
  if (key == "value_float") {
    const float f = a.f();
    return vector_tensor(DType::kFloat32, {}, &f, 1, out);
  }
  if (key == "value_int") {
    const int64_t i = a.i();
    return vector_tensor(DType::kInt64, {}, &i, 1, out);
  }
  if (key == "value_floats") {
    return vector_tensor(DType::kFloat32, {int64_t(a.floats_size())}, a.floats().data(),
                         size_t(a.floats_size()), out);
  }
  if (key == "value_ints") {
    return vector_tensor(DType::kInt64, {int64_t(a.ints_size())}, a.ints().data(),
                         size_t(a.ints_size()), out);
  }
  if (key == "sparse_value" || key == "value_string" || key == "value_strings") {
    return unsupported(node_desc + ": constant attribute \"" + key + "\" is not supported");
  }
  return invalid_model(node_desc + " has unknown attribute \"" + key + "\"");
}

}  // namespace si::onnx_import
