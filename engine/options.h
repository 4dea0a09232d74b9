#pragma once

#include <cstdint>
#include <string>

namespace si {

// Which matmul path consumers may take (C API si_mode has the same values).
enum class ExecMode { kAuto = 0, kDense = 1, kSparse = 2 };

// "auto", "dense", "sparse": the names the CLI prints and the Python module
// takes. false (and *out unchanged) for any other name.
const char *exec_mode_name(ExecMode mode);
bool exec_mode_from_name(const std::string &name, ExecMode *out);

struct SessionOptions {
  int threads = 0;  // intra-op threads; 0 = all cores
  ExecMode mode = ExecMode::kAuto;
  bool optimize = true;  // constant folding and fusion passes
  // Ceiling in bytes on what a session holds: its constants (checked at load,
  // before they are allocated) plus the tensors one run allocates (each run
  // on its own). 0 = the machine's physical memory.
  uint64_t max_memory_bytes = 0;
  // Hold each constant weight in one layout only. A matmul after a Relu-like
  // producer then keeps just the sparse path's row layout and runs its dense
  // path (batches too dense for the sparse kernels) through oneDNN on that
  // layout, unpacked: weight memory near 1x the model's, batch 1 as fast, but
  // dense batches of 2 and more up to ~2.4x slower (bench/RESULTS.md).
  bool single_weight_copy = false;
};

// The machine's physical memory in bytes (sysconf), UINT64_MAX if unknown.
uint64_t physical_memory_bytes();
// options.max_memory_bytes, or physical_memory_bytes() when it is 0.
uint64_t memory_limit(const SessionOptions &options);

}  // namespace si
