// sparse-infer: run an ONNX model from the command line (see usage_text()).
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/options.h"
#include "engine/profile_summary.h"
#include "engine/session.h"
#include "importers/onnx/onnx_importer.h"
#include "tools/analyze_command.h"
#include "tools/bench_stats.h"
#include "tools/carry.h"
#include "tools/cli_options.h"
#include "tools/input_sets.h"
#include "tools/output_writer.h"
#include "tools/profile_report.h"
#include "tools/quantize_command.h"
#include "tools/tensor_io.h"
#ifdef SI_WITH_SERVE
#include "serve/serve_command.h"
#endif

namespace si::cli {
namespace {

using Clock = std::chrono::steady_clock;

void out(const std::string &text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

double micros_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

bool is_directory(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string indent(const std::string &text) {
  std::string s = "  ";
  for (size_t i = 0; i < text.size(); ++i) {
    s += text[i];
    if (text[i] == '\n' && i + 1 < text.size()) s += "  ";
  }
  return s;
}

// What the session holds for weights against what the model brought.
std::string weight_memory_line(const Session &session) {
  const double model = double(session.model_constant_bytes()),
               held = double(session.weight_bytes());
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "weight memory: %.1f MiB held (%.1f MiB constants + %.1f MiB packed) for %.1f MiB "
                "of model constants: %.2fx\n",
                held / 1048576.0, double(session.constant_bytes()) / 1048576.0,
                (held - double(session.constant_bytes())) / 1048576.0, model / 1048576.0,
                model > 0 ? held / model : 0.0);
  return buf;
}

std::string interface_text(const std::string &model, const std::vector<ValueInfo> &inputs,
                           const std::vector<ValueInfo> &outputs) {
  std::string s = "model: " + model + "\ninputs:\n";
  for (const ValueInfo &v : inputs) s += "  " + v.name + ": " + value_info_str(v) + "\n";
  s += "outputs:\n";
  for (const ValueInfo &v : outputs) s += "  " + v.name + ": " + value_info_str(v) + "\n";
  return s;
}

// "ops <when> (N nodes):" and one line per op type.
std::string histogram_text(const std::string &when, const std::map<std::string, int> &ops) {
  int nodes = 0;
  for (const auto &kv : ops) nodes += kv.second;
  std::string s = "ops " + when + " (" + std::to_string(nodes) + " nodes):\n";
  for (const auto &kv : ops) s += "  " + kv.first + ": " + std::to_string(kv.second) + "\n";
  return s;
}

void print_info(const std::string &model, const Session &session) {
  std::string s = interface_text(model, session.inputs(), session.outputs());
  char kib[32];
  std::snprintf(kib, sizeof kib, "%.1f", static_cast<double>(session.constant_bytes()) / 1024.0);
  s += "constant bytes: " + std::to_string(session.constant_bytes()) + " (" + kib + " KiB)\n";
  s += weight_memory_line(session);
  const std::map<std::string, int> plans = session.dense_plans();
  if (!plans.empty()) {
    s += "dense matmul path by batch size M (bench/dense_matmul_bench --sweep):\n";
    for (const auto &kv : plans) {
      s += "  " + kv.first + ": " + std::to_string(kv.second) +
           (kv.second == 1 ? " layer\n" : " layers\n");
    }
  }
  s += histogram_text("after optimisation", session.op_histogram());
  out(s);
}

// --info. A model that imports but cannot run (unsupported operators, say)
// still shows its interface and its ops as imported, then what is missing,
// and fails as loading it would.
int run_info(const Options &o) {
  Graph graph;
  Status s = import_onnx_file(o.model, o.session, &graph);
  if (!s.is_ok()) return fail(load_exit_code(s), load_failure_message(o.model, s));
  std::vector<ValueInfo> inputs, outputs;
  for (int v : graph.inputs) inputs.push_back(graph.values[size_t(v)]);
  for (int v : graph.outputs) outputs.push_back(graph.values[size_t(v)]);
  const std::map<std::string, int> ops = graph.op_histogram();
  const std::vector<std::string> missing = unsupported_operators(graph);
  std::unique_ptr<Session> session;
  s = Session::create(std::move(graph), o.session, &session);
  if (s.is_ok()) {
    print_info(o.model, *session);
    return kExitOk;
  }
  std::string text = interface_text(o.model, inputs, outputs) + histogram_text("as imported", ops);
  if (!missing.empty()) {
    text += "unsupported operators (" + std::to_string(missing.size()) + "):\n";
    for (const std::string &m : missing) text += "  " + m + "\n";
  }
  out(text);
  std::fflush(stdout);  // before the error line on a shared terminal
  return fail(load_exit_code(s), load_failure_message(o.model, s));
}

int run_failure(const Options &o, const InputSet &set, const Status &s) {
  return fail(run_exit_code(s),
              "running " + (set.label.empty() ? o.model : set.label) + ": " + s.message());
}

// One untimed run per input set that counts zeros, for the profile's
// activation column.
int count_zeros(const Options &o, const Session &session, const std::vector<InputSet> &sets,
                ProfileReport *report) {
  std::vector<Tensor> outputs;
  for (const InputSet &set : sets) {
    RunProfile counted;
    counted.value_stats = true;
    Status s = session.run(set.tensors, &outputs, &counted);
    if (!s.is_ok()) return run_failure(o, set, s);
    report->add_counted(counted);
  }
  report->set_session(&session);
  return kExitOk;
}

// --profile prints the table (and without --bench, --json writes it),
// --trace writes the Chrome trace.
int emit_profile(const Options &o, const Session &session, const ProfileReport &report) {
  if (o.profile) out(report.table() + weight_memory_line(session));
  if (o.profile && !o.bench && !o.json.empty()) {
    Status s = write_file_atomic(o.json, report.json());
    if (!s.is_ok()) return fail(kExitUsage, "--json: " + s.message());
  }
  if (!o.trace.empty()) {
    Status s = write_file_atomic(o.trace, report.chrome_trace());
    if (!s.is_ok()) return fail(kExitUsage, "--trace: " + s.message());
  }
  return kExitOk;
}

// --profile / --trace without --bench: the profiled calls come after
// kDefaultProfileWarmupRuns calls (the runs that printed the outputs count),
// kDefaultProfileRuns of them and at least one per input set, cycling through
// the sets.

int run_profile(const Options &o, const Session &session, const std::vector<InputSet> &sets) {
  std::vector<Tensor> outputs;
  size_t warmup = sets.size();
  for (; warmup < kDefaultProfileWarmupRuns; ++warmup) {
    const InputSet &set = sets[warmup % sets.size()];
    Status s = session.run(set.tensors, &outputs);
    if (!s.is_ok()) return run_failure(o, set, s);
  }
  ProfileReport report;
  if (o.profile)
    if (int code = count_zeros(o, session, sets, &report)) return code;
  RunProfile profile;
  for (size_t i = 0; i < std::max(kDefaultProfileRuns, sets.size()); ++i) {
    const InputSet &set = sets[i % sets.size()];
    Status s = session.run(set.tensors, &outputs, &profile);
    if (!s.is_ok()) return run_failure(o, set, s);
    report.add(profile);
  }
  report.set_warmup_runs(long(warmup));
  return emit_profile(o, session, report);
}

int run_bench(const Options &o, const Session &session, double load_ms,
              const std::vector<InputSet> &sets) {
  std::vector<Tensor> outputs;
  size_t k = 0;
  ProfileReport report;
  RunProfile profile;
  const bool profiling = o.profile || !o.trace.empty();
  auto run_one = [&](double *us) -> int {
    const InputSet &set = sets[k++ % sets.size()];
    // Only timed runs are profiled, and their latency includes the profiling.
    RunProfile *p = profiling && us != nullptr ? &profile : nullptr;
    Clock::time_point start = Clock::now();
    Status s = session.run(set.tensors, &outputs, p);
    if (us) *us = micros_since(start);
    if (p != nullptr && s.is_ok()) report.add(profile);
    if (s.is_ok()) return kExitOk;
    return run_failure(o, set, s);
  };
  BenchReport r;
  r.load_ms = load_ms;
  r.warmup = o.warmup;
  r.threads = session.options().threads;
  r.mode = exec_mode_name(session.options().mode);
  if (int code = run_one(&r.first_run_us)) return code;
  report = ProfileReport();  // the first run pays one-time costs: keep it out
  for (long i = 0; i < o.warmup; ++i) {
    if (int code = run_one(nullptr)) return code;
  }
  if (o.profile)
    if (int code = count_zeros(o, session, sets, &report)) return code;
  std::vector<double> samples(static_cast<size_t>(o.iters));
  for (double &us : samples) {
    if (int code = run_one(&us)) return code;
  }
  report.set_warmup_runs(1 + o.warmup);
  r.latency = compute_latency_stats(samples);
  r.samples_us = std::move(samples);
  if (!o.json.empty()) {
    Status s = write_file_atomic(o.json, bench_json(r));
    if (!s.is_ok()) return fail(kExitUsage, "--json: " + s.message());
  }
  char buf[512];  // numbers only: the model path is printed apart, whatever its length
  const LatencyStats &l = r.latency;
  std::snprintf(buf, sizeof buf,
                "threads: %d, mode: %s, input sets: %zu\nload: %.3f ms\n"
                "first run: %.1f us\nwarmup: %ld runs, timed: %ld runs\n"
                "latency us: min %.1f  mean %.1f  p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n",
                r.threads, r.mode.c_str(), sets.size(), r.load_ms, r.first_run_us, r.warmup,
                l.iters, l.min, l.mean, l.p50, l.p90, l.p99, l.max);
  if (int code = emit_profile(o, session, report)) return code;
  const std::string memory = o.profile ? "" : weight_memory_line(session);
  out("model: " + o.model + "\n" + buf + memory + latency_line(l) + "\n");
  return kExitOk;
}

// Prints the outputs, or writes them under -o: into a folder (a subfolder per
// labelled input set when there are several), or into the one file named.
int emit_outputs(const Options &o, const Session &session, const InputSet &set, bool several,
                 const std::vector<Tensor> &outputs) {
  if (o.output.empty()) {
    std::string text;
    for (size_t i = 0; i < outputs.size(); ++i) {
      text += describe_output(session.outputs()[i].name, outputs[i]);
    }
    out(several ? set.label + ":\n" + indent(text) : text);
    return kExitOk;
  }
  std::vector<std::string> written;
  Status s;
  if (o.output.back() == '/' || is_directory(o.output)) {
    std::string dir = several ? o.output + "/" + escape_file_name(set.label) : o.output;
    s = write_outputs_to_dir(dir, session.outputs(), outputs, &written);
  } else {
    s = write_tensor_file(o.output, outputs[0], session.outputs()[0].name);
    written.push_back(o.output);
  }
  if (!s.is_ok()) return fail(kExitUsage, "writing outputs: " + s.message());
  std::string text;
  for (size_t i = 0; i < written.size(); ++i) {
    text += session.outputs()[i].name + " -> " + written[i] + "\n";
  }
  out(text);
  return kExitOk;
}

int run_cli(int argc, char **argv) {
  if (argc > 1 && std::string(argv[1]) == "analyze") return analyze_main(argc - 1, argv + 1);
  if (argc > 1 && std::string(argv[1]) == "quantize") return quantize_main(argc - 1, argv + 1);
  if (argc > 1 && std::string(argv[1]) == "serve") {
#ifdef SI_WITH_SERVE
    return serve::serve_main(argc - 1, argv + 1);
#else
    return fail(
        kExitUsage,
        "serve: this build has no server (needs libcpp-httplib-dev and nlohmann-json3-dev)");
#endif
  }
  Options o;
  std::string error;
  if (!parse_args(argc, argv, &o, &error)) return fail(kExitUsage, error);
  if (o.help) {
    out(usage_text());
    return kExitOk;
  }
  if (o.version) {
    out("sparse-infer " SI_VERSION "\n");
    return kExitOk;
  }
  // A file name with an extension we cannot write is a usage error: catch it
  // before spending time on the model.
  bool output_is_dir = !o.output.empty() && (o.output.back() == '/' || is_directory(o.output));
  TensorFormat format;
  if (!o.output.empty() && !output_is_dir && !tensor_format_from_path(o.output, &format)) {
    return fail(kExitUsage,
                "-o " + o.output + ": not a directory and no .bin, .npy or .pb extension");
  }

  if (o.info) return run_info(o);

  Clock::time_point load_start = Clock::now();
  std::unique_ptr<Session> session;
  Status s = load_session_file(o.model, o.session, &session);
  double load_ms = micros_since(load_start) / 1000.0;
  if (s.is_ok()) s = require_tensor_interface(session->inputs(), session->outputs(), "the CLI");
  if (!s.is_ok()) return fail(load_exit_code(s), load_failure_message(o.model, s));

  if (!o.output.empty() && !output_is_dir && session->outputs().size() != 1) {
    return fail(kExitUsage, "-o " + o.output + " names one file, but the model has " +
                                std::to_string(session->outputs().size()) +
                                " outputs; give a directory (ending in /) instead");
  }

  std::vector<Carry> carries(o.carry.size());
  for (size_t i = 0; i < o.carry.size(); ++i) {
    if (!parse_carry(o.carry[i], &carries[i], &error)) return fail(kExitUsage, error);
  }
  s = resolve_carries(session->inputs(), session->outputs(), &carries);
  if (!s.is_ok()) return fail(kExitUsage, s.message());

  std::vector<InputSet> sets;
  if (!o.inputs_dir.empty()) {
    const std::vector<bool> carried = carried_inputs(carries, session->inputs().size());
    s = load_inputs_dir(o.inputs_dir, session->inputs(), &sets, &carried);
  } else {
    std::vector<std::string> paths;
    if (int code = assign_inputs(o.inputs, session->inputs(), &paths, &error)) {
      return fail(code, error);
    }
    sets.emplace_back();
    s = load_input_set(paths, session->inputs(), &sets.back());
  }
  if (!s.is_ok()) return fail(kExitInput, s.message());

  if (o.bench) return run_bench(o, *session, load_ms, sets);

  if (!o.output.empty() && !output_is_dir && sets.size() != 1) {
    return fail(kExitUsage, "-o " + o.output + " names one file, but there are " +
                                std::to_string(sets.size()) +
                                " input sets; give a directory (ending in /) instead");
  }
  std::vector<Tensor> outputs;
  for (size_t i = 0; i < sets.size(); ++i) {
    InputSet &set = sets[i];
    if (i > 0 && !carries.empty()) {
      s = apply_carries(carries, session->inputs(), session->outputs(), sets[i - 1].tensors,
                        outputs, set.label, &set.tensors);
      if (!s.is_ok()) return fail(kExitInput, s.message());
    }
    s = session->run(set.tensors, &outputs);
    if (!s.is_ok()) return run_failure(o, set, s);
    if (int code = emit_outputs(o, *session, set, sets.size() > 1, outputs)) return code;
  }
  if (o.profile || !o.trace.empty()) return run_profile(o, *session, sets);
  return kExitOk;
}

}  // namespace
}  // namespace si::cli

int main(int argc, char **argv) {
  try {
    return si::cli::run_cli(argc, argv);
  } catch (const std::exception &e) {
    return si::cli::fail(si::cli::kExitInternal, std::string("internal error: ") + e.what());
  } catch (...) {
    return si::cli::fail(si::cli::kExitInternal, "internal error: unknown exception");
  }
}
