// Softmax / LogSoftmax over the middle axis of an [outer, n, inner] view.
// Opset < 13 semantics (flatten the trailing block) are inner = 1 with n the
// product of the trailing dims; opset >= 13 is one axis of extent n.
#pragma once

#include <cstdint>

namespace si::ref {

void softmax_f32(const float *x, float *y, int64_t outer, int64_t n, int64_t inner, int threads);
void log_softmax_f32(const float *x, float *y, int64_t outer, int64_t n, int64_t inner,
                     int threads);

}  // namespace si::ref
