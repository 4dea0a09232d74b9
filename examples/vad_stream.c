/* vad_stream: voice-activity detection over a raw PCM file, chunk by chunk,
 * with a Silero-style model whose recurrent state is an explicit input and
 * output (input "state" in, output "stateN" out). The state each call returns
 * is fed to the next one, so the file is processed as one continuous stream.
 *
 *   vad_stream [--chunk N] [--threshold P] [--carry OUT=IN]... [--probs] MODEL PCM
 *
 * PCM is raw 16 kHz mono signed 16-bit little-endian samples; each chunk of N
 * samples (default 512, 32 ms; the last one zero-padded) is scaled to
 * [-1, 1) and fed to the model's float32 audio input. Model inputs:
 *   - carried inputs: each --carry OUT=IN; without --carry, every input NAME
 *     for which the model has an output NAMEN (Silero's state/stateN, h/hn).
 *     They start at zeros (dynamic dims taken as 1);
 *   - an int64 input named "sr": the sample rate, 16000;
 *   - the one other input: the audio, its dynamic dims 1 except the last,
 *     which is N (a fixed shape fixes N instead).
 * The speech probability is the first element of the first output that is
 * not carried. A segment starts at the first chunk with probability >= P
 * (default 0.5) and ends at the first later chunk below P - 0.15 (the
 * hysteresis of Silero's get_speech_timestamps); each is printed as
 *   speech START END        (seconds, 3 decimals)
 * and with --probs, before them, every chunk's probability as
 *   prob START P
 * Exit 0 on success, 1 on a model, file or run error (the message says
 * which), 2 on a usage error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sparse_infer.h>

#define SAMPLE_RATE 16000
#define MAX_IO 16

static int usage(const char *argv0) {
  fprintf(stderr, "usage: %s [--chunk N] [--threshold P] [--carry OUT=IN]... [--probs] MODEL PCM\n",
          argv0);
  return 2;
}

static int find_name(const char **names, size_t n, const char *name, size_t len) {
  size_t i;
  for (i = 0; i < n; ++i) {
    if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0) return (int)i;
  }
  return -1;
}

static size_t dtype_size(si_dtype t) {
  return t == SI_FLOAT32 || t == SI_INT32 ? 4 : t == SI_INT64 ? 8 : 1;
}

static size_t numel(const si_tensor *t) {
  size_t n = 1;
  int32_t d;
  for (d = 0; d < t->rank; ++d) n *= (size_t)t->dims[d];
  return n;
}

int main(int argc, char **argv) {
  si_session *session = NULL;
  si_tensor in[MAX_IO], out[MAX_IO];
  const char *in_names[MAX_IO], *out_names[MAX_IO];
  int carry_from[MAX_IO]; /* per input: the output fed into it, or -1 */
  const char *carry_args[MAX_IO];
  size_t n_carry_args = 0, n_in = 0, n_out = 0, i, chunk = 512, pos, n_samples = 0;
  int audio = -1, prob_out = -1, in_speech = 0, print_probs = 0, rc = 1, a;
  double threshold = 0.5, start_s = 0.0;
  int16_t *pcm = NULL;
  const char *model = NULL, *pcm_path = NULL;
  FILE *f = NULL;
  long bytes;

  memset(in, 0, sizeof in);
  memset(out, 0, sizeof out);
  for (a = 1; a < argc; ++a) {
    if (strcmp(argv[a], "--chunk") == 0 && a + 1 < argc) {
      chunk = (size_t)strtoul(argv[++a], NULL, 10);
      if (chunk == 0) return usage(argv[0]);
    } else if (strcmp(argv[a], "--threshold") == 0 && a + 1 < argc) {
      threshold = atof(argv[++a]);
    } else if (strcmp(argv[a], "--carry") == 0 && a + 1 < argc && n_carry_args < MAX_IO) {
      carry_args[n_carry_args++] = argv[++a];
    } else if (strcmp(argv[a], "--probs") == 0) {
      print_probs = 1;
    } else if (argv[a][0] == '-') {
      return usage(argv[0]);
    } else if (model == NULL) {
      model = argv[a];
    } else if (pcm_path == NULL) {
      pcm_path = argv[a];
    } else {
      return usage(argv[0]);
    }
  }
  if (model == NULL || pcm_path == NULL) return usage(argv[0]);

  if (si_session_create(model, NULL, &session) != SI_OK) {
    fprintf(stderr, "vad_stream: %s\n", si_last_error());
    return 1;
  }
  n_in = si_session_input_count(session);
  n_out = si_session_output_count(session);
  if (n_in > MAX_IO || n_out > MAX_IO) {
    fprintf(stderr, "vad_stream: more than %d inputs or outputs\n", MAX_IO);
    goto done;
  }
  for (i = 0; i < n_in; ++i) si_session_input_info(session, i, &in_names[i], &in[i]);
  for (i = 0; i < n_out; ++i) {
    si_session_output_info(session, i, &out_names[i], &out[i]);
    memset(&out[i], 0, sizeof out[i]); /* data == NULL: the engine allocates */
  }

  /* Which output feeds which input. */
  for (i = 0; i < n_in; ++i) carry_from[i] = -1;
  for (i = 0; i < n_carry_args; ++i) {
    const char *eq = strchr(carry_args[i], '=');
    int o = eq ? find_name(out_names, n_out, carry_args[i], (size_t)(eq - carry_args[i])) : -1;
    int k = eq ? find_name(in_names, n_in, eq + 1, strlen(eq + 1)) : -1;
    if (o < 0 || k < 0) {
      fprintf(stderr, "vad_stream: --carry %s: expected OUT=IN naming a model output and input\n",
              carry_args[i]);
      goto done;
    }
    carry_from[k] = o;
  }
  if (n_carry_args == 0) {
    for (i = 0; i < n_in; ++i) {
      char want[256];
      snprintf(want, sizeof want, "%sN", in_names[i]);
      carry_from[i] = find_name(out_names, n_out, want, strlen(want));
    }
  }
  for (i = 0; i < n_out && prob_out < 0; ++i) {
    size_t k;
    int carried = 0;
    for (k = 0; k < n_in; ++k) carried |= carry_from[k] == (int)i;
    if (!carried) prob_out = (int)i;
  }

  /* Input buffers: carried states at zero, sr, the audio chunk. */
  for (i = 0; i < n_in; ++i) {
    si_tensor *t = &in[i];
    int32_t d;
    int is_sr = strcmp(in_names[i], "sr") == 0 && t->dtype == SI_INT64;
    if (carry_from[i] < 0 && !is_sr) {
      if (audio >= 0) {
        fprintf(stderr, "vad_stream: inputs \"%s\" and \"%s\" are both neither carried nor sr\n",
                in_names[audio], in_names[i]);
        goto done;
      }
      audio = (int)i;
    }
    if (t->rank < 0) {
      fprintf(stderr, "vad_stream: input \"%s\" has no declared rank\n", in_names[i]);
      goto done;
    }
    for (d = 0; d < t->rank; ++d) {
      if (t->dims[d] < 0) t->dims[d] = (int)i == audio && d == t->rank - 1 ? (int64_t)chunk : 1;
    }
    if ((int)i == audio) chunk = numel(t);
    t->size_bytes = numel(t) * dtype_size(t->dtype);
    t->data = calloc(1, t->size_bytes ? t->size_bytes : 1);
    if (t->data == NULL) goto done;
    if (is_sr) *(int64_t *)t->data = SAMPLE_RATE;
  }
  if (audio < 0 || in[audio].dtype != SI_FLOAT32 || prob_out < 0) {
    fprintf(stderr, "vad_stream: expected one float32 audio input and a probability output\n");
    goto done;
  }

  f = fopen(pcm_path, "rb");
  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (bytes = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0) {
    fprintf(stderr, "vad_stream: cannot read %s\n", pcm_path);
    goto done;
  }
  n_samples = (size_t)bytes / 2;
  pcm = malloc(n_samples * 2 + 2);
  if (pcm == NULL || fread(pcm, 2, n_samples, f) != n_samples) {
    fprintf(stderr, "vad_stream: cannot read %s\n", pcm_path);
    goto done;
  }

  for (pos = 0; pos < n_samples; pos += chunk) {
    float *x = (float *)in[audio].data;
    const double t0 = (double)pos / SAMPLE_RATE;
    float p;
    for (i = 0; i < chunk; ++i) x[i] = pos + i < n_samples ? pcm[pos + i] / 32768.0f : 0.0f;
    if (si_run(session, in, n_in, out, n_out) != SI_OK) {
      fprintf(stderr, "vad_stream: chunk at %.3f s: %s\n", t0, si_last_error());
      goto done;
    }
    for (i = 0; i < n_in; ++i) {
      const si_tensor *o = carry_from[i] >= 0 ? &out[carry_from[i]] : NULL;
      if (o == NULL) continue;
      if (o->dtype != in[i].dtype || o->size_bytes != in[i].size_bytes) {
        fprintf(stderr, "vad_stream: output \"%s\" (%zu bytes) does not fit input \"%s\" (%zu)\n",
                out_names[carry_from[i]], o->size_bytes, in_names[i], in[i].size_bytes);
        goto done;
      }
      memcpy(in[i].data, o->data, o->size_bytes);
    }
    if (out[prob_out].dtype != SI_FLOAT32 || out[prob_out].size_bytes < sizeof(float)) {
      fprintf(stderr, "vad_stream: output \"%s\" is not a float32 probability\n",
              out_names[prob_out]);
      goto done;
    }
    p = *(const float *)out[prob_out].data;
    if (print_probs) printf("prob %.3f %.6f\n", t0, p);
    if (!in_speech && p >= threshold) {
      in_speech = 1;
      start_s = t0;
    } else if (in_speech && p < threshold - 0.15) {
      in_speech = 0;
      printf("speech %.3f %.3f\n", start_s, t0);
    }
  }
  if (in_speech) printf("speech %.3f %.3f\n", start_s, (double)n_samples / SAMPLE_RATE);
  rc = 0;

done:
  if (f != NULL) fclose(f);
  free(pcm);
  for (i = 0; i < MAX_IO; ++i) {
    si_tensor_free(&out[i]);
    if (i < n_in) free(in[i].data);
  }
  si_session_destroy(session);
  return rc;
}
