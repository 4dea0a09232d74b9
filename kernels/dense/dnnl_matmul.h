// The one place that wraps oneDNN for dense matrix products with constant
// weights: y[m,n] = act(a[m,k] * (alpha * W)[k,n] + bias[n]).
//
// W is reordered ONCE, at create, into the blocked layout oneDNN's matmul (or
// inner_product, DnnlMatmulParams::inner_product) picks for it
// (format_tag::any); the plain copy is not kept. With brgemm (AVX-512) plain
// row-major weights run at about a quarter of the bandwidth at batch 1.
// create_borrowed runs on a caller's plain rows instead.
//
// M (rows of a) varies per call. Primitives are created lazily per M, with
// the weights descriptor pinned to the layout chosen at M=1 (oneDNN 2.6's
// brgemm matmul picks the layout from N and K only, so every M accepts it).
// Should some M reject the pinned layout, that call runs the M=1 primitive
// row by row: slower, still exact, and no second weight copy.
//
// Threading: run() is const and safe to call from many threads at once: each
// call has its own dnnl::stream and scratchpad (scratchpad_mode::user). It
// uses the calling thread's OpenMP team size (omp_set_num_threads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace si {

struct DnnlMatmulParams {
  int64_t k = 0;
  int64_t n = 0;
  bool trans_b = false;         // weights stored [n,k] row-major (nn.Linear) instead of [k,n]
  float alpha = 1.f;            // folded into the packed weights
  const float *bias = nullptr;  // n values added to every row, or nullptr (copied at create)
  bool relu = false;            // max(0, .) as a post-op of the same primitive
  // false keeps the weights plain row-major (format_tag::ab) instead of
  // letting oneDNN choose: only to measure what packing buys (benchmarks).
  bool prepack = true;
  // The oneDNN primitive: matmul, or inner_product (forward inference, the
  // same product with weights [n,k]), whose AVX2 jit kernels and weight
  // layouts (format any) differ from matmul's gemm:jit on plain weights.
  bool inner_product = false;
  // Calls of fewer rows run this many rows padded with zeros (1: no padding).
  // oneDNN 2.6's brgemm matmul is slower at M=1 than at M=4 with the same
  // packed weights (8192x2048, 1 thread, AVX-512, three alternating runs:
  // 3.80-4.15 ms at M=1 vs 3.06-3.28 ms padded to 4; M=2 is slower still).
  int64_t min_rows_per_call = 4;
};

class DnnlPackedMatmul {
 public:
  // Packs `weights` (see DnnlMatmulParams::trans_b for its layout). Returns
  // nullptr and sets *error when oneDNN rejects the problem or runs out of memory.
  static std::unique_ptr<DnnlPackedMatmul> create(const DnnlMatmulParams &params,
                                                  const float *weights, std::string *error);
  // Runs on caller-owned plain row-major weights [k,n] with row stride ldw,
  // used as they are (params.trans_b and params.alpha must be false and 1;
  // an inner_product reads them as its [n,k] weight, column stride ldw):
  // no copy is made and `weights` must outlive the object. Slower than a
  // packed copy at every M (see bench/dense_matmul_bench, prepack:0); for
  // callers that hold the weights in another layout and cannot afford two.
  static std::unique_ptr<DnnlPackedMatmul> create_borrowed(const DnnlMatmulParams &params,
                                                           const float *weights, int64_t ldw,
                                                           std::string *error);
  // Whether create() would hold [k,n] weights in a layout of oneDNN's own
  // rather than plain row-major (false without brgemm, i.e. without AVX-512).
  // Asks the matmul primitive (params.inner_product is not consulted).
  static bool packs_weights(int64_t k, int64_t n);
  ~DnnlPackedMatmul();

  // c[m,n] (row-major) from a[m,k] (row-major). m may differ between calls.
  // Returns false and sets *error if oneDNN fails.
  bool run(const float *a, int64_t m, float *c, std::string *error) const;

  int64_t k() const;
  int64_t n() const;
  size_t packed_bytes() const;  // size of the weights held (0 when borrowed)
  // oneDNN implementation name of the 1-row primitive, e.g.
  // "brg:avx512_core" (for logs and benches).
  std::string impl_name() const;

  struct Impl;

 private:
  explicit DnnlPackedMatmul(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace si
