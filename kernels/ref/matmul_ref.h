// Naive float32 matrix products: the oracle for the oneDNN paths in tests and
// the run-time path for products whose weights are not constant (activation x
// activation, batched weights). Accumulation is float, in ascending k order.
#pragma once

#include <cstdint>

namespace si::ref {

// c[i*n + j] = sum_k a[i*a_rs + k*a_cs] * b[k*b_rs + j*b_cs]  for i < m, j < n.
// Strides express transposes without copies (a transposed: a_rs=1, a_cs=m).
// k == 0 writes zeros. Parallel over rows with the calling thread's OpenMP team.
void f32_matmul(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_cs,
                const float *b, int64_t b_rs, int64_t b_cs, float *c);

// `batch` row-major products [m,k] x [k,n] -> [m,n]: product i reads
// a + a_offsets[i] and b + b_offsets[i] (offsets in elements, so broadcast
// batch entries share one matrix) and writes c + i*m*n. Parallel over
// (batch, row).
void f32_batched_matmul(int64_t batch, int64_t m, int64_t n, int64_t k, const float *a,
                        const int64_t *a_offsets, const float *b, const int64_t *b_offsets,
                        float *c);

// Gemm epilogue: y[i*n + j] = alpha * y[i*n + j] + beta * bias[i*c_rs + j*c_cs].
// Zero strides broadcast the bias (scalar, row vector, column vector);
// bias == nullptr applies only alpha.
void f32_gemm_epilogue(int64_t m, int64_t n, float alpha, float beta, const float *bias,
                       int64_t c_rs, int64_t c_cs, float *y);

}  // namespace si::ref
