#include "kernels/sparse/sparse_kernels.h"

#include "kernels/cpu_features.h"

namespace si {

const SparseKernels &sparse_kernels() {
  static const SparseKernels table = [] {
    SparseKernels k{f32_compact_nonzero__scalar, f32_gather_rows_axpy__scalar,
                    f32_scatter_rows_axpy__scalar, "scalar"};
    const CpuFeatures &cpu = dispatch_features();
    if (cpu.avx2 && cpu.fma) {
      k = {f32_compact_nonzero__avx2, f32_gather_rows_axpy__avx2, f32_scatter_rows_axpy__avx2,
           "avx2"};
    }
    if (cpu.avx512f) {
      k = {f32_compact_nonzero__avx512, f32_gather_rows_axpy__avx512, f32_scatter_rows_axpy__avx512,
           "avx512"};
    }
    return k;
  }();
  return table;
}

}  // namespace si
