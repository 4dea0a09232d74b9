// onnx.TensorProto <-> Tensor. Every size is checked against the dims before
// a byte is copied: libonnx 1.12's checker accepts raw_data shorter than the
// dims say and dims whose product overflows.
#include <onnx/onnx-data_pb.h>

#include <climits>
#include <cstring>

#include "importers/onnx/internal.h"
#include "importers/onnx/onnx_importer.h"

namespace si {
namespace onnx_import {

namespace {

std::string count_mismatch(const std::string &label, size_t have, const char *unit,
                           const char *field, const Shape &shape, int64_t need) {
  return label + " has " + std::to_string(have) + " " + unit + " in " + field + ", its dims " +
         shape_str(shape) + " need " + std::to_string(need);
}

// int8/uint8/bool travel widened in int32_data; a value outside the narrow
// type's range is a corrupt file, not something to truncate silently.
template <typename T>
Status narrow_int32(const google::protobuf::RepeatedField<int32_t> &src, int32_t lo, int32_t hi,
                    const std::string &label, T *dst) {
  for (int i = 0; i < src.size(); ++i) {
    if (src[i] < lo || src[i] > hi) {
      return invalid_model(label + " has value " + std::to_string(src[i]) + " at index " +
                           std::to_string(i) + " in int32_data, outside [" + std::to_string(lo) +
                           "," + std::to_string(hi) + "]");
    }
    dst[i] = static_cast<T>(src[i]);
  }
  return Status::ok();
}

// Copies the typed field that holds `dtype`; its count must equal `n`.
Status copy_typed(const onnx::TensorProto &p, DType dtype, const Shape &shape, int64_t n,
                  const std::string &label, Tensor *t) {
  auto check = [&](int count, const char *field) {
    if (int64_t(count) == n) return Status::ok();
    return invalid_model(count_mismatch(label, size_t(count), "values", field, shape, n));
  };
  switch (dtype) {
    case DType::kFloat32:
      SI_RETURN_IF_ERROR(check(p.float_data_size(), "float_data"));
      if (n > 0) std::memcpy(t->raw(), p.float_data().data(), size_t(n) * sizeof(float));
      return Status::ok();
    case DType::kInt64:
      SI_RETURN_IF_ERROR(check(p.int64_data_size(), "int64_data"));
      if (n > 0) std::memcpy(t->raw(), p.int64_data().data(), size_t(n) * sizeof(int64_t));
      return Status::ok();
    case DType::kInt32:
      SI_RETURN_IF_ERROR(check(p.int32_data_size(), "int32_data"));
      if (n > 0) std::memcpy(t->raw(), p.int32_data().data(), size_t(n) * sizeof(int32_t));
      return Status::ok();
    case DType::kInt8:
      SI_RETURN_IF_ERROR(check(p.int32_data_size(), "int32_data"));
      return narrow_int32(p.int32_data(), -128, 127, label, t->data<int8_t>());
    case DType::kUint8:
      SI_RETURN_IF_ERROR(check(p.int32_data_size(), "int32_data"));
      return narrow_int32(p.int32_data(), 0, 255, label, t->data<uint8_t>());
    case DType::kBool:
      SI_RETURN_IF_ERROR(check(p.int32_data_size(), "int32_data"));
      return narrow_int32(p.int32_data(), 0, 1, label, t->data<uint8_t>());
    case DType::kUndefined:
      break;
  }
  return internal_error(label + ": no typed field for dtype " + dtype_name(dtype));
}

int64_t typed_value_count(const onnx::TensorProto &p) {
  return int64_t(p.float_data_size()) + p.int32_data_size() + p.string_data_size() +
         p.int64_data_size() + p.double_data_size() + p.uint64_data_size();
}

}  // namespace

std::string onnx_dtype_name(int32_t onnx_type) {
  if (onnx::TensorProto_DataType_IsValid(onnx_type)) {
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(onnx_type));
  }
  return "unknown data type " + std::to_string(onnx_type);
}

Status dtype_for(int32_t onnx_type, const std::string &label, DType *out) {
  if (dtype_from_onnx(onnx_type, out)) return Status::ok();
  return unsupported(label + " has dtype " + onnx_dtype_name(onnx_type) +
                     ", which the engine does not support (float32, uint8, int8, int32, int64, "
                     "bool)");
}

Status tensor_from_proto(const onnx::TensorProto &p, const std::string &label,
                         const std::string &base_dir, Tensor *out) {
  DType dtype = DType::kUndefined;
  SI_RETURN_IF_ERROR(dtype_for(p.data_type(), label, &dtype));
  if (p.has_segment()) return unsupported(label + " is a segment of a larger tensor");

  Shape shape(p.dims().begin(), p.dims().end());
  int64_t n = 0;
  Status s = checked_numel(shape, &n);
  if (!s.is_ok()) return invalid_model(label + ": " + s.message());
  const size_t bytes = size_t(n) * dtype_size(dtype);

  const bool external = p.data_location() == onnx::TensorProto::EXTERNAL;
  const int encodings = int(p.has_raw_data()) + int(typed_value_count(p) > 0) + int(external);
  if (encodings > 1) {
    return invalid_model(label +
                         " stores its data in more than one of raw_data, a typed field and "
                         "external data");
  }

  // Sizes are checked before allocating: a few bytes of protobuf can declare
  // dims worth gigabytes.
  if (external) return read_external_data(p, label, base_dir, dtype, shape, out);
  if (p.has_raw_data() && p.raw_data().size() != bytes) {
    return invalid_model(
        count_mismatch(label, p.raw_data().size(), "bytes", "raw_data", shape, int64_t(bytes)));
  }
  if (!p.has_raw_data() && n > 0 && typed_value_count(p) != n) {
    return invalid_model(label + " has " + std::to_string(typed_value_count(p)) +
                         " values in its typed fields, its dims " + shape_str(shape) + " need " +
                         std::to_string(n));
  }
  Tensor t;
  SI_RETURN_IF_ERROR(Tensor::allocate(dtype, shape, &t));
  if (p.has_raw_data()) {
    // raw_data is little-endian, as is every target this engine builds for.
    if (bytes > 0) std::memcpy(t.raw(), p.raw_data().data(), bytes);
  } else {
    SI_RETURN_IF_ERROR(copy_typed(p, dtype, shape, n, label, &t));
  }
  *out = std::move(t);
  return Status::ok();
}

}  // namespace onnx_import

namespace {

// One serialized message of `type` ("TensorProto") from a .pb file's bytes.
template <typename Proto>
Status parse_message(const void *data, size_t size, const char *type, Proto *proto) {
  if (size > size_t(INT_MAX)) {
    return invalid_argument("serialized " + std::string(type) + " of " + std::to_string(size) +
                            " bytes is larger than protobuf can parse (2 GiB)");
  }
  if (!proto->ParseFromArray(data, int(size))) {
    return invalid_argument("not a valid serialized onnx." + std::string(type) + " (" +
                            std::to_string(size) + " bytes)");
  }
  return Status::ok();
}

}  // namespace

Status parse_tensor_proto(const void *data, size_t size, Tensor *out, std::string *name) {
  onnx::TensorProto proto;
  SI_RETURN_IF_ERROR(parse_message(data, size, "TensorProto", &proto));
  const std::string label = "tensor \"" + proto.name() + "\"";
  // A lone .pb has no folder of its own that we trust for external data.
  SI_RETURN_IF_ERROR(onnx_import::tensor_from_proto(proto, label, "", out));
  if (name != nullptr) *name = proto.name();
  return Status::ok();
}

Status parse_sequence_proto(const void *data, size_t size, DType empty_dtype, Tensor *out,
                            std::string *name) {
  onnx::SequenceProto proto;
  SI_RETURN_IF_ERROR(parse_message(data, size, "SequenceProto", &proto));
  const std::string label = "sequence \"" + proto.name() + "\"";
  if (proto.elem_type() != onnx::SequenceProto::TENSOR) {
    return unsupported(label + " has elem_type " + std::to_string(proto.elem_type()) +
                       "; only sequences of tensors are supported");
  }
  std::vector<Tensor> items(size_t(proto.tensor_values_size()));
  for (int k = 0; k < proto.tensor_values_size(); ++k) {
    const std::string what = label + " element " + std::to_string(k);
    SI_RETURN_IF_ERROR(
        onnx_import::tensor_from_proto(proto.tensor_values(k), what, "", &items[size_t(k)]));
    if (items[size_t(k)].dtype() != items[0].dtype()) {
      return invalid_argument(what + " is " + dtype_name(items[size_t(k)].dtype()) +
                              ", element 0 is " + dtype_name(items[0].dtype()));
    }
  }
  const DType dtype = items.empty() ? empty_dtype : items[0].dtype();
  *out = Tensor::sequence(dtype, std::move(items));
  if (name != nullptr) *name = proto.name();
  return Status::ok();
}

Status serialize_tensor_proto(const Tensor &tensor, const std::string &name, std::string *bytes) {
  if (tensor.empty()) return invalid_argument("cannot serialize tensor \"" + name + "\": no dtype");
  if (tensor.numel() > 0 && tensor.raw() == nullptr) {
    return invalid_argument("cannot serialize tensor \"" + name + "\": no data");
  }
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(static_cast<int32_t>(tensor.dtype()));
  for (int64_t d : tensor.shape()) proto.add_dims(d);
  if (tensor.size_bytes() > 0) {
    proto.set_raw_data(tensor.raw(), tensor.size_bytes());
  } else {
    proto.set_raw_data(std::string());
  }
  if (!proto.SerializeToString(bytes)) {
    return invalid_argument("cannot serialize tensor \"" + name + "\" of shape " +
                            shape_str(tensor.shape()) + ": larger than protobuf allows");
  }
  return Status::ok();
}

}  // namespace si
