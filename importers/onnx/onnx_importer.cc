// Entry points: read, parse, validate, convert; then hand over to Session.
#include "importers/onnx/onnx_importer.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <new>

#include "importers/onnx/internal.h"

namespace si {

namespace onnx_import {

std::string folder_of(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status too_large(const std::string &origin, uint64_t size) {
  return invalid_model(origin + ": model is " + std::to_string(size) +
                       " bytes, above protobuf's 2 GiB limit for one message (store the "
                       "weights as external data)");
}

Status read_model_file(const std::string &path, std::string *bytes) {
  const std::string what = "model file \"" + path + "\"";
  // O_NONBLOCK so that a fifo path fails below instead of hanging here.
  FileDescriptor fd(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) return io_error("cannot open " + what + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd.get(), &st) != 0)
    return io_error("cannot stat " + what + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return io_error(what + " is not a regular file");
  if (uint64_t(st.st_size) > uint64_t(INT_MAX)) return too_large(path, uint64_t(st.st_size));
  bytes->resize(size_t(st.st_size));
  size_t done = 0;
  while (done < bytes->size()) {
    ssize_t r = read(fd.get(), &(*bytes)[done], bytes->size() - done);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return io_error("cannot read " + what + ": " + std::strerror(errno));
    if (r == 0) break;
    done += size_t(r);
  }
  bytes->resize(done);
  return Status::ok();
}

}  // namespace onnx_import

namespace {

using onnx_import::folder_of;
using onnx_import::read_model_file;
using onnx_import::too_large;

uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

// Bytes the tensors stored in the graph will take once converted, from their
// dims alone: a few bytes of protobuf can declare terabytes of zeros (or
// external data). Invalid dims count as 0; conversion reports them.
uint64_t declared_constant_bytes(const onnx::GraphProto &g) {
  uint64_t total = 0;
  auto add = [&total](const onnx::TensorProto &t) {
    DType dtype;
    int64_t n = 0;
    if (!dtype_from_onnx(t.data_type(), &dtype)) return;
    if (!checked_numel(Shape(t.dims().begin(), t.dims().end()), &n).is_ok()) return;
    total = saturating_add(total, uint64_t(n) * dtype_size(dtype));
  };
  for (const onnx::TensorProto &t : g.initializer()) add(t);
  for (const onnx::NodeProto &node : g.node()) {
    for (const onnx::AttributeProto &a : node.attribute()) {
      if (a.has_t()) add(a.t());
    }
  }
  return total;
}

Status import_parsed(onnx::ModelProto *model, const std::string &base_dir,
                     uint64_t max_constant_bytes, Graph *out) {
  const uint64_t constants = declared_constant_bytes(model->graph());
  if (constants > max_constant_bytes) {
    return out_of_memory("model constants need " + std::to_string(constants) +
                         " bytes, above the memory limit of " + std::to_string(max_constant_bytes) +
                         " bytes");
  }
  onnx_import::OpsetMap opsets;
  SI_RETURN_IF_ERROR(onnx_import::check_opsets(*model, &opsets));
  SI_RETURN_IF_ERROR(onnx_import::run_checker(model, base_dir));
  // Shape inference merges inferred types into graph outputs in place; the
  // engine reports outputs as the file declares them.
  const auto &outs = model->graph().output();
  std::vector<onnx::ValueInfoProto> declared_outputs(outs.begin(), outs.end());
  // In place rather than on a copy: the proto holds every weight, and
  // inference only adds value_info. Its failure (shapes that contradict each
  // other) counts once the graph converts: a malformed initializer comes
  // first, being the cause of the shapes inference saw.
  const Status inferred = onnx_import::infer_shapes(opsets, model);
  Graph graph;
  SI_RETURN_IF_ERROR(
      onnx_import::convert_graph(*model, declared_outputs, opsets, base_dir, &graph));
  SI_RETURN_IF_ERROR(inferred);
  *out = std::move(graph);
  return Status::ok();
}

Status import_model(const void *data, size_t size, const std::string &base_dir,
                    const std::string &origin, uint64_t max_constant_bytes, Graph *out) {
  if (size > size_t(INT_MAX)) return too_large(origin, size);
  Status s;
  try {
    onnx::ModelProto model;
    if (size == 0 || !model.ParseFromArray(data, int(size)) || !model.has_graph() ||
        !model.has_ir_version()) {
      return invalid_model(origin + ": not a valid ONNX model");
    }
    s = import_parsed(&model, base_dir, max_constant_bytes, out);
  } catch (const std::bad_alloc &) {
    s = out_of_memory("out of memory while importing the model");
  } catch (const std::exception &e) {
    s = internal_error(std::string("unexpected error while importing the model: ") + e.what());
  }
  if (!s.is_ok()) return Status(s.code(), origin + ": " + s.message());
  return Status::ok();
}

Status import_file(const std::string &path, uint64_t max_constant_bytes, Graph *out) {
  std::string bytes;
  SI_RETURN_IF_ERROR(read_model_file(path, &bytes));
  return import_model(bytes.data(), bytes.size(), folder_of(path), path, max_constant_bytes, out);
}

}  // namespace

Status import_onnx_file(const std::string &path, Graph *out) {
  return import_file(path, physical_memory_bytes(), out);
}

Status import_onnx_file(const std::string &path, const SessionOptions &options, Graph *out) {
  return import_file(path, memory_limit(options), out);
}

Status import_onnx_bytes(const void *data, size_t size, const std::string &base_dir, Graph *out) {
  if (data == nullptr && size > 0) return invalid_argument("model bytes are NULL");
  return import_model(data, size, base_dir, "ONNX model in memory", physical_memory_bytes(), out);
}

Status load_session_file(const std::string &path, const SessionOptions &options,
                         std::unique_ptr<Session> *out) {
  Graph graph;
  SI_RETURN_IF_ERROR(import_onnx_file(path, options, &graph));
  return Session::create(std::move(graph), options, out);
}

Status load_session_bytes(const void *data, size_t size, const SessionOptions &options,
                          std::unique_ptr<Session> *out) {
  if (data == nullptr && size > 0) return invalid_argument("model bytes are NULL");
  Graph graph;
  SI_RETURN_IF_ERROR(
      import_model(data, size, "", "ONNX model in memory", memory_limit(options), &graph));
  return Session::create(std::move(graph), options, out);
}

}  // namespace si
