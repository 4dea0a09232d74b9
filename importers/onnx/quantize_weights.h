// Weight-only quantization of an ONNX model (`sparse-infer quantize`):
// ModelProto in, ModelProto out, behind a protobuf-free interface so the
// command line (tools/quantize_command.cc) needs no protobuf.
//
// Only the constant weight B of MatMul and Gemm is quantized, when it is a
// float32 initializer (not also a graph input or output), 2-D with both dims >= 128,
// and read by no other node. Everything else is copied unchanged.
//
// Formulas (float32 arithmetic, round() = round half to even, per output
// channel n for int8, per block of `block_size` consecutive K of channel n
// for int4; an all-zero channel/block gets scale 1):
//   symmetric:  scale = max|w| / QMAX, q = clamp(round(w / scale), -QMAX, QMAX)
//               (QMAX 127 for int8, 7 for int4; int4 codes stored as q + 8)
//   asymmetric: lo = min(0, min w), hi = max(0, max w),
//               scale = (hi - lo) / LEVELS (255 for uint8, 15 for int4),
//               zp = clamp(round(-lo / scale), 0, LEVELS),
//               q = clamp(round(w / scale) + zp, 0, LEVELS)
//   int4 only: scale is then rounded to the nearest fp16 value (when one
//               above 0 exists) before q and zp are computed from it, so the
//               engine can hold the scale rows as fp16, half their bytes,
//               with the same dequantized weights (kernels/quant/half.h);
//               the scales are still written as float32
//   dequantized: (q - zp) * scale, exactly what DequantizeLinear and
//               MatMulNBits compute.
//
// int8: the initializer becomes int8 (symmetric) or uint8 (asymmetric) with
// `DequantizeLinear` (per-axis on the output-channel axis, opset >= 13)
// feeding the MatMul/Gemm. int4: the node becomes `com.microsoft`
// `MatMulNBits` (bits 4, ORT's layout: B [N, n_blocks, block_size / 2] low
// nibble first, scales [N * n_blocks], zero_points packed two per byte per
// channel when asymmetric, none when symmetric = default 8); a Gemm's bias C
// becomes MatMulNBits' bias when it is a float32 initializer of N values,
// else an Add after it. Gemm with transA = 1 or alpha/beta != 1 keeps its
// float weight under int4 (reported as skipped).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/tensor.h"

namespace si {

enum class WeightFormat { kInt8, kInt4 };

struct QuantizeOptions {
  WeightFormat format = WeightFormat::kInt8;
  int block_size = 32;  // int4 only: a power of two in [16, 256]
  bool symmetric = false;
  int64_t min_dim = 128;  // both dims of a weight must be at least this
};

// "" when `block_size` is valid, else why not.
std::string block_size_error(int block_size);

struct QuantizedWeight {
  std::string name;           // the float initializer's name
  std::string node;           // the MatMul/Gemm that reads it
  Shape shape;                // as stored in the model
  std::string format;         // "int8 per-channel symmetric", "int4 block 32 asymmetric", ...
  uint64_t bytes_before = 0;  // float32 data
  uint64_t bytes_after = 0;   // quantized data + scales + zero points
  double max_abs_error = 0;   // max |w - dequantized(w)|
};

struct QuantizedModel {
  std::string quantized;    // serialized ModelProto: QDQ int8 or MatMulNBits int4
  std::string dequantized;  // the original model with each quantized weight replaced
                            // by its dequantized float32 values: the same math
                            // in plain float ops, for engines without quantized ops
  std::vector<QuantizedWeight> weights;
  std::vector<std::string> skipped;  // "NAME [K,N] (node): why", for eligible-shaped weights
};

// Reads, checks (onnx::checker) and quantizes the model file. External data
// is resolved inside the file's folder and written inline in both outputs.
// kInvalidArgument when no weight qualifies or the options are bad,
// kUnsupported for an int8 model below opset 13, kIo / kInvalidModel as an
// import would report them.
Status quantize_model_file(const std::string &path, const QuantizeOptions &options,
                           QuantizedModel *out);

}  // namespace si
