// ValueInfoProto -> ValueInfo: declared graph inputs/outputs strictly,
// shape-inference results leniently.
#include "importers/onnx/internal.h"

namespace si::onnx_import {

namespace {

const char *type_kind(const onnx::TypeProto &t) {
  switch (t.value_case()) {
    case onnx::TypeProto::kTensorType:
      return "a tensor";
    case onnx::TypeProto::kSequenceType:
      return "a sequence";
    case onnx::TypeProto::kMapType:
      return "a map";
    case onnx::TypeProto::kOptionalType:
      return "an optional";
    case onnx::TypeProto::kSparseTensorType:
      return "a sparse tensor";
    default:
      return "a value without a type";
  }
}

Dim dim_from_proto(const onnx::TensorShapeProto::Dimension &d) {
  Dim dim;
  if (d.has_dim_value()) dim.size = d.dim_value();
  if (d.has_dim_param()) dim.param = d.dim_param();
  return dim;
}

}  // namespace

Status declared_value_info(const onnx::ValueInfoProto &proto, const std::string &what,
                           ValueInfo *out) {
  const std::string label = what + " \"" + proto.name() + "\"";
  out->name = proto.name();
  out->sequence = false;
  if (proto.type().value_case() == onnx::TypeProto::kSequenceType) {
    // seq(tensor(T)): the dtype is the elements'; their shapes are not checked.
    const onnx::TypeProto &elem = proto.type().sequence_type().elem_type();
    if (elem.value_case() != onnx::TypeProto::kTensorType) {
      return unsupported(label + " is a sequence of " + std::string(type_kind(elem)).substr(2) +
                         "s; only sequences of tensors are supported");
    }
    SI_RETURN_IF_ERROR(dtype_for(elem.tensor_type().elem_type(), label, &out->dtype));
    out->sequence = true;
    out->has_shape = false;
    out->dims.clear();
    return Status::ok();
  }
  if (proto.type().value_case() != onnx::TypeProto::kTensorType) {
    return unsupported(label + " is " + type_kind(proto.type()) +
                       "; only tensors and sequences of tensors are supported");
  }
  const onnx::TypeProto::Tensor &tt = proto.type().tensor_type();
  SI_RETURN_IF_ERROR(dtype_for(tt.elem_type(), label, &out->dtype));
  out->has_shape = tt.has_shape();
  out->dims.clear();
  for (const auto &d : tt.shape().dim()) {
    Dim dim = dim_from_proto(d);
    if (d.has_dim_value() && d.dim_value() < 0) {
      return invalid_model(label + " declares negative dimension " + std::to_string(d.dim_value()));
    }
    out->dims.push_back(std::move(dim));
  }
  return Status::ok();
}

void merge_inferred_value_info(const onnx::ValueInfoProto &proto, ValueInfo *out) {
  if (proto.type().value_case() != onnx::TypeProto::kTensorType) return;
  const onnx::TypeProto::Tensor &tt = proto.type().tensor_type();
  DType dtype = DType::kUndefined;
  if (dtype_from_onnx(tt.elem_type(), &dtype)) out->dtype = dtype;
  if (!tt.has_shape()) return;
  out->has_shape = true;
  out->dims.clear();
  for (const auto &d : tt.shape().dim()) {
    Dim dim = dim_from_proto(d);
    if (dim.size < -1) dim.size = -1;
    out->dims.push_back(std::move(dim));
  }
}

}  // namespace si::onnx_import
