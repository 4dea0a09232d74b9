// `sparse-infer analyze`: is activation sparsity worth it for this model?
// (engine/analysis.h computes; this parses the command line, loads the
// model and inputs, prints the table, writes --json and draws --plot.)
#pragma once

#include <string>
#include <vector>

#include "engine/options.h"

namespace si::cli {

struct AnalyzeArgs {
  bool help = false;
  std::string model;
  std::vector<std::string> inputs;  // PATH or NAME=PATH: one input set
  std::string inputs_dir;
  SessionOptions session;
  long iters = 20;
  long warmup = 3;
  std::string json;  // --json FILE
  std::string plot;  // --plot FILE.png
};

// argv[0] is "analyze". false with a one-line message on a usage error.
bool parse_analyze_args(int argc, const char *const *argv, AnalyzeArgs *out, std::string *error);

const char *analyze_usage_text();

// The whole subcommand; returns the process exit code (cli_options.h).
int analyze_main(int argc, char **argv);

}  // namespace si::cli
