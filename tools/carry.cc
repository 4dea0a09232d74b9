#include "tools/carry.h"

#include <algorithm>

namespace si::cli {

namespace {

std::string names_of(const std::vector<ValueInfo> &values) {
  std::string s;
  for (const ValueInfo &v : values) s += (s.empty() ? "" : ", ") + v.name;
  return s;
}

bool find_name(const std::vector<ValueInfo> &values, const std::string &name, size_t *index) {
  auto it = std::find_if(values.begin(), values.end(),
                         [&](const ValueInfo &v) { return v.name == name; });
  *index = static_cast<size_t>(it - values.begin());
  return it != values.end();
}

}  // namespace

bool parse_carry(const std::string &text, Carry *out, std::string *error) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    *error = "--carry " + text + ": expected OUT=IN (an output name, '=', an input name)";
    return false;
  }
  out->output = text.substr(0, eq);
  out->input = text.substr(eq + 1);
  return true;
}

Status resolve_carries(const std::vector<ValueInfo> &inputs, const std::vector<ValueInfo> &outputs,
                       std::vector<Carry> *carries) {
  std::vector<bool> fed(inputs.size(), false);
  for (Carry &c : *carries) {
    const std::string arg = "--carry " + c.output + "=" + c.input;
    if (!find_name(outputs, c.output, &c.output_index)) {
      return invalid_argument(arg + ": the model has no output '" + c.output +
                              "'; outputs: " + names_of(outputs));
    }
    if (!find_name(inputs, c.input, &c.input_index)) {
      return invalid_argument(arg + ": the model has no input '" + c.input +
                              "'; inputs: " + names_of(inputs));
    }
    if (fed[c.input_index])
      return invalid_argument(arg + ": input '" + c.input + "' is carried into twice");
    fed[c.input_index] = true;
    const DType in = inputs[c.input_index].dtype, out = outputs[c.output_index].dtype;
    if (in != DType::kUndefined && out != DType::kUndefined && in != out) {
      return invalid_argument(arg + ": output '" + c.output + "' is " + dtype_name(out) +
                              " but input '" + c.input + "' is " + dtype_name(in));
    }
  }
  return Status::ok();
}

std::vector<bool> carried_inputs(const std::vector<Carry> &carries, size_t num_inputs) {
  std::vector<bool> fed(num_inputs, false);
  for (const Carry &c : carries) fed[c.input_index] = true;
  return fed;
}

Status apply_carries(const std::vector<Carry> &carries, const std::vector<ValueInfo> &inputs,
                     const std::vector<ValueInfo> &outputs,
                     const std::vector<Tensor> &previous_inputs,
                     const std::vector<Tensor> &previous_outputs, const std::string &set_label,
                     std::vector<Tensor> *next) {
  for (const Carry &c : carries) {
    const Tensor &value = previous_outputs[c.output_index];
    Tensor &slot = (*next)[c.input_index];
    const bool given = slot.dtype() != DType::kUndefined;
    const Tensor &was = given ? slot : previous_inputs[c.input_index];
    if (was.dtype() != value.dtype() || was.shape() != value.shape()) {
      return invalid_argument(
          "--carry " + c.output + "=" + c.input + ": output '" + outputs[c.output_index].name +
          "' is " + dtype_name(value.dtype()) + " " + shape_str(value.shape()) + " but input '" +
          inputs[c.input_index].name + "' " +
          (given ? "is given by " + set_label + " as " : "was, before " + set_label + ", ") +
          dtype_name(was.dtype()) + " " + shape_str(was.shape()));
    }
    slot = value;
  }
  return Status::ok();
}

}  // namespace si::cli
