// A model repository in Triton's layout, DIR/<model>/<version>/model.onnx,
// loaded once at start. A version that fails to load stays listed, not
// ready, with its error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/options.h"
#include "engine/session.h"
#include "engine/status.h"
#include "serve/batcher.h"
#include "serve/metrics.h"

namespace si::serve {

// "sparse-infer serve: <line>" on stderr, newlines flattened: one line per
// event.
void log_event(std::string line);

struct ModelVersion {
  std::string model;
  std::string version;  // the folder name: decimal digits
  int64_t number = 0;
  std::string path;                  // .../model.onnx
  std::unique_ptr<Session> session;  // null when the load failed
  std::string error;                 // why it is not ready
  std::unique_ptr<Batcher> batcher;  // set when batching is on and the model stacks
  ModelMetrics *metrics = nullptr;

  bool ready() const { return session != nullptr; }
  // Runs one request: through the batcher when there is one.
  Status infer(const std::vector<Tensor> &inputs, std::vector<Tensor> *outputs) const;
};

struct Model {
  std::string name;
  std::vector<std::unique_ptr<ModelVersion>> versions;  // ascending number
};

struct RepositoryOptions {
  SessionOptions session;
  bool batching = false;
  BatchOptions batch;
};

class ModelRepository {
 public:
  // Loads every version found, logging one line per version on stderr.
  // Fails only when `dir` cannot be listed or holds no model folder.
  static Status load(const std::string &dir, const RepositoryOptions &options, Metrics *metrics,
                     std::unique_ptr<ModelRepository> *out);

  enum class Lookup { kFound, kNoModel, kNoVersion };
  // `version` empty: the numerically highest one.
  const ModelVersion *find(const std::string &model, const std::string &version,
                           Lookup *result) const;
  const Model *model(const std::string &name) const;
  size_t failed_count() const;

 private:
  std::vector<Model> models_;  // by name
};

}  // namespace si::serve
