// .bin / .npy / .pb readers and writers of the command line (tools/tensor_io).
// Oracles are independent of the code under test: byte strings produced by
// numpy 1.24's np.save, and the bundled model's inputs written by numpy
// (tofile) and by the onnx Python package (TensorProto).
#include "tools/tensor_io.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace si {
namespace {

const DType kAllDTypes[] = {DType::kFloat32, DType::kUint8, DType::kInt8,
                            DType::kInt32,   DType::kInt64, DType::kBool};

std::mt19937 &rng() {
  static std::mt19937 gen(::testing::UnitTest::GetInstance()->random_seed());
  return gen;
}

Tensor random_tensor(DType dtype, const Shape &shape) {
  Tensor t;
  EXPECT_TRUE(Tensor::allocate(dtype, shape, &t).is_ok());
  auto *p = static_cast<unsigned char *>(t.raw());
  for (size_t i = 0; i < t.size_bytes(); ++i) {
    p[i] = static_cast<unsigned char>(dtype == DType::kBool ? rng()() % 2 : rng()() % 256);
  }
  return t;
}

ValueInfo info_of(const std::string &name, DType dtype, std::vector<int64_t> dims) {
  ValueInfo v;
  v.name = name;
  v.dtype = dtype;
  v.has_shape = true;
  for (int64_t d : dims) {
    Dim dim;
    dim.size = d;
    if (d < 0) dim.param = "batch";
    v.dims.push_back(dim);
  }
  return v;
}

std::string bytes_of(const Tensor &t) {
  return std::string(static_cast<const char *>(t.raw()), t.size_bytes());
}

void expect_same(const Tensor &a, const Tensor &b) {
  EXPECT_EQ(a.dtype(), b.dtype());
  EXPECT_EQ(a.shape(), b.shape());
  EXPECT_EQ(bytes_of(a), bytes_of(b));
}

std::string source_dir() {
  const char *d = std::getenv("SI_SOURCE_DIR");
  return d ? d : SI_SOURCE_DIR_DEFAULT;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/si_tensor_io_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    DIR *d = ::opendir(path_.c_str());
    if (d) {
      while (dirent *e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") ::unlink((path_ + "/" + n).c_str());
      }
      ::closedir(d);
    }
    ::rmdir(path_.c_str());
  }
  const std::string &path() const { return path_; }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    DIR *d = ::opendir(path_.c_str());
    while (dirent *e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
    return out;
  }

 private:
  std::string path_;
};

// ---------------------------------------------------------------- .bin

TEST(Bin, RoundTripsEveryDtypeWithStaticShape) {
  for (DType dt : kAllDTypes) {
    for (const Shape &shape : {Shape{}, Shape{1}, Shape{3, 5}, Shape{2, 0, 3}, Shape{2, 3, 7}}) {
      Tensor t = random_tensor(dt, shape);
      std::string bytes;
      encode_bin(t, &bytes);
      EXPECT_EQ(bytes.size(), t.size_bytes());
      Tensor back;
      Status s = parse_bin(bytes.data(), bytes.size(), info_of("x", dt, shape), "x.bin", &back);
      ASSERT_TRUE(s.is_ok()) << dtype_name(dt) << shape_str(shape) << ": " << s.message();
      expect_same(t, back);
    }
  }
}

TEST(Bin, InfersTheOneUnknownDimFromTheSize) {
  for (DType dt : kAllDTypes) {
    for (int64_t rows : {0, 1, 3, 16}) {
      Tensor t = random_tensor(dt, {rows, 5});
      std::string bytes;
      encode_bin(t, &bytes);
      Tensor back;
      ASSERT_TRUE(
          parse_bin(bytes.data(), bytes.size(), info_of("x", dt, {-1, 5}), "x.bin", &back).is_ok());
      expect_same(t, back);
    }
  }
  // The unknown dim need not lead.
  Tensor t = random_tensor(DType::kInt32, {2, 7, 3});
  std::string bytes;
  encode_bin(t, &bytes);
  Tensor back;
  ASSERT_TRUE(
      parse_bin(bytes.data(), bytes.size(), info_of("x", DType::kInt32, {2, -1, 3}), "x.bin", &back)
          .is_ok());
  expect_same(t, back);
}

TEST(Bin, UnknownRankGivesOneDimension) {
  ValueInfo v;
  v.name = "x";
  v.dtype = DType::kInt64;
  std::string bytes(24, '\0');
  Tensor back;
  ASSERT_TRUE(parse_bin(bytes.data(), bytes.size(), v, "x.bin", &back).is_ok());
  EXPECT_EQ(back.shape(), Shape{3});
}

TEST(Bin, WrongSizeForDynamicShapeNamesFileSizeAndRowSize) {
  std::string bytes(1000, '\0');
  Tensor back;
  Status s = parse_bin(bytes.data(), bytes.size(), info_of("input", DType::kFloat32, {-1, 64}),
                       "in.bin", &back);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  for (const char *part : {"in.bin", "1000 bytes", "4 bytes per element", "256 bytes per row",
                           "\"input\"", "float32 [batch,64]"}) {
    EXPECT_NE(s.message().find(part), std::string::npos) << part << " in: " << s.message();
  }
}

TEST(Bin, WrongSizeForStaticShapeNamesFileAndExpectedSize) {
  for (size_t size : {0, 255, 257, 512}) {
    std::string bytes(size, '\0');
    Tensor back;
    Status s = parse_bin(bytes.data(), bytes.size(), info_of("input", DType::kFloat32, {1, 64}),
                         "in.bin", &back);
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("in.bin: " + std::to_string(size) + " bytes"), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("needs exactly 256 bytes"), std::string::npos) << s.message();
  }
}

TEST(Bin, RejectsTwoUnknownDims) {
  std::string bytes(64, '\0');
  Tensor back;
  Status s = parse_bin(bytes.data(), bytes.size(), info_of("x", DType::kFloat32, {-1, 4, -1}),
                       "x.bin", &back);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("more than one unknown dim"), std::string::npos) << s.message();
}

TEST(Bin, ZeroSizedRowsNeedAnEmptyFile) {
  Tensor back;
  std::string empty;
  ASSERT_TRUE(
      parse_bin(empty.data(), 0, info_of("x", DType::kFloat32, {-1, 0}), "x.bin", &back).is_ok());
  EXPECT_EQ(back.shape(), (Shape{0, 0}));
  std::string bytes(4, '\0');
  EXPECT_FALSE(
      parse_bin(bytes.data(), 4, info_of("x", DType::kFloat32, {-1, 0}), "x.bin", &back).is_ok());
}

TEST(Bin, RejectsBoolBytesOtherThanZeroOrOne) {
  std::string bytes = {0, 1, 1, 2};
  Tensor back;
  Status s = parse_bin(bytes.data(), bytes.size(), info_of("m", DType::kBool, {4}), "m.bin", &back);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("byte offset 3"), std::string::npos) << s.message();
}

TEST(Bin, RejectsShapesAbove2To40Elements) {
  std::string bytes(4, '\0');
  Tensor back;
  Status s = parse_bin(bytes.data(), bytes.size(),
                       info_of("x", DType::kFloat32, {-1, int64_t{1} << 30, int64_t{1} << 30}),
                       "x.bin", &back);
  EXPECT_FALSE(s.is_ok());
}

// ---------------------------------------------------------------- .npy

// np.save output of numpy 1.24 (the oracle), with the array it holds.
struct NumpyFile {
  std::string bytes;
  DType dtype;
  Shape shape;
  std::string data;
};

std::vector<NumpyFile> numpy_files() {
  auto pad = [](std::string dict) {
    // numpy 1.24 pads the dict with spaces to 127 bytes after the 10-byte prefix and ends with
    // '\n'.
    return dict + std::string(117 - dict.size(), ' ') + "\n";
  };
  const std::string v1 = std::string("\x93NUMPY\x01\x00v\x00", 10);
  return {
      {v1 + pad("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 3), }") +
           std::string("\x01\x00\x00\x00\xfe\xff\xff\xff\x03\x00\x00\x00", 12),
       DType::kInt32,
       {1, 3},
       std::string("\x01\x00\x00\x00\xfe\xff\xff\xff\x03\x00\x00\x00", 12)},
      {v1 + pad("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }") +
           std::string("\x01\x00\x01", 3),
       DType::kBool,
       {3},
       std::string("\x01\x00\x01", 3)},
      {v1 + pad("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }"),
       DType::kFloat32,
       {0, 3},
       ""},
      {v1 + pad("{'descr': '<f4', 'fortran_order': False, 'shape': (), }") +
           std::string("\x00\x00\x20\x40", 4),
       DType::kFloat32,
       {},
       std::string("\x00\x00\x20\x40", 4)},  // 2.5f
  };
}

TEST(Npy, ReadsWhatNumpyWrites) {
  for (const NumpyFile &f : numpy_files()) {
    Tensor t;
    Status s = parse_npy(f.bytes.data(), f.bytes.size(), "a.npy", &t);
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_EQ(t.dtype(), f.dtype);
    EXPECT_EQ(t.shape(), f.shape);
    EXPECT_EQ(bytes_of(t), f.data);
  }
}

TEST(Npy, WritesWhatNumpyWrites) {
  for (const NumpyFile &f : numpy_files()) {
    Tensor t;
    ASSERT_TRUE(Tensor::allocate(f.dtype, f.shape, &t).is_ok());
    if (!f.data.empty()) std::memcpy(t.raw(), f.data.data(), f.data.size());
    std::string bytes;
    ASSERT_TRUE(encode_npy(t, &bytes).is_ok());
    EXPECT_EQ(bytes, f.bytes) << shape_str(f.shape);
  }
}

TEST(Npy, ReadsFormatVersions2And3) {
  // np.lib.format.write_array(f, np.arange(3, dtype='<i8'), version=(2, 0)) and (3, 0).
  std::string dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
  dict += std::string(115 - dict.size(), ' ') + "\n";
  std::string data;
  for (int64_t v = 0; v < 3; ++v) data += std::string(reinterpret_cast<const char *>(&v), 8);
  for (char major : {'\x02', '\x03'}) {
    std::string bytes =
        std::string("\x93NUMPY", 6) + major + '\0' + std::string("t\0\0\0", 4) + dict + data;
    Tensor t;
    Status s = parse_npy(bytes.data(), bytes.size(), "a.npy", &t);
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_EQ(t.dtype(), DType::kInt64);
    EXPECT_EQ(t.shape(), Shape{3});
    EXPECT_EQ(t.data<int64_t>()[2], 2);
  }
}

TEST(Npy, RoundTripsEveryDtypeAndRank) {
  for (DType dt : kAllDTypes) {
    for (const Shape &shape : {Shape{}, Shape{1}, Shape{7}, Shape{0}, Shape{3, 5}, Shape{2, 0, 3},
                               Shape{2, 3, 1, 4}, Shape{1234567, 0}}) {
      Tensor t = random_tensor(dt, shape);
      std::string bytes;
      ASSERT_TRUE(encode_npy(t, &bytes).is_ok());
      Tensor back;
      Status s = parse_npy(bytes.data(), bytes.size(), "a.npy", &back);
      ASSERT_TRUE(s.is_ok()) << dtype_name(dt) << shape_str(shape) << ": " << s.message();
      expect_same(t, back);
    }
  }
}

std::string npy_with(const std::string &dict, const std::string &data) {
  std::string header = dict + "\n";
  std::string len = {static_cast<char>(header.size() & 0xff),
                     static_cast<char>(header.size() >> 8)};
  return std::string("\x93NUMPY\x01\x00", 8) + len + header + data;
}

void expect_npy_error(const std::string &bytes, const std::string &fragment) {
  Tensor t;
  Status s = parse_npy(bytes.data(), bytes.size(), "bad.npy", &t);
  ASSERT_FALSE(s.is_ok()) << "accepted; expected an error containing: " << fragment;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("bad.npy: ", 0), 0u) << s.message();
  EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
}

TEST(Npy, RejectsMalformedFiles) {
  const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string ok_data(8, '\0');
  std::string good = npy_with(ok_dict, ok_data);
  {
    Tensor t;
    ASSERT_TRUE(parse_npy(good.data(), good.size(), "good.npy", &t).is_ok());
  }
  expect_npy_error("", "magic");
  expect_npy_error("NUMPY\x01\x00", "magic");
  expect_npy_error("\x93NUMPZ" + good.substr(6), "magic");
  expect_npy_error(good.substr(0, 9), "truncated");
  // Every proper prefix fails: no truncation is accepted.
  for (size_t n = 0; n < good.size(); ++n) {
    Tensor t;
    EXPECT_FALSE(parse_npy(good.data(), n, "bad.npy", &t).is_ok()) << n;
  }
  std::string v9 = good;
  v9[6] = 9;
  expect_npy_error(v9, "version 9.0");
  std::string long_header = good;
  long_header[8] = '\xff';
  long_header[9] = '\x7f';
  expect_npy_error(long_header, "runs past the end of the file");
  expect_npy_error(npy_with("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", ok_data),
                   "Fortran order");
  expect_npy_error(npy_with("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", ok_data),
                   "unsupported .npy dtype '<f8'");
  expect_npy_error(npy_with("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", ok_data),
                   "unsupported .npy dtype '>f4'");
  expect_npy_error(npy_with(ok_dict, ok_data + "x"), "file has 9");
  expect_npy_error(npy_with(ok_dict, ok_data.substr(1)), "truncated");
  expect_npy_error(npy_with("{'descr': '<f4', 'shape': (2,), }", ok_data), "lacks");
  expect_npy_error(
      npy_with("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
               ok_data),
      "repeated key 'descr'");
  expect_npy_error(
      npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", ok_data),
      "key 'x'");
  expect_npy_error(npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", ok_data),
                   "trailing comma");
  expect_npy_error(npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", ok_data),
                   "expected a dimension");
  expect_npy_error(
      npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999,), }", ok_data),
      "2^40");
  expect_npy_error(npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, "
                            "1048576, 2), }",
                            ok_data),
                   "2^40");
  expect_npy_error(npy_with("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", ok_data),
                   "True or False");
  expect_npy_error(npy_with("{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }", ok_data),
                   "malformed");
  expect_npy_error(npy_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", ok_data),
                   "after the header");
  expect_npy_error(npy_with("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }",
                            std::string("\x01\x05", 2)),
                   "not a bool");
}

// ---------------------------------------------------------------- checks and files

TEST(CheckMatches, ComparesDtypeRankAndKnownDims) {
  Tensor t = random_tensor(DType::kFloat32, {3, 64});
  EXPECT_TRUE(check_matches(t, info_of("x", DType::kFloat32, {-1, 64}), "f").is_ok());
  EXPECT_TRUE(check_matches(t, info_of("x", DType::kFloat32, {3, 64}), "f").is_ok());
  ValueInfo any;
  any.dtype = DType::kFloat32;
  EXPECT_TRUE(check_matches(t, any, "f").is_ok());
  Status s = check_matches(t, info_of("x", DType::kInt64, {-1, 64}), "f.npy");
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("f.npy: holds float32 [3,64]"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("int64"), std::string::npos) << s.message();
  EXPECT_FALSE(check_matches(t, info_of("x", DType::kFloat32, {-1, 63}), "f").is_ok());
  EXPECT_FALSE(check_matches(t, info_of("x", DType::kFloat32, {-1}), "f").is_ok());
  EXPECT_FALSE(check_matches(t, info_of("x", DType::kFloat32, {1, 3, 64}), "f").is_ok());
}

TEST(Files, WriteTensorFileRoundTripsAndLeavesNoTemporaries) {
  TempDir dir;
  for (const char *ext : {".bin", ".npy", ".pb", ".NPY"}) {
    for (DType dt : kAllDTypes) {
      Tensor t = random_tensor(dt, {2, 3});
      std::string path = dir.path() + "/t" + ext;
      Status s = write_tensor_file(path, t, "y");
      ASSERT_TRUE(s.is_ok()) << ext << " " << dtype_name(dt) << ": " << s.message();
      Tensor back;
      s = read_input_file(path, info_of("y", dt, {-1, 3}), &back);
      ASSERT_TRUE(s.is_ok()) << ext << " " << dtype_name(dt) << ": " << s.message();
      expect_same(t, back);
    }
  }
  EXPECT_EQ(dir.entries().size(), 4u);  // t.bin t.npy t.pb t.NPY and nothing else
}

TEST(Files, WriteFailuresNameThePath) {
  Tensor t = random_tensor(DType::kFloat32, {2});
  Status s = write_tensor_file("/nonexistent_dir_si/out.bin", t, "y");
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kIo);
  EXPECT_NE(s.message().find("/nonexistent_dir_si/out.bin"), std::string::npos) << s.message();
  s = write_tensor_file("/tmp/out.txt", t, "y");
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("unknown output file type"), std::string::npos) << s.message();
}

TEST(Files, WriteReplacesAnExistingFile) {
  TempDir dir;
  std::string path = dir.path() + "/f.bin";
  ASSERT_TRUE(write_file_atomic(path, std::string(1000, 'a')).is_ok());
  ASSERT_TRUE(write_file_atomic(path, "bc").is_ok());
  std::string back;
  ASSERT_TRUE(read_file(path, &back).is_ok());
  EXPECT_EQ(back, "bc");
  EXPECT_EQ(dir.entries().size(), 1u);
}

TEST(Files, ReadInputFileErrorsNameTheFile) {
  ValueInfo v = info_of("input", DType::kFloat32, {-1, 64});
  Tensor t;
  Status s = read_input_file("/nonexistent_si/x.bin", v, &t);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kIo);
  EXPECT_NE(s.message().find("/nonexistent_si/x.bin"), std::string::npos) << s.message();
  TempDir dir;
  s = read_input_file(dir.path() + "/", v, &t);
  EXPECT_FALSE(s.is_ok());
  s = read_input_file("/tmp/input.csv", v, &t);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("unknown input file type"), std::string::npos) << s.message();
  ASSERT_EQ(::mkdir((dir.path() + "/d.bin").c_str(), 0755), 0);
  s = read_input_file(dir.path() + "/d.bin", v, &t);
  ::rmdir((dir.path() + "/d.bin").c_str());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("not a regular file"), std::string::npos) << s.message();
}

TEST(Files, PbRejectsGarbageAndWrongDtype) {
  TempDir dir;
  std::string path = dir.path() + "/g.pb";
  ASSERT_TRUE(write_file_atomic(path, std::string("\xff\xff\xff\xff\x0f garbage", 13)).is_ok());
  Tensor t;
  Status s = read_input_file(path, info_of("input", DType::kFloat32, {-1, 64}), &t);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  Tensor ints = random_tensor(DType::kInt64, {1, 64});
  ASSERT_TRUE(write_tensor_file(path, ints, "input").is_ok());
  s = read_input_file(path, info_of("input", DType::kFloat32, {-1, 64}), &t);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("holds int64"), std::string::npos) << s.message();
}

// The bundled model's first input as written by numpy (tofile) and by the
// onnx Python package (TensorProto) must read back identical.
TEST(Files, BundledBinAndPbInputsAgree) {
  std::string base = source_dir() + "/models/digits_mlp/";
  ValueInfo v = info_of("input", DType::kFloat32, {-1, 64});
  Tensor from_bin, from_pb, batch;
  Status s = read_input_file(base + "input_0.bin", v, &from_bin);
  ASSERT_TRUE(s.is_ok()) << s.message();
  s = read_input_file(base + "test_data_set_0/input_0.pb", v, &from_pb);
  ASSERT_TRUE(s.is_ok()) << s.message();
  expect_same(from_bin, from_pb);
  EXPECT_EQ(from_bin.shape(), (Shape{1, 64}));
  s = read_input_file(base + "batch_16.bin", v, &batch);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(batch.shape(), (Shape{16, 64}));
  // batch_16 starts with input_0's row.
  EXPECT_EQ(std::memcmp(batch.raw(), from_bin.raw(), 64 * sizeof(float)), 0);
}

TEST(ValueInfoStr, PrintsDtypeAndDims) {
  EXPECT_EQ(value_info_str(info_of("x", DType::kFloat32, {-1, 64})), "float32 [batch,64]");
  ValueInfo v = info_of("x", DType::kInt64, {2, -1});
  v.dims[1].param.clear();
  EXPECT_EQ(value_info_str(v), "int64 [2,?]");
  ValueInfo any;
  any.dtype = DType::kBool;
  EXPECT_EQ(value_info_str(any), "bool (unknown rank)");
}

}  // namespace
}  // namespace si
