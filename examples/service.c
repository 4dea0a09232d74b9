/* service: a tiny request server over the sparse-infer C API. One session,
 * shared by a pool of worker threads that take requests from a queue.
 *
 *   service <model.onnx> [workers]          (workers: 1..256, default 4)
 *
 * The model must be a classifier: one float32 input [batch, features...] with
 * fixed feature dims, one output [batch, classes].
 *
 * Protocol, on stdin, one request per line:
 *
 *   <input.bin> [rows]
 *
 * input.bin holds raw float32 rows (native byte order); `rows` (1 or more)
 * runs only the first `rows` of them, the default is every row in the file.
 * The request id is the line's number, from 1. For each request one line goes
 * to stdout, whole (lines of concurrent requests never interleave), in
 * completion order, not request order:
 *
 *   <id> <argmax of row 0> <argmax of row 1> ...
 *   <id> error: <reason>
 *
 * Blank lines are skipped (their number is still used up). At end of input the
 * service finishes the queued requests, stops its workers, releases the
 * session and exits: 0 when every request succeeded, 1 when any failed, 2 on
 * a usage or start-up error.
 *
 * Each si_run uses one intra-op thread: the workers already keep the cores
 * busy, and one OpenMP team per worker would oversubscribe them.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <sparse_infer.h>

enum { kQueueCapacity = 64, kMaxWorkers = 256 };

typedef struct {
  long id;
  char *line; /* owned by the request */
} request;

/* A bounded queue: the reader blocks while it is full, so a fast producer
 * cannot make the service hold the whole input in memory. */
typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full;
  request items[kQueueCapacity];
  int head, count;
  int closed; /* no more requests will come */
} queue;

typedef struct {
  si_session *session;
  size_t row_bytes; /* bytes of one input row */
  int32_t rank;     /* input rank */
  int64_t dims[SI_MAX_RANK];
  queue q;
  pthread_mutex_t out_mu; /* one stdout line at a time */
  int failed;             /* guarded by out_mu */
} service;

static void queue_push(queue *q, request r) {
  pthread_mutex_lock(&q->mu);
  while (q->count == kQueueCapacity) pthread_cond_wait(&q->not_full, &q->mu);
  q->items[(q->head + q->count) % kQueueCapacity] = r;
  ++q->count;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->mu);
}

/* Returns 0 once the queue is closed and drained. */
static int queue_pop(queue *q, request *r) {
  int got = 0;
  pthread_mutex_lock(&q->mu);
  while (q->count == 0 && !q->closed) pthread_cond_wait(&q->not_empty, &q->mu);
  if (q->count > 0) {
    *r = q->items[q->head];
    q->head = (q->head + 1) % kQueueCapacity;
    --q->count;
    got = 1;
    pthread_cond_signal(&q->not_full);
  }
  pthread_mutex_unlock(&q->mu);
  return got;
}

static void queue_close(queue *q) {
  pthread_mutex_lock(&q->mu);
  q->closed = 1;
  pthread_cond_broadcast(&q->not_empty);
  pthread_mutex_unlock(&q->mu);
}

static void respond_error(service *svc, long id, const char *what, const char *detail) {
  pthread_mutex_lock(&svc->out_mu);
  printf("%ld error: %s%s%s\n", id, what, detail[0] ? ": " : "", detail);
  fflush(stdout);
  svc->failed = 1;
  pthread_mutex_unlock(&svc->out_mu);
}

/* Prints the arg-max class of each row of a [batch, classes] result. */
static void respond_classes(service *svc, long id, const si_tensor *out) {
  int64_t row, c;
  pthread_mutex_lock(&svc->out_mu);
  printf("%ld", id);
  for (row = 0; row < out->dims[0]; ++row) {
    const float *logits = (const float *)out->data + row * out->dims[1];
    int64_t best = 0;
    for (c = 1; c < out->dims[1]; ++c) {
      if (logits[c] > logits[best]) best = c;
    }
    printf(" %lld", (long long)best);
  }
  printf("\n");
  fflush(stdout);
  pthread_mutex_unlock(&svc->out_mu);
}

/* Reads a whole file; NULL, with the reason in `why`, when it cannot. */
static void *read_file(const char *path, size_t *size, char *why, size_t why_size) {
  FILE *f = fopen(path, "rb");
  void *buf = NULL;
  long n = -1;
  if (f == NULL) {
    if (strerror_r(errno, why, why_size) != 0) snprintf(why, why_size, "cannot open it");
    return NULL;
  }
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (buf = malloc((size_t)n + 1)) != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n) {
    *size = (size_t)n;
  } else {
    snprintf(why, why_size, "cannot read it");
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

/* Splits "<path> [rows]"; rows = 0 when absent. Returns 0 on a malformed
 * line. Edits the line in place. */
static int parse_request(char *line, const char **path, long *rows) {
  char *p = line + strspn(line, " \t"), *end;
  *path = p;
  p += strcspn(p, " \t");
  if (*p != '\0') *p++ = '\0';
  p += strspn(p, " \t");
  *rows = 0;
  if (*p == '\0') return 1;
  errno = 0;
  *rows = strtol(p, &end, 10);
  if (end == p || errno != 0 || *rows < 1) return 0;
  return end[strspn(end, " \t")] == '\0';
}

static void handle(service *svc, const request *r) {
  const char *path;
  long rows;
  size_t size = 0, file_rows;
  void *data;
  si_tensor in, out;
  char text[256];

  if (!parse_request(r->line, &path, &rows)) {
    respond_error(svc, r->id, "expected \"<input.bin> [rows]\" with rows >= 1", "");
    return;
  }
  if ((data = read_file(path, &size, text, sizeof text)) == NULL) {
    respond_error(svc, r->id, path, text);
    return;
  }
  if (size == 0 || size % svc->row_bytes != 0) {
    snprintf(text, sizeof text, "%zu bytes, not a whole number of %zu-byte rows", size,
             svc->row_bytes);
    respond_error(svc, r->id, path, text);
    free(data);
    return;
  }
  file_rows = size / svc->row_bytes;
  if ((unsigned long)rows > file_rows) {
    snprintf(text, sizeof text, "asks for %ld rows, the file holds %zu", rows, file_rows);
    respond_error(svc, r->id, path, text);
    free(data);
    return;
  }
  if (rows == 0) rows = (long)file_rows;

  memset(&in, 0, sizeof in);
  in.dtype = SI_FLOAT32;
  in.rank = svc->rank;
  memcpy(in.dims, svc->dims, sizeof in.dims);
  in.dims[0] = rows;
  in.data = data;
  in.size_bytes = (size_t)rows * svc->row_bytes;
  memset(&out, 0, sizeof out); /* data == NULL: the engine allocates the result */
  if (si_run(svc->session, &in, 1, &out, 1) != SI_OK) {
    respond_error(svc, r->id, "si_run", si_last_error());
  } else if (out.dtype != SI_FLOAT32 || out.rank != 2 || out.dims[0] != rows || out.dims[1] < 1) {
    respond_error(svc, r->id, "the output is not float32 [batch, classes]", "");
  } else {
    respond_classes(svc, r->id, &out);
  }
  si_tensor_free(&out);
  free(data);
}

static void *worker(void *p) {
  service *svc = (service *)p;
  request r;
  while (queue_pop(&svc->q, &r)) {
    handle(svc, &r);
    free(r.line);
  }
  return NULL;
}

/* Checks the model is a classifier and records its input layout. */
static int describe_model(service *svc) {
  const char *in_name = NULL, *out_name = NULL;
  si_tensor in, out;
  int32_t d;
  if (si_session_input_info(svc->session, 0, &in_name, &in) != SI_OK ||
      si_session_output_info(svc->session, 0, &out_name, &out) != SI_OK) {
    fprintf(stderr, "service: %s\n", si_last_error());
    return 0;
  }
  if (si_session_input_count(svc->session) != 1 || si_session_output_count(svc->session) != 1 ||
      in.dtype != SI_FLOAT32 || in.rank < 1 || out.rank != 2) {
    fprintf(stderr,
            "service: expected one float32 input [batch, ...] and one output [batch, "
            "classes]\n");
    return 0;
  }
  svc->row_bytes = sizeof(float);
  for (d = 1; d < in.rank; ++d) {
    if (in.dims[d] < 0) {
      fprintf(stderr, "service: input \"%s\" has a dynamic dimension %d\n", in_name, (int)d);
      return 0;
    }
    svc->row_bytes *= (size_t)in.dims[d];
  }
  if (svc->row_bytes == 0) {
    fprintf(stderr, "service: input \"%s\" has empty rows\n", in_name);
    return 0;
  }
  svc->rank = in.rank;
  memcpy(svc->dims, in.dims, sizeof svc->dims);
  return 1;
}

int main(int argc, char **argv) {
  service svc;
  si_options *opts = NULL;
  pthread_t threads[kMaxWorkers];
  int workers = 4, started = 0, t, rc = 2;
  char *line = NULL;
  size_t cap = 0;
  long id = 0;

  if (argc < 2 || argc > 3 || (argc == 3 && (workers = atoi(argv[2])) < 1) ||
      workers > kMaxWorkers) {
    fprintf(stderr, "usage: %s <model.onnx> [workers 1..%d]  (requests on stdin)\n", argv[0],
            (int)kMaxWorkers);
    return 2;
  }
  memset(&svc, 0, sizeof svc);
  pthread_mutex_init(&svc.q.mu, NULL);
  pthread_cond_init(&svc.q.not_empty, NULL);
  pthread_cond_init(&svc.q.not_full, NULL);
  pthread_mutex_init(&svc.out_mu, NULL);

  if (si_options_create(&opts) != SI_OK || si_options_set_threads(opts, 1) != SI_OK ||
      si_session_create(argv[1], opts, &svc.session) != SI_OK) {
    fprintf(stderr, "service: %s\n", si_last_error());
    goto done;
  }
  if (!describe_model(&svc)) goto done;

  for (t = 0; t < workers; ++t) {
    if (pthread_create(&threads[t], NULL, worker, &svc) != 0) {
      fprintf(stderr, "service: cannot start worker %d\n", t);
      break;
    }
    ++started;
  }
  if (started == workers) {
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) != -1) {
      request r;
      ++id;
      while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
      if (strspn(line, " \t") == (size_t)n) continue;
      r.id = id;
      r.line = malloc((size_t)n + 1);
      if (r.line == NULL) {
        respond_error(&svc, id, "out of memory", "");
        continue;
      }
      memcpy(r.line, line, (size_t)n + 1);
      queue_push(&svc.q, r);
    }
  }
  queue_close(&svc.q);
  for (t = 0; t < started; ++t) pthread_join(threads[t], NULL);
  if (started == workers) rc = svc.failed ? 1 : 0;

done:
  free(line);
  si_session_destroy(svc.session);
  si_options_destroy(opts);
  pthread_mutex_destroy(&svc.out_mu);
  pthread_cond_destroy(&svc.q.not_full);
  pthread_cond_destroy(&svc.q.not_empty);
  pthread_mutex_destroy(&svc.q.mu);
  return rc;
}
