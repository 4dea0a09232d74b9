// Gathers the input tensors for a run: from INPUT arguments (PATH or
// NAME=PATH) or from the ONNX test layout (--inputs-dir).
#pragma once

#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace si::cli {

// One feed of every model input, in model order. `label` names where it came
// from ("" for the command line, the test_data_set_* folder name otherwise).
struct InputSet {
  std::string label;
  std::vector<Tensor> tensors;
};

// Maps INPUT arguments to model inputs: NAME=PATH by name, then the remaining
// arguments to the inputs not named, in order. An argument whose part before
// '=' is not an input name is a path if such a file exists. On failure returns
// the exit code (kExitUsage for an unknown or repeated name, kExitInput for a
// directory given as a file or a wrong number of inputs) and sets `error`; 0
// on success.
int assign_inputs(const std::vector<std::string> &args, const std::vector<ValueInfo> &inputs,
                  std::vector<std::string> *paths, std::string *error);

// Reads paths[i] as model input i (kInvalidArgument or kIo naming the file).
Status load_input_set(const std::vector<std::string> &paths, const std::vector<ValueInfo> &inputs,
                      InputSet *out);

// Every D/test_data_set_*/ folder in natural order ("_2" before "_10"), each
// with input_0.pb .. input_<n-1>.pb for the model's n inputs and no others.
// A folder without any such folder is one set: D/<input name>.npy or .bin
// per input (the name escaped as output files are also found).
// `optional_after_first` (may be nullptr): per input, whether sets after the
// first may lack its file (--carry feeds it); its tensor is then left empty.
Status load_inputs_dir(const std::string &dir, const std::vector<ValueInfo> &inputs,
                       std::vector<InputSet> *sets,
                       const std::vector<bool> *optional_after_first = nullptr);

// "a" < "b", "x_2" < "x_10": digit runs compare as numbers.
bool natural_less(const std::string &a, const std::string &b);

}  // namespace si::cli
