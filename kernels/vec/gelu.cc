#include "kernels/vec/gelu.h"

#include <immintrin.h>

#include "kernels/cpu_features.h"
#include "kernels/ref/gelu.h"
#include "kernels/ref/parallel.h"

namespace si {

namespace {

// One team per this many elements at least: a vectorised GELU does about
// 2 ns of work per 8 floats, so a team wake-up needs a larger tensor than the
// reference loop's.
constexpr int64_t kGeluParallelMin = int64_t{1} << 14;

void gelu_erf__scalar(const float *x, float *y, int64_t n) {
  ref::gelu_f32(x, y, n, 1);
}
void gelu_tanh__scalar(const float *x, float *y, int64_t n) {
  ref::gelu_tanh_f32(x, y, n, 1);
}

// Lanes [0, n) of a tail: the mask loads and stores only those.
__attribute__((target("avx2"))) __m256i tail_mask(int64_t n) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), lanes);
}

// Clamps to [-c, c] keeping NaN: max/min return their second operand when
// either is NaN.
__attribute__((target("avx2"))) __m256 clamp_keep_nan(__m256 v, float c) {
  return _mm256_min_ps(_mm256_set1_ps(c), _mm256_max_ps(_mm256_set1_ps(-c), v));
}

// ref::erf_rational_f32, lane-wise.
__attribute__((target("avx2,fma"))) __m256 erf_rational(__m256 x) {
  const __m256 c = clamp_keep_nan(x, 4.f);
  const __m256 z = _mm256_mul_ps(c, c);
  __m256 p = _mm256_set1_ps(1.915723047e-08f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-1.964872581e-06f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.511813607e-04f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(4.132875707e-03f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(5.194910616e-02f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.103351057e-01f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.128378868e+00f));
  __m256 q = _mm256_set1_ps(1.057390124e-03f);
  q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(1.523582544e-02f));
  q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(1.192995831e-01f));
  q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(5.197340250e-01f));
  q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(1.f));
  return _mm256_div_ps(_mm256_mul_ps(c, p), q);
}

// ref::tanh_rational_f32, lane-wise.
__attribute__((target("avx2,fma"))) __m256 tanh_rational(__m256 x) {
  const __m256 c = clamp_keep_nan(x, 9.f);
  const __m256 z = _mm256_mul_ps(c, c);
  __m256 p = _mm256_set1_ps(1.796224280e-11f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-1.265012450e-08f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(9.218530977e-06f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.914917888e-03f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.291356832e-01f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(9.999998212e-01f));
  __m256 q = _mm256_set1_ps(2.273228311e-04f);
  q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(2.373860776e-02f));
  q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(4.624682069e-01f));
  q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(1.f));
  return _mm256_div_ps(_mm256_mul_ps(c, p), q);
}

// 0.5 v (1 + erf(v / sqrt 2)); -0 below the reference's cut (see ref/gelu.cc).
__attribute__((target("avx2,fma"))) __m256 gelu_erf8(__m256 v) {
  const __m256 e = erf_rational(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f)));
  const __m256 g =
      _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(_mm256_set1_ps(1.f), e));
  const __m256 cut = _mm256_cmp_ps(v, _mm256_set1_ps(-5.656854249f), _CMP_LT_OQ);
  return _mm256_blendv_ps(g, _mm256_set1_ps(-0.f), cut);
}

__attribute__((target("avx2,fma"))) __m256 gelu_tanh8(__m256 v) {
  // (0.044715 v) v is the reference's association; v + (..) v its fused multiply-add.
  const __m256 a = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.044715f), v), v);
  const __m256 u = _mm256_mul_ps(_mm256_set1_ps(0.79788456080286536f), _mm256_fmadd_ps(a, v, v));
  const __m256 g = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v),
                                 _mm256_add_ps(_mm256_set1_ps(1.f), tanh_rational(u)));
  const __m256 cut = _mm256_cmp_ps(v, _mm256_set1_ps(-5.154859723f), _CMP_LT_OQ);
  return _mm256_blendv_ps(g, _mm256_set1_ps(-0.f), cut);
}

template <__m256 (*kOp)(__m256)>
__attribute__((target("avx2,fma"))) void map8(const float *x, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, kOp(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = tail_mask(n - i);
    _mm256_maskstore_ps(y + i, m, kOp(_mm256_maskload_ps(x + i, m)));
  }
}

}  // namespace

void f32_gelu_erf__avx2(const float *x, float *y, int64_t n) {
  map8<gelu_erf8>(x, y, n);
}
void f32_gelu_tanh__avx2(const float *x, float *y, int64_t n) {
  map8<gelu_tanh8>(x, y, n);
}

const GeluKernels &gelu_kernels() {
  static const GeluKernels k = [] {
    const CpuFeatures &cpu = dispatch_features();
    if (cpu.avx2 && cpu.fma) return GeluKernels{f32_gelu_erf__avx2, f32_gelu_tanh__avx2, "avx2"};
    return GeluKernels{gelu_erf__scalar, gelu_tanh__scalar, "scalar"};
  }();
  return k;
}

void f32_gelu(const GeluKernels &k, bool tanh_form, const float *x, float *y, int64_t n,
              int threads) {
  const GeluFn fn = tanh_form ? k.tanh : k.erf;
  ref::parallel_ranges(n, threads, kGeluParallelMin,
                       [&](int64_t begin, int64_t end) { fn(x + begin, y + begin, end - begin); });
}

}  // namespace si
