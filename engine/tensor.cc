#include "engine/tensor.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "engine/options.h"

namespace si {

uint64_t physical_memory_bytes() {
  static const uint64_t bytes = [] {
    long pages = sysconf(_SC_PHYS_PAGES);
    long page_size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page_size <= 0) return UINT64_MAX;
    if (uint64_t(pages) > UINT64_MAX / uint64_t(page_size)) return UINT64_MAX;
    return uint64_t(pages) * uint64_t(page_size);
  }();
  return bytes;
}

uint64_t memory_limit(const SessionOptions &options) {
  return options.max_memory_bytes != 0 ? options.max_memory_bytes : physical_memory_bytes();
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kFloat32:
    case DType::kInt32:
      return 4;
    case DType::kInt64:
      return 8;
    case DType::kUint8:
    case DType::kInt8:
    case DType::kBool:
      return 1;
    case DType::kUndefined:
      break;
  }
  return 0;
}

const char *dtype_name(DType t) {
  switch (t) {
    case DType::kFloat32:
      return "float32";
    case DType::kUint8:
      return "uint8";
    case DType::kInt8:
      return "int8";
    case DType::kInt32:
      return "int32";
    case DType::kInt64:
      return "int64";
    case DType::kBool:
      return "bool";
    case DType::kUndefined:
      break;
  }
  return "undefined";
}

bool dtype_from_onnx(int32_t onnx_type, DType *out) {
  switch (onnx_type) {
    case 1:
    case 2:
    case 3:
    case 6:
    case 7:
    case 9:
      *out = static_cast<DType>(onnx_type);
      return true;
    default:
      return false;
  }
}

Status checked_numel(const Shape &shape, int64_t *out) {
  int64_t n = 1;
  bool zero = false;
  for (int64_t d : shape) {
    if (d < 0) return invalid_argument("negative dimension in shape " + shape_str(shape));
    if (d == 0) zero = true;
  }
  if (zero) {
    *out = 0;
    return Status::ok();
  }
  for (int64_t d : shape) {
    if (n > kMaxElements / d) {
      return invalid_argument("shape " + shape_str(shape) + " has more than 2^40 elements");
    }
    n *= d;
  }
  *out = n;
  return Status::ok();
}

int64_t numel(const Shape &shape) {
  // checked_numel accepts an empty shape whatever its other dims, e.g.
  // [0, 2^62, 4]: look for the zero before multiplying.
  for (int64_t d : shape)
    if (d == 0) return 0;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const Shape &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Status Tensor::allocate(DType dtype, Shape shape, Tensor *out) {
  if (dtype_size(dtype) == 0)
    return invalid_argument("cannot allocate a tensor of undefined dtype");
  int64_t n = 0;
  SI_RETURN_IF_ERROR(checked_numel(shape, &n));
  // Round up to whole cache lines so vector kernels may read the tail block.
  size_t bytes = static_cast<size_t>(n) * dtype_size(dtype);
  size_t padded = (bytes + 63) / 64 * 64;
  if (padded == 0) padded = 64;
  // Asking the allocator for more than the machine has only ends in an
  // overcommitted buffer that the zero fill below turns into an OOM kill.
  if (padded > physical_memory_bytes()) {
    return out_of_memory("a " + std::string(dtype_name(dtype)) + " tensor " + shape_str(shape) +
                         " needs " + std::to_string(bytes) +
                         " bytes, more than the machine's physical memory (" +
                         std::to_string(physical_memory_bytes()) + " bytes)");
  }
  void *p = std::aligned_alloc(64, padded);
  if (p == nullptr) {
    return out_of_memory("cannot allocate " + std::to_string(bytes) + " bytes for a " +
                         dtype_name(dtype) + " tensor " + shape_str(shape));
  }
  std::memset(p, 0, padded);
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = n;
  t.capacity_ = padded;
  t.storage_ = std::shared_ptr<void>(p, std::free);
  t.data_ = p;
  *out = std::move(t);
  return Status::ok();
}

Tensor Tensor::borrow(DType dtype, Shape shape, void *data) {
  Tensor t;
  t.dtype_ = dtype;
  t.numel_ = si::numel(shape);
  t.shape_ = std::move(shape);
  t.data_ = data;
  return t;
}

Tensor Tensor::sequence(DType element_dtype, std::vector<Tensor> elements) {
  Tensor t;
  t.seq_ = std::make_shared<const TensorList>(TensorList{element_dtype, std::move(elements)});
  return t;
}

DType Tensor::element_dtype() const {
  return seq_ ? seq_->dtype : DType::kUndefined;
}

const std::vector<Tensor> &Tensor::elements() const {
  static const std::vector<Tensor> none;
  return seq_ ? seq_->items : none;
}

Tensor Tensor::view(Shape shape) const {
  if (seq_) return *this;
  Tensor t = *this;
  if (shape.empty() || shape_.empty() || shape.back() != shape_.back()) t.active_.reset();
  t.numel_ = si::numel(shape);
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::recycle(DType dtype, Shape shape) const {
  Tensor t = *this;
  t.active_.reset();
  t.dtype_ = dtype;
  t.numel_ = si::numel(shape);
  t.shape_ = std::move(shape);
  return t;
}

}  // namespace si
