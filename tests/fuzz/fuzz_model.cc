// Fuzz target: model bytes -> si_session_create_from_memory, then one si_run
// with zero-filled inputs of the declared shapes (dynamic dims 1 or 2).
// Anything but a status code (crash, sanitizer report, leak, abort) is a bug.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "sparse_infer.h"

namespace {

// Keeps one input well inside libFuzzer's default 2 GiB RSS limit.
constexpr uint64_t kMaxInputBytes = uint64_t{64} << 20;
constexpr uint64_t kMemoryLimit = uint64_t{512} << 20;

// Zero-filled inputs of the declared shapes; false when one cannot be made.
bool make_inputs(si_session *s, int64_t dynamic_dim, std::vector<si_tensor> *inputs,
                 std::vector<std::vector<uint64_t>> *storage) {
  const size_t n = si_session_input_count(s);
  inputs->assign(n, si_tensor{});
  storage->assign(n, {});
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    const char *name = nullptr;
    si_tensor info;
    if (si_session_input_info(s, i, &name, &info) != SI_OK) return false;
    if (info.rank < 0) {  // rank unknown: a vector
      info.rank = 1;
      info.dims[0] = -1;
    }
    uint64_t elems = 1;
    for (int32_t d = 0; d < info.rank; ++d) {
      if (info.dims[d] < 0) info.dims[d] = dynamic_dim;
      if (info.dims[d] != 0 && elems > kMaxInputBytes / uint64_t(info.dims[d])) return false;
      elems *= uint64_t(info.dims[d]);
    }
    const uint64_t esize = info.dtype == SI_INT64     ? 8
                           : info.dtype == SI_FLOAT32 ? 4
                           : info.dtype == SI_INT32   ? 4
                                                      : 1;
    const uint64_t bytes = elems * esize;
    total += bytes;
    if (total > kMaxInputBytes) return false;
    (*storage)[i].assign((bytes + 7) / 8, 0);
    info.data = bytes > 0 ? (*storage)[i].data() : nullptr;
    info.size_bytes = size_t(bytes);
    (*inputs)[i] = info;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  si_options *opts = nullptr;
  if (si_options_create(&opts) != SI_OK) abort();
  // One thread: libFuzzer runs one input at a time and wants it fast.
  if (si_options_set_threads(opts, 1) != SI_OK) abort();
  if (si_options_set_max_memory(opts, kMemoryLimit) != SI_OK) abort();
  si_session *s = nullptr;
  // si_session_create_from_memory rejects NULL data; libFuzzer passes a
  // valid pointer even for size 0.
  static const uint8_t kEmpty = 0;
  si_status st = si_session_create_from_memory(size > 0 ? data : &kEmpty, size, opts, &s);
  si_options_destroy(opts);
  if (st != SI_OK) {
    if (s != nullptr) abort();  // failures leave *out alone
    return 0;
  }
  std::vector<si_tensor> inputs;
  std::vector<std::vector<uint64_t>> storage;
  const int64_t dynamic_dim = 1 + int64_t(size % 2);
  if (make_inputs(s, dynamic_dim, &inputs, &storage)) {
    std::vector<si_tensor> outputs(si_session_output_count(s), si_tensor{});
    if (si_run(s, inputs.data(), inputs.size(), outputs.data(), outputs.size()) == SI_OK) {
      for (si_tensor &o : outputs) si_tensor_free(&o);
    }
  }
  si_session_destroy(s);
  return 0;
}
