#include "tools/cli_options.h"

namespace si::cli {

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

bool parse_args(int argc, const char *const *argv, Options *out, std::string *error) {
  Options o;
  bool dense = false, sparse = false, saw_warmup = false, saw_iters = false;
  std::vector<std::string> positional;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    std::string name = arg, value;
    bool inline_value = false;
    size_t eq = arg.find('=');
    if (arg.compare(0, 2, "--") == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    auto take_value = [&]() -> bool {
      if (inline_value) return true;
      if (i + 1 >= argc) {
        *error = "option " + name + " needs a value";
        return false;
      }
      value = argv[++i];
      return true;
    };
    auto no_value = [&]() -> bool {
      if (!inline_value) return true;
      *error = "option " + name + " takes no value";
      return false;
    };
    auto count = [&](long lo, long hi, long *dst) -> bool {
      if (!take_value()) return false;
      if (parse_count(value, lo, hi, dst)) return true;
      *error = "option " + name + " needs a whole number in [" + std::to_string(lo) + ", " +
               std::to_string(hi) + "], got '" + value + "'";
      return false;
    };
    if (name == "-h" || name == "--help") {
      if (!no_value()) return false;
      o.help = true;
    } else if (name == "--version") {
      if (!no_value()) return false;
      o.version = true;
    } else if (name == "-o" || name == "--output") {
      if (!take_value()) return false;
      if (value.empty()) {
        *error = "option " + name + " needs a non-empty path";
        return false;
      }
      o.output = value;
    } else if (name == "--threads") {
      long n = 0;
      if (!count(0, 1024, &n)) return false;
      o.session.threads = static_cast<int>(n);
    } else if (name == "--max-memory") {
      if (!take_value()) return false;
      if (!parse_bytes(value, &o.session.max_memory_bytes)) {
        *error = "option " + name +
                 " needs a byte count (digits, optional suffix K, M or G), got '" + value + "'";
        return false;
      }
    } else if (name == "--dense") {
      if (!no_value()) return false;
      dense = true;
    } else if (name == "--sparse") {
      if (!no_value()) return false;
      sparse = true;
    } else if (name == "--single-copy") {
      if (!no_value()) return false;
      o.session.single_weight_copy = true;
    } else if (name == "--inputs-dir") {
      if (!take_value()) return false;
      o.inputs_dir = value;
    } else if (name == "--bench") {
      if (!no_value()) return false;
      o.bench = true;
    } else if (name == "--warmup") {
      if (!count(0, 1000000, &o.warmup)) return false;
      saw_warmup = true;
    } else if (name == "--iters") {
      if (!count(1, 10000000, &o.iters)) return false;
      saw_iters = true;
    } else if (name == "--json") {
      if (!take_value()) return false;
      o.json = value;
    } else if (name == "--info") {
      if (!no_value()) return false;
      o.info = true;
    } else if (name == "--profile") {
      if (!no_value()) return false;
      o.profile = true;
    } else if (name == "--trace") {
      if (!take_value()) return false;
      o.trace = value;
    } else {
      *error = "unknown option '" + arg + "' (see --help)";
      return false;
    }
  }
  if (o.help || o.version) {
    *out = std::move(o);
    return true;
  }
  if (dense && sparse) {
    *error = "--dense and --sparse exclude each other";
    return false;
  }
  o.session.mode = dense ? ExecMode::kDense : sparse ? ExecMode::kSparse : ExecMode::kAuto;
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
  if (positional.empty()) {
    *error = "missing MODEL.onnx argument (see --help)";
    return false;
  }
  o.model = positional[0];
  o.inputs.assign(positional.begin() + 1, positional.end());
  if (!o.inputs.empty() && !o.inputs_dir.empty()) {
    *error = "give inputs either on the command line or with --inputs-dir, not both";
    return false;
  }
  *out = std::move(o);
  return true;
}

}  // namespace si::cli
