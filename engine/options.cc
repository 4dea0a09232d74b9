#include "engine/options.h"

namespace si {

namespace {
constexpr ExecMode kModes[] = {ExecMode::kAuto, ExecMode::kDense, ExecMode::kSparse};
}  // namespace

const char *exec_mode_name(ExecMode mode) {
  switch (mode) {
    case ExecMode::kDense:
      return "dense";
    case ExecMode::kSparse:
      return "sparse";
    case ExecMode::kAuto:
      break;
  }
  return "auto";
}

bool exec_mode_from_name(const std::string &name, ExecMode *out) {
  for (ExecMode m : kModes) {
    if (name == exec_mode_name(m)) {
      *out = m;
      return true;
    }
  }
  return false;
}

}  // namespace si
