/* Stress test of one shared session under many concurrent si_run calls, in
 * C99 against libsparse_infer.so only.
 *
 *   stress_test <models dir>
 *
 * One session of the digits MLP (input "input" float32 [batch,64], output
 * "logits" [batch,10]) serves 16 threads. Each call takes a random run of 1..16
 * consecutive rows of batch_16.bin and alternates between a caller-provided
 * output buffer, a fresh engine-allocated one, and an engine buffer reused
 * across calls. Every result must equal, bit for bit, the result of the same
 * rows computed serially on the same session before the threads start (same
 * mode, same thread count), and those serial results must match PyTorch's
 * logits (expected_batch_16.bin) within 1e-4.
 *
 * Memory: resident set size is read from /proc/self/statm after a warm-up
 * round and after the main rounds; it may grow by at most kRssSlackMiB. The
 * bound is skipped (the figures are still printed) in sanitizer builds, whose
 * allocators hold freed memory in quarantine by design. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sparse_infer.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SI_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SI_SANITIZED 1
#endif
#endif
#ifndef SI_SANITIZED
#define SI_SANITIZED 0
#endif

enum {
  kFeatures = 64,
  kClasses = 10,
  kRows = 16,
  kThreads = 16,
  kWarmupCalls = 50, /* per thread, before the first RSS reading */
  kRssSlackMiB = 8
};
static const float kTolerance = 1e-4f;

static float g_batch[kRows][kFeatures];
static float g_expected[kRows][kClasses];
/* g_serial[first][count - 1]: the logits of rows first..first+count-1. */
static float g_serial[kRows][kRows][kRows * kClasses];

typedef struct {
  si_mode mode;
  int32_t threads; /* intra-op threads of each call */
  int calls;       /* per worker thread in the main round */
  const char *name;
} config;

typedef struct {
  si_session *session;
  unsigned seed;
  int calls;
  int failures;
  char first_error[256];
} worker_args;

static int load_floats(const char *dir, const char *name, float *out, size_t count) {
  char path[4096];
  FILE *f;
  size_t got;
  int extra;
  snprintf(path, sizeof path, "%s/digits_mlp/%s", dir, name);
  f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    return 0;
  }
  got = fread(out, sizeof(float), count, f);
  extra = fgetc(f);
  fclose(f);
  if (got != count || extra != EOF) {
    fprintf(stderr, "%s does not hold exactly %zu floats\n", path, count);
    return 0;
  }
  return 1;
}

static double rss_mib(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL) return -1.0;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1.0 : (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static si_tensor rows_input(int first, int count) {
  si_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = SI_FLOAT32;
  t.rank = 2;
  t.dims[0] = count;
  t.dims[1] = kFeatures;
  t.data = g_batch[first];
  t.size_bytes = (size_t)count * kFeatures * sizeof(float);
  return t;
}

/* Runs rows first..first+count-1 into a caller buffer of that size. */
static int run_serial(si_session *s, int first, int count) {
  si_tensor in = rows_input(first, count), out;
  memset(&out, 0, sizeof out);
  out.data = g_serial[first][count - 1];
  out.size_bytes = (size_t)count * kClasses * sizeof(float);
  if (si_run(s, &in, 1, &out, 1) != SI_OK) {
    fprintf(stderr, "serial run of rows %d+%d: %s\n", first, count, si_last_error());
    return 0;
  }
  return out.rank == 2 && out.dims[0] == count && out.dims[1] == kClasses;
}

static void fail(worker_args *a, const char *what, int first, int count) {
  if (a->failures++ == 0) {
    snprintf(a->first_error, sizeof a->first_error, "%s (rows %d+%d): %s", what, first, count,
             si_last_error());
  }
}

static unsigned next_random(unsigned *state) {
  *state = *state * 1103515245u + 12345u;
  return (*state >> 16) & 0x7fffu;
}

static void *worker(void *p) {
  worker_args *a = (worker_args *)p;
  float caller[kRows * kClasses];
  si_tensor kept; /* engine buffer reused across calls */
  size_t kept_capacity = 0;
  unsigned state = a->seed;
  int it;
  memset(&kept, 0, sizeof kept);
  for (it = 0; it < a->calls; ++it) {
    const int count = 1 + (int)(next_random(&state) % kRows);
    const int first = (int)(next_random(&state) % (unsigned)(kRows - count + 1));
    const size_t bytes = (size_t)count * kClasses * sizeof(float);
    si_tensor in = rows_input(first, count), out;
    const float *got = NULL;
    memset(&out, 0, sizeof out);
    switch (it % 3) {
      case 0: /* caller-provided */
        out.data = caller;
        out.size_bytes = sizeof caller;
        break;
      case 1: /* fresh engine allocation */
        break;
      default: /* the engine's buffer from an earlier call, while it fits */
        if (kept_capacity < bytes) {
          si_tensor_free(&kept);
          kept_capacity = 0;
        }
        out.data = kept.data;
        out.size_bytes = kept_capacity;
        break;
    }
    if (si_run(a->session, &in, 1, &out, 1) != SI_OK) {
      fail(a, "si_run failed", first, count);
      if (it % 3 == 1) si_tensor_free(&out);
      continue;
    }
    got = (const float *)out.data;
    if (out.rank != 2 || out.dims[0] != count || out.dims[1] != kClasses ||
        out.size_bytes != bytes || got == NULL) {
      fail(a, "wrong output shape", first, count);
    } else if (memcmp(got, g_serial[first][count - 1], bytes) != 0) {
      fail(a, "result differs from the serial run", first, count);
    }
    if (it % 3 == 1) {
      si_tensor_free(&out);
    } else if (it % 3 == 2 && kept_capacity == 0) {
      kept = out; /* newly allocated by the engine: keep it */
      kept_capacity = bytes;
    }
  }
  si_tensor_free(&kept);
  return NULL;
}

/* Runs kThreads workers for `calls` calls each; returns the failure count. */
static int run_round(si_session *s, int calls, unsigned seed) {
  pthread_t threads[kThreads];
  worker_args args[kThreads];
  int t, started = 0, failures = 0;
  for (t = 0; t < kThreads; ++t) {
    memset(&args[t], 0, sizeof args[t]);
    args[t].session = s;
    args[t].seed = seed + 7919u * (unsigned)t;
    args[t].calls = calls;
    if (pthread_create(&threads[t], NULL, worker, &args[t]) != 0) {
      fprintf(stderr, "pthread_create failed for thread %d\n", t);
      ++failures;
      break;
    }
    ++started;
  }
  for (t = 0; t < started; ++t) {
    pthread_join(threads[t], NULL);
    if (args[t].failures != 0) {
      fprintf(stderr, "thread %d: %d of %d calls failed; first: %s\n", t, args[t].failures, calls,
              args[t].first_error);
      failures += args[t].failures;
    }
  }
  return failures;
}

static int run_config(const char *model, const config *c) {
  si_options *opts = NULL;
  si_session *s = NULL;
  int first, count, r, c_idx, ok = 1;
  double rss_warm, rss_end;

  if (si_options_create(&opts) != SI_OK || si_options_set_mode(opts, c->mode) != SI_OK ||
      si_options_set_threads(opts, c->threads) != SI_OK ||
      si_session_create(model, opts, &s) != SI_OK) {
    fprintf(stderr, "%s: cannot create the session: %s\n", c->name, si_last_error());
    si_options_destroy(opts);
    return 0;
  }
  si_options_destroy(opts);

  for (first = 0; first < kRows && ok; ++first) {
    for (count = 1; first + count <= kRows && ok; ++count) ok = run_serial(s, first, count);
  }
  /* The serial results themselves are PyTorch's logits. */
  for (first = 0; first < kRows && ok; ++first) {
    for (count = 1; first + count <= kRows && ok; ++count) {
      for (r = 0; r < count && ok; ++r) {
        for (c_idx = 0; c_idx < kClasses; ++c_idx) {
          const float got = g_serial[first][count - 1][r * kClasses + c_idx];
          const float want = g_expected[first + r][c_idx];
          if (!(fabsf(got - want) <= kTolerance)) {
            fprintf(stderr, "%s: rows %d+%d, row %d, class %d: got %.7g, PyTorch %.7g\n", c->name,
                    first, count, r, c_idx, got, want);
            ok = 0;
            break;
          }
        }
      }
    }
  }

  if (ok && run_round(s, kWarmupCalls, 1u) != 0) ok = 0;
  rss_warm = rss_mib();
  if (ok && run_round(s, c->calls, 2u) != 0) ok = 0;
  rss_end = rss_mib();
  si_session_destroy(s);

  printf(
      "%s: %d threads x %d calls (+%d warm-up) on one session; RSS after warm-up %.1f MiB, at "
      "end %.1f MiB (%+.1f)\n",
      c->name, kThreads, c->calls, kWarmupCalls, rss_warm, rss_end, rss_end - rss_warm);
  if (ok && (rss_warm < 0 || rss_end < 0)) {
    fprintf(stderr, "%s: cannot read /proc/self/statm\n", c->name);
    ok = 0;
  }
  if (ok && !SI_SANITIZED && rss_end - rss_warm > kRssSlackMiB) {
    fprintf(stderr, "%s: RSS grew by %.1f MiB after warm-up (bound %d MiB)\n", c->name,
            rss_end - rss_warm, (int)kRssSlackMiB);
    ok = 0;
  }
  return ok;
}

int main(int argc, char **argv) {
  /* The service set-up first (one intra-op thread per call, parallel across
   * requests), then each forced path with OpenMP teams inside the calls. */
  static const config configs[] = {
      {SI_MODE_AUTO, 1, 300, "auto, 1 thread per call"},
      {SI_MODE_SPARSE, 2, 100, "sparse, 2 threads per call"},
      {SI_MODE_DENSE, 2, 100, "dense, 2 threads per call"},
  };
  char model[4096];
  size_t i;
  int failed = 0;
  if (argc != 2) {
    fprintf(stderr, "usage: %s <models dir>\n", argv[0]);
    return 2;
  }
  snprintf(model, sizeof model, "%s/digits_mlp.onnx", argv[1]);
  if (!load_floats(argv[1], "batch_16.bin", &g_batch[0][0], kRows * kFeatures) ||
      !load_floats(argv[1], "expected_batch_16.bin", &g_expected[0][0], kRows * kClasses)) {
    return 2;
  }
  for (i = 0; i < sizeof configs / sizeof configs[0]; ++i) {
    if (!run_config(model, &configs[i])) {
      fprintf(stderr, "FAILED: %s\n", configs[i].name);
      ++failed;
    }
  }
  printf("%d of %zu configurations passed\n", (int)(sizeof configs / sizeof configs[0]) - failed,
         sizeof configs / sizeof configs[0]);
  return failed == 0 ? 0 : 1;
}
