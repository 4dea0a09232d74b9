// External tensor data, read strictly from inside the model's folder. A model
// file is untrusted input: its locations must not reach other files through
// absolute paths, `..` or symlinks, nor block on devices and fifos.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "importers/onnx/internal.h"

namespace si::onnx_import {

namespace {

struct ExternalKeys {
  std::string location;
  uint64_t offset = 0;
  bool has_length = false;
  uint64_t length = 0;
};

bool parse_u64(const std::string &s, uint64_t *out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = uint64_t(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *out = v;
  return true;
}

Status read_keys(const onnx::TensorProto &p, const std::string &label, ExternalKeys *keys) {
  bool has_location = false;
  for (const onnx::StringStringEntryProto &e : p.external_data()) {
    if (e.key() == "location") {
      keys->location = e.value();
      has_location = true;
    } else if (e.key() == "offset" || e.key() == "length") {
      uint64_t v = 0;
      if (!parse_u64(e.value(), &v)) {
        return invalid_model(label + " has external data " + e.key() + " \"" + e.value() +
                             "\", which is not a non-negative integer");
      }
      if (e.key() == "offset") {
        keys->offset = v;
      } else {
        keys->has_length = true;
        keys->length = v;
      }
    }
    // Other keys (checksum, ...) carry nothing the engine needs.
  }
  if (!has_location || keys->location.empty()) {
    return invalid_model(label + " is stored externally but has no location");
  }
  return Status::ok();
}

std::string describe(const std::string &label, const std::string &location) {
  return label + " external data \"" + location + "\"";
}

// realpath() that returns a std::string; empty on failure with errno set.
std::string real_path(const std::string &path) {
  std::unique_ptr<char, decltype(&std::free)> p(realpath(path.c_str(), nullptr), &std::free);
  return p ? std::string(p.get()) : std::string();
}

Status resolve(const ExternalKeys &keys, const std::string &label, const std::string &base_dir,
               std::string *out) {
  const std::string &loc = keys.location;
  const std::string what = describe(label, loc);
  if (base_dir.empty()) {
    return invalid_model(what +
                         " cannot be read: the model was loaded from memory without a folder "
                         "to resolve external data in");
  }
  if (loc.find('\0') != std::string::npos) {
    return invalid_model(what + ": location contains a NUL byte");
  }
  if (loc[0] == '/') {
    return invalid_model(what +
                         ": absolute locations are not allowed, external data must lie "
                         "inside the model's folder");
  }
  for (size_t start = 0; start <= loc.size();) {
    size_t end = loc.find('/', start);
    if (end == std::string::npos) end = loc.size();
    if (loc.compare(start, end - start, "..") == 0 && end - start == 2) {
      return invalid_model(what +
                           ": \"..\" is not allowed, external data must lie inside the "
                           "model's folder");
    }
    start = end + 1;
  }

  const std::string base = real_path(base_dir);
  if (base.empty()) {
    return io_error(what + ": cannot resolve the model folder \"" + base_dir +
                    "\": " + std::strerror(errno));
  }
  const std::string file = real_path(base_dir + "/" + loc);
  if (file.empty()) return io_error(what + ": " + std::strerror(errno));
  // A symlink inside the folder may still point anywhere.
  const std::string prefix = base == "/" ? base : base + "/";
  if (file.compare(0, prefix.size(), prefix) != 0) {
    return invalid_model(what + " resolves to \"" + file + "\", outside the model's folder \"" +
                         base + "\"");
  }
  struct stat st;
  if (stat(file.c_str(), &st) != 0) return io_error(what + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return invalid_model(what + " is not a regular file");
  *out = file;
  return Status::ok();
}

}  // namespace

Status resolve_external_data(const onnx::TensorProto &p, const std::string &label,
                             const std::string &base_dir, std::string *real) {
  ExternalKeys keys;
  SI_RETURN_IF_ERROR(read_keys(p, label, &keys));
  return resolve(keys, label, base_dir, real);
}

Status read_external_data(const onnx::TensorProto &p, const std::string &label,
                          const std::string &base_dir, DType dtype, const Shape &shape,
                          Tensor *result) {
  int64_t n = 0;
  SI_RETURN_IF_ERROR(checked_numel(shape, &n));
  const size_t bytes = size_t(n) * dtype_size(dtype);
  ExternalKeys keys;
  SI_RETURN_IF_ERROR(read_keys(p, label, &keys));
  std::string file;
  SI_RETURN_IF_ERROR(resolve(keys, label, base_dir, &file));
  const std::string what = describe(label, keys.location);
  if (keys.has_length && keys.length != bytes) {
    return invalid_model(what + " has length " + std::to_string(keys.length) + ", its dims need " +
                         std::to_string(bytes) + " bytes");
  }

  // O_NONBLOCK: should the file be swapped for a fifo after the check above,
  // open() must not hang; fstat below then rejects it.
  FileDescriptor fd(open(file.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return io_error(what + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return io_error(what + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return invalid_model(what + " is not a regular file");

  const uint64_t size = uint64_t(st.st_size);
  if (keys.offset > size || bytes > size - keys.offset) {
    return invalid_model(what + ": offset " + std::to_string(keys.offset) + " + length " +
                         std::to_string(bytes) + " is past the end of the file (" +
                         std::to_string(size) + " bytes)");
  }
  Tensor t;
  SI_RETURN_IF_ERROR(Tensor::allocate(dtype, shape, &t));
  char *out = static_cast<char *>(t.raw());
  size_t done = 0;
  while (done < bytes) {
    ssize_t r = pread(fd.get(), out + done, bytes - done, off_t(keys.offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return io_error(what + ": " + std::strerror(errno));
    if (r == 0) return io_error(what + ": file shrank while it was read");
    done += size_t(r);
  }
  *result = std::move(t);
  return Status::ok();
}

}  // namespace si::onnx_import
