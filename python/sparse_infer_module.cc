// The Python module (`import sparse_infer`): ONNX Runtime's InferenceSession
// API over si::Session. A translation layer only: Python objects in, numpy
// arrays and exceptions out. Dtype and shape checks, option meanings and the
// sparse choice all stay in the engine; what is checked here is what the
// engine's types cannot express (a numpy dtype it lacks, a name not in the
// model, a negative count).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/analysis.h"
#include "engine/options.h"
#include "engine/profile_summary.h"
#include "engine/session.h"
#include "engine/status.h"
#include "engine/tensor.h"
#include "importers/onnx/onnx_importer.h"

#ifndef SI_VERSION
#error "SI_VERSION must be defined by the build (project VERSION)"
#endif

namespace py = pybind11;

namespace {

// The exception classes, named after ONNX Runtime's
// (onnxruntime.capi.onnxruntime_pybind11_state), each also deriving from the
// builtin a Python caller would catch. Created once at import and never
// released: they live as long as the interpreter.
struct ErrorClasses {
  PyObject *fail = nullptr;              // RuntimeError: base of all, and internal errors
  PyObject *invalid_argument = nullptr;  // + ValueError: bad inputs, names, option values
  PyObject *no_such_file = nullptr;      // + OSError: a model file that cannot be read
  PyObject *invalid_graph = nullptr;     // a file or bytes that are not a valid model
  PyObject *not_implemented = nullptr;   // valid ONNX the engine cannot run
  PyObject *out_of_memory = nullptr;     // + MemoryError: above max_memory_bytes or the machine's
};
ErrorClasses g_errors;

// A failed Status on its way to Python; the translator registered at import
// raises the class its code maps to, with the engine's message.
struct StatusError : std::exception {
  explicit StatusError(si::Status s) : status(std::move(s)) {}
  const char *what() const noexcept override { return status.message().c_str(); }
  si::Status status;
};

void check(si::Status s) {
  if (!s.is_ok()) throw StatusError(std::move(s));
}

[[noreturn]] void invalid_argument(const std::string &message) {
  throw StatusError(si::invalid_argument(message));
}

PyObject *error_class(si::StatusCode code) {
  switch (code) {
    case si::StatusCode::kInvalidArgument:
      return g_errors.invalid_argument;
    case si::StatusCode::kInvalidModel:
      return g_errors.invalid_graph;
    case si::StatusCode::kUnsupported:
      return g_errors.not_implemented;
    case si::StatusCode::kIo:
      return g_errors.no_such_file;
    case si::StatusCode::kOutOfMemory:
      return g_errors.out_of_memory;
    case si::StatusCode::kOk:
    case si::StatusCode::kInternal:
      break;
  }
  return g_errors.fail;
}

PyObject *new_error_class(py::module_ &m, const char *name, PyObject *bases, const char *doc) {
  std::string qualified = std::string("sparse_infer.") + name;
  PyObject *cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  Py_XDECREF(bases);
  if (cls == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(cls));  // the module takes a reference; ours is kept
  return cls;
}

std::string quoted(const std::string &s) {
  return "\"" + s + "\"";
}

// ONNX Runtime's type strings, and the numpy dtype of each engine dtype.
const char *onnx_type_name(si::DType t) {
  switch (t) {
    case si::DType::kFloat32:
      return "tensor(float)";
    case si::DType::kUint8:
      return "tensor(uint8)";
    case si::DType::kInt8:
      return "tensor(int8)";
    case si::DType::kInt32:
      return "tensor(int32)";
    case si::DType::kInt64:
      return "tensor(int64)";
    case si::DType::kBool:
      return "tensor(bool)";
    case si::DType::kUndefined:
      break;
  }
  return "tensor(undefined)";
}

py::dtype numpy_dtype(si::DType t) {
  switch (t) {
    case si::DType::kFloat32:
      return py::dtype::of<float>();
    case si::DType::kUint8:
      return py::dtype::of<uint8_t>();
    case si::DType::kInt8:
      return py::dtype::of<int8_t>();
    case si::DType::kInt32:
      return py::dtype::of<int32_t>();
    case si::DType::kInt64:
      return py::dtype::of<int64_t>();
    case si::DType::kBool:
      return py::dtype::of<bool>();
    case si::DType::kUndefined:
      break;
  }
  throw StatusError(
      si::internal_error("no numpy dtype for engine dtype " + std::to_string(static_cast<int>(t))));
}

// The engine dtype of a numpy array, false for one the engine lacks (float64,
// float16, ...) or a non-native byte order, which is not float32's layout.
bool engine_dtype(const py::array &a, si::DType *out) {
  const struct {
    bool match;
    si::DType dtype;
  } table[] = {
      {py::isinstance<py::array_t<float>>(a), si::DType::kFloat32},
      {py::isinstance<py::array_t<uint8_t>>(a), si::DType::kUint8},
      {py::isinstance<py::array_t<int8_t>>(a), si::DType::kInt8},
      {py::isinstance<py::array_t<int32_t>>(a), si::DType::kInt32},
      {py::isinstance<py::array_t<int64_t>>(a), si::DType::kInt64},
      {py::isinstance<py::array_t<bool>>(a), si::DType::kBool},
  };
  for (const auto &e : table) {
    if (e.match) {
      *out = e.dtype;
      return true;
    }
  }
  return false;
}

// numpy's NPY_ARRAY_ALIGNED (part of its stable C ABI); pybind11 names only
// the contiguity flags in its public API.
constexpr int kNpyAligned = 0x0100;

// Wraps one fed value for the engine without copying when it is a C-contiguous,
// aligned array: the engine reads it in place (it never writes inputs), and
// `keep` holds the array for the call. Any other layout (a slice, a transpose,
// a misaligned buffer) is copied into a contiguous array first, as ONNX Runtime
// does, so a view works the same as its copy. The dtype must be the engine's
// exactly: nothing is cast, a float64 array is refused naming the input.
si::Tensor wrap_input(const si::ValueInfo &info, py::handle value, std::vector<py::array> *keep) {
  if (!py::isinstance<py::array>(value)) {
    invalid_argument("input " + quoted(info.name) + " must be a numpy.ndarray, got " +
                     std::string(py::str(py::type::of(value).attr("__name__"))));
  }
  auto a = py::reinterpret_borrow<py::array>(value);
  si::DType dtype;
  if (!engine_dtype(a, &dtype)) {
    invalid_argument("input " + quoted(info.name) + " expects " + si::dtype_name(info.dtype) +
                     ", got numpy " + std::string(py::str(a.dtype())) +
                     " (nothing is cast: convert it, e.g. x.astype(\"" +
                     std::string(py::str(numpy_dtype(info.dtype))) + "\"))");
  }
  a = py::array::ensure(a, py::array::c_style | kNpyAligned);
  if (!a) throw py::error_already_set();
  si::Shape shape(a.shape(), a.shape() + a.ndim());
  keep->push_back(a);
  return si::Tensor::borrow(dtype, std::move(shape), const_cast<void *>(a.data()));
}

// Outputs are copied into arrays numpy allocates and owns: an engine output
// may be a view of an input or of a constant (Identity, Reshape), which must
// neither outlive its owner nor be writable through numpy.
py::array to_numpy(const si::Tensor &t) {
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  py::array a(numpy_dtype(t.dtype()), shape);
  if (t.size_bytes() > 0) std::memcpy(a.mutable_data(), t.raw(), t.size_bytes());
  return a;
}

// One model input or output, as ONNX Runtime's NodeArg shows it.
struct NodeArg {
  si::ValueInfo info;

  // ONNX Runtime's convention: an int per known dim, the symbol's name for a
  // symbolic one, None for an unknown one; [] when the rank is unknown.
  py::list shape() const {
    py::list out;
    for (const si::Dim &d : info.dims) {
      if (d.size >= 0) {
        out.append(d.size);
      } else if (!d.param.empty()) {
        out.append(d.param);
      } else {
        out.append(py::none());
      }
    }
    return out;
  }
};

const char *const kCpuProvider = "CPUExecutionProvider";

// input_feed by name -> the engine's positional inputs.
std::vector<si::Tensor> feed_inputs(const std::vector<si::ValueInfo> &inputs,
                                    const py::dict &input_feed, std::vector<py::array> *keep) {
  std::string all;
  for (const si::ValueInfo &v : inputs) all += (all.empty() ? "" : ", ") + quoted(v.name);
  std::vector<si::Tensor> tensors(inputs.size());
  std::vector<bool> fed(inputs.size(), false);
  for (auto kv : input_feed) {
    std::string name = py::str(kv.first);
    size_t i = 0;
    while (i < inputs.size() && inputs[i].name != name) ++i;
    if (i == inputs.size()) {
      invalid_argument("input_feed has " + quoted(name) +
                       ", which is not an input of the model (inputs: " + all + ")");
    }
    tensors[i] = wrap_input(inputs[i], kv.second, keep);
    fed[i] = true;
  }
  std::string missing;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!fed[i]) missing += (missing.empty() ? "" : ", ") + quoted(inputs[i].name);
  }
  if (!missing.empty()) invalid_argument("input_feed lacks model input(s) " + missing);
  return tensors;
}

// sparse_infer.analyze's engine half: the report of engine/analysis.h as its
// JSON text (the one the CLI's --json writes), which __init__.py parses.
std::string analyze_json(const std::string &path, py::list input_sets,
                         const si::SessionOptions *sess_options, int64_t iters, int64_t warmup) {
  if (iters < 1) invalid_argument("analyze: iters is " + std::to_string(iters) + ", expected >= 1");
  if (warmup < 0)
    invalid_argument("analyze: warmup is " + std::to_string(warmup) + ", expected >= 0");
  if (input_sets.empty()) invalid_argument("analyze: no input sets");
  const si::SessionOptions options = sess_options ? *sess_options : si::SessionOptions();
  si::Graph graph;
  {
    py::gil_scoped_release nogil;
    check(si::import_onnx_file(path, options, &graph));
  }
  std::vector<si::ValueInfo> inputs;
  for (int v : graph.inputs) inputs.push_back(graph.values[size_t(v)]);
  std::vector<py::array> keep;
  std::vector<std::vector<si::Tensor>> sets;
  for (py::handle set : input_sets) {
    if (!py::isinstance<py::dict>(set)) {
      invalid_argument("analyze: each input set must be a dict of input name -> array");
    }
    sets.push_back(feed_inputs(inputs, py::reinterpret_borrow<py::dict>(set), &keep));
  }
  si::AnalyzeOptions how;
  how.iters = size_t(iters);
  how.warmup = size_t(warmup);
  si::AnalysisReport report;
  {
    py::gil_scoped_release nogil;
    check(si::analyze_model(graph, options, sets, how, &report));
  }
  return si::analysis_json(report);
}

// ONNX Runtime takes provider names, or (name, options) pairs; the engine
// runs on the CPU whatever is asked, and says so for any other provider.
void check_providers(py::handle providers) {
  if (providers.is_none()) return;
  for (py::handle p : providers) {
    py::object name = py::isinstance<py::tuple>(p) ? py::reinterpret_borrow<py::tuple>(p)[0]
                                                   : py::reinterpret_borrow<py::object>(p);
    std::string n = py::str(name);
    if (n == kCpuProvider) continue;
    std::string message = "sparse_infer: provider " + quoted(n) +
                          " is not available, running on CPUExecutionProvider";
    if (PyErr_WarnEx(PyExc_UserWarning, message.c_str(), 1) != 0) throw py::error_already_set();
  }
}

class InferenceSession {
 public:
  InferenceSession(py::object path_or_bytes, const si::SessionOptions *sess_options,
                   py::object providers, py::object /*provider_options: ignored, CPU only*/) {
    const si::SessionOptions options = sess_options ? *sess_options : si::SessionOptions();
    check_providers(providers);
    si::Status st;
    if (py::isinstance<py::bytes>(path_or_bytes)) {
      char *data = nullptr;
      py::ssize_t size = 0;
      if (PyBytes_AsStringAndSize(path_or_bytes.ptr(), &data, &size) != 0) {
        throw py::error_already_set();
      }
      // path_or_bytes holds the bytes alive while the GIL is released.
      py::gil_scoped_release nogil;
      st = si::load_session_bytes(data, static_cast<size_t>(size), options, &session_);
    } else {
      py::object path = path_or_bytes;
      if (!py::isinstance<py::str>(path) && py::hasattr(path, "__fspath__")) {
        path = py::module_::import("os").attr("fspath")(path);
      }
      if (!py::isinstance<py::str>(path)) {
        throw py::type_error(
            "InferenceSession: path_or_bytes must be a str, os.PathLike or "
            "bytes (the model itself), got " +
            std::string(py::str(py::type::of(path_or_bytes).attr("__name__"))));
      }
      std::string p = path.cast<std::string>();
      py::gil_scoped_release nogil;
      st = si::load_session_file(p, options, &session_);
    }
    check(std::move(st));
    check(
        si::require_tensor_interface(session_->inputs(), session_->outputs(), "the Python module"));
    for (const si::ValueInfo &v : session_->inputs()) inputs_.push_back({v});
    for (const si::ValueInfo &v : session_->outputs()) outputs_.push_back({v});
  }

  const std::vector<NodeArg> &get_inputs() const { return inputs_; }
  const std::vector<NodeArg> &get_outputs() const { return outputs_; }
  const si::SessionOptions &get_session_options() const { return session_->options(); }

  // ONNX Runtime's run: output_names None or empty means every output, in
  // the model's order. run_options is accepted and ignored.
  py::list run(py::object output_names, py::dict input_feed, py::object /*run_options*/) const {
    std::vector<size_t> wanted = output_indices(output_names);
    std::vector<py::array> keep;
    std::vector<si::Tensor> inputs = feed(input_feed, &keep);
    std::vector<si::Tensor> results;
    si::Status st;
    {
      // Session::run is safe from many threads: Python threads on one session
      // run in parallel. `keep` holds the borrowed arrays.
      py::gil_scoped_release nogil;
      st = session_->run(inputs, &results);
    }
    check(std::move(st));
    py::list out;
    for (size_t i : wanted) out.append(to_numpy(results[i]));
    return out;
  }

  // Our extra: `warmup` plain calls, then `iters` profiled ones, reduced by
  // the engine as the CLI's --profile table is (engine/profile_summary.h).
  py::dict profile(py::dict input_feed, int64_t iters, int64_t warmup) const {
    if (iters < 1)
      invalid_argument("profile: iters is " + std::to_string(iters) + ", expected >= 1");
    if (warmup < 0) {
      invalid_argument("profile: warmup is " + std::to_string(warmup) + ", expected >= 0");
    }
    std::vector<py::array> keep;
    std::vector<si::Tensor> inputs = feed(input_feed, &keep);
    std::vector<si::RunProfile> runs(static_cast<size_t>(iters)), counted(1);
    counted[0].value_stats = true;  // one untimed run counts the activations' zeros
    si::Status st;
    {
      py::gil_scoped_release nogil;
      std::vector<si::Tensor> results;
      for (int64_t i = 0; i < warmup && st.is_ok(); ++i) st = session_->run(inputs, &results);
      if (st.is_ok()) st = session_->run(inputs, &results, &counted[0]);
      for (size_t i = 0; i < runs.size() && st.is_ok(); ++i) {
        st = session_->run(inputs, &results, &runs[i]);
      }
    }
    check(std::move(st));
    const si::ProfileSummary p = si::summarize_profile(runs, *session_, counted);
    py::list layers;
    for (const si::StepSummary &s : p.steps) {
      py::dict layer;
      layer["op"] = s.op_type;
      layer["node"] = s.name;
      layer["output_shape"] = s.output_shape;
      layer["time_us"] = s.time_us;
      layer["density"] = s.density >= 0 ? py::object(py::float_(s.density)) : py::none();
      layer["path"] = s.path.empty() ? py::none() : py::object(py::str(s.path));
      layer["activation"] = s.activation.empty() ? py::none() : py::object(py::str(s.activation));
      layer["zero_fraction"] =
          s.zero_fraction >= 0 ? py::object(py::float_(s.zero_fraction)) : py::none();
      layers.append(layer);
    }
    py::dict out;
    out["runs"] = p.runs;
    out["warmup_runs"] = warmup;
    out["total_us"] = p.total_us;
    out["sparse_work_share"] =
        p.sparse_work_share >= 0 ? py::object(py::float_(p.sparse_work_share)) : py::none();
    out["weight_bytes_read"] = p.weight_bytes_read;
    out["weight_bytes_dense"] = p.weight_bytes_dense;
    out["layers"] = layers;
    return out;
  }

 private:
  std::vector<size_t> output_indices(py::handle names) const {
    std::vector<size_t> out;
    if (names.is_none() || py::len(names) == 0) {
      for (size_t i = 0; i < outputs_.size(); ++i) out.push_back(i);
      return out;
    }
    for (py::handle n : names) {
      std::string name = py::str(n);
      size_t i = 0;
      while (i < outputs_.size() && outputs_[i].info.name != name) ++i;
      if (i == outputs_.size()) {
        invalid_argument("output " + quoted(name) +
                         " is not an output of the model (outputs: " + names_list(outputs_) + ")");
      }
      out.push_back(i);
    }
    return out;
  }

  std::vector<si::Tensor> feed(const py::dict &input_feed, std::vector<py::array> *keep) const {
    return feed_inputs(session_->inputs(), input_feed, keep);
  }

  static std::string names_list(const std::vector<NodeArg> &args) {
    std::string s;
    for (const NodeArg &a : args) s += (s.empty() ? "" : ", ") + quoted(a.info.name);
    return s;
  }

  std::unique_ptr<si::Session> session_;
  std::vector<NodeArg> inputs_, outputs_;
};

}  // namespace

PYBIND11_MODULE(_sparse_infer, m) {
  m.doc() = "sparse-infer: ONNX inference that skips exactly-zero ReLU activations";
  m.attr("__version__") = SI_VERSION;

  g_errors.fail = new_error_class(m, "Fail", Py_NewRef(PyExc_RuntimeError),
                                  "Every sparse_infer error; raised itself for internal errors.");
  g_errors.invalid_argument =
      new_error_class(m, "InvalidArgument", Py_BuildValue("(OO)", g_errors.fail, PyExc_ValueError),
                      "A bad input, input or output name, or option value.");
  g_errors.no_such_file =
      new_error_class(m, "NoSuchFile", Py_BuildValue("(OO)", g_errors.fail, PyExc_OSError),
                      "The model file cannot be opened or read.");
  g_errors.invalid_graph = new_error_class(m, "InvalidGraph", Py_NewRef(g_errors.fail),
                                           "The file or bytes are not a valid ONNX model.");
  g_errors.not_implemented = new_error_class(
      m, "NotImplemented", Py_NewRef(g_errors.fail),
      "Valid ONNX the engine cannot run (the message lists every unsupported operator).");
  g_errors.out_of_memory =
      new_error_class(m, "OutOfMemory", Py_BuildValue("(OO)", g_errors.fail, PyExc_MemoryError),
                      "Over SessionOptions.max_memory_bytes or the machine's memory.");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError &e) {
      PyErr_SetString(error_class(e.status.code()), e.status.message().c_str());
    }
  });

  py::class_<si::SessionOptions>(m, "SessionOptions")
      .def(py::init<>())
      .def_property(
          "intra_op_num_threads", [](const si::SessionOptions &o) { return o.threads; },
          [](si::SessionOptions &o, int n) {
            if (n < 0) {
              invalid_argument("SessionOptions.intra_op_num_threads is " + std::to_string(n) +
                               ", expected >= 0 (0 = one per core)");
            }
            o.threads = n;
          },
          "Threads each run may use; 0 (the default) = one per core.")
      .def_property(
          "mode", [](const si::SessionOptions &o) { return si::exec_mode_name(o.mode); },
          [](si::SessionOptions &o, const std::string &name) {
            if (!si::exec_mode_from_name(name, &o.mode)) {
              invalid_argument("SessionOptions.mode is " + quoted(name) +
                               ", expected \"auto\", \"dense\" or \"sparse\"");
            }
          },
          "The matmul path after a ReLU: \"auto\" (per call, from the measured density), "
          "\"dense\" (oneDNN always) or \"sparse\" (wherever a layer allows).")
      .def_readwrite("single_weight_copy", &si::SessionOptions::single_weight_copy,
                     "Hold each weight in one layout only (memory near the model's size; dense "
                     "batches slower).")
      .def_property(
          "max_memory_bytes", [](const si::SessionOptions &o) { return o.max_memory_bytes; },
          [](si::SessionOptions &o, long long bytes) {
            if (bytes < 0) {
              invalid_argument("SessionOptions.max_memory_bytes is " + std::to_string(bytes) +
                               ", expected >= 0 (0 = the machine's memory)");
            }
            o.max_memory_bytes = static_cast<uint64_t>(bytes);
          },
          "Ceiling on a session's weights plus one run's tensors; 0 = the machine's memory.");

  py::class_<NodeArg>(m, "NodeArg")
      .def_property_readonly("name", [](const NodeArg &a) { return a.info.name; })
      .def_property_readonly("shape", &NodeArg::shape)
      .def_property_readonly("type", [](const NodeArg &a) { return onnx_type_name(a.info.dtype); })
      .def("__repr__", [](const NodeArg &a) {
        return "NodeArg(name='" + a.info.name + "', type='" + onnx_type_name(a.info.dtype) +
               "', shape=" + std::string(py::repr(a.shape())) + ")";
      });

  py::class_<InferenceSession>(m, "InferenceSession")
      .def(py::init<py::object, const si::SessionOptions *, py::object, py::object>(),
           py::arg("path_or_bytes"), py::arg("sess_options") = py::none(),
           py::arg("providers") = py::none(), py::arg("provider_options") = py::none())
      .def("get_inputs", &InferenceSession::get_inputs)
      .def("get_outputs", &InferenceSession::get_outputs)
      .def("get_session_options", &InferenceSession::get_session_options)
      .def("get_providers",
           [](const InferenceSession &) { return std::vector<std::string>{kCpuProvider}; })
      .def("run", &InferenceSession::run, py::arg("output_names"), py::arg("input_feed"),
           py::arg("run_options") = py::none())
      .def("profile", &InferenceSession::profile, py::arg("input_feed"),
           py::arg("iters") = si::kDefaultProfileRuns,
           py::arg("warmup") = si::kDefaultProfileWarmupRuns);

  m.def("_analyze_json", &analyze_json, py::arg("path"), py::arg("input_sets"),
        py::arg("sess_options") = py::none(), py::arg("iters") = 20, py::arg("warmup") = 3);
  m.def("get_available_providers", [] { return std::vector<std::string>{kCpuProvider}; });
  m.def("get_device", [] { return "CPU"; });
}
