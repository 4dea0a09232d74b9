#include "engine/active_set.h"

#include <new>

#include "engine/tensor.h"
#include "kernels/sparse/sparse_matmul.h"

namespace si {

Status attach_active_set(Tensor *t) {
  if (t->dtype() != DType::kFloat32 || t->rank() == 0) return Status::ok();
  auto set = std::make_shared<ActiveSet>();
  set->k = t->dim(t->rank() - 1);
  // Rows from the leading dims: with k == 0 there are still rows (all empty),
  // and a consumer walks one count per row.
  set->rows = 1;
  for (int64_t i = 0; i + 1 < t->rank(); ++i) {
    if (t->dim(i) != 0 && set->rows > kMaxElements / t->dim(i)) {
      return invalid_argument("too many rows for an active set in " + shape_str(t->shape()));
    }
    set->rows *= t->dim(i);
  }
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
