// Errors are values: every fallible engine call returns a Status whose message
// names the node, tensor, file or byte offset at fault.
#pragma once

#include <string>
#include <utility>

namespace si {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument = 1,  // bad caller input: shapes, dtypes, counts, NULLs
  kInvalidModel = 2,     // the model file is malformed or inconsistent
  kUnsupported = 3,      // valid ONNX the engine cannot run
  kIo = 4,               // a file could not be read or written
  kOutOfMemory = 5,
  kInternal = 6,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string &message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status invalid_model(std::string m) {
  return Status(StatusCode::kInvalidModel, std::move(m));
}
inline Status unsupported(std::string m) {
  return Status(StatusCode::kUnsupported, std::move(m));
}
inline Status io_error(std::string m) {
  return Status(StatusCode::kIo, std::move(m));
}
inline Status out_of_memory(std::string m) {
  return Status(StatusCode::kOutOfMemory, std::move(m));
}
inline Status internal_error(std::string m) {
  return Status(StatusCode::kInternal, std::move(m));
}

}  // namespace si

#define SI_RETURN_IF_ERROR(expr)                \
  do {                                          \
    ::si::Status si_status_ = (expr);           \
    if (!si_status_.is_ok()) return si_status_; \
  } while (0)
