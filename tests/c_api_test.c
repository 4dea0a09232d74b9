/* Tests of the public C API, written in C99 against libsparse_infer.so only.
 *
 *   c_api_test <models dir>
 *
 * Uses the bundled digits model (models/digits_mlp.onnx, input "input" float32
 * [batch,64], output "logits" [batch,10]) and the logits PyTorch computed for
 * it (models/digits_mlp/expected_*.bin). Prints "N passed, N failed" and
 * exits non-zero on any failure. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sparse_infer.h"

#ifndef SI_TEST_VERSION
#error "SI_TEST_VERSION must be defined by the build (the project version)"
#endif

enum { kFeatures = 64, kClasses = 10, kSingles = 8, kBatch = 16 };
/* The engine is held to PyTorch's logits within 1e-4, absolute. */
static const float kTolerance = 1e-4f;

static int g_passed, g_failed;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      ++g_passed;                                                              \
    } else {                                                                   \
      ++g_failed;                                                              \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

/* The call must return `code` and leave a message containing `needle`. */
#define CHECK_ERROR(call, code, needle)                                                    \
  do {                                                                                     \
    si_status st_ = (call);                                                                \
    const char *msg_ = si_last_error();                                                    \
    if (st_ == (code) && strstr(msg_, (needle)) != NULL) {                                 \
      ++g_passed;                                                                          \
    } else {                                                                               \
      ++g_failed;                                                                          \
      fprintf(stderr, "%s:%d: %s returned %d \"%s\", expected %d with \"%s\"\n", __FILE__, \
              __LINE__, #call, (int)st_, msg_, (int)(code), (needle));                     \
    }                                                                                      \
  } while (0)

/* The call must succeed and clear the message. */
#define CHECK_OK(call)                                                                       \
  do {                                                                                       \
    si_status st_ = (call);                                                                  \
    if (st_ == SI_OK && si_last_error()[0] == '\0') {                                        \
      ++g_passed;                                                                            \
    } else {                                                                                 \
      ++g_failed;                                                                            \
      fprintf(stderr, "%s:%d: %s returned %d \"%s\"\n", __FILE__, __LINE__, #call, (int)st_, \
              si_last_error());                                                              \
    }                                                                                        \
  } while (0)

static char g_model[4096];
static float g_singles[kSingles][kFeatures];
static float g_single_expected[kSingles][kClasses];
static float g_batch[kBatch][kFeatures];
static float g_batch_expected[kBatch][kClasses];

/* Reads a whole file into a malloc'd buffer; NULL when it cannot. */
static void *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  void *buf = NULL;
  long n;
  if (f == NULL) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
    buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
      free(buf);
      buf = NULL;
    }
    *size = (size_t)n;
  }
  fclose(f);
  return buf;
}

/* Loads a raw float32 file of exactly `count` values; exits when it cannot,
 * since every later check depends on the data. */
static void load_floats(const char *dir, const char *name, float *out, size_t count) {
  char path[4096];
  size_t size = 0;
  void *buf;
  snprintf(path, sizeof path, "%s/digits_mlp/%s", dir, name);
  buf = read_file(path, &size);
  if (buf == NULL || size != count * sizeof(float)) {
    fprintf(stderr, "cannot read %zu floats from %s\n", count, path);
    exit(2);
  }
  memcpy(out, buf, size);
  free(buf);
}

static int close_to(const float *got, const float *want, size_t n) {
  size_t i;
  for (i = 0; i < n; ++i) {
    if (!(fabsf(got[i] - want[i]) <= kTolerance)) {
      fprintf(stderr, "  element %zu: got %.7g, want %.7g\n", i, got[i], want[i]);
      return 0;
    }
  }
  return 1;
}

static si_tensor make_input(const float *x, int64_t batch) {
  si_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = SI_FLOAT32;
  t.rank = 2;
  t.dims[0] = batch;
  t.dims[1] = kFeatures;
  t.data = (void *)x;
  t.size_bytes = (size_t)batch * kFeatures * sizeof(float);
  return t;
}

static si_session *open_session(const si_options *opts) {
  si_session *s = NULL;
  CHECK_OK(si_session_create(g_model, opts, &s));
  return s;
}

static void test_version(void) {
  const char *v = si_version();
  CHECK(v != NULL && v[0] != '\0');
  CHECK(v != NULL && strcmp(v, SI_TEST_VERSION) == 0);
}

static void test_options(void) {
  si_options *opts = NULL;
  CHECK_OK(si_options_create(&opts));
  CHECK(opts != NULL);
  CHECK_OK(si_options_set_threads(opts, 0));
  CHECK_OK(si_options_set_threads(opts, 1));
  CHECK_OK(si_options_set_threads(opts, 64));
  CHECK_ERROR(si_options_set_threads(opts, -1), SI_ERR_INVALID_ARGUMENT, "-1");
  CHECK_OK(si_options_set_mode(opts, SI_MODE_AUTO));
  CHECK_OK(si_options_set_mode(opts, SI_MODE_DENSE));
  CHECK_OK(si_options_set_mode(opts, SI_MODE_SPARSE));
  CHECK_ERROR(si_options_set_mode(opts, (si_mode)7), SI_ERR_INVALID_ARGUMENT, "mode 7");
  CHECK_ERROR(si_options_set_mode(opts, (si_mode)-1), SI_ERR_INVALID_ARGUMENT, "mode -1");
  CHECK_OK(si_options_set_single_weight_copy(opts, 1));
  CHECK_OK(si_options_set_single_weight_copy(opts, 0));
  CHECK_ERROR(si_options_set_single_weight_copy(NULL, 1), SI_ERR_INVALID_ARGUMENT, "opts is NULL");
  si_options_destroy(opts);
  si_options_destroy(NULL);
}

static void test_info(si_session *s) {
  const char *name = NULL;
  si_tensor info;
  CHECK(si_session_input_count(s) == 1);
  CHECK(si_session_output_count(s) == 1);

  memset(&info, 0x5a, sizeof info);
  CHECK_OK(si_session_input_info(s, 0, &name, &info));
  CHECK(name != NULL && strcmp(name, "input") == 0);
  CHECK(info.dtype == SI_FLOAT32);
  CHECK(info.rank == 2);
  CHECK(info.dims[0] == -1 && info.dims[1] == kFeatures && info.dims[2] == 0);
  CHECK(info.data == NULL);
  CHECK(info.size_bytes == 0); /* dynamic batch: size unknown */

  memset(&info, 0x5a, sizeof info);
  CHECK_OK(si_session_output_info(s, 0, &name, &info));
  CHECK(name != NULL && strcmp(name, "logits") == 0);
  CHECK(info.dtype == SI_FLOAT32);
  CHECK(info.rank == 2);
  CHECK(info.dims[0] == -1 && info.dims[1] == kClasses);
  CHECK(info.data == NULL);

  name = "unchanged";
  CHECK_ERROR(si_session_input_info(s, 1, &name, &info), SI_ERR_INVALID_ARGUMENT, "index 1");
  CHECK_ERROR(si_session_output_info(s, 5, &name, &info), SI_ERR_INVALID_ARGUMENT, "index 5");
  CHECK(strcmp(name, "unchanged") == 0);
}

/* Batch 1 on each sample and batch 16, with engine-allocated outputs. */
static void test_run_values(si_session *s) {
  int k;
  for (k = 0; k < kSingles; ++k) {
    si_tensor in = make_input(g_singles[k], 1);
    si_tensor out;
    memset(&out, 0, sizeof out);
    CHECK_OK(si_run(s, &in, 1, &out, 1));
    CHECK(out.dtype == SI_FLOAT32 && out.rank == 2 && out.dims[0] == 1 && out.dims[1] == kClasses);
    CHECK(out.size_bytes == kClasses * sizeof(float));
    CHECK(out.data != NULL && (uintptr_t)out.data % 64 == 0);
    CHECK(out.data != NULL && close_to((const float *)out.data, g_single_expected[k], kClasses));
    si_tensor_free(&out);
    CHECK(out.data == NULL && out.size_bytes == 0);
  }
  {
    si_tensor in = make_input(&g_batch[0][0], kBatch);
    si_tensor out;
    memset(&out, 0, sizeof out);
    CHECK_OK(si_run(s, &in, 1, &out, 1));
    CHECK(out.rank == 2 && out.dims[0] == kBatch && out.dims[1] == kClasses);
    CHECK(out.size_bytes == kBatch * kClasses * sizeof(float));
    CHECK(out.data != NULL &&
          close_to((const float *)out.data, &g_batch_expected[0][0], kBatch * kClasses));
    si_tensor_free(&out);
  }
  {
    /* An empty batch is valid: a 0-byte result leaves data NULL. */
    si_tensor in = make_input(NULL, 0);
    si_tensor out;
    memset(&out, 0, sizeof out);
    CHECK_OK(si_run(s, &in, 1, &out, 1));
    CHECK(out.rank == 2 && out.dims[0] == 0 && out.dims[1] == kClasses);
    CHECK(out.data == NULL && out.size_bytes == 0);
  }
}

static void test_caller_buffers(si_session *s) {
  float buf[kClasses + 1];
  si_tensor in = make_input(g_singles[3], 1);
  si_tensor out, before;
  int i;

  /* Exact fit: written in place, the pointer is kept. */
  for (i = 0; i <= kClasses; ++i) buf[i] = -777.0f;
  memset(&out, 0, sizeof out);
  out.data = buf;
  out.size_bytes = kClasses * sizeof(float);
  CHECK_OK(si_run(s, &in, 1, &out, 1));
  CHECK(out.data == buf && out.size_bytes == kClasses * sizeof(float));
  CHECK(out.rank == 2 && out.dims[0] == 1 && out.dims[1] == kClasses);
  CHECK(close_to(buf, g_single_expected[3], kClasses));
  CHECK(buf[kClasses] == -777.0f);

  /* Larger buffer: size_bytes becomes the bytes written. */
  out.size_bytes = sizeof buf;
  CHECK_OK(si_run(s, &in, 1, &out, 1));
  CHECK(out.size_bytes == kClasses * sizeof(float) && buf[kClasses] == -777.0f);

  /* Too small: fails before writing; the output struct and buffer are unchanged. */
  for (i = 0; i <= kClasses; ++i) buf[i] = -777.0f;
  out.size_bytes = kClasses * sizeof(float) - 1;
  out.rank = 5;
  before = out;
  CHECK_ERROR(si_run(s, &in, 1, &out, 1), SI_ERR_INVALID_ARGUMENT, "logits");
  CHECK(memcmp(&out, &before, sizeof out) == 0);
  for (i = 0; i <= kClasses; ++i) CHECK(buf[i] == -777.0f);

  /* Engine buffer reused by the next call: same pointer, new values. */
  memset(&out, 0, sizeof out);
  CHECK_OK(si_run(s, &in, 1, &out, 1));
  {
    void *first = out.data;
    si_tensor in2 = make_input(g_singles[5], 1);
    CHECK_OK(si_run(s, &in2, 1, &out, 1));
    CHECK(out.data == first);
    CHECK(close_to((const float *)out.data, g_single_expected[5], kClasses));
    /* A larger batch no longer fits the batch-1 buffer. */
    {
      si_tensor big = make_input(&g_batch[0][0], kBatch);
      CHECK_ERROR(si_run(s, &big, 1, &out, 1), SI_ERR_INVALID_ARGUMENT, "needs 640 bytes");
    }
  }
  si_tensor_free(&out);
  si_tensor_free(&out); /* data is NULL now: a no-op */
  si_tensor_free(NULL);
}

static void test_null_arguments(si_session *s) {
  si_options *opts = NULL;
  si_session *sess = (si_session *)&g_passed; /* sentinel: must stay untouched */
  const char *name = NULL;
  si_tensor info, in = make_input(g_singles[0], 1), out;
  memset(&out, 0, sizeof out);

  CHECK_ERROR(si_options_create(NULL), SI_ERR_INVALID_ARGUMENT, "out is NULL");
  CHECK_ERROR(si_options_set_threads(NULL, 1), SI_ERR_INVALID_ARGUMENT, "opts is NULL");
  CHECK_ERROR(si_options_set_mode(NULL, SI_MODE_AUTO), SI_ERR_INVALID_ARGUMENT, "opts is NULL");
  CHECK_ERROR(si_session_create(NULL, NULL, &sess), SI_ERR_INVALID_ARGUMENT, "model_path is NULL");
  CHECK_ERROR(si_session_create(g_model, NULL, NULL), SI_ERR_INVALID_ARGUMENT, "out is NULL");
  CHECK_ERROR(si_session_create_from_memory(NULL, 10, NULL, &sess), SI_ERR_INVALID_ARGUMENT,
              "data is NULL");
  CHECK_ERROR(si_session_create_from_memory("x", 1, NULL, NULL), SI_ERR_INVALID_ARGUMENT,
              "out is NULL");
  CHECK(sess == (si_session *)&g_passed);
  CHECK_ERROR(si_session_input_info(NULL, 0, &name, &info), SI_ERR_INVALID_ARGUMENT,
              "session is NULL");
  CHECK_ERROR(si_session_input_info(s, 0, NULL, &info), SI_ERR_INVALID_ARGUMENT, "name is NULL");
  CHECK_ERROR(si_session_input_info(s, 0, &name, NULL), SI_ERR_INVALID_ARGUMENT, "info is NULL");
  CHECK_ERROR(si_session_output_info(NULL, 0, &name, &info), SI_ERR_INVALID_ARGUMENT,
              "session is NULL");
  CHECK_ERROR(si_session_output_info(s, 0, NULL, &info), SI_ERR_INVALID_ARGUMENT, "name is NULL");
  CHECK_ERROR(si_session_output_info(s, 0, &name, NULL), SI_ERR_INVALID_ARGUMENT, "info is NULL");
  CHECK(name == NULL);
  CHECK(si_session_input_count(NULL) == 0);
  CHECK(si_session_output_count(NULL) == 0);
  CHECK_ERROR(si_run(NULL, &in, 1, &out, 1), SI_ERR_INVALID_ARGUMENT, "session is NULL");
  CHECK_ERROR(si_run(s, NULL, 1, &out, 1), SI_ERR_INVALID_ARGUMENT, "inputs is NULL");
  CHECK_ERROR(si_run(s, &in, 1, NULL, 1), SI_ERR_INVALID_ARGUMENT, "outputs is NULL");
  in.data = NULL;
  CHECK_ERROR(si_run(s, &in, 1, &out, 1), SI_ERR_INVALID_ARGUMENT, "data NULL");
  CHECK(out.data == NULL && out.rank == 0);
  si_session_destroy(NULL);
  si_options_destroy(opts);
}

/* Every malformed input fails with INVALID_ARGUMENT naming it, leaves the
 * output untouched, and allocates nothing (checked under valgrind/ASan). */
static void test_bad_inputs(si_session *s) {
  si_tensor in, out, before;
  memset(&out, 0, sizeof out);
  out.rank = 3;
  before = out;

#define CHECK_BAD_INPUT(mutate, needle)                                         \
  do {                                                                          \
    in = make_input(g_singles[0], 1);                                           \
    mutate;                                                                     \
    CHECK_ERROR(si_run(s, &in, 1, &out, 1), SI_ERR_INVALID_ARGUMENT, (needle)); \
    CHECK(memcmp(&out, &before, sizeof out) == 0);                              \
  } while (0)

  CHECK_BAD_INPUT(in.dtype = SI_INT64; in.size_bytes = 64 * 8, "\"input\" has dtype int64");
  CHECK_BAD_INPUT(in.dtype = SI_INT32, "\"input\" has dtype int32");
  CHECK_BAD_INPUT(in.dtype = (si_dtype)5, "unknown dtype 5");
  CHECK_BAD_INPUT(in.rank = SI_MAX_RANK + 1, "rank 9");
  CHECK_BAD_INPUT(in.rank = -1, "rank -1");
  CHECK_BAD_INPUT(in.rank = 1; in.dims[0] = 64, "\"input\"");
  CHECK_BAD_INPUT(in.rank = 3; in.dims[2] = 1, "\"input\"");
  CHECK_BAD_INPUT(in.dims[1] = 63; in.size_bytes = 63 * 4, "\"input\"");
  CHECK_BAD_INPUT(in.size_bytes = 255, "size_bytes 255");
  CHECK_BAD_INPUT(in.size_bytes = 257, "size_bytes 257");
  CHECK_BAD_INPUT(in.dims[0] = -1, "negative");
  CHECK_BAD_INPUT(in.dims[0] = (int64_t)1 << 40; in.dims[1] = (int64_t)1 << 40, "2^40");
  /* Wraps to 256 bytes in 64-bit arithmetic; must not be accepted. */
  CHECK_BAD_INPUT(in.dims[0] = ((int64_t)1 << 58) + 1; in.dims[1] = 64, "\"input\"");
  CHECK_BAD_INPUT(in.data = (char *)in.data + 1, "aligned");
  CHECK_ERROR(si_run(s, &in, 0, &out, 1), SI_ERR_INVALID_ARGUMENT, "n_inputs is 0");
  CHECK_ERROR(si_run(s, NULL, 0, &out, 1), SI_ERR_INVALID_ARGUMENT, "n_inputs is 0");
  in = make_input(g_singles[0], 1);
  {
    si_tensor two[2];
    two[0] = in;
    two[1] = in;
    CHECK_ERROR(si_run(s, two, 2, &out, 1), SI_ERR_INVALID_ARGUMENT, "n_inputs is 2");
  }
  CHECK_ERROR(si_run(s, &in, 1, &out, 0), SI_ERR_INVALID_ARGUMENT, "n_outputs is 0");
  CHECK(memcmp(&out, &before, sizeof out) == 0);
#undef CHECK_BAD_INPUT

  /* The error is cleared by the next success. */
  CHECK(si_last_error()[0] != '\0');
  memset(&out, 0, sizeof out);
  CHECK_OK(si_run(s, &in, 1, &out, 1));
  CHECK(si_last_error()[0] == '\0');
  si_tensor_free(&out);
}

/* Writes `size` bytes to a new temporary file; returns its path in `path`. */
static int write_temp(char *path, size_t path_size, const void *data, size_t size) {
  int fd;
  snprintf(path, path_size, "%s/si_c_api_test_XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  fd = mkstemp(path);
  if (fd < 0) return 0;
  if (size > 0 && write(fd, data, size) != (ssize_t)size) {
    close(fd);
    unlink(path);
    return 0;
  }
  close(fd);
  return 1;
}

static void test_bad_models(void) {
  si_session *sess = (si_session *)&g_failed; /* sentinel: must stay untouched */
  char path[4096];
  unsigned char noise[4096];
  size_t i;
  uint32_t x = 12345u;
  for (i = 0; i < sizeof noise; ++i) {
    x = x * 1664525u + 1013904223u;
    noise[i] = (unsigned char)(x >> 24);
  }

  CHECK_ERROR(si_session_create("/nonexistent/dir/model.onnx", NULL, &sess), SI_ERR_IO,
              "/nonexistent/dir/model.onnx");
  CHECK(write_temp(path, sizeof path, NULL, 0));
  CHECK_ERROR(si_session_create(path, NULL, &sess), SI_ERR_INVALID_MODEL, "si_session_create: ");
  unlink(path);
  CHECK(write_temp(path, sizeof path, noise, sizeof noise));
  CHECK_ERROR(si_session_create(path, NULL, &sess), SI_ERR_INVALID_MODEL, "si_session_create: ");
  unlink(path);
  CHECK_ERROR(si_session_create_from_memory(noise, 0, NULL, &sess), SI_ERR_INVALID_MODEL,
              "si_session_create_from_memory: ");
  CHECK_ERROR(si_session_create_from_memory(noise, sizeof noise, NULL, &sess), SI_ERR_INVALID_MODEL,
              "si_session_create_from_memory: ");
  CHECK(sess == (si_session *)&g_failed);
}

static void test_create_variants(void) {
  size_t size = 0;
  void *bytes = read_file(g_model, &size);
  si_options *opts = NULL;
  si_session *s = NULL;
  si_mode modes[3] = {SI_MODE_AUTO, SI_MODE_DENSE, SI_MODE_SPARSE};
  int m, k;

  CHECK(bytes != NULL && size > 0);
  if (bytes != NULL) {
    CHECK_OK(si_session_create_from_memory(bytes, size, NULL, &s));
    /* The session does not reference the caller's bytes after creation. */
    memset(bytes, 0, size);
    free(bytes);
    if (s != NULL) {
      test_info(s);
      test_run_values(s);
    }
    si_session_destroy(s);
  }

  /* Every mode and thread count computes the same logits. */
  CHECK_OK(si_options_create(&opts));
  for (m = 0; m < 3; ++m) {
    CHECK_OK(si_options_set_mode(opts, modes[m]));
    CHECK_OK(si_options_set_threads(opts, m == 1 ? 2 : 1));
    s = open_session(opts);
    if (s == NULL) continue;
    for (k = 0; k < kSingles; ++k) {
      float logits[kClasses];
      si_tensor in = make_input(g_singles[k], 1), out;
      memset(&out, 0, sizeof out);
      out.data = logits;
      out.size_bytes = sizeof logits;
      CHECK_OK(si_run(s, &in, 1, &out, 1));
      CHECK(close_to(logits, g_single_expected[k], kClasses));
    }
    si_session_destroy(s);
  }
  si_options_destroy(opts);
}

/* ---- concurrency: 8 threads x 50 runs on one session, bit-for-bit. ---- */

enum { kThreads = 8, kIterations = 50 };

typedef struct {
  si_session *session;
  int id;
  const float (*serial)[kClasses]; /* serial logits of each g_singles[k] */
  int failures;
} worker_args;

static void *worker(void *p) {
  worker_args *a = (worker_args *)p;
  int it;
  for (it = 0; it < kIterations; ++it) {
    int k = (a->id + it) % kSingles;
    float logits[kClasses];
    si_tensor in = make_input(g_singles[k], 1), out;
    memset(&out, 0, sizeof out);
    out.data = logits;
    out.size_bytes = sizeof logits;
    if (si_run(a->session, &in, 1, &out, 1) != SI_OK || si_last_error()[0] != '\0' ||
        memcmp(logits, a->serial[k], sizeof logits) != 0) {
      ++a->failures;
    }
    /* Odd threads also fail on purpose: errors are per thread. */
    if (a->id % 2 == 1 && it % 5 == 0) {
      if (si_run(a->session, &in, 0, &out, 1) != SI_ERR_INVALID_ARGUMENT ||
          strstr(si_last_error(), "n_inputs is 0") == NULL) {
        ++a->failures;
      }
    }
  }
  return NULL;
}

static void test_concurrency(si_session *s) {
  float serial[kSingles][kClasses];
  pthread_t threads[kThreads];
  worker_args args[kThreads];
  int k, t;
  for (k = 0; k < kSingles; ++k) {
    si_tensor in = make_input(g_singles[k], 1), out;
    memset(&out, 0, sizeof out);
    out.data = serial[k];
    out.size_bytes = sizeof serial[k];
    CHECK_OK(si_run(s, &in, 1, &out, 1));
  }
  for (t = 0; t < kThreads; ++t) {
    args[t].session = s;
    args[t].id = t;
    args[t].serial = (const float(*)[kClasses])serial;
    args[t].failures = 0;
    CHECK(pthread_create(&threads[t], NULL, worker, &args[t]) == 0);
  }
  for (t = 0; t < kThreads; ++t) {
    CHECK(pthread_join(threads[t], NULL) == 0);
    if (args[t].failures != 0) fprintf(stderr, "thread %d: %d failures\n", t, args[t].failures);
    CHECK(args[t].failures == 0);
  }
}

int main(int argc, char **argv) {
  si_session *s;
  int k;
  char name[64];
  if (argc != 2) {
    fprintf(stderr, "usage: %s <models dir>\n", argv[0]);
    return 2;
  }
  snprintf(g_model, sizeof g_model, "%s/digits_mlp.onnx", argv[1]);
  for (k = 0; k < kSingles; ++k) {
    snprintf(name, sizeof name, "input_%d.bin", k);
    load_floats(argv[1], name, g_singles[k], kFeatures);
    snprintf(name, sizeof name, "expected_%d.bin", k);
    load_floats(argv[1], name, g_single_expected[k], kClasses);
  }
  load_floats(argv[1], "batch_16.bin", &g_batch[0][0], kBatch * kFeatures);
  load_floats(argv[1], "expected_batch_16.bin", &g_batch_expected[0][0], kBatch * kClasses);

  CHECK(si_last_error() != NULL && si_last_error()[0] == '\0');
  test_version();
  test_options();
  s = open_session(NULL);
  if (s != NULL) {
    test_info(s);
    test_run_values(s);
    test_caller_buffers(s);
    test_null_arguments(s);
    test_bad_inputs(s);
    test_concurrency(s);
  }
  si_session_destroy(s);
  test_create_variants();
  test_bad_models();

  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
