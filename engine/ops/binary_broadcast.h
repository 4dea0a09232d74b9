// How the two operands of a binary op line up: numpy broadcasting (opset 7
// on), or the legacy `broadcast`/`axis` attributes of opset 1-6, where B is
// fitted into A at an axis and the output always has A's shape.
#pragma once

#include <cstdint>

#include "engine/graph.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace si {

struct BinaryBroadcast {
  bool legacy = false;            // opset < 7
  bool legacy_broadcast = false;  // attribute broadcast = 1
  bool has_axis = false;
  int64_t axis = 0;

  // Reads the legacy attributes when n.opset < 7; kInvalidModel on a bad one.
  static Status from_node(const Node &n, BinaryBroadcast *out);

  // Output shape, and B's shape as a BroadcastPlan should see it (legacy B is
  // padded with 1s to A's rank at its axis).
  Status shapes(const Shape &a, const Shape &b, Shape *y, Shape *b_eff) const;
};

}  // namespace si
