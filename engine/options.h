#pragma once

#include <cstdint>

namespace si {

// Which matmul path consumers may take (C API si_mode has the same values).
enum class ExecMode { kAuto = 0, kDense = 1, kSparse = 2 };

struct SessionOptions {
  int threads = 0;  // intra-op threads; 0 = all cores
  ExecMode mode = ExecMode::kAuto;
  bool optimize = true;  // constant folding and fusion passes
};

}  // namespace si
