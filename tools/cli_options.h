// Command line of sparse-infer: what the user asked for, and the exit codes
// every failure maps to.
#pragma once

#include <string>
#include <vector>

#include "engine/options.h"
#include "engine/status.h"

namespace si::cli {

enum ExitCode {
  kExitOk = 0,
  kExitUsage = 1,     // bad command line, or an -o path that cannot be written
  kExitModel = 2,     // the model could not be loaded (invalid or unsupported)
  kExitInput = 3,     // an input could not be used (missing, wrong size/dtype/shape/count)
  kExitInternal = 4,  // a bug or resource exhaustion
};

// Prints `sparse-infer: error: MESSAGE` as exactly one line on stderr,
// whatever the message holds, and returns `code`.
int fail(int code, std::string message);

// The exit code of a failed load (kExitModel, or kExitInternal for a bug or
// exhausted memory) and of a failed run.
int load_exit_code(const Status &s);
int run_exit_code(const Status &s);

// "cannot load model: MODEL: message", MODEL only where the message lacks it.
std::string load_failure_message(const std::string &model, const Status &s);

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
  bool profile = false;            // per-node table (over the timed runs with --bench)
  std::string trace;               // Chrome trace file of the same runs
  std::vector<std::string> carry;  // --carry OUT=IN, in command-line order
};

// Walks argv[1..] for a parser: options may appear anywhere, "--" ends
// them, values go as "--opt V" or "--opt=V"; every other argument is
// positional. Each reader method returns false with a one-line `error`.
class ArgReader {
 public:
  ArgReader(int argc, const char *const *argv, std::string *error);
  bool next();                                       // the next option, false after the last
  const std::string &name() const { return name_; }  // "--threads" of "--threads=2"
  bool value(std::string *out);                      // its value: inline or the next argument
  bool no_value();                                   // refuses "--flag=V"
  bool count(long lo, long hi, long *out);           // a parse_count value
  bool bytes(uint64_t *out);                         // a parse_bytes value
  bool path(std::string *out);                       // a non-empty value
  bool unknown(const std::string &help = "--help");  // "unknown option '...' (see HELP)"
  const std::vector<std::string> &positional() const { return positional_; }

 private:
  int argc_;
  const char *const *argv_;
  std::string *error_;
  int i_ = 0;
  bool options_done_ = false, inline_value_ = false;
  std::string arg_, name_, value_;
  std::vector<std::string> positional_;
};

// The session options every subcommand that runs a model takes (--threads,
// --max-memory, --single-copy): true when r's option is one of them, with
// `ok` false on a bad value.
bool read_session_option(ArgReader &r, SessionOptions *session, bool *ok);

// positional[0] is the model, the rest its INPUT arguments, which exclude
// --inputs-dir; false with a one-line `error` (naming `help`) otherwise.
bool model_and_inputs(const std::vector<std::string> &positional, const std::string &inputs_dir,
                      const std::string &help, std::string *model, std::vector<std::string> *inputs,
                      std::string *error);

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
