#include "tools/cli_options.h"

#include <cstdio>

namespace si::cli {

int fail(int code, std::string message) {
  for (char &c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "sparse-infer: error: %s\n", message.c_str());
  return code;
}

int load_exit_code(const Status &s) {
  return s.code() == StatusCode::kInternal || s.code() == StatusCode::kOutOfMemory ? kExitInternal
                                                                                   : kExitModel;
}

int run_exit_code(const Status &s) {
  switch (s.code()) {
    case StatusCode::kInvalidModel:
    case StatusCode::kUnsupported:
      return kExitModel;
    case StatusCode::kInvalidArgument:
    case StatusCode::kIo:
      return kExitInput;
    default:
      return kExitInternal;
  }
}

std::string load_failure_message(const std::string &model, const Status &s) {
  const bool named = s.message().find(model) != std::string::npos;
  return "cannot load model: " + (named ? "" : model + ": ") + s.message();
}

bool parse_count(const std::string &text, long lo, long hi, long *out) {
  if (text.empty() || text.size() > 18) return false;
  long v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool parse_bytes(const std::string &text, uint64_t *out) {
  std::string digits = text;
  uint64_t scale = 1;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'k':
      case 'K':
        scale = uint64_t{1} << 10;
        break;
      case 'm':
      case 'M':
        scale = uint64_t{1} << 20;
        break;
      case 'g':
      case 'G':
        scale = uint64_t{1} << 30;
        break;
    }
    if (scale != 1) digits.pop_back();
  }
  long v = 0;
  if (!parse_count(digits, 0, 999999999999999999L, &v)) return false;
  if (uint64_t(v) > UINT64_MAX / scale) return false;
  *out = uint64_t(v) * scale;
  return true;
}

const char *usage_text() {
  return R"(usage: sparse-infer MODEL.onnx [INPUT ...] [options]
       sparse-infer analyze MODEL.onnx [INPUT ...] [options]  (analyze --help)
       sparse-infer quantize MODEL.onnx OUT.onnx --weights int8|int4  (quantize --help)
       sparse-infer serve --model-repository DIR [options]   (serve --help)

Runs an ONNX model on the CPU, skipping the work that zero activations after
a ReLU make unnecessary. `sparse-infer analyze MODEL.onnx INPUT...` tells
whether that pays for a model: per activation its exact zeros, per
MatMul/Gemm/Conv the zeros it reads and the path it takes (or why it cannot
be sparse), and the measured speedup over --dense.

  INPUT            PATH or NAME=PATH. .bin = raw little-endian data (numpy's
                   tofile), dtype and shape from the model, one unknown dim
                   inferred from the file size; .npy = NumPy array; .pb = ONNX
                   TensorProto. Positional inputs fill the model inputs not
                   given by name, in order.
  -o, --output P   write outputs instead of printing them. If P is a directory
                   (existing, or ending in /), one <output name>.bin per output
                   goes there (names escaped to [A-Za-z0-9._-]); with several
                   input sets, one subfolder per set. Otherwise P is a file
                   (.bin, .npy or .pb by extension) for a model with exactly
                   one output and one input set; anything else is a usage
                   error (exit 1). Files are written to a temporary name and
                   renamed, so they are never left half-written.
  --threads N      intra-op threads (default 0: all cores)
  --max-memory B   memory ceiling in bytes (suffix K, M or G) for the model's
                   constants and, per run, the tensors it allocates; above it
                   loading or running fails (exit 4). Default 0: the
                   machine's physical memory.
  --dense          dense path everywhere (the baseline for comparisons)
  --sparse         sparse path wherever eligible (for testing)
  --single-copy    hold each weight in one layout only: about 1x the model's
                   weight memory instead of up to 2x; batch 1 as fast, dense
                   batches of 2 or more after a Relu slower
  --inputs-dir D   input sets from the ONNX test layout: each
                   D/test_data_set_*/input_N.pb is one set (in natural order);
                   without such folders, one set of D/<input name>.npy or .bin
  --carry OUT=IN   stateful streaming (repeatable): run the --inputs-dir sets
                   in order and feed output OUT of each run into input IN of
                   the next (a Silero-style `stateN=state`). The first set
                   supplies the initial value; later sets may omit that
                   input's file (if given, it must match OUT's dtype and
                   shape, and OUT replaces it). Unknown names and dtype or
                   shape mismatches exit 1 (usage) or 3 (input)
  --bench          time the run instead of printing outputs: --warmup W
                   (default 10) untimed runs, then --iters N (default 100)
                   timed runs cycling through the input sets. The last line
                   is `latency_us p50=.. p90=.. p99=.. mean=.. iters=N`.
  --json FILE      with --bench: also write the results as JSON; with
                   --profile (no --bench): write the profile as JSON
  --info           print inputs, outputs, weight memory and the op histogram;
                   for a model that cannot run, its inputs, outputs and ops as
                   imported, then what is missing (exit 2)
  --profile        per node: op, name, output shape, time, share of total;
                   for matmuls the input density and the path taken
                   (sparse/dense), for a MatMul/Gemm/Conv that cannot be
                   sparse "not eligible: <reason>"; for an activation (also
                   one fused into its Gemm/Conv) its exact-zero share,
                   counted in one extra run per input set that is not timed;
                   then the share of matmul work that ran
                   sparse and weight bytes read. Times are medians over warm
                   runs: without --bench, 5 profiled runs (at least one per
                   input set) after 3 warm-up runs (those printing the
                   outputs count); with --bench, the timed runs
  --trace FILE     the same runs as a Chrome trace (chrome://tracing)
  -h, --help       this text
  --version        print the version

Without -o each output's name, shape and first values are printed, with the
argmax per row for a classifier-shaped output ([N,C] or [C] float, C >= 2).

Exit codes: 0 ok; 1 usage error (unknown option, missing model argument, bad
number, unknown input name, -o path that does not fit or cannot be written);
2 model could not be loaded; 3 input could not be used (missing or unreadable
file, wrong size, dtype or shape, wrong number of inputs); 4 internal error.
)";
}

ArgReader::ArgReader(int argc, const char *const *argv, std::string *error)
    : argc_(argc), argv_(argv), error_(error) {}

bool ArgReader::next() {
  while (++i_ < argc_) {
    arg_ = argv_[i_];
    if (options_done_ || arg_.size() < 2 || arg_[0] != '-') {
      positional_.push_back(arg_);
      continue;
    }
    if (arg_ == "--") {
      options_done_ = true;
      continue;
    }
    const size_t eq = arg_.find('=');
    inline_value_ = arg_.compare(0, 2, "--") == 0 && eq != std::string::npos;
    name_ = inline_value_ ? arg_.substr(0, eq) : arg_;
    value_ = inline_value_ ? arg_.substr(eq + 1) : std::string();
    return true;
  }
  return false;
}

bool ArgReader::value(std::string *out) {
  if (!inline_value_) {
    if (i_ + 1 >= argc_) {
      *error_ = "option " + name_ + " needs a value";
      return false;
    }
    value_ = argv_[++i_];
  }
  *out = value_;
  return true;
}

bool ArgReader::no_value() {
  if (!inline_value_) return true;
  *error_ = "option " + name_ + " takes no value";
  return false;
}

bool ArgReader::count(long lo, long hi, long *out) {
  std::string v;
  if (!value(&v)) return false;
  if (parse_count(v, lo, hi, out)) return true;
  *error_ = "option " + name_ + " needs a whole number in [" + std::to_string(lo) + ", " +
            std::to_string(hi) + "], got '" + v + "'";
  return false;
}

bool ArgReader::bytes(uint64_t *out) {
  std::string v;
  if (!value(&v)) return false;
  if (parse_bytes(v, out)) return true;
  *error_ = "option " + name_ + " needs a byte count (digits, optional suffix K, M or G), got '" +
            v + "'";
  return false;
}

bool ArgReader::path(std::string *out) {
  if (!value(out)) return false;
  if (!out->empty()) return true;
  *error_ = "option " + name_ + " needs a non-empty path";
  return false;
}

bool ArgReader::unknown(const std::string &help) {
  *error_ = "unknown option '" + arg_ + "' (see " + help + ")";
  return false;
}

bool read_session_option(ArgReader &r, SessionOptions *session, bool *ok) {
  const std::string &name = r.name();
  if (name == "--threads") {
    long n = 0;
    *ok = r.count(0, 1024, &n);
    session->threads = static_cast<int>(n);
  } else if (name == "--max-memory") {
    *ok = r.bytes(&session->max_memory_bytes);
  } else if (name == "--single-copy") {
    *ok = r.no_value();
    session->single_weight_copy = true;
  } else {
    return false;
  }
  return true;
}

bool parse_args(int argc, const char *const *argv, Options *out, std::string *error) {
  Options o;
  bool dense = false, sparse = false, saw_warmup = false, saw_iters = false;
  ArgReader r(argc, argv, error);
  while (r.next()) {
    const std::string &name = r.name();
    bool ok = true;
    if (name == "-h" || name == "--help") {
      ok = r.no_value();
      o.help = true;
    } else if (name == "--version") {
      ok = r.no_value();
      o.version = true;
    } else if (name == "-o" || name == "--output") {
      ok = r.path(&o.output);
    } else if (read_session_option(r, &o.session, &ok)) {
      // --threads, --max-memory, --single-copy: read into o.session
    } else if (name == "--dense") {
      ok = r.no_value();
      dense = true;
    } else if (name == "--sparse") {
      ok = r.no_value();
      sparse = true;
    } else if (name == "--inputs-dir") {
      ok = r.value(&o.inputs_dir);
    } else if (name == "--carry") {
      std::string v;
      ok = r.value(&v);
      if (ok) o.carry.push_back(v);
    } else if (name == "--bench") {
      ok = r.no_value();
      o.bench = true;
    } else if (name == "--warmup") {
      ok = r.count(0, 1000000, &o.warmup);
      saw_warmup = true;
    } else if (name == "--iters") {
      ok = r.count(1, 10000000, &o.iters);
      saw_iters = true;
    } else if (name == "--json") {
      ok = r.value(&o.json);
    } else if (name == "--info") {
      ok = r.no_value();
      o.info = true;
    } else if (name == "--profile") {
      ok = r.no_value();
      o.profile = true;
    } else if (name == "--trace") {
      ok = r.value(&o.trace);
    } else {
      ok = r.unknown();
    }
    if (!ok) return false;
  }
  const std::vector<std::string> &positional = r.positional();
  if (o.help || o.version) {
    *out = std::move(o);
    return true;
  }
  if (dense && sparse) {
    *error = "--dense and --sparse exclude each other";
    return false;
  }
  o.session.mode = dense ? ExecMode::kDense : sparse ? ExecMode::kSparse : ExecMode::kAuto;
  if (!o.carry.empty() && o.inputs_dir.empty()) {
    *error = "--carry needs --inputs-dir (the input sets it runs in order)";
    return false;
  }
  if (!o.carry.empty() && (o.bench || o.profile || !o.trace.empty())) {
    *error = "--carry runs each input set once, in order: not with --bench, --profile or --trace";
    return false;
  }
  if (!o.bench && (saw_warmup || saw_iters)) {
    *error = "--warmup and --iters need --bench";
    return false;
  }
  if (!o.bench && !o.profile && !o.json.empty()) {
    *error = "--json needs --bench or --profile";
    return false;
  }
  if (o.bench && !o.output.empty()) {
    *error = "--bench does not write outputs; run without --bench to use -o";
    return false;
  }
  if (!model_and_inputs(positional, o.inputs_dir, "--help", &o.model, &o.inputs, error))
    return false;
  *out = std::move(o);
  return true;
}

bool model_and_inputs(const std::vector<std::string> &positional, const std::string &inputs_dir,
                      const std::string &help, std::string *model, std::vector<std::string> *inputs,
                      std::string *error) {
  if (positional.empty()) {
    *error = "missing MODEL.onnx argument (see " + help + ")";
    return false;
  }
  *model = positional[0];
  inputs->assign(positional.begin() + 1, positional.end());
  if (!inputs->empty() && !inputs_dir.empty()) {
    *error = "give inputs either on the command line or with --inputs-dir, not both";
    return false;
  }
  return true;
}

}  // namespace si::cli
