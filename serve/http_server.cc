#include "serve/http_server.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <memory>
#include <thread>

#include "serve/kserve_json.h"
#include "serve/metrics.h"
#include "serve/model_repository.h"

namespace si::serve {
namespace {

constexpr const char *kJson = "application/json";
constexpr const char *kHeaderLength = "Inference-Header-Content-Length";

// The edge: engine and protocol errors as HTTP statuses.
int http_status(const Status &s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kInvalidModel:
    case StatusCode::kUnsupported:
      return 400;
    case StatusCode::kOutOfMemory:
      return 503;
    default:
      return 500;
  }
}

void reply_error(httplib::Response &res, int status, const std::string &message) {
  res.status = status;
  res.set_content(error_json(message), kJson);
}

std::string describe(const ModelVersion &v) {
  return "model \"" + v.model + "\" version " + v.version;
}

// httplib 0.11 listens with a backlog of 5: a burst of more new connections
// than that overflows the accept queue, and the kernel drops their
// handshakes, which clients retry after 1 s, 3 s, ... Listening again on the
// bound socket only resizes the queue (Linux).
class Server : public httplib::Server {
 public:
  bool widen_backlog() { return ::listen(svr_sock_, SOMAXCONN) == 0; }
};

class Endpoints {
 public:
  Endpoints(const ServeOptions &options, const ModelRepository &repo, const Metrics &metrics)
      : options_(options), repo_(repo), metrics_(metrics) {}

  void install(httplib::Server &svr);
  void set_stopping() { stopping_ = true; }

 private:
  // The version a /v2/models/{m}[/versions/{v}]/... URL names, or null after
  // replying 404.
  const ModelVersion *lookup(const httplib::Request &req, httplib::Response &res) const;
  void infer(const httplib::Request &req, httplib::Response &res,
             const httplib::ContentReader &reader);
  Status infer_body(const ModelVersion &v, const httplib::Request &req, const std::string &body,
                    httplib::Response &res) const;

  const ServeOptions &options_;
  const ModelRepository &repo_;
  const Metrics &metrics_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> in_flight_{0};
};

const ModelVersion *Endpoints::lookup(const httplib::Request &req, httplib::Response &res) const {
  const std::string model = req.matches[1], version = req.matches[3];
  ModelRepository::Lookup r;
  const ModelVersion *v = repo_.find(model, version, &r);
  if (r == ModelRepository::Lookup::kNoModel) {
    reply_error(res, 404, "unknown model \"" + model + "\"");
  } else if (r == ModelRepository::Lookup::kNoVersion) {
    reply_error(res, 404, "model \"" + model + "\" has no version \"" + version + "\"");
  }
  return v;
}

void Endpoints::install(httplib::Server &svr) {
  svr.Get("/v2/health/live",
          [](const httplib::Request &, httplib::Response &res) {
            res.set_content("{\"live\":true}", kJson);
          })
      .Get("/v2/health/ready",
           [this](const httplib::Request &, httplib::Response &res) {
             // Ready once listening, until shutdown begins. A version that
             // failed to load is not ready on its own endpoints but does not
             // hold the server back (Triton's --strict-readiness=false).
             res.status = stopping_ ? 503 : 200;
             res.set_content(ready_json(!stopping_), kJson);
           })
      .Get("/v2",
           [](const httplib::Request &, httplib::Response &res) {
             res.set_content(server_metadata_json(SI_VERSION), kJson);
           })
      .Get("/metrics",
           [this](const httplib::Request &, httplib::Response &res) {
             res.set_content(metrics_.render(), "text/plain; version=0.0.4");
           })
      .Get(R"(/v2/models/([^/]+)(/versions/([^/]+))?/ready)",
           [this](const httplib::Request &req, httplib::Response &res) {
             const ModelVersion *v = lookup(req, res);
             if (v == nullptr) return;
             if (!v->ready())
               return reply_error(res, 503, describe(*v) + " is not ready: " + v->error);
             res.set_content(ready_json(true), kJson);
           })
      .Get(R"(/v2/models/([^/]+)(/versions/([^/]+))?)",
           [this](const httplib::Request &req, httplib::Response &res) {
             const ModelVersion *v = lookup(req, res);
             if (v == nullptr) return;
             if (!v->ready())
               return reply_error(res, 503, describe(*v) + " is not ready: " + v->error);
             std::vector<std::string> versions;
             for (const auto &mv : repo_.model(v->model)->versions) versions.push_back(mv->version);
             res.set_content(model_metadata_json(v->model, versions, v->session->inputs(),
                                                 v->session->outputs()),
                             kJson);
           })
      .Post(R"(/v2/models/([^/]+)(/versions/([^/]+))?/infer)",
            [this](const httplib::Request &req, httplib::Response &res,
                   const httplib::ContentReader &reader) { infer(req, res, reader); });
}

void Endpoints::infer(const httplib::Request &req, httplib::Response &res,
                      const httplib::ContentReader &reader) {
  // httplib refuses a Content-Length above set_payload_max_length with 413
  // before reading any of it (the body is drained, not buffered); a chunked
  // body is cut off here once it grows past the limit.
  std::string body;
  const std::string length = req.get_header_value("Content-Length");
  if (!length.empty() && length.size() <= 18 &&
      std::all_of(length.begin(), length.end(), ::isdigit)) {
    const uint64_t n = std::stoull(length);
    if (n <= options_.max_request_bytes) body.reserve(size_t(n));
  }
  bool too_big = false;
  const bool read = reader([&](const char *data, size_t n) {
    if (body.size() + n > options_.max_request_bytes) {
      too_big = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (too_big || res.status == 413) {
    return reply_error(res, 413,
                       "request body exceeds --max-request-bytes (" +
                           std::to_string(options_.max_request_bytes) + " bytes)");
  }
  if (!read) return reply_error(res, 400, "could not read the request body");

  const ModelVersion *v = lookup(req, res);
  if (v == nullptr) return;
  if (!v->ready()) {
    v->metrics->record_request(false);
    return reply_error(res, 503, describe(*v) + " is not ready: " + v->error);
  }
  if (in_flight_.fetch_add(1) >= options_.max_concurrency) {
    in_flight_.fetch_sub(1);
    v->metrics->record_request(false);
    return reply_error(res, 503,
                       "overloaded: " + std::to_string(options_.max_concurrency) +
                           " inference requests in flight (--max-concurrency)");
  }
  const Status s = infer_body(*v, req, body, res);
  in_flight_.fetch_sub(1);
  v->metrics->record_request(s.is_ok());
  if (!s.is_ok()) reply_error(res, http_status(s), s.message());
}

Status Endpoints::infer_body(const ModelVersion &v, const httplib::Request &req,
                             const std::string &body, httplib::Response &res) const {
  size_t json_size = body.size();
  if (req.has_header(kHeaderLength)) {
    const std::string h = req.get_header_value(kHeaderLength);
    if (h.empty() || h.size() > 18 || !std::all_of(h.begin(), h.end(), ::isdigit)) {
      return invalid_argument(std::string(kHeaderLength) + " \"" + h + "\" is not a byte count");
    }
    json_size = size_t(std::stoull(h));
  }
  InferRequest request;
  SI_RETURN_IF_ERROR(parse_infer_request(body, json_size, &request));
  std::vector<Tensor> inputs, outputs;
  SI_RETURN_IF_ERROR(order_inputs(request, v.session->inputs(), &inputs));
  SI_RETURN_IF_ERROR(v.infer(inputs, &outputs));
  InferResponse response;
  SI_RETURN_IF_ERROR(
      write_infer_response(v.model, v.version, request, v.session->outputs(), outputs, &response));
  if (response.binary) {
    res.set_header(kHeaderLength, std::to_string(response.json_size));
    res.set_content(std::move(response.body), "application/octet-stream");
  } else {
    res.set_content(std::move(response.body), kJson);
  }
  return Status::ok();
}

}  // namespace

int run_server(const ServeOptions &options) {
  // Before any thread exists (the engine's OpenMP pool included), so every
  // thread inherits the mask and only the stopper thread receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  log_event("starting: repository " + options.repository + ", engine threads per run " +
            std::to_string(options.threads) + ", mode " + exec_mode_name(options.mode));
  RepositoryOptions ro;
  ro.session.threads = options.threads;
  ro.session.mode = options.mode;
  ro.batching = options.max_batch_delay_us >= 0;
  ro.batch.max_delay_us = std::max<int64_t>(options.max_batch_delay_us, 0);
  ro.batch.max_rows = options.max_batch_size;
  // Enough batch workers to keep every core busy at `threads` per run.
  ro.batch.workers =
      std::max(1, int(std::max(1u, std::thread::hardware_concurrency())) / options.threads);
  Metrics metrics;
  std::unique_ptr<ModelRepository> repo;
  Status s = ModelRepository::load(options.repository, ro, &metrics, &repo);
  if (!s.is_ok()) {
    log_event("error: " + s.message());
    return 1;
  }

  Server svr;
  // httplib serves one connection per worker for as long as it stays open:
  // one per admitted request, plus a few so health checks and /metrics get
  // through when every infer slot is taken.
  const size_t http_threads = size_t(std::min(options.max_concurrency, 256)) + 4;
  svr.new_task_queue = [http_threads] { return new httplib::ThreadPool(http_threads); };
  svr.set_payload_max_length(size_t(options.max_request_bytes));
  svr.set_tcp_nodelay(true);  // small responses: no Nagle delay
  svr.set_keep_alive_max_count(1000);
  svr.set_error_handler([](const httplib::Request &req, httplib::Response &res) {
    // Replies without a body of ours: no route (404), httplib's 413 and 400.
    if (!res.body.empty()) return;
    std::string message = res.status == 404   ? "no route for " + req.method + " " + req.path
                          : res.status == 413 ? "request body too large"
                                              : "HTTP error " + std::to_string(res.status);
    res.set_content(error_json(message), kJson);
  });
  svr.set_exception_handler(
      [](const httplib::Request &, httplib::Response &res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception &e) {
          what = e.what();
        } catch (...) {
        }
        reply_error(res, 500, "internal error: " + what);
      });
  // Per-request logging for failures only.
  svr.set_logger([](const httplib::Request &req, const httplib::Response &res) {
    if (res.status >= 400) {
      log_event(req.method + " " + req.path + " -> " + std::to_string(res.status) + ": " +
                res.body.substr(0, 300));
    }
  });
  Endpoints endpoints(options, *repo, metrics);
  endpoints.install(svr);

  int port = options.port;
  if (port == 0) {
    port = svr.bind_to_any_port(options.address);
  } else if (!svr.bind_to_port(options.address, port)) {
    port = -1;
  }
  if (port <= 0 || !svr.widen_backlog()) {
    log_event("error: cannot listen on " + options.address + ":" + std::to_string(options.port));
    return 1;
  }

  std::atomic<bool> listen_returned{false};
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (listen_returned) return;
    log_event(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
              ": stopping, finishing requests in flight");
    endpoints.set_stopping();
    // stop() is a no-op until the accept loop runs: repeat until it ended.
    while (!listen_returned) {
      svr.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  const size_t failed = repo->failed_count();
  log_event("listening on http://" + options.address + ":" + std::to_string(port) + " (" +
            std::to_string(failed) + " model versions not ready, " + std::to_string(http_threads) +
            " HTTP threads, dynamic batching " +
            (ro.batching ? "on, delay " + std::to_string(ro.batch.max_delay_us) + " us" : "off") +
            ")");
  // Returns once stopped, after the thread pool joined every worker: the
  // requests in flight have been answered.
  const bool ok = svr.listen_after_bind();
  listen_returned = true;
  pthread_kill(stopper.native_handle(), SIGTERM);  // wakes sigwait if listen failed
  stopper.join();
  repo.reset();
  log_event(ok ? "shutdown complete" : "error: the accept loop failed");
  return ok ? 0 : 1;
}

}  // namespace si::serve
