// `sparse-infer quantize`: writes an int8 (QDQ) or int4 (MatMulNBits) copy of
// a model (importers/onnx/quantize_weights.h rewrites it), prints what each
// weight became and, over given input sets, how far the outputs moved.
#pragma once

#include <string>
#include <vector>

#include "engine/options.h"
#include "importers/onnx/quantize_weights.h"

namespace si::cli {

struct QuantizeArgs {
  bool help = false;
  std::string model, out;
  bool weights_given = false;
  QuantizeOptions quantize;
  std::vector<std::string> inputs_dirs;  // --inputs-dir, repeatable
  SessionOptions session;
};

// argv[0] is "quantize". false with a one-line message on a usage error.
bool parse_quantize_args(int argc, const char *const *argv, QuantizeArgs *out, std::string *error);

const char *quantize_usage_text();

// The whole subcommand; returns the process exit code (cli_options.h).
int quantize_main(int argc, char **argv);

}  // namespace si::cli
