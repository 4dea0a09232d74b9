// Command line of sparse-infer: what the user asked for, and the exit codes
// every failure maps to.
#pragma once

#include <string>
#include <vector>

#include "engine/options.h"

namespace si::cli {

enum ExitCode {
  kExitOk = 0,
  kExitUsage = 1,     // bad command line, or an -o path that cannot be written
  kExitModel = 2,     // the model could not be loaded (invalid or unsupported)
  kExitInput = 3,     // an input could not be used (missing, wrong size/dtype/shape/count)
  kExitInternal = 4,  // a bug or resource exhaustion
};

struct Options {
  bool help = false;
  bool version = false;
  std::string model;
  std::vector<std::string> inputs;  // PATH or NAME=PATH, in command-line order
  std::string output;               // -o; empty = print outputs
  std::string inputs_dir;
  SessionOptions session;
  bool info = false;
  bool bench = false;
  long warmup = 10;
  long iters = 100;
  std::string json;
  bool profile = false;  // per-node table (over the timed runs with --bench)
  std::string trace;     // Chrome trace file of the same runs
};

// Parses argv[1..]; false with a one-line message on a usage error. Options may
// appear anywhere; "--" ends them. Values go as "--opt V" or "--opt=V".
bool parse_args(int argc, const char *const *argv, Options *out, std::string *error);

const char *usage_text();

// A whole number in [lo, hi], plain decimal digits only: "-1", "+3", "1e3",
// "12abc" and overflow are errors.
bool parse_count(const std::string &text, long lo, long hi, long *out);
// BYTES with an optional binary suffix K, M or G (case-insensitive): "512M".
bool parse_bytes(const std::string &text, uint64_t *out);

}  // namespace si::cli
