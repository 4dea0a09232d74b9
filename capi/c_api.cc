// The C API over si::Session. Everything here is a translation layer: argument
// checks the C types need, Status -> si_status, and a firewall that keeps C++
// exceptions from crossing into C callers.
#include "sparse_infer.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "engine/options.h"
#include "engine/session.h"
#include "engine/status.h"
#include "engine/tensor.h"
#include "importers/onnx/onnx_importer.h"

#ifndef SI_VERSION
#error "SI_VERSION must be defined by the build (project VERSION)"
#endif

// The two enums share numbering by design; the casts below rely on it.
static_assert(int(si::StatusCode::kOk) == SI_OK, "");
static_assert(int(si::StatusCode::kInvalidArgument) == SI_ERR_INVALID_ARGUMENT, "");
static_assert(int(si::StatusCode::kInvalidModel) == SI_ERR_INVALID_MODEL, "");
static_assert(int(si::StatusCode::kUnsupported) == SI_ERR_UNSUPPORTED, "");
static_assert(int(si::StatusCode::kIo) == SI_ERR_IO, "");
static_assert(int(si::StatusCode::kOutOfMemory) == SI_ERR_OUT_OF_MEMORY, "");
static_assert(int(si::StatusCode::kInternal) == SI_ERR_INTERNAL, "");
static_assert(int(si::DType::kFloat32) == SI_FLOAT32 && int(si::DType::kUint8) == SI_UINT8 &&
                  int(si::DType::kInt8) == SI_INT8 && int(si::DType::kInt32) == SI_INT32 &&
                  int(si::DType::kInt64) == SI_INT64 && int(si::DType::kBool) == SI_BOOL,
              "");
static_assert(int(si::ExecMode::kAuto) == SI_MODE_AUTO &&
                  int(si::ExecMode::kDense) == SI_MODE_DENSE &&
                  int(si::ExecMode::kSparse) == SI_MODE_SPARSE,
              "");

struct si_options {
  si::SessionOptions options;
};

struct si_session {
  std::unique_ptr<si::Session> session;
  // Precomputed so the *_info calls cannot fail on allocation.
  std::vector<si_tensor> input_info;
  std::vector<si_tensor> output_info;
};

namespace {

constexpr size_t kOutputAlignment = 64;

// The message of the calling thread's last failed call. `fallback` covers the
// case where even recording the message runs out of memory.
struct LastError {
  std::string text;
  const char *fallback = nullptr;
};
thread_local LastError t_error;

si_status fail(si_status code, const char *fn, const std::string &message) noexcept {
  try {
    t_error.text.assign(fn).append(": ").append(message);
    t_error.fallback = nullptr;
  } catch (...) {
    t_error.fallback = "sparse_infer: out of memory while recording an error";
  }
  return code;
}

si_status fail(const char *fn, const si::Status &s) noexcept {
  return fail(static_cast<si_status>(s.code()), fn, s.message());
}

si_status succeed() noexcept {
  t_error.text.clear();
  t_error.fallback = nullptr;
  return SI_OK;
}

// Runs `body` so that no exception escapes into C.
template <typename Body>
si_status guarded(const char *fn, Body &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return fail(SI_ERR_OUT_OF_MEMORY, fn, "out of memory");
  } catch (const std::exception &e) {
    return fail(SI_ERR_INTERNAL, fn, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(SI_ERR_INTERNAL, fn, "internal error: unknown exception");
  }
}

// A C caller may pass any int where an enum is expected; in C++ loading an
// out-of-range value through the enum type is undefined, so read the bytes.
template <typename Enum>
int32_t enum_value(const Enum &e) {
  static_assert(sizeof(Enum) == sizeof(int32_t), "C enums are int-sized");
  int32_t v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

std::string quoted(const std::string &s) {
  return "\"" + s + "\"";
}

// Describes a model value in C terms; false when its rank does not fit.
bool describe_value(const si::ValueInfo &v, si_tensor *out) {
  si_tensor t;
  std::memset(&t, 0, sizeof t);
  t.dtype = static_cast<si_dtype>(v.dtype);
  if (!v.has_shape) {
    t.rank = -1;
    *out = t;
    return true;
  }
  if (v.dims.size() > SI_MAX_RANK) return false;
  t.rank = static_cast<int32_t>(v.dims.size());
  bool all_known = true;
  for (size_t d = 0; d < v.dims.size(); ++d) {
    t.dims[d] = v.dims[d].size >= 0 ? v.dims[d].size : -1;
    all_known = all_known && v.dims[d].size >= 0;
  }
  int64_t n = 0;
  if (all_known && si::checked_numel(si::Shape(t.dims, t.dims + t.rank), &n).is_ok()) {
    t.size_bytes = static_cast<size_t>(n) * si::dtype_size(v.dtype);
  }
  *out = t;
  return true;
}

si_status finish_session(const char *fn, std::unique_ptr<si::Session> session, si_session **out) {
  si::Status tensors =
      si::require_tensor_interface(session->inputs(), session->outputs(), "the C API");
  if (!tensors.is_ok()) return fail(fn, tensors);
  std::unique_ptr<si_session> s(new si_session());
  const struct {
    const std::vector<si::ValueInfo> *values;
    std::vector<si_tensor> *info;
    const char *kind;
  } sides[] = {{&session->inputs(), &s->input_info, "input"},
               {&session->outputs(), &s->output_info, "output"}};
  for (const auto &side : sides) {
    side.info->resize(side.values->size());
    for (size_t i = 0; i < side.values->size(); ++i) {
      const si::ValueInfo &v = (*side.values)[i];
      if (!describe_value(v, &(*side.info)[i])) {
        return fail(SI_ERR_UNSUPPORTED, fn,
                    std::string(side.kind) + " " + quoted(v.name) + " has rank " +
                        std::to_string(v.dims.size()) + ", the C API supports up to " +
                        std::to_string(SI_MAX_RANK));
      }
    }
  }
  s->session = std::move(session);
  *out = s.release();
  return succeed();
}

si::SessionOptions options_or_default(const si_options *opts) {
  return opts != nullptr ? opts->options : si::SessionOptions();
}

// Checks one caller input against the C contract and wraps it without copying.
// The session checks it against the model afterwards.
si_status wrap_input(const si_session *s, size_t i, const si_tensor &in, si::Tensor *out) {
  const char *fn = "si_run";
  const si::ValueInfo &v = s->session->inputs()[i];
  std::string what = "input " + std::to_string(i) + " " + quoted(v.name);
  si::DType dtype;
  if (!si::dtype_from_onnx(enum_value(in.dtype), &dtype)) {
    return fail(SI_ERR_INVALID_ARGUMENT, fn,
                what + " has unknown dtype " + std::to_string(enum_value(in.dtype)));
  }
  if (dtype != v.dtype) {
    return fail(SI_ERR_INVALID_ARGUMENT, fn,
                what + " has dtype " + si::dtype_name(dtype) + ", the model expects " +
                    si::dtype_name(v.dtype));
  }
  if (in.rank < 0 || in.rank > SI_MAX_RANK) {
    return fail(SI_ERR_INVALID_ARGUMENT, fn,
                what + " has rank " + std::to_string(in.rank) + ", expected 0.." +
                    std::to_string(SI_MAX_RANK));
  }
  si::Shape shape(in.dims, in.dims + in.rank);
  int64_t n = 0;
  si::Status st = si::checked_numel(shape, &n);
  if (!st.is_ok()) return fail(SI_ERR_INVALID_ARGUMENT, fn, what + ": " + st.message());
  const size_t esize = si::dtype_size(dtype);
  const size_t expected = static_cast<size_t>(n) * esize;  // n <= 2^40: no overflow
  if (in.size_bytes != expected) {
    return fail(SI_ERR_INVALID_ARGUMENT, fn,
                what + " has size_bytes " + std::to_string(in.size_bytes) + ", shape " +
                    si::shape_str(shape) + " of " + si::dtype_name(dtype) + " needs " +
                    std::to_string(expected));
  }
  if (expected > 0 && in.data == nullptr) {
    return fail(SI_ERR_INVALID_ARGUMENT, fn, what + " has data NULL");
  }
  if (reinterpret_cast<uintptr_t>(in.data) % esize != 0) {
    return fail(SI_ERR_INVALID_ARGUMENT, fn,
                what + " data is not aligned to its " + std::to_string(esize) + "-byte elements");
  }
  *out = si::Tensor::borrow(dtype, std::move(shape), in.data);
  return SI_OK;
}

void free_all(std::vector<void *> *buffers) {
  for (void *p : *buffers) std::free(p);
  buffers->clear();
}

si_status run(si_session *s, const si_tensor *inputs, size_t n_inputs, si_tensor *outputs,
              size_t n_outputs) {
  const char *fn = "si_run";
  if (s == nullptr) return fail(SI_ERR_INVALID_ARGUMENT, fn, "session is NULL");
  if (inputs == nullptr && n_inputs > 0) return fail(SI_ERR_INVALID_ARGUMENT, fn, "inputs is NULL");
  if (outputs == nullptr && n_outputs > 0) {
    return fail(SI_ERR_INVALID_ARGUMENT, fn, "outputs is NULL");
  }
  const si::Session &session = *s->session;
  if (n_inputs != session.inputs().size()) {
    return fail(SI_ERR_INVALID_ARGUMENT, fn,
                "n_inputs is " + std::to_string(n_inputs) + ", the model has " +
                    std::to_string(session.inputs().size()) + " inputs");
  }
  if (n_outputs != session.outputs().size()) {
    return fail(SI_ERR_INVALID_ARGUMENT, fn,
                "n_outputs is " + std::to_string(n_outputs) + ", the model has " +
                    std::to_string(session.outputs().size()) + " outputs");
  }

  std::vector<si::Tensor> in(n_inputs);
  for (size_t i = 0; i < n_inputs; ++i) {
    si_status st = wrap_input(s, i, inputs[i], &in[i]);
    if (st != SI_OK) return st;
  }
  std::vector<si::Tensor> results;
  si::Status st = session.run(in, &results);
  if (!st.is_ok()) return fail(fn, st);
  if (results.size() != n_outputs) {
    return fail(SI_ERR_INTERNAL, fn,
                "session returned " + std::to_string(results.size()) + " outputs, expected " +
                    std::to_string(n_outputs));
  }

  // Validate every output before touching any, so a failure changes nothing.
  for (size_t i = 0; i < n_outputs; ++i) {
    const si::Tensor &r = results[i];
    std::string what = "output " + std::to_string(i) + " " + quoted(session.outputs()[i].name);
    if (r.rank() > SI_MAX_RANK) {
      return fail(SI_ERR_UNSUPPORTED, fn,
                  what + " has rank " + std::to_string(r.rank()) + ", the C API supports up to " +
                      std::to_string(SI_MAX_RANK));
    }
    if (outputs[i].data != nullptr && outputs[i].size_bytes < r.size_bytes()) {
      return fail(SI_ERR_INVALID_ARGUMENT, fn,
                  what + " needs " + std::to_string(r.size_bytes()) + " bytes (shape " +
                      si::shape_str(r.shape()) + " of " + si::dtype_name(r.dtype()) +
                      "), the buffer holds " + std::to_string(outputs[i].size_bytes));
    }
  }
  std::vector<void *> dest(n_outputs, nullptr);
  std::vector<void *> allocated;
  allocated.reserve(n_outputs);
  for (size_t i = 0; i < n_outputs; ++i) {
    size_t bytes = results[i].size_bytes();
    if (outputs[i].data != nullptr) {
      dest[i] = outputs[i].data;
    } else if (bytes > 0) {
      size_t rounded = (bytes + kOutputAlignment - 1) / kOutputAlignment * kOutputAlignment;
      dest[i] = std::aligned_alloc(kOutputAlignment, rounded);
      if (dest[i] == nullptr) {
        free_all(&allocated);
        return fail(SI_ERR_OUT_OF_MEMORY, fn,
                    "cannot allocate " + std::to_string(bytes) + " bytes for output " +
                        quoted(session.outputs()[i].name));
      }
      allocated.push_back(dest[i]);
    }
  }

  // Nothing below can fail.
  for (size_t i = 0; i < n_outputs; ++i) {
    const si::Tensor &r = results[i];
    si_tensor &o = outputs[i];
    if (r.size_bytes() > 0) std::memcpy(dest[i], r.raw(), r.size_bytes());
    o.dtype = static_cast<si_dtype>(r.dtype());
    o.rank = static_cast<int32_t>(r.rank());
    for (int d = 0; d < SI_MAX_RANK; ++d) o.dims[d] = d < o.rank ? r.dim(d) : 0;
    o.data = dest[i];
    o.size_bytes = r.size_bytes();
  }
  return succeed();
}

si_status info(const char *fn, const si_session *s, bool input, size_t i, const char **name,
               si_tensor *out) {
  if (s == nullptr) return fail(SI_ERR_INVALID_ARGUMENT, fn, "session is NULL");
  if (name == nullptr) return fail(SI_ERR_INVALID_ARGUMENT, fn, "name is NULL");
  if (out == nullptr) return fail(SI_ERR_INVALID_ARGUMENT, fn, "info is NULL");
  const std::vector<si::ValueInfo> &values = input ? s->session->inputs() : s->session->outputs();
  if (i >= values.size()) {
    return fail(SI_ERR_INVALID_ARGUMENT, fn,
                "index " + std::to_string(i) + " is out of range, the model has " +
                    std::to_string(values.size()) + (input ? " inputs" : " outputs"));
  }
  *name = values[i].name.c_str();
  *out = input ? s->input_info[i] : s->output_info[i];
  return succeed();
}

}  // namespace

extern "C" {

SI_API const char *si_version(void) {
  return SI_VERSION;
}

SI_API const char *si_last_error(void) {
  return t_error.fallback != nullptr ? t_error.fallback : t_error.text.c_str();
}

SI_API si_status si_options_create(si_options **out) {
  const char *fn = "si_options_create";
  return guarded(fn, [&] {
    if (out == nullptr) return fail(SI_ERR_INVALID_ARGUMENT, fn, "out is NULL");
    *out = new si_options();
    return succeed();
  });
}

SI_API void si_options_destroy(si_options *opts) {
  delete opts;
}

SI_API si_status si_options_set_threads(si_options *opts, int32_t n) {
  const char *fn = "si_options_set_threads";
  return guarded(fn, [&] {
    if (opts == nullptr) return fail(SI_ERR_INVALID_ARGUMENT, fn, "opts is NULL");
    if (n < 0) {
      return fail(SI_ERR_INVALID_ARGUMENT, fn,
                  "n is " + std::to_string(n) + ", expected >= 0 (0 = all cores)");
    }
    opts->options.threads = n;
    return succeed();
  });
}

SI_API si_status si_options_set_mode(si_options *opts, si_mode mode) {
  const char *fn = "si_options_set_mode";
  return guarded(fn, [&] {
    if (opts == nullptr) return fail(SI_ERR_INVALID_ARGUMENT, fn, "opts is NULL");
    const int32_t m = enum_value(mode);
    switch (m) {
      case SI_MODE_AUTO:
      case SI_MODE_DENSE:
      case SI_MODE_SPARSE:
        opts->options.mode = static_cast<si::ExecMode>(m);
        return succeed();
    }
    return fail(
        SI_ERR_INVALID_ARGUMENT, fn,
        "mode " + std::to_string(m) + " is not one of SI_MODE_AUTO, SI_MODE_DENSE, SI_MODE_SPARSE");
  });
}

SI_API si_status si_options_set_max_memory(si_options *opts, uint64_t bytes) {
  const char *fn = "si_options_set_max_memory";
  return guarded(fn, [&] {
    if (opts == nullptr) return fail(SI_ERR_INVALID_ARGUMENT, fn, "opts is NULL");
    opts->options.max_memory_bytes = bytes;
    return succeed();
  });
}

SI_API si_status si_options_set_single_weight_copy(si_options *opts, int32_t enable) {
  const char *fn = "si_options_set_single_weight_copy";
  return guarded(fn, [&] {
    if (opts == nullptr) return fail(SI_ERR_INVALID_ARGUMENT, fn, "opts is NULL");
    opts->options.single_weight_copy = enable != 0;
    return succeed();
  });
}

SI_API si_status si_session_create(const char *model_path, const si_options *opts,
                                   si_session **out) {
  const char *fn = "si_session_create";
  return guarded(fn, [&] {
    if (model_path == nullptr) return fail(SI_ERR_INVALID_ARGUMENT, fn, "model_path is NULL");
    if (out == nullptr) return fail(SI_ERR_INVALID_ARGUMENT, fn, "out is NULL");
    std::unique_ptr<si::Session> session;
    si::Status st = si::load_session_file(model_path, options_or_default(opts), &session);
    if (!st.is_ok()) return fail(fn, st);
    return finish_session(fn, std::move(session), out);
  });
}

SI_API si_status si_session_create_from_memory(const void *data, size_t size,
                                               const si_options *opts, si_session **out) {
  const char *fn = "si_session_create_from_memory";
  return guarded(fn, [&] {
    if (data == nullptr) return fail(SI_ERR_INVALID_ARGUMENT, fn, "data is NULL");
    if (out == nullptr) return fail(SI_ERR_INVALID_ARGUMENT, fn, "out is NULL");
    std::unique_ptr<si::Session> session;
    si::Status st = si::load_session_bytes(data, size, options_or_default(opts), &session);
    if (!st.is_ok()) return fail(fn, st);
    return finish_session(fn, std::move(session), out);
  });
}

SI_API void si_session_destroy(si_session *s) {
  delete s;
}

SI_API size_t si_session_input_count(const si_session *s) {
  return s != nullptr ? s->input_info.size() : 0;
}

SI_API size_t si_session_output_count(const si_session *s) {
  return s != nullptr ? s->output_info.size() : 0;
}

SI_API si_status si_session_input_info(const si_session *s, size_t i, const char **name,
                                       si_tensor *out) {
  const char *fn = "si_session_input_info";
  return guarded(fn, [&] { return info(fn, s, true, i, name, out); });
}

SI_API si_status si_session_output_info(const si_session *s, size_t i, const char **name,
                                        si_tensor *out) {
  const char *fn = "si_session_output_info";
  return guarded(fn, [&] { return info(fn, s, false, i, name, out); });
}

SI_API si_status si_run(si_session *s, const si_tensor *inputs, size_t n_inputs, si_tensor *outputs,
                        size_t n_outputs) {
  return guarded("si_run", [&] { return run(s, inputs, n_inputs, outputs, n_outputs); });
}

SI_API void si_tensor_free(si_tensor *t) {
  if (t == nullptr) return;
  std::free(t->data);
  t->data = nullptr;
  t->size_bytes = 0;
}

}  // extern "C"
