#include "kernels/ref/matmul_ref.h"

#include <cassert>

namespace si::ref {

namespace {

// Below this many multiply-adds a parallel region costs more than it saves.
constexpr int64_t kParallelWork = int64_t{1} << 15;

// One output row. Accumulating into c row-wise (k outer, j inner) keeps the
// per-element summation order ascending in k and lets the compiler vectorise
// over j when b is row-major.
inline void row(int64_t n, int64_t k, const float *a_row, int64_t a_cs, const float *b,
                int64_t b_rs, int64_t b_cs, float *c_row) {
  for (int64_t j = 0; j < n; ++j) c_row[j] = 0.f;
  if (b_cs == 1) {
    for (int64_t p = 0; p < k; ++p) {
      const float av = a_row[p * a_cs];
      const float *b_row = b + p * b_rs;
      for (int64_t j = 0; j < n; ++j) c_row[j] += av * b_row[j];
    }
  } else {
    for (int64_t p = 0; p < k; ++p) {
      const float av = a_row[p * a_cs];
      const float *b_row = b + p * b_rs;
      for (int64_t j = 0; j < n; ++j) c_row[j] += av * b_row[j * b_cs];
    }
  }
}

}  // namespace

void f32_matmul(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_cs,
                const float *b, int64_t b_rs, int64_t b_cs, float *c) {
  assert(m >= 0 && n >= 0 && k >= 0);
  // An empty K gives zeros. Its operands may have null storage, and even
  // offsetting a null pointer (a + i * a_rs) is undefined.
  if (k == 0) {
    for (int64_t i = 0; i < m * n; ++i) c[i] = 0.f;
    return;
  }
  const bool parallel = m > 1 && m * n * k >= kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t i = 0; i < m; ++i) row(n, k, a + i * a_rs, a_cs, b, b_rs, b_cs, c + i * n);
}

void f32_batched_matmul(int64_t batch, int64_t m, int64_t n, int64_t k, const float *a,
                        const int64_t *a_offsets, const float *b, const int64_t *b_offsets,
                        float *c) {
  assert(batch >= 0 && m >= 0 && n >= 0 && k >= 0);
  const int64_t rows = batch * m;
  const bool parallel = rows > 1 && rows * n * k >= kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = r / m, mi = r % m;
    row(n, k, a + a_offsets[i] + mi * k, 1, b + b_offsets[i], n, 1, c + r * n);
  }
}

void f32_gemm_epilogue(int64_t m, int64_t n, float alpha, float beta, const float *bias,
                       int64_t c_rs, int64_t c_cs, float *y) {
  assert(m >= 0 && n >= 0);
  for (int64_t i = 0; i < m; ++i) {
    float *y_row = y + i * n;
    if (bias == nullptr) {
      for (int64_t j = 0; j < n; ++j) y_row[j] = alpha * y_row[j];
    } else {
      const float *c_row = bias + i * c_rs;
      for (int64_t j = 0; j < n; ++j) y_row[j] = alpha * y_row[j] + beta * c_row[j * c_cs];
    }
  }
}

}  // namespace si::ref
