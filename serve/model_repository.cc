#include "serve/model_repository.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "importers/onnx/onnx_importer.h"

namespace si::serve {
namespace {

namespace fs = std::filesystem;

bool all_digits(const std::string &s) {
  return !s.empty() && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void load_version(ModelVersion *v, const RepositoryOptions &options) {
  const auto start = std::chrono::steady_clock::now();
  std::error_code ec;
  Status s;
  if (!fs::is_regular_file(v->path, ec)) {
    s = io_error(v->path + ": no such file");
  } else {
    s = load_session_file(v->path, options.session, &v->session);
    if (s.is_ok())
      s = require_tensor_interface(v->session->inputs(), v->session->outputs(), "the server");
  }
  if (!s.is_ok()) {
    v->session.reset();
    v->error =
        s.message().find(v->path) == std::string::npos ? v->path + ": " + s.message() : s.message();
    log_event("error: model " + v->model + " version " + v->version +
              " failed to load, not ready: " + v->error);
    return;
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (options.batching && batchable(*v->session)) {
    v->batcher = std::make_unique<Batcher>(*v->session, options.batch, v->metrics);
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, " in %.1f ms", ms);
  log_event("model " + v->model + " version " + v->version + " loaded from " + v->path + buf +
            (options.batching ? (v->batcher ? ", dynamic batching on"
                                            : ", dynamic batching off (first dim not dynamic)")
                              : ""));
}

}  // namespace

void log_event(std::string line) {
  for (char &c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "sparse-infer serve: %s\n", line.c_str());
}

Status ModelVersion::infer(const std::vector<Tensor> &inputs, std::vector<Tensor> *outputs) const {
  if (batcher) return batcher->run(inputs, outputs);
  metrics->record_queue(0);
  return run_measured(*session, inputs, outputs, metrics, 1);
}

Status ModelRepository::load(const std::string &dir, const RepositoryOptions &options,
                             Metrics *metrics, std::unique_ptr<ModelRepository> *out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return io_error("--model-repository " + dir + ": " + ec.message());
  auto repo = std::unique_ptr<ModelRepository>(new ModelRepository());
  for (const fs::directory_entry &m : it) {
    if (!m.is_directory(ec)) continue;
    Model model;
    model.name = m.path().filename().string();
    fs::directory_iterator vit(m.path(), ec);
    if (ec) return io_error(m.path().string() + ": " + ec.message());
    for (const fs::directory_entry &v : vit) {
      const std::string name = v.path().filename().string();
      // Triton's layout: version folders are numbers; anything else (a
      // config file, a README) is not a version.
      if (!v.is_directory(ec) || !all_digits(name)) continue;
      auto mv = std::make_unique<ModelVersion>();
      mv->model = model.name;
      mv->number = std::stoll(name);
      mv->version = std::to_string(mv->number);
      mv->path = (v.path() / "model.onnx").string();
      model.versions.push_back(std::move(mv));
    }
    if (model.versions.empty()) {
      log_event("warning: " + m.path().string() + " has no version folder, skipped");
      continue;
    }
    std::sort(model.versions.begin(), model.versions.end(),
              [](const auto &a, const auto &b) { return a->number < b->number; });
    repo->models_.push_back(std::move(model));
  }
  if (repo->models_.empty()) {
    return invalid_argument("--model-repository " + dir +
                            ": no model folders (expected DIR/<model>/<version>/model.onnx)");
  }
  std::sort(repo->models_.begin(), repo->models_.end(),
            [](const Model &a, const Model &b) { return a.name < b.name; });
  for (Model &model : repo->models_) {
    for (auto &v : model.versions) {
      v->metrics = metrics->add(v->model, v->version);
      load_version(v.get(), options);
    }
  }
  *out = std::move(repo);
  return Status::ok();
}

const Model *ModelRepository::model(const std::string &name) const {
  for (const Model &m : models_) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

const ModelVersion *ModelRepository::find(const std::string &name, const std::string &version,
                                          Lookup *result) const {
  const Model *m = model(name);
  if (m == nullptr) {
    *result = Lookup::kNoModel;
    return nullptr;
  }
  *result = Lookup::kFound;
  if (version.empty()) return m->versions.back().get();
  for (const auto &v : m->versions) {
    if (v->version == version) return v.get();
  }
  *result = Lookup::kNoVersion;
  return nullptr;
}

size_t ModelRepository::failed_count() const {
  size_t n = 0;
  for (const Model &m : models_) {
    for (const auto &v : m.versions) n += v->ready() ? 0 : 1;
  }
  return n;
}

}  // namespace si::serve
