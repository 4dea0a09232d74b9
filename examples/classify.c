/* classify: the smallest useful program over the sparse-infer C API.
 *
 * Loads a classifier with one float32 input of shape [batch, features...] and
 * one output of shape [batch, classes], runs it on a file of raw float32
 * rows (as many rows as the file holds), and prints each row's arg-max class.
 *
 *   cc -std=c99 classify.c $(pkg-config --cflags --libs sparse_infer) -o classify
 *   ./classify models/digits_mlp.onnx models/digits_mlp/input_0.bin
 *   prediction: 0 (logit 14.2131)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sparse_infer.h>

/* Reads a whole file; returns NULL (and reports why) when it cannot. */
static void *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  void *buf = NULL;
  long n = -1;
  if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
      fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL &&
      fread(buf, 1, (size_t)n, f) == (size_t)n) {
    *size = (size_t)n;
  } else {
    fprintf(stderr, "classify: cannot read %s\n", path);
    free(buf);
    buf = NULL;
  }
  if (f != NULL) fclose(f);
  return buf;
}

int main(int argc, char **argv) {
  si_session *session = NULL;
  si_tensor in, out;
  const char *in_name = NULL, *out_name = NULL;
  void *data = NULL;
  size_t size = 0, row_bytes = sizeof(float);
  int32_t d;
  int64_t row, c;
  int rc = 1;

  if (argc != 3) {
    fprintf(stderr, "usage: %s <model.onnx> <input.bin: raw float32 rows>\n", argv[0]);
    return 2;
  }
  memset(&out, 0, sizeof out); /* data == NULL: the engine allocates the logits */

  if (si_session_create(argv[1], NULL, &session) != SI_OK ||
      si_session_input_info(session, 0, &in_name, &in) != SI_OK ||
      si_session_output_info(session, 0, &out_name, &out) != SI_OK) {
    fprintf(stderr, "classify: %s\n", si_last_error());
    goto done;
  }
  if (si_session_input_count(session) != 1 || si_session_output_count(session) != 1 ||
      in.dtype != SI_FLOAT32 || in.rank < 1) {
    fprintf(stderr, "classify: expected one float32 input [batch, ...] and one output\n");
    goto done;
  }
  for (d = 1; d < in.rank; ++d) {
    if (in.dims[d] < 0) {
      fprintf(stderr, "classify: input \"%s\" has a dynamic dimension %d\n", in_name, (int)d);
      goto done;
    }
    row_bytes *= (size_t)in.dims[d];
  }

  if ((data = read_file(argv[2], &size)) == NULL) goto done;
  if (size == 0 || row_bytes == 0 || size % row_bytes != 0) {
    fprintf(stderr, "classify: %s holds %zu bytes, not a whole number of %zu-byte rows\n", argv[2],
            size, row_bytes);
    goto done;
  }
  in.dims[0] = (int64_t)(size / row_bytes);
  in.data = data;
  in.size_bytes = size;

  memset(&out, 0, sizeof out);
  if (si_run(session, &in, 1, &out, 1) != SI_OK) {
    fprintf(stderr, "classify: %s\n", si_last_error());
    goto done;
  }
  if (out.dtype != SI_FLOAT32 || out.rank != 2 || out.dims[0] != in.dims[0] || out.dims[1] < 1) {
    fprintf(stderr, "classify: output \"%s\" is not float32 [batch, classes]\n", out_name);
    goto done;
  }
  for (row = 0; row < out.dims[0]; ++row) {
    const float *logits = (const float *)out.data + row * out.dims[1];
    int64_t best = 0;
    for (c = 1; c < out.dims[1]; ++c) {
      if (logits[c] > logits[best]) best = c;
    }
    printf("prediction: %lld (logit %.4f)\n", (long long)best, logits[best]);
  }
  rc = 0;

done:
  si_tensor_free(&out);
  si_session_destroy(session);
  free(data);
  return rc;
}
