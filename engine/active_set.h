// ActiveSet: for each row of a tensor's [M, K] view (K = last dim), the
// ascending indices of its non-zero entries. Producers attach one to their
// output; a consumer matmul reads it to gather only the weight rows that
// contribute. It rides on the Tensor, so views that keep the last axis
// (Reshape, Flatten, Identity, Dropout) carry it along for free.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/status.h"

namespace si {

class Tensor;

struct ActiveSet {
  int64_t rows = 0;
  int64_t k = 0;
  int64_t total = 0;             // non-zeros over all rows
  std::vector<int32_t> indices;  // row r's indices start at r * k
  std::vector<int64_t> count;    // per row

  double density() const {
    return rows * k == 0 ? 0.0 : static_cast<double>(total) / static_cast<double>(rows * k);
  }
};

// Computes the active set of a float32 tensor of rank >= 1 and attaches it.
Status attach_active_set(Tensor *t);

}  // namespace si
