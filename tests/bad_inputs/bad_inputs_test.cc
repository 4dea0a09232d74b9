// Runs every hostile-input case of cases.tsv (made by make_cases.py, whose
// docstring describes the columns) through the sparse-infer command line and
// through the C API, checking the exit code / si_status and the message.
// First: <sys/wait.h> defines a macro named si_status (a siginfo_t field).
#include "sparse_infer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const std::string kDir = SI_BAD_INPUTS_DIR;

struct Case {
  std::string name, model, inputs, args, capi_inputs, cli_exit, capi_status, fragment;
};

// Test names and failure messages show the case name, not the struct's bytes.
void PrintTo(const Case &c, std::ostream *os) {
  *os << c.name;
}

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

std::vector<std::string> words(const std::string &s) {
  std::vector<std::string> out;
  if (s == "-") return out;
  for (const std::string &w : split(s, ' '))
    if (!w.empty()) out.push_back(w);
  return out;
}

std::vector<Case> load_cases() {
  std::vector<Case> cases;
  std::ifstream in(kDir + "/cases.tsv");
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> f = split(line, '\t');
    if (f.size() != 8) {
      cases.push_back(Case{"malformed_manifest_line", line, "", "", "", "", "", ""});
      continue;
    }
    cases.push_back(Case{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]});
  }
  return cases;
}

// The fragment for the CLI (side 0) or the C API (side 1); empty: none.
std::string fragment_for(const Case &c, int side) {
  std::string f = c.fragment;
  size_t bar = f.find(" | ");
  if (bar != std::string::npos) f = side == 0 ? f.substr(0, bar) : f.substr(bar + 3);
  return f == "-" ? std::string() : f;
}

// "1M" -> 1048576; false if not a plain size.
bool parse_bytes(const std::string &s, uint64_t *out) {
  if (s.empty()) return false;
  uint64_t scale = 1;
  std::string digits = s;
  switch (s.back()) {
    case 'K':
      scale = 1 << 10;
      break;
    case 'M':
      scale = 1 << 20;
      break;
    case 'G':
      scale = 1 << 30;
      break;
  }
  if (scale != 1) digits.pop_back();
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  *out = std::stoull(digits) * scale;
  return true;
}

struct CliResult {
  int exit_code = -1;
  std::string stderr_text;
};

CliResult run_cli(const Case &c) {
  std::vector<std::string> argv{SI_CLI_PATH, c.model};
  for (const std::string &w : words(c.inputs)) argv.push_back(w);
  for (const std::string &w : words(c.args)) argv.push_back(w);
  const std::string err_path = ::testing::TempDir() + "bad_inputs_" + c.name + ".stderr";
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir((kDir + "/cases/" + c.name).c_str()) != 0) _exit(127);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = open("/dev/null", O_WRONLY);
    if (err < 0 || null < 0) _exit(127);
    dup2(err, 2);
    dup2(null, 1);
    std::vector<char *> args;
    for (std::string &a : argv) args.push_back(&a[0]);
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  CliResult r;
  int status = 0;
  if (pid > 0 && waitpid(pid, &status, 0) == pid) {
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  {
    std::ifstream in(err_path);
    r.stderr_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::remove(err_path.c_str());
  return r;
}

size_t esize(int32_t dtype) {
  switch (dtype) {
    case SI_FLOAT32:
    case SI_INT32:
      return 4;
    case SI_INT64:
      return 8;
    default:
      return 1;
  }
}

// The C API inputs of one case; buffers live as long as this object.
struct CapiInputs {
  std::vector<si_tensor> tensors;
  std::vector<std::vector<uint64_t>> buffers;

  // One DTYPE[DIMS]@SOURCE token, see make_cases.py.
  bool add(const std::string &token, const std::string &case_dir, std::string *error) {
    const size_t lb = token.find('['), rb = token.find(']'), at = token.find('@');
    if (lb == std::string::npos || rb == std::string::npos || at != rb + 1) {
      *error = "bad capi input token " + token;
      return false;
    }
    const std::string dt = token.substr(0, lb), source = token.substr(at + 1);
    static const std::pair<const char *, int32_t> kTypes[] = {
        {"f32", SI_FLOAT32}, {"u8", SI_UINT8},  {"i8", SI_INT8},
        {"i32", SI_INT32},   {"i64", SI_INT64}, {"bool", SI_BOOL}};
    int32_t dtype = -1;
    for (const auto &t : kTypes)
      if (dt == t.first) dtype = t.second;
    if (dt.compare(0, 2, "dt") == 0) dtype = std::stoi(dt.substr(2));
    if (dtype < 0) {
      *error = "bad dtype in " + token;
      return false;
    }
    si_tensor t;
    std::memset(&t, 0, sizeof t);
    std::memcpy(&t.dtype, &dtype, sizeof dtype);  // may be outside si_dtype on purpose
    std::vector<std::string> dims = split(token.substr(lb + 1, rb - lb - 1), ',');
    t.rank = int32_t(dims.size());
    // Saturating product: huge and negative dims are the point of some cases.
    uint64_t elems = 1;
    bool huge = false;
    for (size_t i = 0; i < dims.size(); ++i) {
      int64_t d = std::stoll(dims[i]);
      if (i < SI_MAX_RANK) t.dims[i] = d;
      if (d < 0 || (d > 0 && elems > (uint64_t{1} << 32) / uint64_t(d))) huge = true;
      if (!huge) elems *= uint64_t(d);
    }
    uint64_t bytes = huge ? 64 : elems * esize(dtype);
    int64_t delta = 0;
    std::string src = source;
    if (source.compare(0, 5, "zeros") == 0 && source.size() > 5) {
      delta = std::stoll(source.substr(5));
      src = "zeros";
    }
    buffers.emplace_back((bytes + uint64_t(std::max<int64_t>(delta, 0)) + 7) / 8 + 1, 0);
    t.data = buffers.back().data();
    t.size_bytes = size_t(int64_t(bytes) + delta);
    if (src == "null") {
      t.data = nullptr;
    } else if (src != "zeros") {
      std::ifstream in(case_dir + "/" + src, std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        *error = "cannot read " + src;
        return false;
      }
      buffers.back().assign(data.size() / 8 + 1, 0);
      std::memcpy(buffers.back().data(), data.data(), data.size());
      t.data = buffers.back().data();
      t.size_bytes = data.size();
    }
    tensors.push_back(t);
    return true;
  }

  // Zero-filled inputs of the session's declared shapes, dynamic dims 1.
  void add_declared(si_session *s) {
    for (size_t i = 0; i < si_session_input_count(s); ++i) {
      const char *name = nullptr;
      si_tensor t;
      ASSERT_EQ(si_session_input_info(s, i, &name, &t), SI_OK) << si_last_error();
      uint64_t elems = 1;
      for (int32_t d = 0; d < t.rank; ++d) {
        if (t.dims[d] < 0) t.dims[d] = 1;
        elems *= uint64_t(t.dims[d]);
      }
      t.size_bytes = size_t(elems * esize(t.dtype));
      buffers.emplace_back(t.size_bytes / 8 + 1, 0);
      t.data = buffers.back().data();
      tensors.push_back(t);
    }
  }
};

class BadInput : public ::testing::TestWithParam<Case> {};

TEST_P(BadInput, CommandLine) {
  const Case &c = GetParam();
  if (c.cli_exit == "-") GTEST_SKIP() << "no command-line form";
  CliResult r = run_cli(c);
  EXPECT_EQ(std::to_string(r.exit_code), c.cli_exit) << "stderr: " << r.stderr_text;
  const std::string frag = fragment_for(c, 0);
  if (c.cli_exit != "0" && !frag.empty()) {
    EXPECT_NE(r.stderr_text.find(frag), std::string::npos)
        << "stderr lacks \"" << frag << "\": " << r.stderr_text;
  }
  // Failures are one line (the CLI's contract), never a crash report.
  if (c.cli_exit != "0") {
    EXPECT_EQ(r.stderr_text.rfind("sparse-infer: error: ", 0), 0u) << r.stderr_text;
  }
}

TEST_P(BadInput, CApi) {
  const Case &c = GetParam();
  if (c.capi_status == "-") GTEST_SKIP() << "no C API form";
  const std::string dir = kDir + "/cases/" + c.name;
  si_options *opts = nullptr;
  ASSERT_EQ(si_options_create(&opts), SI_OK);
  ASSERT_EQ(si_options_set_threads(opts, 1), SI_OK);
  std::vector<std::string> args = words(c.args);
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    uint64_t bytes = 0;
    if (args[i] == "--max-memory" && parse_bytes(args[i + 1], &bytes)) {
      ASSERT_EQ(si_options_set_max_memory(opts, bytes), SI_OK);
    }
  }
  si_session *s = nullptr;
  int status = si_session_create((dir + "/" + c.model).c_str(), opts, &s);
  si_options_destroy(opts);
  std::string message = si_last_error();
  if (status == SI_OK && c.capi_inputs != "-") {
    CapiInputs in;
    if (c.capi_inputs == "auto") {
      in.add_declared(s);
    } else if (c.capi_inputs != "none") {
      for (const std::string &tok : words(c.capi_inputs)) {
        std::string error;
        ASSERT_TRUE(in.add(tok, dir, &error)) << error;
      }
    }
    std::vector<si_tensor> outputs(si_session_output_count(s));
    for (si_tensor &o : outputs) std::memset(&o, 0, sizeof o);
    status = si_run(s, in.tensors.empty() ? nullptr : in.tensors.data(), in.tensors.size(),
                    outputs.data(), outputs.size());
    message = si_last_error();
    for (si_tensor &o : outputs) si_tensor_free(&o);
  }
  si_session_destroy(s);
  EXPECT_EQ(std::to_string(status), c.capi_status) << "message: " << message;
  const std::string frag = fragment_for(c, 1);
  if (c.capi_status != "0" && !frag.empty()) {
    EXPECT_NE(message.find(frag), std::string::npos)
        << "si_last_error lacks \"" << frag << "\": " << message;
  }
}

// Every case folder is in the manifest and the manifest has enough cases.
TEST(BadInputsManifest, MatchesFolders) {
  std::set<std::string> listed;
  for (const Case &c : load_cases()) {
    EXPECT_NE(c.name, "malformed_manifest_line") << c.model;
    EXPECT_TRUE(listed.insert(c.name).second) << "listed twice: " << c.name;
  }
  for (const fs::directory_entry &e : fs::directory_iterator(kDir + "/cases")) {
    const std::string name = e.path().filename().string();
    if (name == "common") continue;
    EXPECT_EQ(listed.count(name), 1u) << "not in cases.tsv: " << name;
  }
  EXPECT_GE(listed.size(), 50u);
}

std::string test_name(const ::testing::TestParamInfo<Case> &info) {
  std::string n = info.param.name;
  for (char &ch : n)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Cases, BadInput, ::testing::ValuesIn(load_cases()), test_name);

}  // namespace
