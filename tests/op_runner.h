// Runs one ONNX node through a real Session (passes, plan, kernel) so op
// tests exercise the same path a model does.
#pragma once

#include <vector>

#include "engine/graph.h"
#include "engine/options.h"
#include "engine/single_node.h"
#include "engine/status.h"

namespace si::test {

// The op, its attributes and inputs (opset 17 unless set), and the options
// of the session that runs it.
struct OpSpec : SingleNode {
  SessionOptions options;
};

// Runs the node once as "node_under_test".
Status run_op(const OpSpec &spec, std::vector<Tensor> *outputs);

// Tensor from values (copied); shape product must equal values.size().
Tensor make_f32(const Shape &shape, const std::vector<float> &values);
Tensor make_i64(const Shape &shape, const std::vector<int64_t> &values);
std::vector<float> to_vector_f32(const Tensor &t);

}  // namespace si::test
