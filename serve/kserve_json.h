// The Open Inference Protocol's (KServe v2) JSON documents and Triton's binary
// tensor data extension, translated to and from engine types. No HTTP here:
// bodies in, bodies out, errors as Status (kInvalidArgument: the request is
// at fault, a 400 at the edge).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace si::serve {

// "FP32", "INT64", "INT32", "BOOL", "UINT8", "INT8": the protocol's names of
// the dtypes the engine has. nullptr for kUndefined.
const char *kserve_datatype(DType t);
// false for names the engine has no dtype for (FP16, BYTES, ...).
bool dtype_from_kserve(const std::string &name, DType *out);

struct RequestedOutput {
  std::string name;
  bool binary = false;
};

struct InferRequest {
  std::string id;  // echoed; empty when the request had none
  bool has_id = false;
  std::vector<std::string> input_names;  // as the request lists them
  std::vector<Tensor> inputs;            // same order, data copied out of the body
  // Empty: every model output, as JSON unless binary_data_output.
  std::vector<RequestedOutput> outputs;
  bool binary_data_output = false;  // request parameter: every output binary by default
};

// `body` holds the JSON request, followed by the binary tensors of the inputs
// that carry a binary_data_size parameter when `json_size` (the
// Inference-Header-Content-Length header) is less than body.size().
Status parse_infer_request(const std::string &body, size_t json_size, InferRequest *out);

// The request's inputs in the model's input order. Fails naming a missing,
// unknown or repeated input; dtypes and shapes are the session's to check.
Status order_inputs(const InferRequest &request, const std::vector<ValueInfo> &model_inputs,
                    std::vector<Tensor> *out);

struct InferResponse {
  std::string body;
  size_t json_size = 0;  // < body.size(): binary outputs follow the JSON
  bool binary = false;   // send Inference-Header-Content-Length
};

// The response document for `outputs` (the model's, in model order).
// Fails naming a requested output the model does not have.
Status write_infer_response(const std::string &model, const std::string &version,
                            const InferRequest &request,
                            const std::vector<ValueInfo> &model_outputs,
                            const std::vector<Tensor> &outputs, InferResponse *out);

// GET /v2/models/{m}[/versions/{v}]: name, versions, platform, inputs and
// outputs with datatype and shape (-1 for a dynamic dim).
std::string model_metadata_json(const std::string &name, const std::vector<std::string> &versions,
                                const std::vector<ValueInfo> &inputs,
                                const std::vector<ValueInfo> &outputs);
std::string server_metadata_json(const std::string &version);
std::string ready_json(bool ready);
// {"error": message}
std::string error_json(const std::string &message);

}  // namespace si::serve
