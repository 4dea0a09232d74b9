#include "kernels/cpu_features.h"

#include <cpuid.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace si {

const CpuFeatures &cpu_features() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    // clang 14's __builtin_cpu_supports does not know "f16c".
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    f.f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    return f;
  }();
  return features;
}

const char *max_isa_override() {
  static const char *const value = []() -> const char * {
    const char *v = std::getenv("SI_MAX_ISA");
    if (v == nullptr || *v == '\0') return nullptr;
    for (const char *known : {"avx512", "avx2", "scalar"})
      if (std::strcmp(v, known) == 0) return known;
    std::fprintf(
        stderr, "sparse-infer: warning: SI_MAX_ISA=%s is not avx512, avx2 or scalar; ignored\n", v);
    return nullptr;
  }();
  return value;
}

const CpuFeatures &dispatch_features() {
  static const CpuFeatures features = [] {
    CpuFeatures f = cpu_features();
    const char *cap = max_isa_override();
    if (cap == nullptr || std::strcmp(cap, "avx512") == 0) return f;
    f.avx512f = f.avx512bw = f.avx512vl = false;
    if (std::strcmp(cap, "scalar") == 0) f.avx2 = f.fma = f.f16c = false;
    return f;
  }();
  return features;
}

const char *dispatch_isa() {
  const CpuFeatures &f = dispatch_features();
  if (f.avx512f) return "avx512";
  return f.avx2 && f.fma && f.f16c ? "avx2" : "scalar";
}

}  // namespace si
