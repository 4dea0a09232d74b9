// Tensor files the command line reads and writes: raw .bin (NumPy's tofile
// convention), NumPy .npy and serialized ONNX TensorProto .pb.
//
// Parsers take bytes in memory so fuzzers can drive them directly; the file
// wrappers add reading and writing. Every failure is a Status whose message
// starts with `what` (usually the file path) and names the size, byte offset,
// dtype or shape at fault. Data is little-endian on disk and in memory (the
// engine targets x86-64 only).
#pragma once

#include <cstddef>
#include <string>

#include "engine/graph.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace si {

enum class TensorFormat { kBin, kNpy, kPb };

// From the file name's extension (.bin, .npy, .pb; case-insensitive).
bool tensor_format_from_path(const std::string &path, TensorFormat *out);

// "float32 [batch,64]"; unknown dims print their symbolic name or "?".
std::string value_info_str(const ValueInfo &info);

// .bin: the raw elements. dtype and shape come from `info`: a shape with
// exactly one unknown dim has it inferred from the size (which must divide
// exactly), a fully known shape must match the size exactly, an unknown rank
// gives a 1-D tensor. Bool bytes must be 0 or 1.
Status parse_bin(const void *data, size_t size, const ValueInfo &info, const std::string &what,
                 Tensor *out);
void encode_bin(const Tensor &tensor, std::string *bytes);

// .npy format 1.0, 2.0 and 3.0, C order only, dtypes <f4 <i8 <i4 |u1 |i1 |b1.
// The data must be exactly as long as the header's shape says.
Status parse_npy(const void *data, size_t size, const std::string &what, Tensor *out);
// Writes format 1.0 (2.0 only when the header would not fit in 64 KiB);
// fails only for a dtype .npy cannot hold.
Status encode_npy(const Tensor &tensor, std::string *bytes);

// Whether `tensor` can feed `info`: same dtype, same rank, every known dim
// equal. Unknown dims and an unknown rank accept anything.
Status check_matches(const Tensor &tensor, const ValueInfo &info, const std::string &what);

// Whole regular file into `bytes`; kIo naming the path on failure.
Status read_file(const std::string &path, std::string *bytes);

// Writes to a new temporary file in the same folder, then renames it over
// `path`: an interrupted run leaves the old file or none, never a truncated one.
Status write_file_atomic(const std::string &path, const std::string &bytes);

// Reads an input file in the format its extension names and checks it against
// the model input `info` (kInvalidArgument or kIo naming the file on failure).
Status read_input_file(const std::string &path, const ValueInfo &info, Tensor *out);

// Writes `tensor` atomically in the format the extension of `path` names;
// `name` is stored in .pb files.
Status write_tensor_file(const std::string &path, const Tensor &tensor, const std::string &name);

}  // namespace si
