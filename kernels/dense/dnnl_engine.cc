#include "kernels/dense/dnnl_engine.h"

#include <cstdlib>
#include <cstring>

#include "kernels/cpu_features.h"

namespace si {

namespace {

void cap_onednn_isa() {
  const char *cap = max_isa_override();
  if (cap == nullptr || std::strcmp(cap, "avx512") == 0) return;
  if (std::getenv("ONEDNN_MAX_CPU_ISA") != nullptr || std::getenv("DNNL_MAX_CPU_ISA") != nullptr)
    return;
  // sse41 is oneDNN's lowest jit ISA: "scalar" leaves it its plainest code.
  dnnl::set_max_cpu_isa(std::strcmp(cap, "avx2") == 0 ? dnnl::cpu_isa::avx2 : dnnl::cpu_isa::sse41);
}

}  // namespace

const dnnl::engine &dnnl_cpu_engine() {
  static const dnnl::engine engine = [] {
    cap_onednn_isa();
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return engine;
}

std::string dnnl_message(const dnnl::error &e) {
  return std::string("oneDNN: ") + e.what() + " (status " + std::to_string(int(e.status)) + ")";
}

}  // namespace si
