// Fuzz target: input file bytes -> the .bin / .npy / .pb readers of the
// command line (si_tensor_io), checked against the digits MLP's input, then
// one run. The first byte picks the format, the rest is the file.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "engine/session.h"
#include "importers/onnx/onnx_importer.h"
#include "tools/tensor_io.h"

#ifndef SI_FUZZ_MODEL
#error "SI_FUZZ_MODEL must name the model file (set by tests/fuzz/CMakeLists.txt)"
#endif

namespace {

const si::Session &session() {
  static std::unique_ptr<si::Session> s = [] {
    si::SessionOptions o;
    o.threads = 1;
    o.max_memory_bytes = uint64_t{512} << 20;
    std::unique_ptr<si::Session> out;
    si::Status st = si::load_session_file(SI_FUZZ_MODEL, o, &out);
    if (!st.is_ok()) {
      std::fprintf(stderr, "cannot load %s: %s\n", SI_FUZZ_MODEL, st.message().c_str());
      std::abort();
    }
    return out;
  }();
  return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const si::Session &s = session();
  if (size == 0) return 0;
  const si::ValueInfo &info = s.inputs()[0];
  const uint8_t *file = data + 1;
  const size_t file_size = size - 1;
  si::Tensor t;
  si::Status st;
  switch (data[0] % 3) {
    case 0:
      st = si::parse_bin(file, file_size, info, "fuzz.bin", &t);
      break;
    case 1:
      st = si::parse_npy(file, file_size, "fuzz.npy", &t);
      if (st.is_ok()) st = si::check_matches(t, info, "fuzz.npy");
      break;
    default:
      st = si::parse_tensor_proto(file, file_size, &t, nullptr);
      if (st.is_ok()) st = si::check_matches(t, info, "fuzz.pb");
      break;
  }
  if (!st.is_ok()) return 0;
  std::vector<si::Tensor> outputs;
  st = s.run({t}, &outputs);
  // A tensor the readers accepted and check_matches passed must run.
  if (!st.is_ok() && st.code() != si::StatusCode::kOutOfMemory) {
    std::fprintf(stderr, "accepted input failed to run: %s\n", st.message().c_str());
    std::abort();
  }
  return 0;
}
