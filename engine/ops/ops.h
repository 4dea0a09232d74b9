// Factories of every op, one group per op-family file. Registered in registry.cc.
#pragma once

#include "engine/op.h"

namespace si {

// elementwise.cc
Status create_add(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_sub(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_mul(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_div(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// activation.cc
Status create_relu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_leaky_relu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_thresholded_relu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_clip(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_sigmoid(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_tanh(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_softmax(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_log_softmax(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// matmul.cc
Status create_matmul(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_gemm(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_fused_gemm(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// normalization.cc
// conv.cc
Status create_conv(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_conv_transpose(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// pool.cc
Status create_max_pool(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_average_pool(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_global_average_pool(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_global_max_pool(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// batchnorm.cc
Status create_batch_normalization(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

Status create_layer_normalization(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// shape.cc
Status create_flatten(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_reshape(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_identity(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_dropout(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_shape(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_gather(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_unsqueeze(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_squeeze(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_concat(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_size(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_constant_of_shape(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_range(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// transform.cc
Status create_transpose(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_slice(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_split(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_expand(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_tile(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_pad(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// resize.cc
Status create_resize(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_upsample(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// einsum.cc
Status create_einsum(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

}  // namespace si
