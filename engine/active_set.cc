#include "engine/active_set.h"

#include <new>

#include "engine/tensor.h"
#include "kernels/sparse/sparse_matmul.h"

namespace si {

Status attach_active_set(Tensor *t) {
  if (t->dtype() != DType::kFloat32 || t->rank() == 0) return Status::ok();
  auto set = std::make_shared<ActiveSet>();
  set->k = t->dim(t->rank() - 1);
  set->rows = set->k == 0 ? 0 : t->numel() / set->k;
  if (set->k > INT32_MAX) return invalid_argument("row too long for an active set");
  try {
    set->indices.resize(static_cast<size_t>(set->rows * set->k));
    set->count.resize(static_cast<size_t>(set->rows));
  } catch (const std::bad_alloc &) {
    return out_of_memory("cannot allocate the active set of a " + shape_str(t->shape()) +
                         " tensor");
  }
  set->total = f32_find_active_rows(t->data<float>(), set->rows, set->k, set->k,
                                    set->indices.data(), set->count.data());
  t->set_active_set(std::move(set));
  return Status::ok();
}

}  // namespace si
