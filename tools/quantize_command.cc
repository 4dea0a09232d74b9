#include "tools/quantize_command.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "engine/session.h"
#include "importers/onnx/onnx_importer.h"
#include "tools/cli_options.h"
#include "tools/input_sets.h"
#include "tools/tensor_io.h"

namespace si::cli {

namespace {

int fail_quantize(int code, const std::string &message) {
  return fail(code, "quantize: " + message);
}

void out(const std::string &text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

std::string weights_table(const QuantizedModel &q) {
  std::string s;
  char line[512];
  std::snprintf(line, sizeof line, "%-32s %-14s %-26s %14s %12s %11s\n", "weight", "shape",
                "format", "bytes before", "bytes after", "max |error|");
  s += line;
  uint64_t before = 0, after = 0;
  for (const QuantizedWeight &w : q.weights) {
    std::snprintf(line, sizeof line, "%-32s %-14s %-26s %14llu %12llu %11.3e\n", w.name.c_str(),
                  shape_str(w.shape).c_str(), w.format.c_str(),
                  static_cast<unsigned long long>(w.bytes_before),
                  static_cast<unsigned long long>(w.bytes_after), w.max_abs_error);
    s += line;
    before += w.bytes_before;
    after += w.bytes_after;
  }
  std::snprintf(line, sizeof line, "total: %zu weights, %llu -> %llu bytes (%.2fx smaller)\n",
                q.weights.size(), static_cast<unsigned long long>(before),
                static_cast<unsigned long long>(after), after > 0 ? double(before) / after : 0.0);
  s += line;
  for (const std::string &k : q.skipped) s += "skipped: " + k + "\n";
  return s;
}

// The largest |changed - original| over every float32 output of every set,
// and where it is.
struct OutputChange {
  double max_abs = 0, max_ref = 0;
  std::string where;
};

void compare_outputs(const std::vector<ValueInfo> &names, const std::string &label,
                     const std::vector<Tensor> &ref, const std::vector<Tensor> &got,
                     OutputChange *c) {
  for (size_t i = 0; i < ref.size() && i < got.size(); ++i) {
    if (ref[i].dtype() != DType::kFloat32 || got[i].dtype() != DType::kFloat32 ||
        ref[i].numel() != got[i].numel())
      continue;
    const float *r = ref[i].data<float>(), *g = got[i].data<float>();
    for (int64_t j = 0; j < ref[i].numel(); ++j) {
      c->max_ref = std::max(c->max_ref, double(std::fabs(r[j])));
      const double d = std::fabs(double(g[j]) - double(r[j]));
      if (d > c->max_abs || std::isnan(d)) {
        c->max_abs = std::isnan(d) ? INFINITY : d;
        c->where = (label.empty() ? "" : label + " ") + "output " + names[i].name;
      }
    }
  }
}

Status session_from_bytes(const std::string &bytes, const std::string &base_dir,
                          const SessionOptions &options, std::unique_ptr<Session> *out) {
  Graph graph;
  SI_RETURN_IF_ERROR(import_onnx_bytes(bytes.data(), bytes.size(), base_dir, &graph));
  return Session::create(std::move(graph), options, out);
}

// The model compared with the original: the quantized one when this engine
// runs it, else the dequantized float copy (the same math in float ops;
// `*what` says which and why).
Status compared_session(const QuantizedModel &q, const SessionOptions &options,
                        std::unique_ptr<Session> *out, std::string *what) {
  Status s = session_from_bytes(q.quantized, "", options, out);
  if (s.is_ok()) {
    *what = "the quantized model, run by this engine";
    return s;
  }
  if (s.code() == StatusCode::kOutOfMemory || s.code() == StatusCode::kInternal) return s;
  // The first reason is enough: an unsupported-operator list repeats per node.
  std::string why = s.message();
  if (why.find("; ") != std::string::npos) why = why.substr(0, why.find("; ")) + "; ...";
  *what = "the dequantized float32 copy, run by this engine (it cannot run the quantized model: " +
          why + ")";
  return session_from_bytes(q.dequantized, "", options, out);
}

// Runs the original and the compared model over every input set.
int report_output_change(const QuantizeArgs &a, const QuantizedModel &q) {
  std::unique_ptr<Session> original, changed;
  Status s = load_session_file(a.model, a.session, &original);
  if (!s.is_ok()) return fail_quantize(load_exit_code(s), load_failure_message(a.model, s));
  std::vector<InputSet> sets;
  for (const std::string &dir : a.inputs_dirs) {
    std::vector<InputSet> more;
    s = load_inputs_dir(dir, original->inputs(), &more);
    if (!s.is_ok()) return fail_quantize(kExitInput, s.message());
    for (InputSet &set : more) {
      if (a.inputs_dirs.size() > 1) set.label = dir + "/" + set.label;
      sets.push_back(std::move(set));
    }
  }
  std::vector<std::vector<Tensor>> ref(sets.size());
  for (size_t i = 0; i < sets.size(); ++i) {
    s = original->run(sets[i].tensors, &ref[i]);
    if (!s.is_ok()) return fail_quantize(run_exit_code(s), a.model + ": " + s.message());
  }
  original.reset();
  std::string what;
  s = compared_session(q, a.session, &changed, &what);
  if (!s.is_ok()) return fail_quantize(load_exit_code(s), "quantized model: " + s.message());
  OutputChange c;
  std::vector<Tensor> got;
  for (size_t i = 0; i < sets.size(); ++i) {
    s = changed->run(sets[i].tensors, &got);
    if (!s.is_ok()) return fail_quantize(run_exit_code(s), "quantized model: " + s.message());
    compare_outputs(changed->outputs(), sets[i].label, ref[i], got, &c);
  }
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "output change over %zu input sets: max |quantized - original| = %.3e "
                "(max |original| = %.3e, relative %.3e)",
                sets.size(), c.max_abs, c.max_ref, c.max_ref > 0 ? c.max_abs / c.max_ref : 0.0);
  out(std::string(buf) + (c.where.empty() ? "" : ", at " + c.where) + "\n  compared: " + what +
      "\n");
  return kExitOk;
}

}  // namespace

const char *quantize_usage_text() {
  return R"(usage: sparse-infer quantize MODEL.onnx OUT.onnx --weights int8|int4 [options]

Writes OUT.onnx, a copy of MODEL.onnx whose MatMul/Gemm constant weights of
at least 128 x 128 (float32, read by that node only) are quantized; all else
is unchanged. The output is standard ONNX that ONNX Runtime also runs:

  int8   QDQ weight-only: an int8 (--symmetric) or uint8 (zero point)
         initializer, one scale per output channel, and DequantizeLinear
         (opset 13, axis = the output-channel axis) feeding the MatMul/Gemm
  int4   com.microsoft MatMulNBits (bits 4): one scale (and with zero
         points, unless --symmetric) per block of --block-size values along K;
         each scale is rounded to the nearest float16 value before the codes
         are chosen (still stored as float32), so this engine can hold the
         scale rows as float16, half the bytes, with the same weights

  --weights F      int8 or int4 (required)
  --block-size N   int4 block along K, a power of two from 16 to 256 (default 32)
  --symmetric      zero point 0 (int8) or 8 (int4) and scale max|w| / 127 (or
                   / 7); default: asymmetric, scale (max - min) / 255 (or / 15)
                   over the range widened to include 0, rounding half to even
  --inputs-dir D   input sets as for a run (D/test_data_set_*/input_N.pb or
                   D/<input name>.npy|.bin); repeatable
  --threads N, --max-memory B, --single-copy   for the comparison runs
  -h, --help       this text

Prints per weight its name, shape, format, bytes before and after (codes,
scales and zero points) and max |w - dequantized w|. With --inputs-dir it
then runs MODEL.onnx and the quantized model through this engine on every
set and prints the largest |quantized - original| over all float outputs,
with the largest |original| beside it: the accuracy cost of quantizing.
When this engine cannot run the quantized operators, it runs instead the
dequantized float32 copy (every quantized weight replaced by its
dequantized values: the same arithmetic), and says so.

Exit codes as for a run: 1 usage or OUT not writable, 2 the model cannot be
read or has no weight to quantize, 3 an input set is unusable, 4 internal.
)";
}

bool parse_quantize_args(int argc, const char *const *argv, QuantizeArgs *out, std::string *error) {
  QuantizeArgs a;
  ArgReader r(argc, argv, error);
  while (r.next()) {
    const std::string &name = r.name();
    bool ok = true;
    std::string v;
    if (name == "-h" || name == "--help") {
      ok = r.no_value();
      a.help = true;
    } else if (name == "--weights") {
      ok = r.value(&v);
      if (ok && v != "int8" && v != "int4") {
        *error = "--weights must be int8 or int4, got '" + v + "'";
        return false;
      }
      a.weights_given = true;
      a.quantize.format = v == "int4" ? WeightFormat::kInt4 : WeightFormat::kInt8;
    } else if (name == "--block-size") {
      long n = 0;
      ok = r.count(1, 1 << 20, &n);
      if (ok && !block_size_error(int(n)).empty()) {
        *error = block_size_error(int(n));
        return false;
      }
      a.quantize.block_size = int(n);
    } else if (name == "--symmetric") {
      ok = r.no_value();
      a.quantize.symmetric = true;
    } else if (name == "--inputs-dir") {
      ok = r.path(&v);
      a.inputs_dirs.push_back(v);
    } else if (read_session_option(r, &a.session, &ok)) {
      // --threads, --max-memory, --single-copy: read into a.session
    } else {
      ok = r.unknown("quantize --help");
    }
    if (!ok) return false;
  }
  if (a.help) {
    *out = std::move(a);
    return true;
  }
  const std::vector<std::string> &positional = r.positional();
  if (positional.size() != 2) {
    *error = "quantize needs MODEL.onnx and OUT.onnx (see quantize --help)";
    return false;
  }
  if (!a.weights_given) {
    *error = "quantize needs --weights int8 or int4 (see quantize --help)";
    return false;
  }
  a.model = positional[0];
  a.out = positional[1];
  *out = std::move(a);
  return true;
}

int quantize_main(int argc, char **argv) {
  QuantizeArgs a;
  std::string error;
  if (!parse_quantize_args(argc, argv, &a, &error)) return fail_quantize(kExitUsage, error);
  if (a.help) {
    out(quantize_usage_text());
    return kExitOk;
  }
  QuantizedModel q;
  Status s = quantize_model_file(a.model, a.quantize, &q);
  if (!s.is_ok()) return fail_quantize(load_exit_code(s), s.message());
  s = write_file_atomic(a.out, q.quantized);
  if (!s.is_ok()) return fail_quantize(kExitUsage, s.message());
  out("model: " + a.model + " -> " + a.out + " (" + std::to_string(q.quantized.size()) +
      " bytes)\n" + weights_table(q));
  std::fflush(stdout);
  if (a.inputs_dirs.empty()) return kExitOk;
  return report_output_change(a, q);
}

}  // namespace si::cli
