#include "kernels/quant/quant_kernels.h"

#include <cstring>

#include "kernels/cpu_features.h"

namespace si {

QuantKernels quant_kernels_for(const char *isa) {
  if (std::strcmp(isa, "avx512") == 0) {
    return {f32_qs8w_gather_rows_axpy__avx512, f32_qu4w_gather_rows_axpy__avx512,
            f32_qs8w_dequant_rows__avx512, f32_qu4w_dequant_rows__avx512, "avx512"};
  }
  if (std::strcmp(isa, "avx2") == 0) {
    return {f32_qs8w_gather_rows_axpy__avx2, f32_qu4w_gather_rows_axpy__avx2,
            f32_qs8w_dequant_rows__avx2, f32_qu4w_dequant_rows__avx2, "avx2"};
  }
  return {f32_qs8w_gather_rows_axpy__scalar, f32_qu4w_gather_rows_axpy__scalar,
          f32_qs8w_dequant_rows__scalar, f32_qu4w_dequant_rows__scalar, "scalar"};
}

const QuantKernels &quant_kernels() {
  static const QuantKernels table = quant_kernels_for(dispatch_isa());
  return table;
}

}  // namespace si
