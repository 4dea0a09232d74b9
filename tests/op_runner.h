// Runs one ONNX node through a real Session (passes, plan, kernel) so op
// tests exercise the same path a model does.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/options.h"
#include "engine/session.h"
#include "engine/status.h"

namespace si::test {

struct OpSpec {
  std::string op_type;
  int opset = 17;
  std::string domain;  // "" = ai.onnx
  std::map<std::string, Attribute> attrs;
  std::vector<Tensor> inputs;  // empty Tensor() = omitted optional input
  std::vector<bool> constant;  // per input: initializer (true) or runtime feed
  int num_outputs = 1;
  SessionOptions options;
};

// Builds a one-node graph (runtime inputs declared with their exact shapes),
// creates a session and runs it once.
Status run_op(const OpSpec &spec, std::vector<Tensor> *outputs);

Attribute attr_int(int64_t v);
Attribute attr_float(float v);
Attribute attr_string(const std::string &v);
Attribute attr_ints(const std::vector<int64_t> &v);
Attribute attr_floats(const std::vector<float> &v);

// Tensor from values (copied); shape product must equal values.size().
Tensor make_f32(const Shape &shape, const std::vector<float> &values);
Tensor make_i64(const Shape &shape, const std::vector<int64_t> &values);
std::vector<float> to_vector_f32(const Tensor &t);

}  // namespace si::test
