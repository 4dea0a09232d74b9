#include "tools/analyze_command.h"

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "engine/analysis.h"
#include "importers/onnx/onnx_importer.h"
#include "tools/analyze_report.h"
#include "tools/cli_options.h"
#include "tools/input_sets.h"
#include "tools/tensor_io.h"

extern char **environ;

namespace si::cli {

namespace {

// Every failure of the subcommand, one line: "sparse-infer: error: analyze: ...".
int fail_analyze(int code, const std::string &message) {
  return fail(code, "analyze: " + message);
}

bool file_exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The plot script: beside the binary in a build tree (tools/CMakeLists.txt
// copies it there), in <prefix>/share/sparse-infer once installed.
std::string plot_script() {
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "";
  std::string dir(exe, size_t(n));
  dir = dir.substr(0, dir.rfind('/'));
  for (const std::string &p :
       {dir + "/plot_analyze.py", dir + "/../share/sparse-infer/plot_analyze.py"})
    if (file_exists(p)) return p;
  return "";
}

// Runs /usr/bin/python3 SCRIPT JSON PNG; "" on success, else what went wrong.
std::string draw_plot(const std::string &json_path, const std::string &png) {
  const std::string script = plot_script();
  if (script.empty())
    return "plot_analyze.py not found beside sparse-infer or in ../share/sparse-infer";
  std::vector<std::string> args = {"/usr/bin/python3", script, json_path, png};
  std::vector<char *> argv;
  for (std::string &a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  if (rc != 0) return std::string("cannot run /usr/bin/python3: ") + std::strerror(rc);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  return script + " failed (its message is above)";
}

std::string header(const AnalyzeArgs &a, size_t sets, int threads) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "input sets: %zu, threads: %d; latency: p50 of %ld calls of each session (auto and "
                "--dense, interleaved) after %ld warm-up calls each\n",
                sets, threads, a.iters, a.warmup);
  return "model: " + a.model + "\n" + buf;
}

}  // namespace

const char *analyze_usage_text() {
  return R"(usage: sparse-infer analyze MODEL.onnx [INPUT ...] [options]

Is activation sparsity worth it for this model, on these inputs? Runs the
model in one process through two sessions, auto (sparse where it pays) and
--dense, and prints per activation its share of exact zeros, min and max; per
MatMul/Gemm/Conv/ConvTranspose its MACs per call, the share of those MACs
whose activation operand is exactly zero, the path auto took (sparse, dense,
mixed, or "not eligible" and why) and its time in both sessions; then the
share of all MACs reading zeros and on the sparse path, both latencies, the
speedup and a one-sentence verdict. Nodes keep the model's own names, also
where a pass fused them (a Relu into its Gemm or Conv).

  INPUT            PATH or NAME=PATH (.bin, .npy, .pb), as for a run: one input set
  --inputs-dir D   input sets from D/test_data_set_*/input_N.pb, or one set
                   from D/<input name>.npy or .bin
  --threads N      intra-op threads of both sessions (default 0: all cores)
  --iters N        timed calls of each session (default 20), interleaved,
                   then as many profiled calls of each for the layer times
  --warmup N       calls of each session before those (default 3)
  --max-memory B, --single-copy   as for a run, for both sessions
  --json FILE      also write the report as JSON (full node names)
  --plot FILE.png  draw zero fraction and time share per layer (Debian's
                   python3-matplotlib, through /usr/bin/python3)
  -h, --help       this text

Zero fractions are exact zeros counted in a separate call per input set, so
the timed calls carry no counting. Exit codes as for a run.
)";
}

bool parse_analyze_args(int argc, const char *const *argv, AnalyzeArgs *out, std::string *error) {
  AnalyzeArgs a;
  ArgReader r(argc, argv, error);
  while (r.next()) {
    const std::string &name = r.name();
    bool ok = true;
    if (name == "-h" || name == "--help") {
      ok = r.no_value();
      a.help = true;
    } else if (name == "--inputs-dir") {
      ok = r.value(&a.inputs_dir);
    } else if (read_session_option(r, &a.session, &ok)) {
      // --threads, --max-memory, --single-copy: read into a.session
    } else if (name == "--iters") {
      ok = r.count(1, 1000000, &a.iters);
    } else if (name == "--warmup") {
      ok = r.count(0, 1000000, &a.warmup);
    } else if (name == "--json") {
      ok = r.path(&a.json);
    } else if (name == "--plot") {
      ok = r.path(&a.plot);
    } else {
      ok = r.unknown("analyze --help");
    }
    if (!ok) return false;
  }
  const std::vector<std::string> &positional = r.positional();
  if (a.help) {
    *out = std::move(a);
    return true;
  }
  if (!model_and_inputs(positional, a.inputs_dir, "analyze --help", &a.model, &a.inputs, error))
    return false;
  *out = std::move(a);
  return true;
}

int analyze_main(int argc, char **argv) {
  AnalyzeArgs a;
  std::string error;
  if (!parse_analyze_args(argc, argv, &a, &error)) return fail_analyze(kExitUsage, error);
  if (a.help) {
    std::fputs(analyze_usage_text(), stdout);
    return kExitOk;
  }
  Graph graph;
  Status s = import_onnx_file(a.model, a.session, &graph);
  if (!s.is_ok()) return fail_analyze(load_exit_code(s), load_failure_message(a.model, s));
  std::vector<ValueInfo> inputs;
  for (int v : graph.inputs) inputs.push_back(graph.values[size_t(v)]);
  std::vector<InputSet> sets;
  if (!a.inputs_dir.empty()) {
    s = load_inputs_dir(a.inputs_dir, inputs, &sets);
  } else {
    std::vector<std::string> paths;
    if (int code = assign_inputs(a.inputs, inputs, &paths, &error))
      return fail_analyze(code, error);
    sets.emplace_back();
    s = load_input_set(paths, inputs, &sets.back());
  }
  if (!s.is_ok()) return fail_analyze(kExitInput, s.message());
  std::vector<std::vector<Tensor>> feeds;
  for (InputSet &set : sets) feeds.push_back(std::move(set.tensors));

  AnalyzeOptions how;
  how.iters = size_t(a.iters);
  how.warmup = size_t(a.warmup);
  AnalysisReport report;
  s = analyze_model(graph, a.session, feeds, how, &report);
  if (!s.is_ok()) return fail_analyze(run_exit_code(s), a.model + ": " + s.message());
  const std::string text = analysis_text(report, header(a, feeds.size(), report.threads));
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  std::string json_path = a.json;
  if (json_path.empty() && !a.plot.empty()) json_path = a.plot + ".json";
  if (!json_path.empty()) {
    s = write_file_atomic(json_path, analysis_json(report));
    if (!s.is_ok())
      return fail_analyze(kExitUsage, (a.json.empty() ? "--plot: " : "--json: ") + s.message());
  }
  if (!a.plot.empty()) {
    const std::string plot_error = draw_plot(json_path, a.plot);
    if (a.json.empty()) ::unlink(json_path.c_str());
    if (!plot_error.empty()) return fail_analyze(kExitUsage, "--plot: " + plot_error);
    std::printf("plot: %s\n", a.plot.c_str());
  }
  return kExitOk;
}

}  // namespace si::cli
