#include "tools/tensor_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "importers/onnx/onnx_importer.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              ".bin and .npy data are copied as is, which assumes a little-endian host");

namespace si {

namespace {

std::string quoted(const std::string &s) {
  return "\"" + s + "\"";
}

std::string lower_extension(const std::string &path) {
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot);
  for (char &c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// Copies `size` bytes into a fresh tensor, rejecting bool bytes other than 0/1
// because kernels treat bools as exactly 0 or 1.
Status make_tensor(DType dtype, Shape shape, const unsigned char *src, size_t size,
                   size_t data_offset, const std::string &what, Tensor *out) {
  if (dtype == DType::kBool) {
    for (size_t i = 0; i < size; ++i) {
      if (src[i] > 1) {
        return invalid_argument(what + ": byte offset " + std::to_string(data_offset + i) +
                                " holds " + std::to_string(src[i]) + ", not a bool (0 or 1)");
      }
    }
  }
  Tensor t;
  Status s = Tensor::allocate(dtype, std::move(shape), &t);
  if (!s.is_ok()) return Status(s.code(), what + ": " + s.message());
  if (size != 0) std::memcpy(t.raw(), src, size);
  *out = std::move(t);
  return Status::ok();
}

// --- .npy header: a Python dict literal with exactly the keys descr,
// fortran_order and shape, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (1, 64), }

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

class HeaderParser {
 public:
  HeaderParser(const std::string &text, const std::string &what, size_t base)
      : s_(text), what_(what), base_(base) {}

  Status parse(NpyHeader *h) {
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    skip_ws();
    SI_RETURN_IF_ERROR(expect('{'));
    for (;;) {
      skip_ws();
      if (peek() == '}') break;
      std::string key;
      SI_RETURN_IF_ERROR(parse_string(&key));
      skip_ws();
      SI_RETURN_IF_ERROR(expect(':'));
      skip_ws();
      if (key == "descr" && !seen_descr) {
        seen_descr = true;
        SI_RETURN_IF_ERROR(parse_string(&h->descr));
      } else if (key == "fortran_order" && !seen_fortran) {
        seen_fortran = true;
        SI_RETURN_IF_ERROR(parse_bool(&h->fortran_order));
      } else if (key == "shape" && !seen_shape) {
        seen_shape = true;
        SI_RETURN_IF_ERROR(parse_shape(&h->shape));
      } else {
        return error("unexpected or repeated key '" + key + "'");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') return error("expected ',' or '}'");
    }
    ++pos_;
    skip_ws();
    if (pos_ != s_.size()) return error("unexpected text after the header dict");
    if (!seen_descr || !seen_fortran || !seen_shape) {
      return error("header lacks one of 'descr', 'fortran_order', 'shape'");
    }
    return Status::ok();
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
  }
  Status error(const std::string &msg) const {
    return invalid_argument(what_ + ": malformed .npy header at byte offset " +
                            std::to_string(base_ + pos_) + ": " + msg);
  }
  Status expect(char c) {
    if (peek() != c) return error(std::string("expected '") + c + "'");
    ++pos_;
    return Status::ok();
  }
  Status parse_string(std::string *out) {
    char q = peek();
    if (q != '\'' && q != '"') return error("expected a quoted string");
    size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) return error("unterminated string");
    *out = s_.substr(pos_ + 1, end - pos_ - 1);
    if (out->find('\\') != std::string::npos) return error("escapes in strings are not supported");
    pos_ = end + 1;
    return Status::ok();
  }
  Status parse_bool(bool *out) {
    if (s_.compare(pos_, 4, "True") == 0) {
      *out = true;
      pos_ += 4;
    } else if (s_.compare(pos_, 5, "False") == 0) {
      *out = false;
      pos_ += 5;
    } else {
      return error("expected True or False");
    }
    return Status::ok();
  }
  Status parse_shape(Shape *out) {
    SI_RETURN_IF_ERROR(expect('('));
    bool trailing_comma = false;
    for (;;) {
      skip_ws();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) return error("expected a dimension");
      int64_t d = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        d = d * 10 + (s_[pos_++] - '0');
        if (d > kMaxElements) return error("dimension above 2^40");
      }
      out->push_back(d);
      skip_ws();
      trailing_comma = peek() == ',';
      if (trailing_comma) {
        ++pos_;
      } else if (peek() != ')') {
        return error("expected ',' or ')' in shape");
      }
    }
    // Python reads "(3)" as the int 3, not a tuple; numpy rejects it too.
    if (out->size() == 1 && !trailing_comma) return error("a 1-D shape needs a trailing comma");
    ++pos_;
    return Status::ok();
  }

  const std::string &s_;
  const std::string &what_;
  size_t base_;
  size_t pos_ = 0;
};

struct NpyDescr {
  const char *descr;
  DType dtype;
};
constexpr NpyDescr kNpyDescrs[] = {
    {"<f4", DType::kFloat32}, {"<i8", DType::kInt64}, {"<i4", DType::kInt32},
    {"|u1", DType::kUint8},   {"|i1", DType::kInt8},  {"|b1", DType::kBool},
};

const char *npy_descr(DType dtype) {
  for (const NpyDescr &d : kNpyDescrs) {
    if (d.dtype == dtype) return d.descr;
  }
  return nullptr;
}

uint32_t read_le(const unsigned char *p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::string errno_str() {
  return std::strerror(errno);
}

}  // namespace

bool tensor_format_from_path(const std::string &path, TensorFormat *out) {
  std::string ext = lower_extension(path);
  if (ext == ".bin") {
    *out = TensorFormat::kBin;
  } else if (ext == ".npy") {
    *out = TensorFormat::kNpy;
  } else if (ext == ".pb") {
    *out = TensorFormat::kPb;
  } else {
    return false;
  }
  return true;
}

std::string value_info_str(const ValueInfo &info) {
  std::string s = value_type_name(info) + " ";
  if (info.sequence) return s + "(element shapes not checked)";
  if (!info.has_shape) return s + "(unknown rank)";
  s += "[";
  for (size_t i = 0; i < info.dims.size(); ++i) {
    if (i) s += ",";
    const Dim &d = info.dims[i];
    s += d.size >= 0 ? std::to_string(d.size) : (d.param.empty() ? "?" : d.param);
  }
  return s + "]";
}

Status parse_bin(const void *data, size_t size, const ValueInfo &info, const std::string &what,
                 Tensor *out) {
  size_t esize = dtype_size(info.dtype);
  if (esize == 0) {
    return invalid_argument(what + ": input " + quoted(info.name) + " has dtype " +
                            dtype_name(info.dtype) + ", which a .bin file cannot hold");
  }
  const std::string target = "input " + quoted(info.name) + " " + value_info_str(info);
  Shape shape;
  int unknown = -1;
  int64_t row = 1;  // product of the known dims
  if (!info.has_shape) {
    unknown = 0;
    shape.push_back(-1);
  } else {
    for (size_t i = 0; i < info.dims.size(); ++i) {
      int64_t d = info.dims[i].size;
      shape.push_back(d);
      if (d >= 0) {
        if (d != 0 && row > kMaxElements / d) {
          return invalid_argument(what + ": " + target + " has more than 2^40 elements");
        }
        row *= d;
      } else if (unknown >= 0) {
        return invalid_argument(what + ": " + target +
                                " has more than one unknown dim; a .bin file can fix only one "
                                "(use .npy or .pb)");
      } else {
        unknown = static_cast<int>(i);
      }
    }
  }
  size_t row_bytes = static_cast<size_t>(row) * esize;
  if (unknown < 0) {
    if (size != row_bytes) {
      return invalid_argument(what + ": " + std::to_string(size) + " bytes, but " + target +
                              " needs exactly " + std::to_string(row_bytes) + " bytes");
    }
  } else if (row_bytes == 0) {
    if (size != 0) {
      return invalid_argument(what + ": " + std::to_string(size) + " bytes, but " + target +
                              " has no elements");
    }
    shape[size_t(unknown)] = 0;
  } else {
    if (size % row_bytes != 0) {
      return invalid_argument(what + ": " + std::to_string(size) +
                              " bytes is not a whole number of rows of " + target + " (" +
                              std::to_string(esize) + " bytes per element, " +
                              std::to_string(row_bytes) + " bytes per row)");
    }
    shape[size_t(unknown)] = static_cast<int64_t>(size / row_bytes);
  }
  return make_tensor(info.dtype, std::move(shape), static_cast<const unsigned char *>(data), size,
                     0, what, out);
}

void encode_bin(const Tensor &tensor, std::string *bytes) {
  bytes->clear();
  if (tensor.size_bytes() != 0) {
    bytes->assign(static_cast<const char *>(tensor.raw()), tensor.size_bytes());
  }
}

Status parse_npy(const void *data, size_t size, const std::string &what, Tensor *out) {
  const auto *p = static_cast<const unsigned char *>(data);
  static const unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 8 || std::memcmp(p, kMagic, 6) != 0) {
    return invalid_argument(what + ": not a .npy file (no \\x93NUMPY magic at byte offset 0)");
  }
  int major = p[6];
  if (major < 1 || major > 3) {
    return invalid_argument(what + ": unsupported .npy format version " + std::to_string(major) +
                            "." + std::to_string(p[7]) + " (expected 1.0, 2.0 or 3.0)");
  }
  size_t len_bytes = major == 1 ? 2 : 4;
  if (size < 8 + len_bytes) {
    return invalid_argument(what + ": truncated .npy file: " + std::to_string(size) +
                            " bytes end inside the header length field");
  }
  size_t header_len = read_le(p + 8, static_cast<int>(len_bytes));
  size_t header_start = 8 + len_bytes;
  if (header_len > size - header_start) {
    return invalid_argument(what + ": .npy header of " + std::to_string(header_len) +
                            " bytes at byte offset " + std::to_string(header_start) +
                            " runs past the end of the file (" + std::to_string(size) + " bytes)");
  }
  std::string text(reinterpret_cast<const char *>(p + header_start), header_len);
  NpyHeader h;
  SI_RETURN_IF_ERROR(HeaderParser(text, what, header_start).parse(&h));
  if (h.fortran_order) {
    return invalid_argument(what +
                            ": .npy array is in Fortran order; only C order is supported "
                            "(save np.ascontiguousarray(a))");
  }
  DType dtype = DType::kUndefined;
  for (const NpyDescr &d : kNpyDescrs) {
    if (h.descr == d.descr) dtype = d.dtype;
  }
  if (dtype == DType::kUndefined) {
    return invalid_argument(what + ": unsupported .npy dtype '" + h.descr +
                            "' (supported: <f4 <i8 <i4 |u1 |i1 |b1)");
  }
  int64_t n = 0;
  Status s = checked_numel(h.shape, &n);
  if (!s.is_ok()) return invalid_argument(what + ": .npy " + s.message());
  size_t data_start = header_start + header_len;
  size_t need = static_cast<size_t>(n) * dtype_size(dtype);
  size_t have = size - data_start;
  if (have != need) {
    return invalid_argument(what + ": .npy " + h.descr + " " + shape_str(h.shape) + " needs " +
                            std::to_string(need) + " data bytes after the header, file has " +
                            std::to_string(have) + (have < need ? " (truncated)" : ""));
  }
  return make_tensor(dtype, h.shape, p + data_start, need, data_start, what, out);
}

Status encode_npy(const Tensor &tensor, std::string *bytes) {
  if (npy_descr(tensor.dtype()) == nullptr) {
    return invalid_argument(std::string("a .npy file cannot hold dtype ") +
                            dtype_name(tensor.dtype()));
  }
  std::string dict = std::string("{'descr': '") + npy_descr(tensor.dtype()) +
                     "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < tensor.shape().size(); ++i) {
    dict += std::to_string(tensor.shape()[i]) + (tensor.shape().size() == 1 ? "," : "");
    if (i + 1 < tensor.shape().size()) dict += ", ";
  }
  dict += "), }";
  // Like numpy >= 1.23: room for the leading dim to grow in place, data
  // 64-byte aligned, header ending in '\n'; our files are byte-identical to np.save.
  if (!tensor.shape().empty()) {
    size_t digits = std::to_string(tensor.shape()[0]).size();
    dict.append(digits < 21 ? 21 - digits : 0, ' ');
  }
  size_t prefix = 10;
  size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  if (total - prefix > 0xffff) {
    prefix = 12;
    total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  }
  size_t header_len = total - prefix;
  dict.append(header_len - dict.size() - 1, ' ');
  dict += '\n';
  bytes->assign("\x93NUMPY", 6);
  bytes->push_back(static_cast<char>(prefix == 10 ? 1 : 2));
  bytes->push_back(0);
  for (size_t i = 0; i < prefix - 8; ++i) {
    bytes->push_back(static_cast<char>((header_len >> (8 * i)) & 0xff));
  }
  *bytes += dict;
  if (tensor.size_bytes() != 0) {
    bytes->append(static_cast<const char *>(tensor.raw()), tensor.size_bytes());
  }
  return Status::ok();
}

Status check_matches(const Tensor &tensor, const ValueInfo &info, const std::string &what) {
  const std::string target = "input " + quoted(info.name) + " " + value_info_str(info);
  if (tensor.dtype() != info.dtype) {
    return invalid_argument(what + ": holds " + dtype_name(tensor.dtype()) + " " +
                            shape_str(tensor.shape()) + ", but " + target + " is " +
                            dtype_name(info.dtype));
  }
  if (!info.has_shape) return Status::ok();
  bool ok = tensor.rank() == static_cast<int64_t>(info.dims.size());
  for (size_t i = 0; ok && i < info.dims.size(); ++i) {
    ok = info.dims[i].size < 0 || info.dims[i].size == tensor.shape()[i];
  }
  if (!ok) {
    return invalid_argument(what + ": holds shape " + shape_str(tensor.shape()) + ", but " +
                            target + " does not accept it");
  }
  return Status::ok();
}

Status read_file(const std::string &path, std::string *bytes) {
  // O_NONBLOCK: opening a FIFO must fail the regular-file check below, not wait for a writer.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return io_error(path + ": cannot open: " + errno_str());
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return io_error(path + ": not a regular file");
  }
  bytes->clear();
  bytes->reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string err = errno_str();
      ::close(fd);
      return io_error(path + ": read failed: " + err);
    }
    if (n == 0) break;
    bytes->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return Status::ok();
}

Status write_file_atomic(const std::string &path, const std::string &bytes) {
  // O_EXCL on a fresh name (not mkstemp) so the file gets the usual 0666 &
  // ~umask permissions instead of 0600.
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
    tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) return io_error(path + ": cannot create a temporary file next to it: " + errno_str());
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string err = errno_str();
      ::close(fd);
      ::unlink(tmp.c_str());
      return io_error(path + ": write failed: " + err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string err = errno_str();
    ::unlink(tmp.c_str());
    return io_error(path + ": write failed: " + err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = errno_str();
    ::unlink(tmp.c_str());
    return io_error(path + ": cannot replace: " + err);
  }
  return Status::ok();
}

Status read_input_file(const std::string &path, const ValueInfo &info, Tensor *out) {
  TensorFormat format;
  if (!tensor_format_from_path(path, &format)) {
    return invalid_argument(path + ": unknown input file type (expected .bin, .npy or .pb)");
  }
  std::string bytes;
  SI_RETURN_IF_ERROR(read_file(path, &bytes));
  if (format == TensorFormat::kBin) return parse_bin(bytes.data(), bytes.size(), info, path, out);
  Tensor t;
  if (format == TensorFormat::kNpy) {
    SI_RETURN_IF_ERROR(parse_npy(bytes.data(), bytes.size(), path, &t));
  } else {
    Status s = parse_tensor_proto(bytes.data(), bytes.size(), &t, nullptr);
    if (!s.is_ok()) return invalid_argument(path + ": " + s.message());
  }
  SI_RETURN_IF_ERROR(check_matches(t, info, path));
  *out = std::move(t);
  return Status::ok();
}

Status write_tensor_file(const std::string &path, const Tensor &tensor, const std::string &name) {
  TensorFormat format;
  if (!tensor_format_from_path(path, &format)) {
    return invalid_argument(path + ": unknown output file type (expected .bin, .npy or .pb)");
  }
  std::string bytes;
  Status s;
  if (format == TensorFormat::kBin) {
    encode_bin(tensor, &bytes);
  } else if (format == TensorFormat::kNpy) {
    s = encode_npy(tensor, &bytes);
  } else {
    s = serialize_tensor_proto(tensor, name, &bytes);
  }
  if (!s.is_ok()) return Status(s.code(), path + ": " + s.message());
  return write_file_atomic(path, bytes);
}

}  // namespace si
