// The KServe v2 REST endpoints over a model repository, served by
// cpp-httplib until SIGTERM or SIGINT.
#pragma once

#include <cstdint>
#include <string>

#include "engine/options.h"

namespace si::serve {

struct ServeOptions {
  std::string repository;
  std::string address = "0.0.0.0";
  int port = 8000;  // 0: any free port (the "listening" line names it)
  int threads = 1;  // engine threads per run
  ExecMode mode = ExecMode::kAuto;
  // < 0: no dynamic batching.
  int64_t max_batch_delay_us = -1;
  int64_t max_batch_size = 64;  // rows per batched run
  uint64_t max_request_bytes = uint64_t{64} << 20;
  int max_concurrency = 64;  // in-flight infers; more are refused with 503
};

// Loads the repository, listens, and serves until SIGTERM or SIGINT; then
// stops accepting, finishes the requests in flight and returns 0. Returns
// non-zero when the repository or the port cannot be had. Blocks both
// signals in the calling thread (and the threads it starts).
int run_server(const ServeOptions &options);

}  // namespace si::serve
