// One op as a whole model: a graph of a single node, its inputs declared with
// their exact shapes, run once through a real Session (passes, plan, kernel).
// Op tests and the operator-docs probes run ops this way, so they exercise
// the same path a model does.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/options.h"
#include "engine/status.h"

namespace si {

struct SingleNode {
  std::string op_type;
  std::string domain;  // "" = ai.onnx
  int opset = 17;
  std::string name;  // how error messages name the node
  std::map<std::string, Attribute> attrs;
  std::vector<Tensor> inputs;  // empty Tensor() = omitted optional input
  std::vector<bool> constant;  // per input: initializer (true) or runtime feed; missing = feed
  int num_outputs = 1;
  // Bodies (If, Loop, Scan); their capture_inputs index `inputs`.
  std::vector<Subgraph> subgraphs;
};

// Builds the one-node graph, creates a session with `options` and runs it
// once on the inputs that are not constants.
Status run_single_node(const SingleNode &spec, const SessionOptions &options,
                       std::vector<Tensor> *outputs);

}  // namespace si
