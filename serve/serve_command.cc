#include "serve/serve_command.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "serve/http_server.h"

namespace si::serve {
namespace {

const char *kUsage = R"(usage: sparse-infer serve --model-repository DIR [options]

Serves every model of DIR (Triton's layout: DIR/<model>/<version>/model.onnx)
over the Open Inference Protocol (KServe v2) REST API, with Triton's binary
tensor data extension, until SIGTERM or SIGINT.

  --model-repository DIR    the models; the highest version serves when a
                            request names none
  --http-address A          address to listen on (default 0.0.0.0)
  --http-port N             port (default 8000; 0: any free port, named on
                            the "listening" line)
  --threads N               engine threads per run (default 1: requests run
                            side by side)
  --mode auto|dense|sparse  matmul paths, as the command line's --dense and
                            --sparse (default auto: per call, by density)
  --max-batch-delay-us N    dynamic batching: concurrent requests of a model
                            whose first dim is dynamic are stacked into one
                            run; the first waits up to N us for others.
                            Default: off. Outputs equal unbatched ones bit for
                            bit with --mode sparse; with dense (oneDNN picks
                            its kernel by row count) and auto (a batch may
                            take the other path than a lone row) they are
                            rounded in another order, about 1 ulp apart
  --max-batch-size N        rows per batched run (default 64)
  --max-request-bytes N     larger bodies are refused with 413 (default
                            67108864, 64 MiB)
  --max-concurrency N       inference requests in flight; more get 503
                            (default 64)
)";

int usage_error(const std::string &message) {
  std::fprintf(stderr, "sparse-infer serve: error: %s (see sparse-infer serve --help)\n",
               message.c_str());
  return 1;
}

bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  char *end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

}  // namespace

int serve_main(int argc, char **argv) {
  ServeOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) return usage_error("unknown option or missing value: " + a);
    const char *value = argv[++i];
    int64_t n = 0;
    auto number = [&](int64_t lo, int64_t hi) {
      if (parse_int(value, lo, hi, &n)) return true;
      usage_error(a + " " + value + ": expected an integer in [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "]");
      return false;
    };
    if (a == "--model-repository") {
      o.repository = value;
    } else if (a == "--http-address") {
      o.address = value;
    } else if (a == "--http-port") {
      if (!number(0, 65535)) return 1;
      o.port = int(n);
    } else if (a == "--threads") {
      if (!number(1, 1024)) return 1;
      o.threads = int(n);
    } else if (a == "--mode") {
      if (!exec_mode_from_name(value, &o.mode)) {
        return usage_error(std::string("--mode ") + value + ": expected auto, dense or sparse");
      }
    } else if (a == "--max-batch-delay-us") {
      if (!number(0, 10000000)) return 1;
      o.max_batch_delay_us = n;
    } else if (a == "--max-batch-size") {
      if (!number(1, 1 << 20)) return 1;
      o.max_batch_size = n;
    } else if (a == "--max-request-bytes") {
      if (!number(1, int64_t{1} << 40)) return 1;
      o.max_request_bytes = uint64_t(n);
    } else if (a == "--max-concurrency") {
      if (!number(1, 1 << 16)) return 1;
      o.max_concurrency = int(n);
    } else {
      return usage_error("unknown option " + a);
    }
  }
  if (o.repository.empty()) return usage_error("--model-repository DIR is required");
  return run_server(o);
}

}  // namespace si::serve
