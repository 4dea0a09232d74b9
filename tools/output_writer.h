// How sparse-infer shows and saves model outputs.
#pragma once

#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace si::cli {

// An output name as one safe file-name component: every byte outside
// [A-Za-z0-9._-] becomes '_', "", "." and ".." become "_", "_", "__", and the
// result is cut to 200 bytes. Never a path, never hidden traversal.
std::string escape_file_name(const std::string &name);

// "<escaped name>.bin" per output; names that escape alike get _2, _3, ...
std::vector<std::string> output_file_names(const std::vector<std::string> &names);

// Multi-line text for one output: name, dtype, shape, the first (up to 10)
// values and, for a classifier-shaped output ([N,C] or [C] float32, C >= 2),
// `prediction: k` (one row) or `argmax: [k0, k1, ...]` (several rows).
std::string describe_output(const std::string &name, const Tensor &tensor);

// Creates `dir` (and missing parents) and writes one .bin per output there,
// each atomically. `written` receives the paths. kIo naming the path on failure.
Status write_outputs_to_dir(const std::string &dir, const std::vector<ValueInfo> &infos,
                            const std::vector<Tensor> &outputs, std::vector<std::string> *written);

// mkdir -p; fails naming the first component that is not a directory.
Status make_dirs(const std::string &dir);

}  // namespace si::cli
