// Factories of every op, one group per op-family file. Registered in registry.cc.
#pragma once

#include "engine/op.h"

namespace si {

// elementwise.cc
Status create_add(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_sub(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_mul(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_div(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// math.cc
Status create_abs(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_neg(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_sign(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_floor(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_ceil(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_round(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_sqrt(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_reciprocal(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_exp(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_log(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_erf(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_sin(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_cos(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_tan(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_asin(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_acos(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_atan(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_sinh(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_cosh(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_asinh(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_acosh(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_atanh(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_softplus(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_softsign(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_hard_sigmoid(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_hard_swish(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_elu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_selu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_prelu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_pow(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_max(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_min(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_sum(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_mean(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_equal(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_less(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_greater(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_less_or_equal(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_greater_or_equal(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_and(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_or(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_xor(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_not(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_where(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_cast(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_celu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_mod(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_bit_shift(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_is_nan(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_is_inf(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// reduce.cc
Status create_reduce_sum(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_reduce_mean(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_reduce_max(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_reduce_min(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_reduce_prod(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_reduce_l1(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_reduce_l2(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_reduce_log_sum(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_reduce_log_sum_exp(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_reduce_sum_square(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_arg_max(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_arg_min(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// activation.cc
Status create_relu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_leaky_relu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_thresholded_relu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_clip(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_sigmoid(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_tanh(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_softmax(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_log_softmax(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_hardmax(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// matmul.cc
Status create_matmul(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_gemm(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_fused_gemm(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// quant_matmul.cc (issue 13: quantized weights)
Status create_matmul_nbits(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_quant_matmul(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// normalization.cc
// conv.cc
Status create_conv(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_conv_transpose(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_fused_conv(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// pool.cc
Status create_max_pool(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_average_pool(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_global_average_pool(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_global_max_pool(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// batchnorm.cc
Status create_batch_normalization(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

Status create_layer_normalization(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_instance_normalization(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_lp_normalization(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// gelu.cc
Status create_gelu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

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

// recurrent.cc
Status create_lstm(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_gru(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_rnn(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// einsum.cc
Status create_einsum(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// sequence.cc
Status create_sequence_empty(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_sequence_construct(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_sequence_insert(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_sequence_erase(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_sequence_at(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_sequence_length(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_concat_from_sequence(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_split_to_sequence(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// indexing.cc
Status create_gather_elements(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_gather_nd(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_one_hot(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_non_zero(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_top_k(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_cum_sum(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_trilu(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// scatter.cc
Status create_scatter_elements(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_scatter_nd(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// layout.cc
Status create_depth_to_space(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_space_to_depth(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// quantize.cc
Status create_quantize_linear(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_dequantize_linear(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_dynamic_quantize_linear(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_matmul_integer(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

// control_flow.cc
Status create_if(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_loop(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);
Status create_scan(const LoadContext &ctx, std::unique_ptr<OpKernel> *out);

}  // namespace si
