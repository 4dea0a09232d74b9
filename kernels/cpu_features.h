// CPU features read once at start-up; kernel tables pick ISA variants from it.
#pragma once

namespace si {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;  // every AVX2 CPU has it; the avx2 level requires it (fp16 scales)
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
};

// What this CPU can run (tests use it to cover every variant it can).
const CpuFeatures &cpu_features();

// What the kernel tables dispatch on: cpu_features() capped by the
// environment variable SI_MAX_ISA (`avx512`, `avx2` or `scalar`), read once,
// so one machine can measure and test the paths of a lesser CPU. An unknown
// value is reported once on stderr and ignored.
const CpuFeatures &dispatch_features();

// The widest ISA dispatch_features() allows: "avx512", "avx2" or "scalar".
const char *dispatch_isa();

// The SI_MAX_ISA value in force, or nullptr when unset or ignored.
const char *max_isa_override();

}  // namespace si
