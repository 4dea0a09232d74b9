// The sparse-infer program, run as a subprocess on the bundled digits MLP
// (whose expected outputs are PyTorch's, independent of the engine) and on a
// two-input, two-output model built here; plus unit tests of the CLI pieces.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "importers/onnx/onnx_importer.h"
#include "tools/analyze_report.h"
#include "tools/bench_stats.h"
#include "tools/cli_options.h"
#include "tools/input_sets.h"
#include "tools/output_writer.h"
#include "tools/tensor_io.h"

extern char **environ;

namespace si {
namespace {

std::string source_dir() {
  const char *d = std::getenv("SI_SOURCE_DIR");
  return d ? d : SI_SOURCE_DIR_DEFAULT;
}
std::string model_path() {
  return source_dir() + "/models/digits_mlp.onnx";
}
std::string data_path(const std::string &file) {
  return source_dir() + "/models/digits_mlp/" + file;
}

struct Result {
  int code = -1;  // exit status; 128+signal if killed; -1 if it hung
  std::string out, err;
};

std::string slurp(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Result run(const std::vector<std::string> &args) {
  char out_tmpl[] = "/tmp/si_cli_out_XXXXXX", err_tmpl[] = "/tmp/si_cli_err_XXXXXX";
  int out_fd = ::mkstemp(out_tmpl), err_fd = ::mkstemp(err_tmpl);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  std::vector<std::string> full = {SI_CLI_PATH};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (std::string &a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  Result r;
  pid_t pid = 0;
  int rc = posix_spawn(&pid, SI_CLI_PATH, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out_fd);
  ::close(err_fd);
  if (rc == 0) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        status = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (status != -1) r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  } else {
    ADD_FAILURE() << "cannot spawn " << SI_CLI_PATH << ": " << std::strerror(rc);
  }
  r.out = slurp(out_tmpl);
  r.err = slurp(err_tmpl);
  ::unlink(out_tmpl);
  ::unlink(err_tmpl);
  return r;
}

std::string describe(const std::vector<std::string> &args, const Result &r) {
  std::string s = "sparse-infer";
  for (const std::string &a : args) s += " " + a;
  return s + "\nexit " + std::to_string(r.code) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
}

Result expect_ok(const std::vector<std::string> &args) {
  Result r = run(args);
  EXPECT_EQ(r.code, 0) << describe(args, r);
  EXPECT_EQ(r.err, "") << describe(args, r);
  return r;
}

// A failure: the exit code, and exactly one stderr line that starts with the
// program's prefix and contains `fragment`.
void expect_error(const std::vector<std::string> &args, int code, const std::string &fragment) {
  Result r = run(args);
  EXPECT_EQ(r.code, code) << describe(args, r);
  EXPECT_EQ(r.err.rfind("sparse-infer: error: ", 0), 0u) << describe(args, r);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << describe(args, r);
  EXPECT_FALSE(r.err.empty() || r.err.back() != '\n') << describe(args, r);
  EXPECT_NE(r.err.find(fragment), std::string::npos)
      << "expected \"" << fragment << "\" in stderr\n"
      << describe(args, r);
}

std::vector<float> read_floats(const std::string &path) {
  std::string bytes = slurp(path);
  std::vector<float> v(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

std::vector<float> tensor_floats(const Tensor &t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

void expect_near(const std::vector<float> &got, const std::vector<float> &want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << "element " << i;
}

std::vector<int> argmax_rows(const std::vector<float> &logits, size_t classes) {
  std::vector<int> out;
  for (size_t r = 0; r * classes < logits.size(); ++r) {
    size_t best = 0;
    for (size_t c = 1; c < classes; ++c) {
      if (logits[r * classes + c] > logits[r * classes + best]) best = c;
    }
    out.push_back(static_cast<int>(best));
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/si_cli_test_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { remove_tree(path_); }
  const std::string &path() const { return path_; }
  std::string operator/(const std::string &name) const { return path_ + "/" + name; }

  static std::vector<std::string> list(const std::string &dir) {
    std::vector<std::string> out;
    DIR *d = ::opendir(dir.c_str());
    if (!d) return out;
    while (dirent *e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  static void remove_tree(const std::string &p) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
      for (const std::string &n : list(p)) remove_tree(p + "/" + n);
      ::rmdir(p.c_str());
    } else {
      ::unlink(p.c_str());
    }
  }
  std::string path_;
};

void write_bytes(const std::string &path, const std::string &bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

ValueInfo digits_input() {
  ValueInfo v;
  v.name = "input";
  v.dtype = DType::kFloat32;
  v.has_shape = true;
  v.dims = {Dim{-1, "batch"}, Dim{64, ""}};
  return v;
}

// Two inputs x float32 [N,4] and y float32 [3]; outputs "out/x:0" = Relu(x)
// (a name unsafe as a file name) and "b" = Relu(y).
std::string two_io_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  onnx::GraphProto *g = m.mutable_graph();
  g->set_name("two_io");
  auto value = [](onnx::ValueInfoProto *v, const std::string &name, std::vector<int64_t> dims) {
    v->set_name(name);
    onnx::TypeProto_Tensor *t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) {
      onnx::TensorShapeProto_Dimension *dim = t->mutable_shape()->add_dim();
      if (d < 0) {
        dim->set_dim_param("N");
      } else {
        dim->set_dim_value(d);
      }
    }
  };
  value(g->add_input(), "x", {-1, 4});
  value(g->add_input(), "y", {3});
  value(g->add_output(), "out/x:0", {-1, 4});
  value(g->add_output(), "b", {3});
  onnx::NodeProto *n = g->add_node();
  n->set_op_type("Relu");
  n->set_name("relu_x");
  n->add_input("x");
  n->add_output("out/x:0");
  n = g->add_node();
  n->set_op_type("Relu");
  n->set_name("relu_y");
  n->add_input("y");
  n->add_output("b");
  return m.SerializeAsString();
}

void add_value(onnx::ValueInfoProto *v, const std::string &name, int32_t elem_type,
               const std::vector<int64_t> &dims) {
  v->set_name(name);
  onnx::TypeProto_Tensor *t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  onnx::TensorShapeProto *shape = t->mutable_shape();  // a scalar's too
  for (int64_t d : dims) {
    onnx::TensorShapeProto_Dimension *dim = shape->add_dim();
    if (d >= 0) dim->set_dim_value(d);
  }
}

onnx::NodeProto *add_node(onnx::GraphProto *g, const std::string &op,
                          const std::vector<std::string> &inputs, const std::string &output,
                          const std::string &name) {
  onnx::NodeProto *n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const std::string &i : inputs) n->add_input(i);
  n->add_output(output);
  return n;
}

// x float32 [1,4] -> MatMul "mm" with a constant w [5,3]: shapes that
// contradict each other, though any input matching x's declaration is fine.
std::string contradicting_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto *g = m.mutable_graph();
  g->set_name("contradiction");
  add_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {1, 4});
  add_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, -1});
  onnx::TensorProto *w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(5);
  w->add_dims(3);
  w->set_raw_data(std::string(15 * sizeof(float), '\0'));
  add_node(g, "MatMul", {"x", "w"}, "y", "mm");
  return m.SerializeAsString();
}

// x float32 [2] -> SequenceConstruct "make" -> s, a sequence of float32.
std::string sequence_output_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto *g = m.mutable_graph();
  g->set_name("sequence_output");
  add_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {2});
  onnx::ValueInfoProto *s = g->add_output();
  s->set_name("s");
  s->mutable_type()
      ->mutable_sequence_type()
      ->mutable_elem_type()
      ->mutable_tensor_type()
      ->set_elem_type(onnx::TensorProto::FLOAT);
  add_node(g, "SequenceConstruct", {"x"}, "s", "make");
  return m.SerializeAsString();
}

// c bool [], x float32 [1,1,4] -> Relu "pre" -> If "/if_0": then RoiAlign
// "/lstm" (and a Relu), else Identity. The engine has neither If nor
// RoiAlign (the body op was an LSTM until the engine ran LSTM, issue 14).
std::string if_lstm_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(16);
  onnx::GraphProto *g = m.mutable_graph();
  g->set_name("if_lstm");
  add_value(g->add_input(), "c", onnx::TensorProto::BOOL, {});
  add_value(g->add_input(), "x", onnx::TensorProto::FLOAT, {1, 1, 4});
  add_value(g->add_output(), "y", onnx::TensorProto::FLOAT, {-1, -1, -1});
  for (const auto &[name, k] : {std::pair<const char *, int64_t>{"lw", 4}, {"lr", 2}}) {
    onnx::TensorProto *t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : {int64_t{1}, int64_t{8}, k}) t->add_dims(d);
    t->set_raw_data(std::string(size_t(8 * k) * sizeof(float), '\0'));
  }
  add_node(g, "Relu", {"x"}, "xr", "pre");
  onnx::NodeProto *n = add_node(g, "If", {"c"}, "y", "/if_0");
  onnx::AttributeProto *then_a = n->add_attribute();
  then_a->set_name("then_branch");
  then_a->set_type(onnx::AttributeProto::GRAPH);
  onnx::GraphProto *then_g = then_a->mutable_g();
  then_g->set_name("then");
  add_node(then_g, "RoiAlign", {"xr", "lw", "lr"}, "yl", "/lstm");
  add_node(then_g, "Relu", {"xr"}, "unused", "/relu");
  add_value(then_g->add_output(), "yl", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
  onnx::AttributeProto *else_a = n->add_attribute();
  else_a->set_name("else_branch");
  else_a->set_type(onnx::AttributeProto::GRAPH);
  onnx::GraphProto *else_g = else_a->mutable_g();
  else_g->set_name("else");
  add_node(else_g, "Identity", {"xr"}, "yi", "/id");
  add_value(else_g->add_output(), "yi", onnx::TensorProto::FLOAT, {-1, -1, -1});
  return m.SerializeAsString();
}

std::string float_bytes(const std::vector<float> &v) {
  return std::string(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(float));
}

// ---------------------------------------------------------------- digits MLP

TEST(Cli, PrintsThePredictionOfEachSample) {
  for (int k = 0; k < 8; ++k) {
    std::string in = data_path("input_" + std::to_string(k) + ".bin");
    Result r = expect_ok({model_path(), in});
    int want = argmax_rows(read_floats(data_path("expected_" + std::to_string(k) + ".bin")), 10)[0];
    EXPECT_NE(r.out.find("logits: float32 [1,10]"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("prediction: " + std::to_string(want) + "\n"), std::string::npos)
        << "sample " << k << "\n"
        << r.out;
  }
}

TEST(Cli, BatchPrintsOneArgmaxPerRow) {
  Result r = expect_ok({model_path(), data_path("batch_16.bin")});
  std::vector<int> want = argmax_rows(read_floats(data_path("expected_batch_16.bin")), 10);
  ASSERT_EQ(want.size(), 16u);
  std::string list;
  for (size_t i = 0; i < want.size(); ++i) list += (i ? ", " : "") + std::to_string(want[i]);
  EXPECT_NE(r.out.find("logits: float32 [16,10]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("argmax: [" + list + "]\n"), std::string::npos) << r.out;
}

TEST(Cli, NamedInputAndModeOptionsGiveTheSameLogits) {
  TempDir dir;
  std::vector<float> want = read_floats(data_path("expected_batch_16.bin"));
  for (const std::vector<std::string> &extra : {std::vector<std::string>{},
                                                {"--dense"},
                                                {"--sparse"},
                                                {"--threads", "1"},
                                                {"--threads=2", "--sparse"},
                                                {"--single-copy"},
                                                {"--single-copy", "--threads", "2"}}) {
    std::vector<std::string> args = {model_path(), "input=" + data_path("batch_16.bin"), "-o",
                                     dir / "out.bin"};
    args.insert(args.end(), extra.begin(), extra.end());
    expect_ok(args);
    SCOPED_TRACE(describe(args, Result()));
    expect_near(read_floats(dir / "out.bin"), want);
  }
}

TEST(Cli, WritesOutputsToADirectory) {
  TempDir dir;
  std::vector<float> want = read_floats(data_path("expected_3.bin"));
  // An existing folder, with and without the trailing slash.
  for (const std::string &o : {dir.path(), dir.path() + "/"}) {
    Result r = expect_ok({model_path(), data_path("input_3.bin"), "-o", o});
    expect_near(read_floats(dir / "logits.bin"), want);
    EXPECT_EQ(TempDir::list(dir.path()), std::vector<std::string>{"logits.bin"});
    EXPECT_NE(r.out.find("logits.bin"), std::string::npos) << r.out;
  }
  // A new folder (with parents) when the path ends in '/'.
  expect_ok({model_path(), data_path("input_3.bin"), "-o", dir / "new/sub/"});
  expect_near(read_floats(dir / "new/sub/logits.bin"), want);
}

TEST(Cli, WritesOneOutputFileByExtension) {
  TempDir dir;
  for (int k : {0, 5}) {
    std::string k_str = std::to_string(k);
    std::vector<float> want = read_floats(data_path("expected_" + k_str + ".bin"));
    std::string in = data_path("input_" + k_str + ".bin");
    expect_ok({model_path(), in, "-o", dir / "l.bin"});
    expect_near(read_floats(dir / "l.bin"), want);

    expect_ok({model_path(), in, "--output", dir / "l.npy"});
    std::string npy = slurp(dir / "l.npy");
    Tensor t;
    Status s = parse_npy(npy.data(), npy.size(), "l.npy", &t);
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_EQ(t.shape(), (Shape{1, 10}));
    expect_near(tensor_floats(t), want);

    expect_ok({model_path(), in, "--output=" + dir / "l.pb"});
    ValueInfo any;
    any.dtype = DType::kFloat32;
    s = read_input_file(dir / "l.pb", any, &t);
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_EQ(t.shape(), (Shape{1, 10}));
    expect_near(tensor_floats(t), want);
  }
  EXPECT_EQ(TempDir::list(dir.path()), (std::vector<std::string>{"l.bin", "l.npy", "l.pb"}));
}

TEST(Cli, NpyAndPbInputsGiveTheSameLogits) {
  TempDir dir;
  std::string in = data_path("input_2.bin");
  Tensor x;
  ASSERT_TRUE(read_input_file(in, digits_input(), &x).is_ok());
  std::string npy;
  ASSERT_TRUE(encode_npy(x, &npy).is_ok());
  write_bytes(dir / "x.npy", npy);
  std::vector<float> want = read_floats(data_path("expected_2.bin"));
  expect_ok({model_path(), dir / "x.npy", "-o", dir / "a.bin"});
  expect_near(read_floats(dir / "a.bin"), want);
  expect_ok({model_path(), data_path("test_data_set_2/input_0.pb"), "-o", dir / "b.bin"});
  expect_near(read_floats(dir / "b.bin"), want);
}

TEST(Cli, InputsDirRunsEverySetInOrder) {
  Result r = expect_ok({model_path(), "--inputs-dir", source_dir() + "/models/digits_mlp"});
  size_t pos = 0;
  for (int k = 0; k < 8; ++k) {
    std::string k_str = std::to_string(k);
    int want = argmax_rows(read_floats(data_path("expected_" + k_str + ".bin")), 10)[0];
    size_t at = r.out.find("test_data_set_" + k_str + ":\n", pos);
    ASSERT_NE(at, std::string::npos) << "set " << k << " missing or out of order\n" << r.out;
    size_t pred = r.out.find("prediction: ", at);
    ASSERT_NE(pred, std::string::npos) << r.out;
    EXPECT_EQ(r.out.substr(pred, 14), "prediction: " + std::to_string(want) + "\n") << r.out;
    pos = pred;
  }
  EXPECT_EQ(r.out.find("test_data_set_8"), std::string::npos);

  TempDir dir;
  expect_ok({model_path(), "--inputs-dir", source_dir() + "/models/digits_mlp", "-o", dir.path()});
  for (int k = 0; k < 8; ++k) {
    std::string k_str = std::to_string(k);
    expect_near(read_floats(dir / ("test_data_set_" + k_str + "/logits.bin")),
                read_floats(data_path("expected_" + k_str + ".bin")));
  }
}

TEST(Cli, BenchLastLineIsTheScriptLine) {
  for (const std::vector<std::string> &source :
       {std::vector<std::string>{data_path("input_0.bin")},
        {"--inputs-dir", source_dir() + "/models/digits_mlp"}}) {
    std::vector<std::string> args = {model_path(), "--bench", "--iters", "5", "--warmup", "1"};
    args.insert(args.end(), source.begin(), source.end());
    Result r = expect_ok(args);
    ASSERT_FALSE(r.out.empty());
    ASSERT_EQ(r.out.back(), '\n');
    std::string body = r.out.substr(0, r.out.size() - 1);
    std::string last = body.substr(body.rfind('\n') + 1);
    static const std::regex kLine(
        R"(latency_us p50=[0-9]+\.[0-9] p90=[0-9]+\.[0-9] p99=[0-9]+\.[0-9] mean=[0-9]+\.[0-9] iters=5)");
    EXPECT_TRUE(std::regex_match(last, kLine)) << r.out;
    EXPECT_NE(r.out.find("load: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("first run: "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("min "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\nweight memory: "), std::string::npos) << r.out;
  }
}

// A small JSON reader: enough to prove the --json file parses and to get its keys.
class Json {
 public:
  explicit Json(const std::string &s) : s_(s) {}
  // Flattens objects into "a.b" -> text of the scalar, arrays into "a[0]",
  // "a[1]", ...; false if it does not parse.
  bool parse(std::map<std::string, std::string> *out) {
    ws();
    if (!value("", out)) return false;
    ws();
    return i_ == s_.size();
  }

 private:
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool string(std::string *out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    size_t end = s_.find('"', i_ + 1);
    if (end == std::string::npos) return false;
    *out = s_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    return true;
  }
  bool value(const std::string &key, std::map<std::string, std::string> *out) {
    if (i_ < s_.size() && s_[i_] == '[') {
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
      for (size_t n = 0;; ++n) {
        ws();
        if (!value(key + "[" + std::to_string(n) + "]", out)) return false;
        ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        return i_ < s_.size() && s_[i_++] == ']';
      }
    }
    if (i_ < s_.size() && s_[i_] == '{') {
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
      for (;;) {
        ws();
        std::string k;
        if (!string(&k)) return false;
        ws();
        if (i_ >= s_.size() || s_[i_++] != ':') return false;
        ws();
        if (!value(key.empty() ? k : key + "." + k, out)) return false;
        ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        return i_ < s_.size() && s_[i_++] == '}';
      }
    }
    std::string v;
    if (i_ < s_.size() && s_[i_] == '"') {
      if (!string(&v)) return false;
    } else {
      static const std::regex kNumber(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)");
      size_t end = i_;
      while (end < s_.size() && std::strchr("-+.eE0123456789", s_[end])) ++end;
      v = s_.substr(i_, end - i_);
      if (!std::regex_match(v, kNumber)) return false;
      i_ = end;
    }
    (*out)[key] = v;
    return true;
  }
  const std::string &s_;
  size_t i_ = 0;
};

TEST(Cli, BenchJsonHasEveryKey) {
  TempDir dir;
  std::string json = dir / "bench.json";
  Result r = expect_ok({model_path(), data_path("input_1.bin"), "--bench", "--iters", "7",
                        "--warmup", "0", "--threads", "1", "--dense", "--json", json});
  std::map<std::string, std::string> kv;
  std::string text = slurp(json);
  ASSERT_TRUE(Json(text).parse(&kv)) << text;
  for (const char *key : {"load_ms", "first_run_us", "iters", "warmup", "threads", "mode",
                          "latency_us.min", "latency_us.mean", "latency_us.p50", "latency_us.p90",
                          "latency_us.p99", "latency_us.max"}) {
    EXPECT_EQ(kv.count(key), 1u) << key << " missing in " << text;
  }
  // Every timed iteration's latency, in run order: the nearest-rank p50 of
  // these is the reported one.
  std::vector<double> samples;
  for (size_t i = 0; kv.count("samples_us[" + std::to_string(i) + "]"); ++i)
    samples.push_back(std::stod(kv["samples_us[" + std::to_string(i) + "]"]));
  ASSERT_EQ(samples.size(), 7u) << text;
  EXPECT_EQ(kv.size(), 12u + 7u) << text;
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted.front(), std::stod(kv["latency_us.min"])) << text;
  EXPECT_EQ(sorted.back(), std::stod(kv["latency_us.max"])) << text;
  EXPECT_EQ(cli::nearest_rank(sorted, 50), std::stod(kv["latency_us.p50"])) << text;
  EXPECT_EQ(kv["iters"], "7");
  EXPECT_EQ(kv["warmup"], "0");
  EXPECT_EQ(kv["threads"], "1");
  EXPECT_EQ(kv["mode"], "dense");
  EXPECT_LE(std::stod(kv["latency_us.min"]), std::stod(kv["latency_us.p50"]));
  EXPECT_LE(std::stod(kv["latency_us.p50"]), std::stod(kv["latency_us.p90"]));
  EXPECT_LE(std::stod(kv["latency_us.p99"]), std::stod(kv["latency_us.max"]));
  // The JSON and the script line report the same numbers.
  EXPECT_NE(r.out.find("p50=" + kv["latency_us.p50"] + " "), std::string::npos) << r.out << text;
}

TEST(Cli, InfoListsInterfaceWeightsAndOps) {
  Result r = expect_ok({model_path(), "--info"});
  EXPECT_NE(r.out.find("inputs:\n  input: float32 [batch,64]\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("outputs:\n  logits: float32 [batch,10]\n"), std::string::npos) << r.out;
  // The numbers are the session's own, loaded here the same way.
  std::unique_ptr<Session> session;
  Status s = load_session_file(model_path(), SessionOptions(), &session);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_NE(r.out.find("constant bytes: " + std::to_string(session->constant_bytes()) + " ("),
            std::string::npos)
      << r.out;
  int nodes = 0;
  for (const auto &kv : session->op_histogram()) {
    EXPECT_NE(r.out.find("\n  " + kv.first + ": " + std::to_string(kv.second) + "\n"),
              std::string::npos)
        << kv.first << "\n"
        << r.out;
    nodes += kv.second;
  }
  EXPECT_GT(nodes, 0);
  EXPECT_NE(r.out.find("ops after optimisation (" + std::to_string(nodes) + " nodes):\n"),
            std::string::npos)
      << r.out;
}

TEST(Cli, InfoOfAModelItCannotRunListsWhatIsMissing) {
  TempDir dir;
  write_bytes(dir / "if_lstm.onnx", if_lstm_model());
  std::vector<std::string> args = {dir / "if_lstm.onnx", "--info"};
  Result r = run(args);
  EXPECT_EQ(r.code, 2) << describe(args, r);
  EXPECT_EQ(r.out, "model: " + dir / "if_lstm.onnx" +
                       "\ninputs:\n  c: bool []\n  x: float32 [1,1,4]\n"
                       "outputs:\n  y: float32 [?,?,?]\n"
                       "ops as imported (5 nodes):\n  Identity: 1\n  If: 1\n"
                       "  Relu: 2\n  RoiAlign: 1\n"
                       "unsupported operators (1):\n"
                       "  RoiAlign (node \"/lstm\", ai.onnx opset 16) in If (node \"/if_0\") "
                       "then_branch\n")
      << describe(args, r);
  // The one error line is the load failure, as without --info.
  expect_error(args, 2,
               "unsupported operator "
               "RoiAlign (node \"/lstm\", ai.onnx opset 16) in If (node \"/if_0\") then_branch");
  expect_error({dir / "if_lstm.onnx", "--bench"}, 2, "unsupported operator RoiAlign");
}

TEST(Cli, ProfileShowsTheSparsePathAfterEachRelu) {
  TempDir dir;
  std::string trace = dir / "trace.json";
  Result r =
      expect_ok({model_path(), "--inputs-dir", source_dir() + "/models/digits_mlp", "--bench",
                 "--iters", "8", "--warmup", "1", "--threads", "1", "--profile", "--trace", trace});
  // Three Gemms, all sparse: the first reads the raw pixels (about half of them
  // 0), the two others a ReLU.
  EXPECT_NE(r.out.find("FusedGemm        /0/Gemm"), std::string::npos) << r.out;
  std::istringstream lines(r.out);
  std::string line;
  int sparse_rows = 0;
  while (std::getline(lines, line)) {
    if (line.find("Gemm") != std::string::npos && line.size() > 6 &&
        line.compare(line.size() - 6, 6, "sparse") == 0) {
      ++sparse_rows;
    }
  }
  EXPECT_EQ(sparse_rows, 3) << r.out;
  // The first run and the warm-up are not profiled.
  EXPECT_NE(r.out.find("profile: median of 8 warm run(s) after 2 warm-up run(s)\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("over 8 run(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("matmul work on the sparse path: "), std::string::npos) << r.out;
  std::string t = slurp(trace);
  EXPECT_EQ(t.rfind("{\"traceEvents\":[", 0), 0u) << t;
  size_t events = 0;
  for (size_t at = t.find("\"ph\":\"X\""); at != std::string::npos;
       at = t.find("\"ph\":\"X\"", at + 1))
    ++events;
  EXPECT_EQ(events, 8u * 3u) << t;  // one event per node and timed run
  EXPECT_NE(t.find("\"path\":\"sparse\""), std::string::npos);
}

TEST(Cli, ProfileWithoutBenchTimesWarmRuns) {
  TempDir dir;
  std::string trace = dir / "trace.json";
  Result r = expect_ok({model_path(), data_path("input_0.bin"), "--profile", "--trace", trace});
  int want = argmax_rows(read_floats(data_path("expected_0.bin")), 10)[0];
  EXPECT_EQ(r.out.rfind("logits: float32 [1,10]\n", 0), 0u) << r.out;  // outputs first, once
  EXPECT_NE(r.out.find("prediction: " + std::to_string(want) + "\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("logits:", 1), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("profile: median of 5 warm run(s) after 3 warm-up run(s)\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("over 5 run(s)"), std::string::npos) << r.out;
  std::string t = slurp(trace);
  size_t events = 0;
  for (size_t at = t.find("\"ph\":\"X\""); at != std::string::npos;
       at = t.find("\"ph\":\"X\"", at + 1))
    ++events;
  EXPECT_EQ(events, 5u * 3u) << t;  // one event per node and profiled run
  // Eight input sets: the eight output runs warm up, then each set is profiled once.
  r = expect_ok({model_path(), "--inputs-dir", source_dir() + "/models/digits_mlp", "--profile"});
  EXPECT_NE(r.out.find("profile: median of 8 warm run(s) after 8 warm-up run(s)\n"),
            std::string::npos)
      << r.out;
}

TEST(Cli, ProfileWithDenseModeTakesNoSparsePath) {
  Result r = expect_ok({model_path(), data_path("input_0.bin"), "--dense", "--profile"});
  EXPECT_EQ(r.out.find(" sparse\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("matmul work on the sparse path: 0.0%"), std::string::npos) << r.out;
}

TEST(Cli, HelpAndVersion) {
  Result r = expect_ok({"--help"});
  EXPECT_EQ(r.out.rfind("usage: sparse-infer MODEL.onnx", 0), 0u) << r.out;
  for (const char *opt :
       {"--output", "--threads", "--dense", "--sparse", "--single-copy", "--inputs-dir", "--bench",
        "--warmup", "--iters", "--json", "--info", "--version"}) {
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
  }
  r = expect_ok({"-h"});
  r = expect_ok({"--version"});
  EXPECT_EQ(r.out.rfind("sparse-infer ", 0), 0u) << r.out;
}

// ---------------------------------------------------------------- two inputs, two outputs

class TwoIo : public ::testing::Test {
 protected:
  void SetUp() override {
    write_bytes(model_, two_io_model());
    write_bytes(x_, float_bytes({-1, 2, -3, 4, 5, -6, 7, -8}));  // [2,4]
    write_bytes(y_, float_bytes({0.5f, -0.25f, 3}));
  }
  TempDir dir_;
  std::string model_ = dir_ / "two.onnx", x_ = dir_ / "x.bin", y_ = dir_ / "y.bin";
};

TEST_F(TwoIo, NamedAndPositionalInputsMapByNameThenOrder) {
  for (const std::vector<std::string> &inputs :
       {std::vector<std::string>{x_, y_}, {"y=" + y_, x_}, {"y=" + y_, "x=" + x_}}) {
    std::vector<std::string> args = {model_};
    args.insert(args.end(), inputs.begin(), inputs.end());
    Result r = expect_ok(args);
    EXPECT_NE(r.out.find("out/x:0: float32 [2,4]\n  values: 0 2 0 4 5 0 7 0\n"), std::string::npos)
        << describe(args, r);
    EXPECT_NE(r.out.find("b: float32 [3]\n  values: 0.5 0 3\n  prediction: 2\n"), std::string::npos)
        << describe(args, r);
  }
}

TEST_F(TwoIo, DirectoryOutputEscapesUnsafeNames) {
  std::string out = dir_ / "out/";
  expect_ok({model_, x_, y_, "-o", out});
  EXPECT_EQ(TempDir::list(out), (std::vector<std::string>{"b.bin", "out_x_0.bin"}));
  EXPECT_EQ(read_floats(out + "out_x_0.bin"), (std::vector<float>{0, 2, 0, 4, 5, 0, 7, 0}));
  EXPECT_EQ(read_floats(out + "b.bin"), (std::vector<float>{0.5f, 0, 3}));
}

TEST_F(TwoIo, ErrorsForThisModel) {
  expect_error({model_, x_, y_, "-o", dir_ / "one.bin"}, 1, "model has 2 outputs");
  expect_error({model_, "bogus=" + x_, y_}, 1, "unknown input name 'bogus'");
  expect_error({model_, "bogus=" + x_, y_}, 1, "x float32 [N,4], y float32 [3]");
  expect_error({model_, "x=" + x_, "x=" + x_}, 1, "'x' is given more than once");
  expect_error({model_, x_}, 3, "too few inputs: model input 'y'");
  expect_error({model_, x_, y_, x_}, 3, "too many inputs");
  // y is [3]: 8 bytes is not 12; x rows are 16 bytes.
  expect_error({model_, x_, x_}, 3, "needs exactly 12 bytes");
  expect_error({model_, y_, y_}, 3, "16 bytes per row");
}

// ---------------------------------------------------------------- error paths on the digits MLP

TEST(CliErrors, UsageErrorsExitOne) {
  expect_error({}, 1, "missing MODEL.onnx");
  expect_error({"--frobnicate"}, 1, "unknown option '--frobnicate'");
  expect_error({model_path(), data_path("input_0.bin"), "--frobnicate"}, 1, "--frobnicate");
  expect_error({model_path(), "--dense", "--sparse"}, 1, "--dense and --sparse");
  expect_error({model_path(), "--threads", "abc"}, 1, "--threads");
  expect_error({model_path(), "--threads", "-1"}, 1, "--threads");
  expect_error({model_path(), "--threads"}, 1, "needs a value");
  expect_error({model_path(), "--bench", "--iters", "0"}, 1, "--iters");
  expect_error({model_path(), "--bench", "--iters", "99999999999999999999"}, 1, "--iters");
  expect_error({model_path(), "--iters", "5"}, 1, "need --bench");
  expect_error({model_path(), "--bench", "-o", "/tmp/x/"}, 1, "--bench");
  expect_error({model_path(), "--dense=1"}, 1, "takes no value");
  expect_error({model_path(), "bogus=" + data_path("input_0.bin")}, 1,
               "unknown input name 'bogus'");
  expect_error({model_path(), "bogus=" + data_path("input_0.bin")}, 1, "input float32 [batch,64]");
  expect_error({model_path(), data_path("input_0.bin"), "-o", "/tmp/out.txt"}, 1, "out.txt");
  expect_error({model_path(), data_path("input_0.bin"), "-o", "/nonexistent_si_dir/out.bin"}, 1,
               "/nonexistent_si_dir/out.bin");
  expect_error({model_path(), "--inputs-dir", source_dir() + "/models/digits_mlp", "-o",
                "/tmp/si_one_file.bin"},
               1, "8 input sets");
  expect_error({model_path(), data_path("input_0.bin"), "--inputs-dir", "/tmp"}, 1, "--inputs-dir");
  expect_error({model_path(), data_path("input_0.bin"), "--json", "/tmp/si_x.json"}, 1,
               "--json needs --bench or --profile");
  // analyze: the same conventions.
  expect_error({"analyze"}, 1, "analyze: missing MODEL.onnx");
  expect_error({"analyze", model_path(), "--frobnicate"}, 1, "unknown option '--frobnicate'");
  expect_error({"analyze", model_path(), "--iters", "0"}, 1, "--iters");
  expect_error({"analyze", model_path()}, 3, "too few inputs");
  expect_error({"analyze", "/nonexistent_si.onnx", data_path("input_0.bin")}, 2,
               "/nonexistent_si.onnx");
  // A folder with neither test_data_set_* nor <input name>.npy/.bin.
  expect_error({"analyze", model_path(), "--inputs-dir", source_dir() + "/models"}, 3,
               "no <input name>.npy or .bin for input(s) input");
}

TEST(Cli, AnalyzeHelpAndProfileJson) {
  Result help = expect_ok({"analyze", "--help"});
  EXPECT_EQ(help.out.rfind("usage: sparse-infer analyze MODEL.onnx", 0), 0u) << help.out;
  EXPECT_NE(expect_ok({"--help"}).out.find("sparse-infer analyze MODEL.onnx"), std::string::npos);
  TempDir dir;
  Result r =
      expect_ok({model_path(), data_path("input_0.bin"), "--profile", "--json", dir / "p.json"});
  EXPECT_NE(r.out.find(" zeros "), std::string::npos) << r.out;
  const std::string json = slurp(dir / "p.json");
  // The Relus were fused into their Gemms; the profile still names them.
  EXPECT_NE(json.find("\"node\": \"/0/Gemm\", \"output_shape\": [1, 256]"), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"activation\": \"/1/Relu\", \"zero_fraction\": 0."), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"activation\": \"/3/Relu\""), std::string::npos) << json;
}

TEST(CliErrors, BadModelsExitTwo) {
  TempDir dir;
  expect_error({dir / "missing.onnx", data_path("input_0.bin")}, 2, dir / "missing.onnx");
  write_bytes(dir / "empty.onnx", "");
  expect_error({dir / "empty.onnx", data_path("input_0.bin")}, 2, dir / "empty.onnx");
  std::mt19937 gen(::testing::UnitTest::GetInstance()->random_seed());
  for (int trial = 0; trial < 5; ++trial) {
    std::string bytes(1 + gen() % 4096, '\0');
    for (char &c : bytes) c = static_cast<char>(gen());
    write_bytes(dir / "random.onnx", bytes);
    expect_error({dir / "random.onnx", data_path("input_0.bin")}, 2, dir / "random.onnx");
  }
  // A truncated real model.
  write_bytes(dir / "cut.onnx", slurp(model_path()).substr(0, 1000));
  expect_error({dir / "cut.onnx", data_path("input_0.bin")}, 2, dir / "cut.onnx");
  expect_error({dir.path(), data_path("input_0.bin")}, 2, dir.path());
  // Shapes that contradict each other fail the load, not the first run,
  // although the input matches the declared [1,4].
  write_bytes(dir / "contradiction.onnx", contradicting_model());
  write_bytes(dir / "x.bin", float_bytes({1, 2, 3, 4}));
  expect_error({dir / "contradiction.onnx", dir / "x.bin"}, 2,
               "MatMul (node \"mm\", ai.onnx opset 13): Incompatible dimensions for matrix "
               "multiplication (inputs \"x\" [1,4], \"w\" [5,3])");
  expect_error({dir / "contradiction.onnx", "--info"}, 2, "MatMul (node \"mm\"");
}

// The engine runs sequence values, the CLI reads and writes tensors only:
// it refuses the model at load, naming the value.
TEST(CliErrors, SequenceInterfaceIsRefused) {
  TempDir dir;
  write_bytes(dir / "seq.onnx", sequence_output_model());
  write_bytes(dir / "x.bin", float_bytes({1, 2}));
  expect_error({dir / "seq.onnx", dir / "x.bin"}, 2,
               "graph output \"s\" is a sequence of float32; the CLI exchanges tensors only");
}

TEST(CliErrors, UnusableInputsExitThree) {
  TempDir dir;
  expect_error({model_path(), dir / "missing.bin"}, 3, dir / "missing.bin");
  expect_error({model_path(), "input=" + dir / "missing.bin"}, 3, dir / "missing.bin");
  write_bytes(dir / "short.bin", std::string(100, '\0'));
  expect_error({model_path(), dir / "short.bin"}, 3, dir / "short.bin: 100 bytes");
  expect_error({model_path(), dir / "short.bin"}, 3, "256 bytes per row");
  // int64 [1,64] where the model takes float32.
  Tensor ints;
  ASSERT_TRUE(Tensor::allocate(DType::kInt64, {1, 64}, &ints).is_ok());
  std::string npy;
  ASSERT_TRUE(encode_npy(ints, &npy).is_ok());
  write_bytes(dir / "ints.npy", npy);
  expect_error({model_path(), dir / "ints.npy"}, 3, "int64");
  expect_error({model_path(), dir / "ints.npy"}, 3, dir / "ints.npy");
  // float32 [1,63]: wrong shape.
  Tensor narrow;
  ASSERT_TRUE(Tensor::allocate(DType::kFloat32, {1, 63}, &narrow).is_ok());
  ASSERT_TRUE(encode_npy(narrow, &npy).is_ok());
  write_bytes(dir / "narrow.npy", npy);
  expect_error({model_path(), dir / "narrow.npy"}, 3, "[1,63]");
  write_bytes(dir / "bad.npy", "\x93NUMPY\x01");
  expect_error({model_path(), dir / "bad.npy"}, 3, dir / "bad.npy");
  write_bytes(dir / "bad.pb", "\xff\xff\xff garbage");
  expect_error({model_path(), dir / "bad.pb"}, 3, dir / "bad.pb");
  expect_error({model_path(), data_path("labels.txt")}, 3, "unknown input file type");
  // A folder, whatever its name, named and pointed to --inputs-dir.
  for (const std::string &folder :
       {source_dir() + "/models/digits_mlp", data_path("test_data_set_0"), dir / "x.pb"}) {
    ::mkdir(folder.c_str(), 0755);
    expect_error({model_path(), folder}, 3, folder + " is a directory, not an input file");
    expect_error({model_path(), "input=" + folder}, 3, "are read with --inputs-dir DIR");
  }
  expect_error({model_path()}, 3, "too few inputs");
  expect_error({model_path(), data_path("input_0.bin"), data_path("input_1.bin")}, 3,
               "too many inputs");
  expect_error({model_path(), "--inputs-dir", dir / "nope"}, 3, dir / "nope");
  expect_error({model_path(), "--inputs-dir", dir.path()}, 3, "no test_data_set_*");
  ::mkdir((dir / "test_data_set_0").c_str(), 0755);
  expect_error({model_path(), "--inputs-dir", dir.path()}, 3, "test_data_set_0/input_0.pb");
}

// ---------------------------------------------------------------- CLI pieces

TEST(BenchStats, NearestRankPercentiles) {
  std::vector<double> hundred;
  for (int i = 100; i >= 1; --i) hundred.push_back(i);
  cli::LatencyStats s = cli::compute_latency_stats(hundred);
  EXPECT_EQ(s.iters, 100);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 100);
  EXPECT_EQ(s.p50, 50);
  EXPECT_EQ(s.p90, 90);
  EXPECT_EQ(s.p99, 99);
  EXPECT_DOUBLE_EQ(s.mean, 50.5);
  // Ten samples: p99 is the 10th (ceil(9.9)), p90 the 9th, p50 the 5th.
  s = cli::compute_latency_stats({10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
  EXPECT_EQ(s.p50, 5);
  EXPECT_EQ(s.p90, 9);
  EXPECT_EQ(s.p99, 10);
  s = cli::compute_latency_stats({42});
  EXPECT_EQ(s.p50, 42);
  EXPECT_EQ(s.p99, 42);
  EXPECT_EQ(cli::nearest_rank({}, 50), 0);
  EXPECT_EQ(cli::nearest_rank({1, 2, 3}, 100), 3);
}

TEST(BenchStats, ScriptLineAndJson) {
  cli::LatencyStats s;
  s.p50 = 12.34;
  s.p90 = 20;
  s.p99 = 99.96;
  s.mean = 15.05;
  s.iters = 3;
  EXPECT_EQ(cli::latency_line(s), "latency_us p50=12.3 p90=20.0 p99=100.0 mean=15.1 iters=3");
  cli::BenchReport r;
  r.latency = s;
  r.mode = "sparse";
  r.threads = 4;
  std::map<std::string, std::string> kv;
  ASSERT_TRUE(Json(cli::bench_json(r)).parse(&kv)) << cli::bench_json(r);
  EXPECT_EQ(kv["mode"], "sparse");
  EXPECT_EQ(kv["latency_us.p99"], "100.0");
  EXPECT_EQ(kv.count("samples_us[0]"), 0u);
  EXPECT_NE(cli::bench_json(r).find("\"samples_us\":[]"), std::string::npos);
  r.samples_us = {20, 12.34, 99.96};  // run order kept, one decimal
  kv.clear();
  ASSERT_TRUE(Json(cli::bench_json(r)).parse(&kv)) << cli::bench_json(r);
  EXPECT_EQ(kv["samples_us[0]"], "20.0");
  EXPECT_EQ(kv["samples_us[1]"], "12.3");
  EXPECT_EQ(kv["samples_us[2]"], "100.0");
  EXPECT_EQ(kv.count("samples_us[3]"), 0u);
}

TEST(OutputWriter, EscapesNamesIntoOneSafeComponent) {
  EXPECT_EQ(cli::escape_file_name("logits"), "logits");
  EXPECT_EQ(cli::escape_file_name("a-b_c.d9"), "a-b_c.d9");
  EXPECT_EQ(cli::escape_file_name("../../etc/passwd"), ".._.._etc_passwd");
  EXPECT_EQ(cli::escape_file_name("/abs"), "_abs");
  EXPECT_EQ(cli::escape_file_name("out:0 x\n\xc3\xa9"), "out_0_x___");
  EXPECT_EQ(cli::escape_file_name(""), "_");
  EXPECT_EQ(cli::escape_file_name("."), "_");
  EXPECT_EQ(cli::escape_file_name(".."), "__");
  EXPECT_EQ(cli::escape_file_name(std::string(1000, 'a')).size(), 200u);
  EXPECT_EQ(cli::output_file_names({"a/b", "a:b", "c", "a_b"}),
            (std::vector<std::string>{"a_b.bin", "a_b_2.bin", "c.bin", "a_b_3.bin"}));
}

TEST(OutputWriter, DescribesClassifierOutputs) {
  Tensor t;
  ASSERT_TRUE(Tensor::allocate(DType::kFloat32, {3, 4}, &t).is_ok());
  const float v[12] = {0, 5, 5, 1, NAN, 9, 1, 2, -1, -3, -2, -1};
  std::memcpy(t.raw(), v, sizeof v);
  // Ties go to the first maximum and NaN wins, as numpy's argmax does.
  EXPECT_EQ(cli::describe_output("p", t),
            "p: float32 [3,4]\n  first 10 of 12 values: 0 5 5 1 nan 9 1 2 -1 -3\n"
            "  argmax: [1, 0, 0]\n");
  Tensor one = t.view({12});
  EXPECT_NE(cli::describe_output("q", one).find("  prediction: 4\n"), std::string::npos);
  Tensor ints;
  ASSERT_TRUE(Tensor::allocate(DType::kInt64, {2}, &ints).is_ok());
  ints.data<int64_t>()[1] = -7;
  EXPECT_EQ(cli::describe_output("i", ints), "i: int64 [2]\n  values: 0 -7\n");
  Tensor column = t.view({12, 1});  // one class: not a classifier
  EXPECT_EQ(cli::describe_output("c", column).find("argmax"), std::string::npos);
  Tensor empty;
  ASSERT_TRUE(Tensor::allocate(DType::kFloat32, {0, 10}, &empty).is_ok());
  EXPECT_EQ(cli::describe_output("e", empty),
            "e: float32 [0,10]\n  values: (none)\n  argmax: []\n");
}

TEST(AnalyzeReport, ShortensLongNamesKeepingWhatTellsThemApart) {
  using cli::shorten_middle;
  EXPECT_EQ(shorten_middle("/fc/Gemm", 10), "/fc/Gemm");
  // PyTorch's repeated scopes go first, so the block numbers stay.
  EXPECT_EQ(shorten_middle("/features/features.2/conv/conv.0/conv.0.2/Clip", 30),
            "/features.2/conv.0.2/Clip");
  EXPECT_EQ(shorten_middle("/features/features.3/conv/conv.0/conv.0.2/Clip", 30),
            "/features.3/conv.0.2/Clip");
  // Then the middle: a third of the kept characters from the head.
  const std::string long_name = std::string(100, 'a') + "/" + std::string(100, 'b') + "/Relu";
  const std::string cut = shorten_middle(long_name, 20);
  EXPECT_EQ(cut, "aaaaa...bbbbbbb/Relu");
  EXPECT_EQ(cut.size(), 20u);
}

TEST(InputSets, NaturalOrder) {
  std::vector<std::string> v = {"test_data_set_10", "test_data_set_2", "test_data_set_1",
                                "test_data_set_02", "test_data_set_b", "test_data_set_a"};
  std::sort(v.begin(), v.end(), cli::natural_less);
  EXPECT_EQ(v,
            (std::vector<std::string>{"test_data_set_1", "test_data_set_2", "test_data_set_02",
                                      "test_data_set_10", "test_data_set_a", "test_data_set_b"}));
  EXPECT_FALSE(cli::natural_less("x", "x"));
  EXPECT_TRUE(cli::natural_less("x", "x1"));
}

TEST(CliOptions, ParsesEveryOption) {
  const char *argv[] = {"sparse-infer", "m.onnx",  "a.bin",     "--threads", "3", "--sparse",
                        "x=b.npy",      "--bench", "--iters=7", "--warmup",  "0", "--json",
                        "j.json",       "--",      "--odd.bin"};
  cli::Options o;
  std::string err;
  ASSERT_TRUE(cli::parse_args(static_cast<int>(std::size(argv)), argv, &o, &err)) << err;
  EXPECT_EQ(o.model, "m.onnx");
  EXPECT_EQ(o.inputs, (std::vector<std::string>{"a.bin", "x=b.npy", "--odd.bin"}));
  EXPECT_EQ(o.session.threads, 3);
  EXPECT_EQ(o.session.mode, ExecMode::kSparse);
  EXPECT_TRUE(o.bench);
  EXPECT_EQ(o.iters, 7);
  EXPECT_EQ(o.warmup, 0);
  EXPECT_EQ(o.json, "j.json");
  const char *help[] = {"sparse-infer", "--bogus", "-h"};
  EXPECT_FALSE(cli::parse_args(3, help, &o, &err));  // unknown option comes first
  const char *help2[] = {"sparse-infer", "-h", "--dense", "--sparse"};
  ASSERT_TRUE(cli::parse_args(4, help2, &o, &err));
  EXPECT_TRUE(o.help);
}

}  // namespace
}  // namespace si
