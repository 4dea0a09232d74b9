// Tensor: a dtype, a shape and a 64-byte aligned buffer shared by reference.
// Copying a Tensor copies the handle, not the data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/status.h"

namespace si {

struct ActiveSet;
struct TensorList;

// ONNX TensorProto.DataType numbering, so values cross the C API unchanged.
enum class DType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUint8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
};

size_t dtype_size(DType t);       // 0 for kUndefined
const char *dtype_name(DType t);  // "float32", "int64", ...
bool dtype_from_onnx(int32_t onnx_type, DType *out);

using Shape = std::vector<int64_t>;

// Hard ceiling on elements of any one tensor (2^40): sizes above it are
// rejected before any allocation.
constexpr int64_t kMaxElements = int64_t{1} << 40;

// Product of dims; fails on a negative dim or a product above kMaxElements.
Status checked_numel(const Shape &shape, int64_t *out);
int64_t numel(const Shape &shape);          // caller guarantees the shape is valid
std::string shape_str(const Shape &shape);  // "[1,3,224,224]"

class Tensor {
 public:
  Tensor() = default;

  // Allocates zero-initialised storage; kOutOfMemory / kInvalidArgument on failure.
  static Status allocate(DType dtype, Shape shape, Tensor *out);
  // Wraps memory the caller owns and keeps alive while the Tensor is used.
  static Tensor borrow(DType dtype, Shape shape, void *data);
  // A sequence value (ONNX seq(tensor)): an immutable list of tensors of one
  // dtype, shared by every copy of the handle. It has no storage of its own
  // (dtype() kUndefined, shape [], numel 0); its elements share storage with
  // the values they came from, and hold references to it, so the executor
  // never sees an element's buffer as exclusively owned and never recycles it
  // while a sequence holds it.
  static Tensor sequence(DType element_dtype, std::vector<Tensor> elements);
  bool is_sequence() const { return seq_ != nullptr; }
  DType element_dtype() const;                  // kUndefined unless a sequence
  const std::vector<Tensor> &elements() const;  // empty unless a sequence
  // Same storage, new shape with the same element count (Reshape, Flatten).
  // Keeps the active set only if the last dimension is unchanged. A
  // sequence's view is the sequence (Identity).
  Tensor view(Shape shape) const;
  // Sole owner of its storage: safe to recycle for another value.
  bool owns_storage_exclusively() const { return storage_ && storage_.use_count() == 1; }
  size_t capacity_bytes() const { return capacity_; }
  // Reuses this tensor's storage for (dtype, shape); requires the bytes to fit
  // in capacity_bytes(). Contents are unspecified.
  Tensor recycle(DType dtype, Shape shape) const;

  DType dtype() const { return dtype_; }
  const Shape &shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_[static_cast<size_t>(i)]; }
  int64_t numel() const { return numel_; }
  size_t size_bytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  bool empty() const { return dtype_ == DType::kUndefined && !seq_; }

  // Non-zero indices per row, attached by a sparsity producer (may be null).
  const ActiveSet *active_set() const { return active_.get(); }
  void set_active_set(std::shared_ptr<const ActiveSet> a) { active_ = std::move(a); }

  void *raw() const { return data_; }
  template <typename T>
  T *data() const {
    return static_cast<T *>(data_);
  }

 private:
  DType dtype_ = DType::kUndefined;
  Shape shape_;
  int64_t numel_ = 0;
  size_t capacity_ = 0;  // bytes owned in storage_ (0 when borrowed)
  std::shared_ptr<void> storage_;
  void *data_ = nullptr;
  std::shared_ptr<const ActiveSet> active_;
  std::shared_ptr<const TensorList> seq_;  // non-null for a sequence value
};

// A sequence value's contents (Tensor::sequence).
struct TensorList {
  DType dtype = DType::kUndefined;
  std::vector<Tensor> items;
};

}  // namespace si
