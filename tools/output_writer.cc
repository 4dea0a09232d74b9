#include "tools/output_writer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>

#include "tools/tensor_io.h"

namespace si::cli {

namespace {

constexpr int64_t kShownValues = 10;
constexpr int64_t kShownRows = 1000;
constexpr size_t kMaxStem = 200;

std::string value_str(const Tensor &t, int64_t i) {
  char buf[32];
  switch (t.dtype()) {
    case DType::kFloat32:
      std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(t.data<float>()[i]));
      return buf;
    case DType::kUint8:
      return std::to_string(t.data<uint8_t>()[i]);
    case DType::kInt8:
      return std::to_string(t.data<int8_t>()[i]);
    case DType::kInt32:
      return std::to_string(t.data<int32_t>()[i]);
    case DType::kInt64:
      return std::to_string(t.data<int64_t>()[i]);
    case DType::kBool:
      return t.data<uint8_t>()[i] ? "true" : "false";
    case DType::kUndefined:
      break;
  }
  return "?";
}

// numpy's argmax: the first maximum, and a NaN beats every number.
int64_t argmax(const float *x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i) {
    if (std::isnan(x[best])) break;
    if (x[i] > x[best] || std::isnan(x[i])) best = i;
  }
  return best;
}

}  // namespace

std::string escape_file_name(const std::string &name) {
  std::string s;
  for (char c : name.substr(0, kMaxStem)) {
    bool safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
    s += safe ? c : '_';
  }
  if (s.empty() || s == ".") return "_";
  if (s == "..") return "__";
  return s;
}

std::vector<std::string> output_file_names(const std::vector<std::string> &names) {
  std::vector<std::string> out;
  std::set<std::string> taken;
  for (const std::string &name : names) {
    std::string stem = escape_file_name(name);
    std::string file = stem + ".bin";
    for (int k = 2; taken.count(file); ++k) file = stem + "_" + std::to_string(k) + ".bin";
    taken.insert(file);
    out.push_back(file);
  }
  return out;
}

std::string describe_output(const std::string &name, const Tensor &t) {
  std::string s = name + ": " + dtype_name(t.dtype()) + " " + shape_str(t.shape()) + "\n";
  int64_t shown = std::min(t.numel(), kShownValues);
  if (t.numel() == 0) {
    s += "  values: (none)\n";
  } else {
    s += t.numel() > shown
             ? "  first " + std::to_string(shown) + " of " + std::to_string(t.numel()) + " values:"
             : std::string("  values:");
    for (int64_t i = 0; i < shown; ++i) s += " " + value_str(t, i);
    s += "\n";
  }
  bool classifier =
      t.dtype() == DType::kFloat32 && (t.rank() == 1 || t.rank() == 2) && t.shape().back() >= 2;
  if (!classifier) return s;
  int64_t classes = t.shape().back();
  int64_t rows = t.rank() == 2 ? t.dim(0) : 1;
  const float *x = t.data<float>();
  if (rows == 1) return s + "  prediction: " + std::to_string(argmax(x, classes)) + "\n";
  s += "  argmax: [";
  for (int64_t r = 0; r < std::min(rows, kShownRows); ++r) {
    s += (r ? ", " : "") + std::to_string(argmax(x + r * classes, classes));
  }
  if (rows > kShownRows) s += ", ...";
  return s + "]\n";
}

Status make_dirs(const std::string &dir) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos < dir.size() && dir[pos] != '/') continue;
    std::string part = dir.substr(0, pos);
    struct stat st;
    if (::stat(part.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) return io_error(part + ": exists and is not a directory");
      continue;
    }
    if (::mkdir(part.c_str(), 0777) != 0 && errno != EEXIST) {
      return io_error(part + ": cannot create directory: " + std::strerror(errno));
    }
  }
  return Status::ok();
}

Status write_outputs_to_dir(const std::string &dir, const std::vector<ValueInfo> &infos,
                            const std::vector<Tensor> &outputs, std::vector<std::string> *written) {
  SI_RETURN_IF_ERROR(make_dirs(dir));
  std::vector<std::string> names;
  for (const ValueInfo &info : infos) names.push_back(info.name);
  std::vector<std::string> files = output_file_names(names);
  std::string base = dir.back() == '/' ? dir : dir + "/";
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string path = base + files[i];
    SI_RETURN_IF_ERROR(write_tensor_file(path, outputs[i], infos[i].name));
    written->push_back(path);
  }
  return Status::ok();
}

}  // namespace si::cli
