// Factories of every op, one group per op-family file. Registered in registry.cc.
#pragma once

#include "engine/op.h"

namespace si {

// elementwise.cc

// activation.cc

// matmul.cc

// normalization.cc

// shape.cc

}  // namespace si
