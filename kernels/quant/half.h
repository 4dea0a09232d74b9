// IEEE binary16 (fp16) values held in float32, for MatMulNBits scale rows:
// a scale row of fp16 bits is half the bytes a sparse int4 row gather reads
// per active block (quant_matmul.h). Scales are stored as fp16 only when
// every one is exactly an fp16 value, so the dequantized weights, and the
// results, stay those of the model; `sparse-infer quantize` rounds the int4
// scales it chooses to fp16 values for that reason (quantize_weights.h).
// Portable bit arithmetic, no F16C: the vector kernels convert with
// vcvtph2ps, the scalar reference and the packer with these.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace si {

// fp16's largest finite value and its smallest normal exponent.
constexpr float kHalfMax = 65504.f;
constexpr int kHalfMinExp = -14;

// v rounded to fp16's precision (ties to even), v itself when not finite.
// Past fp16's range the result exceeds kHalfMax (fp16 would give inf), which
// half_exact rejects. Exact arithmetic: v / ulp and the product are
// power-of-two scalings.
inline float round_to_half(float v) {
  if (!std::isfinite(v)) return v;
  int e = 0;
  std::frexp(v, &e);  // |v| in [2^(e-1), 2^e)
  const int ulp_exp = (e - 1 < kHalfMinExp ? kHalfMinExp : e - 1) - 10;
  return std::ldexp(std::nearbyint(std::ldexp(v, -ulp_exp)), ulp_exp);
}

// Whether v is an fp16 value (finite, within range, no bits lost).
inline bool half_exact(float v) {
  return std::isfinite(v) && std::fabs(v) <= kHalfMax && round_to_half(v) == v;
}

// The fp16 bits of v, which must be half_exact.
inline uint16_t half_bits(float v) {
  uint32_t f = 0;
  std::memcpy(&f, &v, 4);
  const uint16_t sign = uint16_t((f >> 16) & 0x8000u);
  const float a = std::fabs(v);
  if (a == 0.f) return sign;
  int e = 0;
  const float m = std::frexp(a, &e);  // a = m 2^e, m in [0.5, 1)
  if (e - 1 < kHalfMinExp)            // subnormal: a = bits 2^-24
    return uint16_t(sign | uint16_t(std::ldexp(a, 24)));
  const uint16_t mantissa = uint16_t(std::ldexp(m, 11)) & 0x3FFu;
  return uint16_t(sign | uint16_t((e - 1 + 15) << 10) | mantissa);
}

// The float32 value of fp16 bits h (finite values only: packed scales).
inline float half_to_float(uint16_t h) {
  const float sign = (h & 0x8000u) ? -1.f : 1.f;
  const int exp = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  if (exp == 0) return sign * std::ldexp(float(mantissa), -24);
  return sign * std::ldexp(float(1024 + mantissa), exp - 25);
}

}  // namespace si
