// ONNX importer: models are built here with the onnx protobuf API, serialized
// and imported; expected values come from the models the tests build (or
// from the official ONNX files), never from the importer.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "importers/onnx/onnx_importer.h"

namespace si {
namespace {

namespace fs = std::filesystem;

// --- model building -------------------------------------------------------

onnx::ModelProto base_model(int64_t opset = 13, int64_t ir_version = 8) {
  onnx::ModelProto m;
  m.set_ir_version(ir_version);
  m.set_producer_name("importer_test");
  onnx::OperatorSetIdProto *op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  m.mutable_graph()->set_name("g");
  return m;
}

// dims: >= 0 a size, -1 an unknown dim, -2 the symbolic dim "N".
void set_type(onnx::ValueInfoProto *vi, const std::string &name, int32_t elem_type,
              const std::vector<int64_t> &dims) {
  vi->set_name(name);
  onnx::TypeProto::Tensor *tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  onnx::TensorShapeProto *shape = tt->mutable_shape();
  for (int64_t d : dims) {
    onnx::TensorShapeProto::Dimension *dim = shape->add_dim();
    if (d >= 0) dim->set_dim_value(d);
    if (d == -2) dim->set_dim_param("N");
  }
}

void add_input(onnx::ModelProto *m, const std::string &name, int32_t elem_type,
               const std::vector<int64_t> &dims) {
  set_type(m->mutable_graph()->add_input(), name, elem_type, dims);
}

void add_output(onnx::ModelProto *m, const std::string &name, int32_t elem_type,
                const std::vector<int64_t> &dims) {
  set_type(m->mutable_graph()->add_output(), name, elem_type, dims);
}

onnx::NodeProto *add_node(onnx::ModelProto *m, const std::string &op,
                          const std::vector<std::string> &inputs,
                          const std::vector<std::string> &outputs, const std::string &name = "") {
  onnx::NodeProto *n = m->mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto &i : inputs) n->add_input(i);
  for (const auto &o : outputs) n->add_output(o);
  return n;
}

onnx::TensorProto float_tensor(const std::string &name, const std::vector<int64_t> &dims) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  return t;
}

std::string float_bytes(const std::vector<float> &v) {
  return std::string(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(float));
}

// x[2,3] + W -> y, with W as given.
onnx::ModelProto add_model(const onnx::TensorProto &w) {
  onnx::ModelProto m = base_model();
  add_input(&m, "x", onnx::TensorProto::FLOAT, {2, 3});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {2, 3});
  add_node(&m, "Add", {"x", w.name()}, {"y"}, "add");
  *m.mutable_graph()->add_initializer() = w;
  return m;
}

// Identity(x) -> y, plus an initializer nobody reads: isolates tensor decoding.
onnx::ModelProto model_with_initializer(const onnx::TensorProto &t) {
  onnx::ModelProto m = base_model();
  add_input(&m, "x", onnx::TensorProto::FLOAT, {2});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {2});
  add_node(&m, "Identity", {"x"}, {"y"});
  *m.mutable_graph()->add_initializer() = t;
  return m;
}

Status import_model(const onnx::ModelProto &m, Graph *g, const std::string &base_dir = "") {
  std::string bytes;
  EXPECT_TRUE(m.SerializeToString(&bytes));
  return import_onnx_bytes(bytes.data(), bytes.size(), base_dir, g);
}

template <typename T>
std::vector<T> values_of(const Tensor &t) {
  const T *p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

const Tensor *constant_named(const Graph &g, const std::string &name) {
  return g.constant(g.find_value(name));
}

#define EXPECT_STATUS(expr, code_, substr)                                    \
  do {                                                                        \
    ::si::Status s_ = (expr);                                                 \
    EXPECT_EQ(s_.code(), code_) << s_.message();                              \
    EXPECT_NE(s_.message().find(substr), std::string::npos)                   \
        << "message \"" << s_.message() << "\" lacks \"" << (substr) << "\""; \
  } while (0)

// --- initializer encodings ------------------------------------------------

TEST(ImporterInitializers, RawData) {
  const std::vector<float> w = {1.5f, -2.f, 0.f, 3.25f, 1e-3f, -7.f};
  onnx::TensorProto t = float_tensor("W", {2, 3});
  t.set_raw_data(float_bytes(w));
  Graph g;
  ASSERT_TRUE(import_model(add_model(t), &g).is_ok());
  const Tensor *c = constant_named(g, "W");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->dtype(), DType::kFloat32);
  EXPECT_EQ(c->shape(), (Shape{2, 3}));
  EXPECT_EQ(values_of<float>(*c), w);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].inputs, (std::vector<int>{g.find_value("x"), g.find_value("W")}));
  EXPECT_EQ(g.inputs, std::vector<int>{g.find_value("x")});
  EXPECT_EQ(g.outputs, std::vector<int>{g.find_value("y")});
}

TEST(ImporterInitializers, FloatData) {
  const std::vector<float> w = {1.f, 2.f, 3.f, -4.f, 5.5f, 6.f};
  onnx::TensorProto t = float_tensor("W", {2, 3});
  for (float v : w) t.add_float_data(v);
  Graph g;
  ASSERT_TRUE(import_model(add_model(t), &g).is_ok());
  EXPECT_EQ(values_of<float>(*constant_named(g, "W")), w);
}

TEST(ImporterInitializers, Int64Data) {
  const std::vector<int64_t> v = {-1, 0, int64_t{1} << 40, 7};
  onnx::TensorProto t;
  t.set_name("I");
  t.set_data_type(onnx::TensorProto::INT64);
  t.add_dims(4);
  for (int64_t x : v) t.add_int64_data(x);
  Graph g;
  ASSERT_TRUE(import_model(model_with_initializer(t), &g).is_ok());
  const Tensor *c = constant_named(g, "I");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->dtype(), DType::kInt64);
  EXPECT_EQ(values_of<int64_t>(*c), v);
}

TEST(ImporterInitializers, Int32DataForEveryNarrowType) {
  struct Case {
    int32_t type;
    DType dtype;
    std::vector<int32_t> values;
  };
  const std::vector<Case> cases = {
      {onnx::TensorProto::INT32, DType::kInt32, {-5, 0, 2147483647}},
      {onnx::TensorProto::INT8, DType::kInt8, {-128, 0, 127}},
      {onnx::TensorProto::UINT8, DType::kUint8, {0, 200, 255}},
      {onnx::TensorProto::BOOL, DType::kBool, {1, 0, 1}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(onnx::TensorProto_DataType_Name(onnx::TensorProto_DataType(c.type)));
    onnx::TensorProto t;
    t.set_name("T");
    t.set_data_type(c.type);
    t.add_dims(3);
    for (int32_t v : c.values) t.add_int32_data(v);
    Graph g;
    ASSERT_TRUE(import_model(model_with_initializer(t), &g).is_ok());
    const Tensor *tensor = constant_named(g, "T");
    ASSERT_NE(tensor, nullptr);
    EXPECT_EQ(tensor->dtype(), c.dtype);
    for (size_t i = 0; i < c.values.size(); ++i) {
      int32_t got = c.dtype == DType::kInt32  ? tensor->data<int32_t>()[i]
                    : c.dtype == DType::kInt8 ? tensor->data<int8_t>()[i]
                                              : tensor->data<uint8_t>()[i];
      EXPECT_EQ(got, c.values[i]) << "index " << i;
    }
  }
}

TEST(ImporterInitializers, Int32DataOutOfRangeForInt8) {
  onnx::TensorProto t;
  t.set_name("T");
  t.set_data_type(onnx::TensorProto::INT8);
  t.add_dims(2);
  t.add_int32_data(1);
  t.add_int32_data(300);
  Graph g;
  EXPECT_STATUS(import_model(model_with_initializer(t), &g), StatusCode::kInvalidModel, "300");
}

TEST(ImporterInitializers, EmptyTensorNeedsNoData) {
  onnx::TensorProto t = float_tensor("E", {0, 3});
  Graph g;
  ASSERT_TRUE(import_model(model_with_initializer(t), &g).is_ok());
  EXPECT_EQ(constant_named(g, "E")->shape(), (Shape{0, 3}));
}

TEST(ImporterInitializers, DoubleIsUnsupported) {
  onnx::TensorProto t;
  t.set_name("Wd");
  t.set_data_type(onnx::TensorProto::DOUBLE);
  t.add_dims(2);
  t.add_double_data(1.0);
  t.add_double_data(2.0);
  Graph g;
  Status s = import_model(model_with_initializer(t), &g);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.message();
  EXPECT_NE(s.message().find("\"Wd\""), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("DOUBLE"), std::string::npos) << s.message();
}

TEST(ImporterInitializers, Float16IsUnsupported) {
  onnx::TensorProto t;
  t.set_name("H");
  t.set_data_type(onnx::TensorProto::FLOAT16);
  t.add_dims(1);
  t.add_int32_data(0x3c00);
  Graph g;
  EXPECT_STATUS(import_model(model_with_initializer(t), &g), StatusCode::kUnsupported, "FLOAT16");
}

TEST(ImporterInitializers, UnsupportedInputAndOutputDtypes) {
  onnx::ModelProto m = base_model();
  add_input(&m, "xd", onnx::TensorProto::DOUBLE, {2});
  add_output(&m, "yd", onnx::TensorProto::DOUBLE, {2});
  add_node(&m, "Relu", {"xd"}, {"yd"});
  Graph g;
  Status s = import_model(m, &g);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.message();
  EXPECT_NE(s.message().find("\"xd\""), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("DOUBLE"), std::string::npos) << s.message();
}

TEST(ImporterInitializers, RawDataShorterThanDims) {
  onnx::TensorProto t = float_tensor("W", {2, 3});
  t.set_raw_data(float_bytes({1.f, 2.f, 3.f}));
  Graph g;
  Status s = import_model(add_model(t), &g);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  for (const char *part : {"\"W\"", "12 bytes", "24"}) {
    EXPECT_NE(s.message().find(part), std::string::npos) << s.message() << " lacks " << part;
  }
}

TEST(ImporterInitializers, TypedCountMismatch) {
  onnx::TensorProto t = float_tensor("W", {2, 3});
  for (int i = 0; i < 7; ++i) t.add_float_data(float(i));
  Graph g;
  EXPECT_STATUS(import_model(add_model(t), &g), StatusCode::kInvalidModel, "7 values");
}

TEST(ImporterInitializers, DimsProductOverflows) {
  // 2^32 * (2^32 + 1) wraps int64 to 2^32, which libonnx 1.12 accepts.
  onnx::TensorProto t = float_tensor("Big", {int64_t{1} << 32, (int64_t{1} << 32) + 1});
  t.set_raw_data(float_bytes({1.f, 2.f}));
  Graph g;
  EXPECT_STATUS(import_model(model_with_initializer(t), &g), StatusCode::kInvalidModel, "\"Big\"");
}

TEST(ImporterInitializers, DimsProductAboveCeiling) {
  onnx::TensorProto t = float_tensor("Huge", {int64_t{1} << 21, int64_t{1} << 21});
  t.set_raw_data(float_bytes({1.f}));
  Graph g;
  EXPECT_STATUS(import_model(model_with_initializer(t), &g), StatusCode::kInvalidModel, "\"Huge\"");
}

TEST(ImporterInitializers, NegativeDim) {
  onnx::TensorProto t = float_tensor("Neg", {-2, 3});
  t.set_raw_data(float_bytes({1.f}));
  Graph g;
  EXPECT_EQ(import_model(model_with_initializer(t), &g).code(), StatusCode::kInvalidModel);
}

TEST(ImporterInitializers, IrVersion3InitializersListedAsInputs) {
  onnx::TensorProto t = float_tensor("W", {2, 3});
  t.set_raw_data(float_bytes({1, 2, 3, 4, 5, 6}));
  onnx::ModelProto m = add_model(t);
  m.set_ir_version(3);
  add_input(&m, "W", onnx::TensorProto::FLOAT, {2, 3});
  Graph g;
  Status s = import_model(m, &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(g.inputs, std::vector<int>{g.find_value("x")});
  EXPECT_TRUE(g.is_constant(g.find_value("W")));
}

// --- external data --------------------------------------------------------

class ImporterExternal : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/si_importer_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/model";
    fs::create_directory(dir_);
    // A file next to the model folder that no location may reach.
    write(root_ + "/secret.bin", float_bytes({9, 9, 9, 9, 9, 9}));
  }
  void TearDown() override { fs::remove_all(root_); }

  static void write(const std::string &path, const std::string &bytes) {
    std::ofstream f(path, std::ios::binary);
    f << bytes;
  }

  // add_model with W stored externally at `location` (offset/length if >= 0).
  static onnx::ModelProto external_model(const std::string &location, int64_t offset = -1,
                                         int64_t length = -1) {
    onnx::TensorProto t = float_tensor("W", {2, 3});
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const char *k, const std::string &v) {
      onnx::StringStringEntryProto *e = t.add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", location);
    if (offset >= 0) add("offset", std::to_string(offset));
    if (length >= 0) add("length", std::to_string(length));
    return add_model(t);
  }

  Status import_file(const onnx::ModelProto &m, Graph *g) {
    std::string bytes;
    EXPECT_TRUE(m.SerializeToString(&bytes));
    write(dir_ + "/model.onnx", bytes);
    return import_onnx_file(dir_ + "/model.onnx", g);
  }

  std::string root_, dir_;
};

TEST_F(ImporterExternal, ReadsAtOffset) {
  const std::vector<float> w = {1, -2, 3, -4, 5, -6};
  write(dir_ + "/weights.bin", std::string(16, 'x') + float_bytes(w) + std::string(8, 'y'));
  Graph g;
  Status s = import_file(external_model("weights.bin", 16, 24), &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(values_of<float>(*constant_named(g, "W")), w);
}

TEST_F(ImporterExternal, SubfolderAndNoLengthKey) {
  const std::vector<float> w = {6, 5, 4, 3, 2, 1};
  fs::create_directory(dir_ + "/data");
  write(dir_ + "/data/w.bin", float_bytes(w));
  Graph g;
  Status s = import_file(external_model("data/w.bin"), &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(values_of<float>(*constant_named(g, "W")), w);
}

TEST_F(ImporterExternal, FromMemoryWithBaseDir) {
  const std::vector<float> w = {1, 1, 2, 3, 5, 8};
  write(dir_ + "/w.bin", float_bytes(w));
  Graph g;
  Status s = import_model(external_model("w.bin"), &g, dir_);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(values_of<float>(*constant_named(g, "W")), w);
}

TEST_F(ImporterExternal, FromMemoryWithoutBaseDirIsRejected) {
  write(dir_ + "/w.bin", float_bytes({1, 2, 3, 4, 5, 6}));
  Graph g;
  Status s = import_model(external_model("w.bin"), &g, "");
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  EXPECT_NE(s.message().find("\"W\""), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("w.bin"), std::string::npos) << s.message();
}

TEST_F(ImporterExternal, DotDotEscapeIsRejected) {
  Graph g;
  Status s = import_file(external_model("../secret.bin"), &g);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  EXPECT_NE(s.message().find("\"W\""), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("../secret.bin"), std::string::npos) << s.message();
  // Also when the `..` is in the middle and would land back inside.
  fs::create_directory(dir_ + "/sub");
  write(dir_ + "/w.bin", float_bytes({1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(import_file(external_model("sub/../w.bin"), &g).code(), StatusCode::kInvalidModel);
}

TEST_F(ImporterExternal, AbsolutePathIsRejected) {
  Graph g;
  // Even one that names a file inside the folder.
  write(dir_ + "/w.bin", float_bytes({1, 2, 3, 4, 5, 6}));
  EXPECT_STATUS(import_file(external_model(dir_ + "/w.bin"), &g), StatusCode::kInvalidModel,
                "absolute");
  EXPECT_STATUS(import_file(external_model(root_ + "/secret.bin"), &g), StatusCode::kInvalidModel,
                root_ + "/secret.bin");
}

TEST_F(ImporterExternal, SymlinkEscapeIsRejected) {
  ASSERT_EQ(symlink((root_ + "/secret.bin").c_str(), (dir_ + "/link.bin").c_str()), 0);
  Graph g;
  EXPECT_STATUS(import_file(external_model("link.bin"), &g), StatusCode::kInvalidModel, "outside");
  // A symlinked folder escapes the same way.
  ASSERT_EQ(symlink(root_.c_str(), (dir_ + "/up").c_str()), 0);
  EXPECT_STATUS(import_file(external_model("up/secret.bin"), &g), StatusCode::kInvalidModel,
                "outside");
}

TEST_F(ImporterExternal, SymlinkInsideFolderIsAllowed) {
  const std::vector<float> w = {0, 1, 0, 1, 0, 1};
  write(dir_ + "/real.bin", float_bytes(w));
  ASSERT_EQ(symlink("real.bin", (dir_ + "/alias.bin").c_str()), 0);
  Graph g;
  Status s = import_file(external_model("alias.bin"), &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(values_of<float>(*constant_named(g, "W")), w);
}

TEST_F(ImporterExternal, RangeBeyondFileIsRejected) {
  write(dir_ + "/w.bin", float_bytes({1, 2, 3, 4, 5, 6}));
  Graph g;
  EXPECT_STATUS(import_file(external_model("w.bin", 4, 24), &g), StatusCode::kInvalidModel,
                "past the end");
  EXPECT_STATUS(import_file(external_model("w.bin", 1000), &g), StatusCode::kInvalidModel,
                "past the end");
  // offset + length would wrap around 2^64.
  EXPECT_EQ(import_file(external_model("w.bin", int64_t(INT64_MAX), 24), &g).code(),
            StatusCode::kInvalidModel);
}

TEST_F(ImporterExternal, LengthMustMatchDims) {
  write(dir_ + "/w.bin", float_bytes({1, 2, 3, 4, 5, 6, 7, 8}));
  Graph g;
  EXPECT_STATUS(import_file(external_model("w.bin", 0, 32), &g), StatusCode::kInvalidModel,
                "length 32");
}

TEST_F(ImporterExternal, MissingFileIsIoError) {
  Graph g;
  EXPECT_STATUS(import_file(external_model("absent.bin"), &g), StatusCode::kIo, "absent.bin");
}

TEST_F(ImporterExternal, NonRegularFilesAreRejected) {
  Graph g;
  ASSERT_EQ(mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
  EXPECT_STATUS(import_file(external_model("fifo"), &g), StatusCode::kInvalidModel,
                "not a regular file");
  fs::create_directory(dir_ + "/folder");
  EXPECT_STATUS(import_file(external_model("folder"), &g), StatusCode::kInvalidModel,
                "not a regular file");
  // A device inside the model's folder: /dev as the folder itself.
  EXPECT_STATUS(import_model(external_model("zero"), &g, "/dev"), StatusCode::kInvalidModel,
                "not a regular file");
  // A symlink to a device leaves the folder before it is ever opened.
  ASSERT_EQ(symlink("/dev/zero", (dir_ + "/zero").c_str()), 0);
  EXPECT_EQ(import_file(external_model("zero"), &g).code(), StatusCode::kInvalidModel);
}

// --- graph structure ------------------------------------------------------

onnx::AttributeProto *add_attr(onnx::NodeProto *n, const std::string &name,
                               onnx::AttributeProto::AttributeType type) {
  onnx::AttributeProto *a = n->add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}

TEST(ImporterGraph, ConstantNodesBecomeConstants) {
  onnx::ModelProto m = base_model();
  add_input(&m, "x", onnx::TensorProto::FLOAT, {3});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {3});
  onnx::NodeProto *c = add_node(&m, "Constant", {}, {"c_tensor"});
  onnx::AttributeProto *a = add_attr(c, "value", onnx::AttributeProto::TENSOR);
  *a->mutable_t() = float_tensor("", {3});
  a->mutable_t()->set_raw_data(float_bytes({0.5f, 1.5f, 2.5f}));
  add_node(&m, "Add", {"x", "c_tensor"}, {"y"});

  onnx::NodeProto *f = add_node(&m, "Constant", {}, {"c_float"});
  add_attr(f, "value_float", onnx::AttributeProto::FLOAT)->set_f(4.5f);
  onnx::NodeProto *fl = add_node(&m, "Constant", {}, {"c_floats"});
  onnx::AttributeProto *floats = add_attr(fl, "value_floats", onnx::AttributeProto::FLOATS);
  floats->add_floats(1.f);
  floats->add_floats(2.f);
  onnx::NodeProto *i = add_node(&m, "Constant", {}, {"c_int"});
  add_attr(i, "value_int", onnx::AttributeProto::INT)->set_i(-9);
  onnx::NodeProto *is = add_node(&m, "Constant", {}, {"c_ints"});
  onnx::AttributeProto *ints = add_attr(is, "value_ints", onnx::AttributeProto::INTS);
  for (int64_t v : {3, 1, 4}) ints->add_ints(v);
  add_output(&m, "c_float", onnx::TensorProto::FLOAT, {});
  add_output(&m, "c_floats", onnx::TensorProto::FLOAT, {2});
  add_output(&m, "c_int", onnx::TensorProto::INT64, {});
  add_output(&m, "c_ints", onnx::TensorProto::INT64, {3});

  Graph g;
  Status s = import_model(m, &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "Add");
  EXPECT_EQ(values_of<float>(*constant_named(g, "c_tensor")),
            (std::vector<float>{0.5f, 1.5f, 2.5f}));
  const Tensor *cf = constant_named(g, "c_float");
  ASSERT_NE(cf, nullptr);
  EXPECT_EQ(cf->shape(), Shape{});
  EXPECT_EQ(values_of<float>(*cf), std::vector<float>{4.5f});
  EXPECT_EQ(constant_named(g, "c_floats")->shape(), Shape{2});
  EXPECT_EQ(values_of<float>(*constant_named(g, "c_floats")), (std::vector<float>{1.f, 2.f}));
  EXPECT_EQ(constant_named(g, "c_int")->dtype(), DType::kInt64);
  EXPECT_EQ(values_of<int64_t>(*constant_named(g, "c_int")), std::vector<int64_t>{-9});
  EXPECT_EQ(values_of<int64_t>(*constant_named(g, "c_ints")), (std::vector<int64_t>{3, 1, 4}));
  EXPECT_EQ(g.outputs.size(), 5u);
}

TEST(ImporterGraph, SparseConstantIsUnsupported) {
  onnx::ModelProto m = base_model();
  add_input(&m, "x", onnx::TensorProto::FLOAT, {2});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {2});
  onnx::NodeProto *c = add_node(&m, "Constant", {}, {"c"}, "sparse_const");
  onnx::SparseTensorProto *sp =
      add_attr(c, "sparse_value", onnx::AttributeProto::SPARSE_TENSOR)->mutable_sparse_tensor();
  sp->add_dims(2);
  *sp->mutable_values() = float_tensor("v", {1});
  sp->mutable_values()->add_float_data(1.f);
  sp->mutable_indices()->set_name("i");
  sp->mutable_indices()->set_data_type(onnx::TensorProto::INT64);
  sp->mutable_indices()->add_dims(1);
  sp->mutable_indices()->add_int64_data(1);
  add_node(&m, "Add", {"x", "c"}, {"y"});
  Graph g;
  EXPECT_STATUS(import_model(m, &g), StatusCode::kUnsupported, "sparse_value");
}

TEST(ImporterGraph, DynamicDimsAndInferredIntermediates) {
  onnx::ModelProto m = base_model();
  add_input(&m, "x", onnx::TensorProto::FLOAT, {-2, 3, -1});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {-2, 3, -1});
  add_node(&m, "Relu", {"x"}, {"h"});
  add_node(&m, "Relu", {"h"}, {"y"});
  Graph g;
  Status s = import_model(m, &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  for (const char *name : {"x", "h", "y"}) {
    SCOPED_TRACE(name);
    const ValueInfo &v = g.values[size_t(g.find_value(name))];
    EXPECT_EQ(v.dtype, DType::kFloat32);
    ASSERT_TRUE(v.has_shape);
    ASSERT_EQ(v.dims.size(), 3u);
    EXPECT_EQ(v.dims[0].size, -1);
    EXPECT_EQ(v.dims[0].param, "N");
    EXPECT_EQ(v.dims[1].size, 3);
    EXPECT_EQ(v.dims[2].size, -1);
  }
  // Declared unknown dims stay anonymous (inference may name them, e.g. "unk__0").
  EXPECT_EQ(g.values[size_t(g.find_value("x"))].dims[2].param, "");
}

TEST(ImporterGraph, OutputsKeepDeclaredTypes) {
  // Inference knows y is [4,5]; the declaration leaves both dims unknown.
  onnx::ModelProto m = base_model();
  add_input(&m, "x", onnx::TensorProto::FLOAT, {4, 5});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {-1, -1});
  add_node(&m, "Relu", {"x"}, {"y"});
  Graph g;
  Status s = import_model(m, &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  const ValueInfo &v = g.values[size_t(g.find_value("y"))];
  EXPECT_EQ(v.dtype, DType::kFloat32);
  ASSERT_EQ(v.dims.size(), 2u);
  EXPECT_EQ(v.dims[0].size, -1);
  EXPECT_EQ(v.dims[1].size, -1);
}

TEST(ImporterGraph, UnnamedNodesGetIndexNames) {
  onnx::ModelProto m = base_model();
  add_input(&m, "x", onnx::TensorProto::FLOAT, {2});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {2});
  add_node(&m, "Relu", {"x"}, {"a"});
  add_node(&m, "Neg", {"a"}, {"b"}, "named");
  add_node(&m, "Relu", {"b"}, {"y"});
  Graph g;
  ASSERT_TRUE(import_model(m, &g).is_ok());
  ASSERT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.nodes[0].name, "Relu_0");
  EXPECT_EQ(g.nodes[1].name, "named");
  EXPECT_EQ(g.nodes[2].name, "Relu_2");
}

TEST(ImporterGraph, OptionalInputsAndOutputsAreMinusOne) {
  onnx::ModelProto m = base_model();
  add_input(&m, "x", onnx::TensorProto::FLOAT, {2, 3});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {2, 3});
  onnx::TensorProto lo = float_tensor("lo", {});
  lo.add_float_data(0.f);
  *m.mutable_graph()->add_initializer() = lo;
  add_node(&m, "Clip", {"x", "", "lo"}, {"y"});
  add_node(&m, "Dropout", {"x"}, {"d", ""});
  Graph g;
  Status s = import_model(m, &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(g.nodes[0].inputs, (std::vector<int>{g.find_value("x"), -1, g.find_value("lo")}));
  EXPECT_EQ(g.nodes[1].outputs, (std::vector<int>{g.find_value("d"), -1}));
}

TEST(ImporterGraph, DanglingInputIsRejected) {
  onnx::ModelProto m = base_model();
  add_input(&m, "x", onnx::TensorProto::FLOAT, {2});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {2});
  add_node(&m, "Add", {"x", "nowhere"}, {"y"}, "adder");
  Graph g;
  EXPECT_STATUS(import_model(m, &g), StatusCode::kInvalidModel, "nowhere");
}

TEST(ImporterGraph, AttributesOfEveryKind) {
  onnx::ModelProto m = base_model();
  onnx::OperatorSetIdProto *custom = m.add_opset_import();
  custom->set_domain("com.example");
  custom->set_version(3);
  add_input(&m, "x", onnx::TensorProto::FLOAT, {2});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {2});
  onnx::NodeProto *n = add_node(&m, "Custom", {"x"}, {"y"}, "c");
  n->set_domain("com.example");
  add_attr(n, "f", onnx::AttributeProto::FLOAT)->set_f(0.25f);
  add_attr(n, "i", onnx::AttributeProto::INT)->set_i(-3);
  add_attr(n, "s", onnx::AttributeProto::STRING)->set_s("same_upper");
  onnx::AttributeProto *t = add_attr(n, "t", onnx::AttributeProto::TENSOR);
  t->mutable_t()->set_data_type(onnx::TensorProto::INT64);
  t->mutable_t()->add_dims(2);
  t->mutable_t()->add_int64_data(7);
  t->mutable_t()->add_int64_data(8);
  onnx::AttributeProto *fl = add_attr(n, "fl", onnx::AttributeProto::FLOATS);
  fl->add_floats(1.f);
  fl->add_floats(-1.f);
  onnx::AttributeProto *in = add_attr(n, "in", onnx::AttributeProto::INTS);
  in->add_ints(5);
  onnx::AttributeProto *st = add_attr(n, "st", onnx::AttributeProto::STRINGS);
  st->add_strings("a");
  st->add_strings("b");
  onnx::AttributeProto *gr = add_attr(n, "body", onnx::AttributeProto::GRAPH);
  gr->mutable_g()->set_name("body");

  Graph g;
  Status s = import_model(m, &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node &node = g.nodes[0];
  EXPECT_EQ(node.domain, "com.example");
  EXPECT_EQ(node.opset, 3);
  EXPECT_FLOAT_EQ(node.attr_float("f", 0.f), 0.25f);
  EXPECT_EQ(node.attr_int("i", 0), -3);
  EXPECT_EQ(node.attr_string("s", ""), "same_upper");
  ASSERT_TRUE(node.has_attr("t"));
  EXPECT_EQ(node.attrs.at("t").kind, Attribute::Kind::kTensor);
  EXPECT_EQ(values_of<int64_t>(node.attrs.at("t").t), (std::vector<int64_t>{7, 8}));
  EXPECT_EQ(node.attr_floats("fl"), (std::vector<float>{1.f, -1.f}));
  EXPECT_EQ(node.attr_ints("in"), std::vector<int64_t>{5});
  EXPECT_EQ(node.attrs.at("st").strings, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(node.has_attr("body"));
  ASSERT_EQ(node.subgraphs.size(), 1u);  // a graph attribute is kept as a body
  EXPECT_EQ(node.subgraphs[0].attr, "body");
  EXPECT_TRUE(node.subgraphs[0].graph->nodes.empty());
}

TEST(ImporterGraph, UnsupportedOpsLoadButSessionNamesThem) {
  onnx::ModelProto m = base_model();
  onnx::OperatorSetIdProto *custom = m.add_opset_import();
  custom->set_domain("com.example");
  custom->set_version(1);
  add_input(&m, "x", onnx::TensorProto::FLOAT, {2});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {2});
  add_node(&m, "NoSuchOp", {"x"}, {"y"}, "mystery")->set_domain("com.example");
  std::string bytes;
  ASSERT_TRUE(m.SerializeToString(&bytes));
  Graph g;
  ASSERT_TRUE(import_onnx_bytes(bytes.data(), bytes.size(), "", &g).is_ok());
  std::unique_ptr<Session> session;
  Status s = load_session_bytes(bytes.data(), bytes.size(), SessionOptions(), &session);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.message();
  EXPECT_NE(s.message().find("NoSuchOp"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("mystery"), std::string::npos) << s.message();
}

// A body (an If branch) whose nodes read x, lw, lr from the outer graph and
// whose output is the first node's first output.
onnx::GraphProto body(const std::string &name, const std::vector<onnx::NodeProto> &nodes) {
  onnx::ModelProto holder;
  holder.mutable_graph()->set_name(name);
  for (const onnx::NodeProto &n : nodes) *holder.mutable_graph()->add_node() = n;
  add_output(&holder, nodes[0].output(0), onnx::TensorProto::FLOAT, {-1, -1, -1});
  return holder.graph();
}

onnx::NodeProto body_node(const std::string &op, const std::string &name,
                          const std::vector<std::string> &inputs) {
  onnx::ModelProto holder;
  onnx::NodeProto *n = add_node(&holder, op, inputs, {name + "_out"}, name);
  if (op == "LSTM" || op == "GRU") add_attr(n, "hidden_size", onnx::AttributeProto::INT)->set_i(2);
  return *n;
}

onnx::NodeProto if_node(const std::string &name, const onnx::GraphProto &then_branch,
                        const onnx::GraphProto &else_branch) {
  onnx::ModelProto holder;
  onnx::NodeProto *n = add_node(&holder, "If", {"c"}, {name + "_out"}, name);
  *add_attr(n, "then_branch", onnx::AttributeProto::GRAPH)->mutable_g() = then_branch;
  *add_attr(n, "else_branch", onnx::AttributeProto::GRAPH)->mutable_g() = else_branch;
  return *n;
}

TEST(ImporterGraph, SessionNamesUnsupportedOpsInsideBodies) {
  // If /if_0: then RoiAlign and Relu; else If /if_1 (then NonMaxSuppression, else
  // Identity). The body ops were LSTM and GRU until the engine ran them.
  const std::vector<std::string> rnn_inputs = {"x", "lw", "lr"};
  onnx::NodeProto inner =
      if_node("/if_1", body("then1", {body_node("NonMaxSuppression", "/gru", rnn_inputs)}),
              body("else1", {body_node("Identity", "/id", {"x"})}));
  onnx::NodeProto outer = if_node("/if_0",
                                  body("then0", {body_node("RoiAlign", "/lstm", rnn_inputs),
                                                 body_node("Relu", "/relu", {"x"})}),
                                  body("else0", {inner}));
  onnx::ModelProto m = base_model(16);
  add_input(&m, "c", onnx::TensorProto::BOOL, {});
  add_input(&m, "x", onnx::TensorProto::FLOAT, {1, 1, 4});
  add_output(&m, "/if_0_out", onnx::TensorProto::FLOAT, {-1, -1, -1});
  for (const auto &[name, hidden] : {std::pair<const char *, int64_t>{"lw", 4}, {"lr", 2}}) {
    onnx::TensorProto t = float_tensor(name, {1, 8, hidden});
    t.set_raw_data(std::string(size_t(8 * hidden) * 4, '\0'));
    *m.mutable_graph()->add_initializer() = t;
  }
  *m.mutable_graph()->add_node() = outer;

  Graph g;
  Status s = import_model(m, &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  ASSERT_EQ(g.nodes.size(), 1u);
  ASSERT_EQ(g.nodes[0].subgraphs.size(), 2u);
  EXPECT_EQ(g.nodes[0].subgraphs[0].attr, "then_branch");
  ASSERT_EQ(g.nodes[0].subgraphs[0].graph->nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].subgraphs[0].graph->nodes[0].op_type, "RoiAlign");
  EXPECT_EQ(g.nodes[0].subgraphs[0].graph->nodes[0].opset, 16);
  EXPECT_EQ(unsupported_operators(g),
            (std::vector<std::string>{
                "RoiAlign (node \"/lstm\", ai.onnx opset 16) in If (node \"/if_0\") then_branch",
                "NonMaxSuppression (node \"/gru\", ai.onnx opset 16) in If (node \"/if_1\") "
                "then_branch in If "
                "(node \"/if_0\") else_branch"}));
  std::string bytes;
  ASSERT_TRUE(m.SerializeToString(&bytes));
  std::unique_ptr<Session> session;
  s = load_session_bytes(bytes.data(), bytes.size(), SessionOptions(), &session);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.message();
  EXPECT_NE(
      s.message().find("unsupported operator RoiAlign (node \"/lstm\", ai.onnx opset 16) in If "
                       "(node \"/if_0\") then_branch; "),
      std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("unsupported operator NonMaxSuppression"), std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("Relu"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("Identity"), std::string::npos) << s.message();
}

// --- shapes that contradict each other -------------------------------------

// x[x_dims] -> MatMul "mm" with a constant w[5,3] -> Relu "act" -> y.
onnx::ModelProto matmul_model(const std::vector<int64_t> &x_dims) {
  onnx::ModelProto m = base_model();
  add_input(&m, "x", onnx::TensorProto::FLOAT, x_dims);
  add_output(&m, "y", onnx::TensorProto::FLOAT, {-1, -1});
  onnx::TensorProto w = float_tensor("w", {5, 3});
  w.set_raw_data(std::string(15 * 4, '\0'));
  *m.mutable_graph()->add_initializer() = w;
  add_node(&m, "MatMul", {"x", "w"}, {"h"}, "mm");
  add_node(&m, "Relu", {"h"}, {"y"}, "act");
  return m;
}

TEST(ImporterShapes, StaticContradictionFailsTheLoadNamingNodeAndShapes) {
  Graph g;
  Status s = import_model(matmul_model({1, 4}), &g);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  EXPECT_NE(s.message().find("MatMul (node \"mm\", ai.onnx opset 13): Incompatible dimensions"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("(inputs \"x\" [1,4], \"w\" [5,3])"), std::string::npos)
      << s.message();
  // Relu only lost its input's type: a consequence, not named.
  EXPECT_EQ(s.message().find("act"), std::string::npos) << s.message();
  // A symbolic batch leaves K known: still a contradiction.
  EXPECT_STATUS(import_model(matmul_model({-2, 4}), &g), StatusCode::kInvalidModel, "\"x\" [N,4]");
}

TEST(ImporterShapes, UnknownAndSymbolicDimsAreNoContradiction) {
  for (const std::vector<int64_t> &dims :
       {std::vector<int64_t>{1, -1}, {-2, -1}, {-1, 5}, {-2, 5}}) {
    Graph g;
    Status s = import_model(matmul_model(dims), &g);
    EXPECT_TRUE(s.is_ok()) << s.message();
  }
}

TEST(ImporterShapes, EveryContradictingNodeIsNamedInNodeOrder) {
  onnx::ModelProto m = matmul_model({1, 4});
  // Unnamed: named as the engine names it, by index.
  onnx::NodeProto *sm = add_node(&m, "Softmax", {"x"}, {"s"});
  add_attr(sm, "axis", onnx::AttributeProto::INT)->set_i(5);
  add_output(&m, "s", onnx::TensorProto::FLOAT, {1, 4});
  Graph g;
  Status s = import_model(m, &g);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  const size_t mm = s.message().find("MatMul (node \"mm\""),
               softmax = s.message().find(
                   "; Softmax (node \"Softmax_2\", ai.onnx opset 13): "
                   "'axis' must be in [-2 , 1]");
  EXPECT_NE(mm, std::string::npos) << s.message();
  EXPECT_NE(softmax, std::string::npos) << s.message();
  EXPECT_LT(mm, softmax) << s.message();
}

TEST(ImporterShapes, MalformedInitializersComeBeforeTheShapesTheyGive) {
  // w's raw data is too short for its dims, which contradict x as well.
  onnx::ModelProto m = matmul_model({1, 4});
  m.mutable_graph()->mutable_initializer(0)->set_raw_data(std::string(4, '\0'));
  Graph g;
  EXPECT_STATUS(import_model(m, &g), StatusCode::kInvalidModel, "has 4 bytes in raw_data");
}

TEST(ImporterShapes, RanksThatWouldCrashInferenceFailNamingTheNode) {
  // Gemm-6 with a 1-D B: libonnx reads B's dims 0 and 1 unchecked, so the
  // importer's guard reports it without running inference.
  onnx::ModelProto m = base_model(6, 3);
  add_input(&m, "a", onnx::TensorProto::FLOAT, {2, 3});
  add_input(&m, "b", onnx::TensorProto::FLOAT, {3});
  add_input(&m, "c", onnx::TensorProto::FLOAT, {4});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {2, 4});
  add_node(&m, "Gemm", {"a", "b", "c"}, {"y"}, "g6");
  Graph g;
  EXPECT_STATUS(import_model(m, &g), StatusCode::kInvalidModel,
                "Gemm (node \"g6\", ai.onnx opset 6): input 1 \"b\" has rank 1");
  // Conv whose weight rank differs from X's, and one whose kernel_shape
  // has too few values.
  for (int variant = 0; variant < 2; ++variant) {
    onnx::ModelProto c = base_model(11);
    add_input(&c, "x", onnx::TensorProto::FLOAT, {1, 1, 3, 3});
    add_input(&c, "w", onnx::TensorProto::FLOAT,
              variant == 0 ? std::vector<int64_t>{1, 3} : std::vector<int64_t>{1, 1, 2, 2});
    add_output(&c, "y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
    onnx::NodeProto *conv = add_node(&c, "Conv", {"x", "w"}, {"y"}, "conv");
    if (variant == 1) add_attr(conv, "kernel_shape", onnx::AttributeProto::INTS)->add_ints(2);
    EXPECT_STATUS(import_model(c, &g), StatusCode::kInvalidModel,
                  variant == 0 ? "Conv (node \"conv\", ai.onnx opset 11): input 1 \"w\" has rank 2"
                               : "attribute kernel_shape has 1 values, input 0 of rank 4 needs 2");
  }
  // A weight whose rank the guard cannot know (a Reshape's output): no
  // contradiction known, so the model loads without inferred hints.
  onnx::ModelProto c = base_model(11);
  add_input(&c, "x", onnx::TensorProto::FLOAT, {1, 1, 3, 3});
  add_input(&c, "w0", onnx::TensorProto::FLOAT, {4});
  add_input(&c, "dims", onnx::TensorProto::INT64, {4});
  add_output(&c, "y", onnx::TensorProto::FLOAT, {-1, -1, -1, -1});
  add_node(&c, "Reshape", {"w0", "dims"}, {"w"}, "to_weight");
  add_node(&c, "Conv", {"x", "w"}, {"y"}, "conv");
  Status s = import_model(c, &g);
  EXPECT_TRUE(s.is_ok()) << s.message();
}

// --- opsets ---------------------------------------------------------------

TEST(ImporterOpsets, NodeOpsetIsTheImportedVersion) {
  for (int64_t opset : {1, 6, 7, 13, 17}) {
    SCOPED_TRACE(opset);
    onnx::ModelProto m = base_model(opset, opset < 7 ? 3 : 8);
    add_input(&m, "x", onnx::TensorProto::FLOAT, {2});
    add_output(&m, "y", onnx::TensorProto::FLOAT, {2});
    add_node(&m, "Relu", {"x"}, {"y"});
    Graph g;
    Status s = import_model(m, &g);
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_EQ(g.nodes[0].opset, opset);
    EXPECT_EQ(g.nodes[0].domain, "");
  }
}

TEST(ImporterOpsets, IrVersion1WithoutOpsetImportIsOpset1) {
  onnx::ModelProto m = base_model(1, 1);
  m.clear_opset_import();
  add_input(&m, "x", onnx::TensorProto::FLOAT, {2});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {2});
  onnx::NodeProto *n = add_node(&m, "LeakyRelu", {"x"}, {"y"});
  onnx::AttributeProto *alpha = n->add_attribute();
  alpha->set_name("alpha");
  alpha->set_type(onnx::AttributeProto::FLOAT);
  alpha->set_f(0.3f);
  Graph g;
  Status s = import_model(m, &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(g.nodes[0].opset, 1);
  ASSERT_TRUE(g.nodes[0].has_attr("alpha"));
  EXPECT_EQ(g.nodes[0].attrs.at("alpha").kind, Attribute::Kind::kFloat);
  EXPECT_FLOAT_EQ(g.nodes[0].attr_float("alpha", 0.f), 0.3f);
}

TEST(ImporterOpsets, TooNewOrUnknownOpsetsAreRejected) {
  for (int64_t opset : {18, 99}) {
    onnx::ModelProto m = base_model(opset);
    add_input(&m, "x", onnx::TensorProto::FLOAT, {2});
    add_output(&m, "y", onnx::TensorProto::FLOAT, {2});
    add_node(&m, "Relu", {"x"}, {"y"});
    Graph g;
    Status s = import_model(m, &g);
    EXPECT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("opset " + std::to_string(opset)), std::string::npos) << s.message();
  }
  onnx::ModelProto m = base_model();
  onnx::OperatorSetIdProto *ml = m.add_opset_import();
  ml->set_domain("ai.onnx.ml");
  ml->set_version(42);
  add_input(&m, "x", onnx::TensorProto::FLOAT, {2});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {2});
  add_node(&m, "Relu", {"x"}, {"y"});
  Graph g;
  Status s = import_model(m, &g);
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("ai.onnx.ml opset 42"), std::string::npos) << s.message();
}

TEST(ImporterOpsets, CheckerFailureIsInvalidModel) {
  onnx::ModelProto m = base_model();
  add_input(&m, "x", onnx::TensorProto::FLOAT, {2});
  add_output(&m, "y", onnx::TensorProto::FLOAT, {2});
  add_node(&m, "NotAnOnnxOp", {"x"}, {"y"});
  Graph g;
  EXPECT_STATUS(import_model(m, &g), StatusCode::kInvalidModel, "NotAnOnnxOp");
}

// --- files and bytes ------------------------------------------------------

class ImporterFiles : public ImporterExternal {};

TEST_F(ImporterFiles, MissingFileIsIo) {
  Graph g;
  std::unique_ptr<Session> session;
  const std::string path = dir_ + "/absent.onnx";
  EXPECT_STATUS(import_onnx_file(path, &g), StatusCode::kIo, path);
  EXPECT_STATUS(load_session_file(path, SessionOptions(), &session), StatusCode::kIo, path);
  EXPECT_STATUS(import_onnx_file(dir_, &g), StatusCode::kIo, dir_);
}

TEST_F(ImporterFiles, EmptyFileIsNotAModel) {
  write(dir_ + "/empty.onnx", "");
  Graph g;
  Status s = import_onnx_file(dir_ + "/empty.onnx", &g);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.message();
  EXPECT_NE(s.message().find(dir_ + "/empty.onnx"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("not a valid ONNX model"), std::string::npos) << s.message();
}

TEST_F(ImporterFiles, RandomBytesAreNotAModel) {
  std::mt19937 rng(1234);
  for (size_t size : {1u, 7u, 100u, 4096u}) {
    std::string bytes(size, '\0');
    for (char &c : bytes) c = char(rng());
    write(dir_ + "/random.onnx", bytes);
    Graph g;
    EXPECT_EQ(import_onnx_file(dir_ + "/random.onnx", &g).code(), StatusCode::kInvalidModel)
        << size << " random bytes";
  }
}

TEST_F(ImporterFiles, TruncatedProtobufIsNotAModel) {
  onnx::TensorProto t = float_tensor("W", {2, 3});
  t.set_raw_data(float_bytes({1, 2, 3, 4, 5, 6}));
  std::string bytes;
  ASSERT_TRUE(add_model(t).SerializeToString(&bytes));
  for (size_t cut : {bytes.size() / 2, bytes.size() - 1}) {
    write(dir_ + "/cut.onnx", bytes.substr(0, cut));
    Graph g;
    EXPECT_STATUS(import_onnx_file(dir_ + "/cut.onnx", &g), StatusCode::kInvalidModel,
                  "not a valid ONNX model");
  }
}

// Every prefix and many single-byte corruptions of a valid model: each
// import must end in a Status, whatever libonnx and the converter meet.
TEST_F(ImporterFiles, CorruptedModelsFailCleanly) {
  onnx::TensorProto t = float_tensor("W", {2, 3});
  t.set_raw_data(float_bytes({1, 2, 3, 4, 5, 6}));
  onnx::ModelProto m = add_model(t);
  add_node(&m, "Relu", {"y"}, {"z"});
  add_output(&m, "z", onnx::TensorProto::FLOAT, {2, 3});
  std::string bytes;
  ASSERT_TRUE(m.SerializeToString(&bytes));
  std::mt19937 rng(99);
  auto check = [](const std::string &b) {
    Graph g;
    Status s = import_onnx_bytes(b.data(), b.size(), "", &g);
    EXPECT_TRUE(s.is_ok() || s.code() == StatusCode::kInvalidModel ||
                s.code() == StatusCode::kUnsupported)
        << s.message();
  };
  for (size_t cut = 0; cut < bytes.size(); ++cut) check(bytes.substr(0, cut));
  for (int trial = 0; trial < 2000; ++trial) {
    std::string b = bytes;
    b[rng() % b.size()] = char(rng());
    check(b);
  }
}

// --- TensorProto files ----------------------------------------------------

TEST(ImporterTensorProto, RoundTripEveryDtype) {
  std::mt19937 rng(7);
  const std::vector<std::pair<DType, Shape>> cases = {
      {DType::kFloat32, {2, 3}},  {DType::kFloat32, {}},   {DType::kFloat32, {0, 4}},
      {DType::kInt64, {5}},       {DType::kInt32, {3, 1}}, {DType::kInt8, {7}},
      {DType::kUint8, {1, 1, 9}}, {DType::kBool, {4}},
  };
  for (const auto &c : cases) {
    SCOPED_TRACE(std::string(dtype_name(c.first)) + shape_str(c.second));
    Tensor t;
    ASSERT_TRUE(Tensor::allocate(c.first, c.second, &t).is_ok());
    auto *bytes = static_cast<uint8_t *>(t.raw());
    for (size_t i = 0; i < t.size_bytes(); ++i) bytes[i] = uint8_t(rng());
    if (c.first == DType::kBool)
      for (size_t i = 0; i < t.size_bytes(); ++i) bytes[i] &= 1;
    std::string pb;
    ASSERT_TRUE(serialize_tensor_proto(t, "input_0", &pb).is_ok());
    Tensor back;
    std::string name;
    Status s = parse_tensor_proto(pb.data(), pb.size(), &back, &name);
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_EQ(name, "input_0");
    EXPECT_EQ(back.dtype(), c.first);
    EXPECT_EQ(back.shape(), c.second);
    ASSERT_EQ(back.size_bytes(), t.size_bytes());
    EXPECT_EQ(std::memcmp(back.raw(), t.raw(), t.size_bytes()), 0);
  }
}

TEST(ImporterTensorProto, ParsesTypedFieldsWrittenByOnnx) {
  onnx::TensorProto p = float_tensor("out", {3});
  for (float v : {1.f, -0.f, 3.5f}) p.add_float_data(v);
  std::string pb;
  ASSERT_TRUE(p.SerializeToString(&pb));
  Tensor t;
  ASSERT_TRUE(parse_tensor_proto(pb.data(), pb.size(), &t, nullptr).is_ok());
  EXPECT_EQ(values_of<float>(t), (std::vector<float>{1.f, -0.f, 3.5f}));
}

TEST(ImporterTensorProto, RejectsGarbageAndExternalData) {
  const std::string garbage = "\xff\xff\xff\xff\xff";
  Tensor t;
  EXPECT_FALSE(parse_tensor_proto(garbage.data(), garbage.size(), &t, nullptr).is_ok());
  onnx::TensorProto p = float_tensor("ext", {1});
  p.set_data_location(onnx::TensorProto::EXTERNAL);
  onnx::StringStringEntryProto *e = p.add_external_data();
  e->set_key("location");
  e->set_value("data.bin");
  std::string pb;
  ASSERT_TRUE(p.SerializeToString(&pb));
  EXPECT_STATUS(parse_tensor_proto(pb.data(), pb.size(), &t, nullptr), StatusCode::kInvalidModel,
                "data.bin");
}

TEST(ImporterTensorProto, ReadsOfficialTestData) {
  const std::string dir = "/usr/share/libonnx-testdata/data/node/test_relu/test_data_set_0/";
  std::ifstream f(dir + "input_0.pb", std::ios::binary);
  ASSERT_TRUE(f.good());
  std::string pb((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Tensor t;
  std::string name;
  ASSERT_TRUE(parse_tensor_proto(pb.data(), pb.size(), &t, &name).is_ok());
  EXPECT_EQ(name, "x");
  EXPECT_EQ(t.dtype(), DType::kFloat32);
  EXPECT_EQ(t.shape(), (Shape{3, 4, 5}));
}

// --- official ONNX models -------------------------------------------------

const std::string kNodeData = "/usr/share/libonnx-testdata/data/node/";

TEST(ImporterOnnxFiles, Relu) {
  Graph g;
  Status s = import_onnx_file(kNodeData + "test_relu/model.onnx", &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node &n = g.nodes[0];
  EXPECT_EQ(n.op_type, "Relu");
  EXPECT_EQ(n.name, "Relu_0");
  EXPECT_EQ(n.opset, 14);
  EXPECT_EQ(n.inputs, std::vector<int>{g.find_value("x")});
  EXPECT_EQ(n.outputs, std::vector<int>{g.find_value("y")});
  EXPECT_EQ(g.inputs, std::vector<int>{g.find_value("x")});
  EXPECT_EQ(g.outputs, std::vector<int>{g.find_value("y")});
  const ValueInfo &x = g.values[size_t(g.find_value("x"))];
  EXPECT_EQ(x.dtype, DType::kFloat32);
  ASSERT_EQ(x.dims.size(), 3u);
  EXPECT_EQ(x.dims[0].size, 3);
  EXPECT_EQ(x.dims[1].size, 4);
  EXPECT_EQ(x.dims[2].size, 5);
  EXPECT_TRUE(g.constants.empty());
}

TEST(ImporterOnnxFiles, GemmDefaultNoBias) {
  Graph g;
  Status s = import_onnx_file(kNodeData + "test_gemm_default_no_bias/model.onnx", &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "Gemm");
  EXPECT_EQ(g.nodes[0].opset, 13);
  EXPECT_EQ(g.nodes[0].inputs, (std::vector<int>{g.find_value("a"), g.find_value("b")}));
  EXPECT_EQ(g.inputs.size(), 2u);
  const ValueInfo &y = g.values[size_t(g.outputs.at(0))];
  EXPECT_EQ(y.name, "y");
  ASSERT_EQ(y.dims.size(), 2u);
  EXPECT_EQ(y.dims[0].size, 2);
  EXPECT_EQ(y.dims[1].size, 3);
}

TEST(ImporterOnnxFiles, ConstantModelHasNoNodes) {
  Graph g;
  Status s = import_onnx_file(kNodeData + "test_constant/model.onnx", &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_TRUE(g.nodes.empty());
  EXPECT_TRUE(g.inputs.empty());
  ASSERT_EQ(g.outputs.size(), 1u);
  const Tensor *c = g.constant(g.outputs[0]);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->shape(), (Shape{5, 5}));
}

TEST(ImporterOnnxFiles, ConvAttributes) {
  Graph g;
  Status s = import_onnx_file(kNodeData + "test_conv_with_strides_padding/model.onnx", &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].attr_ints("kernel_shape"), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(g.nodes[0].attr_ints("strides"), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(g.nodes[0].attr_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
}

TEST(ImporterOnnxFiles, PytorchIrVersion3BatchNorm) {
  Graph g;
  Status s = import_onnx_file(
      "/usr/share/libonnx-testdata/data/pytorch-converted/test_BatchNorm2d_eval/model.onnx", &g);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(g.inputs, std::vector<int>{g.find_value("0")});
  for (const char *c : {"1", "2", "3", "4"}) EXPECT_TRUE(g.is_constant(g.find_value(c))) << c;
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "BatchNormalization");
  EXPECT_EQ(g.nodes[0].opset, 6);
}

// Every official model either imports or is refused as unsupported: none of
// them is malformed, so kInvalidModel here is an importer bug.
TEST(ImporterOnnxFiles, EveryBackendModelImportsOrIsUnsupported) {
  const std::string root = "/usr/share/libonnx-testdata/data/";
  int imported = 0, total = 0;
  for (const char *suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    for (const auto &entry : fs::directory_iterator(root + suite)) {
      const std::string path = entry.path().string() + "/model.onnx";
      if (!fs::exists(path)) continue;
      Graph g;
      Status s = import_onnx_file(path, &g);
      ++total;
      if (s.is_ok()) {
        ++imported;
      } else {
        EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.message();
      }
    }
  }
  EXPECT_GT(total, 1000);
  EXPECT_GT(imported, total / 2);
}

}  // namespace
}  // namespace si
