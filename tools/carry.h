// --carry OUT=IN: stateful streaming over the input sets. The sets run in
// order and output OUT of each run becomes input IN of the next (a
// Silero-style model's `stateN` -> `state`); the first set supplies the
// initial value, later sets may omit the file of a carried input.
#pragma once

#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace si::cli {

struct Carry {
  std::string output, input;                 // as given
  size_t output_index = 0, input_index = 0;  // resolved against the model
};

// "OUT=IN" -> carry; false (and `error`) without a non-empty name each side.
bool parse_carry(const std::string &text, Carry *out, std::string *error);

// Resolves every carry's names against the model's outputs and inputs:
// kInvalidArgument naming an unknown name (with the model's names), an input
// carried into twice, or dtypes that differ where both are declared.
Status resolve_carries(const std::vector<ValueInfo> &inputs, const std::vector<ValueInfo> &outputs,
                       std::vector<Carry> *carries);

// Per model input, whether some carry feeds it.
std::vector<bool> carried_inputs(const std::vector<Carry> &carries, size_t num_inputs);

// Puts the previous run's outputs into `next`'s carried inputs. Each output
// must have the dtype and shape of the value it replaces: `next`'s own, if
// that set supplies the input, else the previous run's (else
// kInvalidArgument naming both values and the set).
Status apply_carries(const std::vector<Carry> &carries, const std::vector<ValueInfo> &inputs,
                     const std::vector<ValueInfo> &outputs,
                     const std::vector<Tensor> &previous_inputs,
                     const std::vector<Tensor> &previous_outputs, const std::string &set_label,
                     std::vector<Tensor> *next);

}  // namespace si::cli
