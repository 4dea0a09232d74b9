// Runs ONNX backend test cases (model.onnx + test_data_set_*/input_N.pb,
// output_N.pb) and compares with the expected outputs.
//
//   si_conformance [--mode auto|dense|sparse] [--skip-list FILE] CASE_DIR...
//                                                       one line per case; exit 0 all pass,
//                                                       77 all skipped, 1 otherwise
//   si_conformance --summary DATA_ROOT                 per-folder table of every case
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "importers/onnx/onnx_importer.h"

namespace fs = std::filesystem;

namespace {

constexpr double kRtol = 1e-4;
constexpr double kAtol = 1e-5;
constexpr int kSkipExit = 77;

enum class Outcome { kPassed, kFailed, kUnsupported };

struct Result {
  Outcome outcome;
  std::string detail;
};

// A TensorProto, or a SequenceProto when the model declares a sequence there.
si::Status read_pb(const fs::path &path, const si::ValueInfo *info, si::Tensor *t) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return si::io_error("cannot open " + path.string());
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (info != nullptr && info->sequence)
    return si::parse_sequence_proto(bytes.data(), bytes.size(), info->dtype, t, nullptr);
  return si::parse_tensor_proto(bytes.data(), bytes.size(), t, nullptr);
}

template <typename T>
double as_double(const si::Tensor &t, int64_t i) {
  return static_cast<double>(t.data<T>()[i]);
}

double element(const si::Tensor &t, int64_t i) {
  switch (t.dtype()) {
    case si::DType::kFloat32:
      return as_double<float>(t, i);
    case si::DType::kInt64:
      return as_double<int64_t>(t, i);
    case si::DType::kInt32:
      return as_double<int32_t>(t, i);
    case si::DType::kInt8:
      return as_double<int8_t>(t, i);
    case si::DType::kUint8:
    case si::DType::kBool:
      return as_double<uint8_t>(t, i);
    case si::DType::kUndefined:
      break;
  }
  return NAN;
}

// Empty string when equal within tolerance, else what differs.
std::string compare(const si::Tensor &got, const si::Tensor &want) {
  if (got.is_sequence() != want.is_sequence())
    return got.is_sequence() ? "got a sequence, expected a tensor"
                             : "got a tensor, expected a sequence";
  if (want.is_sequence()) {
    const std::vector<si::Tensor> &g = got.elements(), &w = want.elements();
    if (got.element_dtype() != want.element_dtype()) {
      return std::string("sequence of ") + si::dtype_name(got.element_dtype()) +
             " != expected sequence of " + si::dtype_name(want.element_dtype());
    }
    if (g.size() != w.size()) {
      return "sequence of " + std::to_string(g.size()) + " tensors != expected " +
             std::to_string(w.size());
    }
    for (size_t k = 0; k < w.size(); ++k) {
      std::string diff = compare(g[k], w[k]);
      if (!diff.empty()) return "sequence element " + std::to_string(k) + ": " + diff;
    }
    return "";
  }
  if (got.dtype() != want.dtype()) {
    return std::string("dtype ") + si::dtype_name(got.dtype()) + " != expected " +
           si::dtype_name(want.dtype());
  }
  if (got.shape() != want.shape()) {
    return "shape " + si::shape_str(got.shape()) + " != expected " + si::shape_str(want.shape());
  }
  bool exact = want.dtype() != si::DType::kFloat32;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = element(got, i), w = element(want, i);
    if (std::isnan(w) && std::isnan(g)) continue;
    bool ok = exact ? g == w : (g == w || std::fabs(g - w) <= kAtol + kRtol * std::fabs(w));
    if (!ok) {
      return "element " + std::to_string(i) + ": got " + std::to_string(g) + ", expected " +
             std::to_string(w);
    }
  }
  return "";
}

std::vector<fs::path> sorted_entries(const fs::path &dir, const std::string &prefix) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// `infos`: the model's inputs or outputs, saying which files hold sequences.
std::vector<si::Tensor> read_numbered(const fs::path &set, const std::string &stem,
                                      const std::vector<si::ValueInfo> &infos, si::Status *s) {
  std::vector<si::Tensor> tensors;
  for (int i = 0;; ++i) {
    fs::path p = set / (stem + "_" + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    si::Tensor t;
    *s = read_pb(p, size_t(i) < infos.size() ? &infos[size_t(i)] : nullptr, &t);
    if (!s->is_ok()) break;
    tensors.push_back(t);
  }
  return tensors;
}

Result run_case(const fs::path &dir, const si::SessionOptions &options) {
  std::unique_ptr<si::Session> session;
  si::Status s = si::load_session_file((dir / "model.onnx").string(), options, &session);
  if (!s.is_ok()) {
    bool unsupported = s.code() == si::StatusCode::kUnsupported;
    return {unsupported ? Outcome::kUnsupported : Outcome::kFailed, s.message()};
  }
  std::vector<fs::path> sets = sorted_entries(dir, "test_data_set_");
  if (sets.empty()) return {Outcome::kFailed, "no test_data_set_* folder"};
  for (const fs::path &set : sets) {
    std::vector<si::Tensor> inputs = read_numbered(set, "input", session->inputs(), &s);
    if (!s.is_ok()) return {Outcome::kUnsupported, s.message()};
    std::vector<si::Tensor> expected = read_numbered(set, "output", session->outputs(), &s);
    if (!s.is_ok()) return {Outcome::kUnsupported, s.message()};
    std::vector<si::Tensor> outputs;
    s = session->run(inputs, &outputs);
    if (!s.is_ok()) {
      bool unsupported = s.code() == si::StatusCode::kUnsupported;
      return {unsupported ? Outcome::kUnsupported : Outcome::kFailed,
              set.filename().string() + ": " + s.message()};
    }
    if (outputs.size() < expected.size()) return {Outcome::kFailed, "too few outputs"};
    for (size_t i = 0; i < expected.size(); ++i) {
      std::string diff = compare(outputs[i], expected[i]);
      if (!diff.empty()) {
        return {Outcome::kFailed,
                set.filename().string() + " output " + std::to_string(i) + ": " + diff};
      }
    }
  }
  return {Outcome::kPassed, ""};
}

// Skip list lines: `<folder>/<case-pattern>  <reason>`; a pattern may end in '*'.
std::vector<std::pair<std::string, std::string>> read_skip_list(const std::string &path) {
  std::vector<std::pair<std::string, std::string>> rules;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.find_first_of(" \t");
    std::string pattern = line.substr(0, sp);
    std::string reason =
        sp == std::string::npos ? "" : line.substr(line.find_first_not_of(" \t", sp));
    rules.emplace_back(pattern, reason);
  }
  return rules;
}

const std::string *skip_reason(const std::vector<std::pair<std::string, std::string>> &rules,
                               const std::string &id) {
  for (const auto &r : rules) {
    const std::string &p = r.first;
    bool match =
        !p.empty() && p.back() == '*' ? id.rfind(p.substr(0, p.size() - 1), 0) == 0 : id == p;
    if (match) return &r.second;
  }
  return nullptr;
}

std::string case_id(const fs::path &dir) {
  return dir.parent_path().filename().string() + "/" + dir.filename().string();
}

const char *outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kPassed:
      return "passed";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kUnsupported:
      break;
  }
  return "unsupported";
}

int summary(const fs::path &root) {
  std::printf("| folder | passed | failed | unsupported |\n|---|---|---|---|\n");
  int total[3] = {0, 0, 0};
  for (const fs::path &folder : sorted_entries(root, "")) {
    int count[3] = {0, 0, 0};
    for (const fs::path &c : sorted_entries(folder, "test_")) {
      if (!fs::exists(c / "model.onnx")) continue;
      Result r = run_case(c, si::SessionOptions());
      ++count[int(r.outcome)];
      std::fprintf(stderr, "%s %s %s\n", outcome_name(r.outcome), case_id(c).c_str(),
                   r.detail.c_str());
    }
    if (count[0] + count[1] + count[2] == 0) continue;
    std::printf("| %s | %d | %d | %d |\n", folder.filename().c_str(), count[0], count[1], count[2]);
    for (int i = 0; i < 3; ++i) total[i] += count[i];
  }
  std::printf("| total | %d | %d | %d |\n", total[0], total[1], total[2]);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "--summary") return summary(args[1]);
  std::vector<std::pair<std::string, std::string>> skips;
  si::SessionOptions options;
  size_t first = 0;
  while (first + 1 < args.size() && (args[first] == "--skip-list" || args[first] == "--mode")) {
    const std::string &value = args[first + 1];
    if (args[first] == "--skip-list") {
      skips = read_skip_list(value);
    } else if (value == "dense" || value == "sparse" || value == "auto") {
      options.mode = value == "dense"    ? si::ExecMode::kDense
                     : value == "sparse" ? si::ExecMode::kSparse
                                         : si::ExecMode::kAuto;
    } else {
      std::fprintf(stderr, "--mode takes auto, dense or sparse\n");
      return 1;
    }
    first += 2;
  }
  if (first >= args.size()) {
    std::fprintf(
        stderr,
        "usage: si_conformance [--mode M] [--skip-list FILE] CASE_DIR... | --summary ROOT\n");
    return 1;
  }
  int passed = 0, failed = 0, skipped = 0;
  for (size_t i = first; i < args.size(); ++i) {
    fs::path dir(args[i]);
    std::string id = case_id(dir);
    if (const std::string *reason = skip_reason(skips, id)) {
      std::printf("skipped %s: %s\n", id.c_str(), reason->c_str());
      ++skipped;
      continue;
    }
    Result r = run_case(dir, options);
    std::printf("%s %s%s%s\n", outcome_name(r.outcome), id.c_str(), r.detail.empty() ? "" : ": ",
                r.detail.c_str());
    r.outcome == Outcome::kPassed ? ++passed : ++failed;
  }
  if (failed == 0 && passed == 0 && skipped > 0) return kSkipExit;
  return failed == 0 ? 0 : 1;
}
