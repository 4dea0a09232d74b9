// Kernels over quantized weight rows with float32 activations and outputs:
// y = bias + x·W where W[k][n] is stored as an integer code and dequantized
// in registers. Row k of W is what input feature k multiplies, so the sparse
// path reads only the rows of the non-zero x_k, as the float kernels do
// (kernels/sparse/sparse_kernels.h), but 4x (int8) or 8x (int4) fewer bytes
// of each row.
//
// Naming follows XNNPACK's datatype prefixes (doc/microkernel-naming-
// conventions.md): f32_<weights>_<operation>__<isa>, where the activations
// and outputs are f32 and <weights> is
//   qs8w  signed 8-bit codes (uint8 sources are shifted by -128 at pack:
//         (q - 128) - (zp - 128) = q - zp exactly), one scale and zero point
//         per tensor, per row k, per column n or per (k block, column n);
//   qu4w  unsigned 4-bit codes (ONNX Runtime's MatMulNBits, bits 4), one
//         scale and zero point per (k block, column n).
//
// Arithmetic, the same in every variant and equal to float32 arithmetic on
// the dequantized model: each weight is dequantized as
//   w = (float(q) - float(zp)) * s      (the subtraction is exact: both are
//                                        small integers; one rounding, in *)
// which is bit for bit what DequantizeLinear / MatMulNBits produce, and each
// output element adds x_k * w with one fused multiply-add per active k, in
// ascending order of the index list, starting from y. So a kernel gives the
// bits f32_gather_rows_axpy gives on the dequantized float matrix, whatever
// the ISA variant, and the tests compare bit for bit.
#pragma once

#include <cstdint>

namespace si {

// int8 rows: row k's code for column n is q[k * ldq + n]. With block > 0,
// s = scale[(k / block) * lds + n] and zp = zero[(k / block) * lds + n]
// (per column: block = K, one scale row; MatMulNBits bits 8: its block).
// With block == 0 (per tensor, per row k), s = scale[k] and zp = zero[k].
// zero == nullptr means zp = 0. Rows and scale rows are readable in whole
// vectors past n (packing pads them to a multiple of 64 columns).
struct Qs8wRows {
  const int8_t *q;
  int64_t ldq;  // bytes between rows
  const float *scale;
  const float *zero;
  int64_t lds;    // floats between scale/zero rows (block > 0)
  int64_t block;  // rows sharing a scale row; 0 for one scalar scale per row
};

// 4-bit rows, columns in groups of 32 held in 16 bytes: byte j of group g of
// row k (q[k * ldq + 16 g + j]) holds column 32 g + j in its low nibble and
// column 32 g + 16 + j in its high nibble. A 16-byte load then yields, with
// one AND and one shift, the codes of 32 consecutive columns in column
// order, no shuffles (ONNX Runtime's blob pairs neighbours along K, llama.cpp
// Q4_0 pairs j with j + 16 within a block: this is the latter along N).
// s = scale[(k / block) * lds + n], or the fp16 value scale_half[...] at the
// same place when scale_half is set (then scale is nullptr; half.h says when
// scales are stored so); zp is the nibble for column n in the same layout in
// zero + (k / block) * ldq, or 8 (MatMulNBits' default) when zero is nullptr.
// Rows hold whole groups; scale rows are padded to whole groups.
struct Qu4wRows {
  const uint8_t *q;
  int64_t ldq;  // bytes between rows (and between zero-point rows)
  const float *scale;
  const uint16_t *scale_half;
  const uint8_t *zero;
  int64_t lds;  // scales between scale rows
  int64_t block;
};

// y[n0:n1] += sum over j < count of x[idx[j]] * W[idx[j]][n0:n1], terms in
// order of j (four weight rows streamed per pass, as the float kernel).
// qu4w: n0 must be a multiple of 32.
using Qs8wGatherFn = void (*)(const float *x, const int32_t *idx, int64_t count, const Qs8wRows &w,
                              int64_t n0, int64_t n1, float *y);
using Qu4wGatherFn = void (*)(const float *x, const int32_t *idx, int64_t count, const Qu4wRows &w,
                              int64_t n0, int64_t n1, float *y);

// out[i * ldo + (n - n0)] = W[ks[i]][n] for i < nk, n in [n0, n1): the
// dequantized floats of a few rows, for the batched kernels, which apply each
// such row to every row of the batch that needs it (the dequantization is
// then paid once per weight row, not once per row of x). qu4w: n0 a multiple
// of 32.
using Qs8wDequantFn = void (*)(const Qs8wRows &w, const int32_t *ks, int64_t nk, int64_t n0,
                               int64_t n1, float *out, int64_t ldo);
using Qu4wDequantFn = void (*)(const Qu4wRows &w, const int32_t *ks, int64_t nk, int64_t n0,
                               int64_t n1, float *out, int64_t ldo);

#define SI_QUANT_VARIANTS(isa)                                                                    \
  void f32_qs8w_gather_rows_axpy__##isa(const float *x, const int32_t *idx, int64_t count,        \
                                        const Qs8wRows &w, int64_t n0, int64_t n1, float *y);     \
  void f32_qu4w_gather_rows_axpy__##isa(const float *x, const int32_t *idx, int64_t count,        \
                                        const Qu4wRows &w, int64_t n0, int64_t n1, float *y);     \
  void f32_qs8w_dequant_rows__##isa(const Qs8wRows &w, const int32_t *ks, int64_t nk, int64_t n0, \
                                    int64_t n1, float *out, int64_t ldo);                         \
  void f32_qu4w_dequant_rows__##isa(const Qu4wRows &w, const int32_t *ks, int64_t nk, int64_t n0, \
                                    int64_t n1, float *out, int64_t ldo);
SI_QUANT_VARIANTS(scalar)
SI_QUANT_VARIANTS(avx2)
SI_QUANT_VARIANTS(avx512)
#undef SI_QUANT_VARIANTS

struct QuantKernels {
  Qs8wGatherFn qs8w_gather;
  Qu4wGatherFn qu4w_gather;
  Qs8wDequantFn qs8w_dequant;
  Qu4wDequantFn qu4w_dequant;
  const char *isa;  // "avx512", "avx2" or "scalar"
};

// The best variants for dispatch_features() (SI_MAX_ISA caps it), chosen once.
const QuantKernels &quant_kernels();

// One variant's table (tests and benchmarks): "scalar", "avx2" or "avx512".
QuantKernels quant_kernels_for(const char *isa);

}  // namespace si
