// CPU features read once at start-up; kernel tables pick ISA variants from it.
#pragma once

namespace si {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
};

const CpuFeatures &cpu_features();

}  // namespace si
