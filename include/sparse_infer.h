/* sparse_infer.h: the public C API of sparse-infer, a CPU inference engine for
 * ONNX models that skips the work of exactly-zero ReLU activations.
 *
 * This is the one header a service needs. It is plain C99 and links against
 * libsparse_infer.so (pkg-config: sparse_infer; CMake: sparse_infer::sparse_infer).
 *
 * Typical use:
 *
 *   si_session *s = NULL;
 *   if (si_session_create("model.onnx", NULL, &s) != SI_OK) {
 *     fprintf(stderr, "%s\n", si_last_error());
 *     return 1;
 *   }
 *   si_tensor in = {SI_FLOAT32, 2, {1, 64}, pixels, 64 * sizeof(float)};
 *   si_tensor out = {0};  // data == NULL: the engine allocates it
 *   if (si_run(s, &in, 1, &out, 1) == SI_OK) {
 *     const float *logits = (const float *)out.data;  // out.dims = {1, 10}
 *     ...
 *     si_tensor_free(&out);
 *   }
 *   si_session_destroy(s);
 *
 * Conventions that hold for every function below:
 *
 * - Errors. Every function that can fail returns an si_status. On failure it
 *   also records a message for the calling thread, readable with
 *   si_last_error(), that names the function and the argument, input, node or
 *   file at fault (e.g. "si_run: inputs is NULL"). On success the message is
 *   cleared to "". On failure no output argument is modified and nothing is
 *   leaked. No C++ exception ever leaves the library; nothing aborts on bad
 *   input.
 * - NULL. Every pointer argument must be non-NULL unless its documentation
 *   says otherwise; a NULL one fails with SI_ERR_INVALID_ARGUMENT. The
 *   destroy/free functions accept NULL as a no-op.
 * - Ownership. Objects returned through an `**out` argument belong to the
 *   caller, who releases them with the matching *_destroy function. Strings
 *   returned by the library belong to the library; the lifetime of each is
 *   stated where it is returned.
 * - Threads. Sessions are safe to use from many threads at once (see si_run);
 *   options objects are not. The error message is per thread.
 * - Units. Sizes are in bytes (size_t) unless named `dims` (elements, int64_t)
 *   or `rank` (number of dimensions). Tensors are dense, row-major
 *   (C-contiguous), in host memory.
 */
#ifndef SPARSE_INFER_H_
#define SPARSE_INFER_H_

#include <stddef.h>
#include <stdint.h>

/* SI_API marks the exported functions. Only si_* symbols leave the library. */
#if defined(_WIN32)
#if defined(SI_BUILDING_LIBRARY)
#define SI_API __declspec(dllexport)
#else
#define SI_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define SI_API __attribute__((visibility("default")))
#else
#define SI_API
#endif

/* glibc's <signal.h> defines si_status as a macro (a siginfo_t field). It is
 * set aside while this header is read and restored at its end, so the header
 * compiles in any include order and siginfo_t code keeps working; a file that
 * includes <signal.h> (or <sys/wait.h>, or a header that does) names the
 * status type si_status_t. */
#pragma push_macro("si_status")
#undef si_status

#ifdef __cplusplus
extern "C" {
#endif

/* Status of a call. The values are stable and part of the ABI. */
typedef enum {
  SI_OK = 0,
  /* The caller passed something wrong: a NULL pointer, a bad count, an input
   * whose dtype, rank, dims or size_bytes do not match the model, a too small
   * output buffer, an out-of-range option or index. */
  SI_ERR_INVALID_ARGUMENT = 1,
  /* The model is malformed or inconsistent (not ONNX, truncated, failing the
   * ONNX checker, weights shorter than their dims say, ...). */
  SI_ERR_INVALID_MODEL = 2,
  /* Valid ONNX the engine cannot run: an unsupported operator, opset or
   * dtype, or a tensor of rank above SI_MAX_RANK. The message lists every
   * unsupported node at once. */
  SI_ERR_UNSUPPORTED = 3,
  /* A file could not be opened or read (the message names it). */
  SI_ERR_IO = 4,
  SI_ERR_OUT_OF_MEMORY = 5,
  /* A bug in the engine; please report it with the message. */
  SI_ERR_INTERNAL = 6
} si_status;
typedef si_status si_status_t; /* the same type; usable where <signal.h> is included */

/* Element type. The numbering is ONNX's TensorProto.DataType, so values read
 * from a model need no translation. SI_BOOL is one byte per element, 0 or 1. */
typedef enum {
  SI_FLOAT32 = 1,
  SI_UINT8 = 2,
  SI_INT8 = 3,
  SI_INT32 = 6,
  SI_INT64 = 7,
  SI_BOOL = 9
} si_dtype;

/* Which path the matmuls that follow a ReLU take. Every mode gives the same
 * results up to float summation order; they differ only in speed.
 *   SI_MODE_AUTO:   per call and per layer, from the measured fraction of
 *                   non-zero activations (the default).
 *   SI_MODE_DENSE:  always the dense (oneDNN) path; a baseline.
 *   SI_MODE_SPARSE: always the sparse gather path where a layer allows it. */
typedef enum { SI_MODE_AUTO = 0, SI_MODE_DENSE = 1, SI_MODE_SPARSE = 2 } si_mode;

/* Largest rank a tensor may have at this API. */
#define SI_MAX_RANK 8

/* A tensor description, and optionally its data. Plain data: the struct never
 * owns anything by itself; who owns `data` is stated by each function.
 *
 *   dtype       element type.
 *   rank        number of dimensions, 0..SI_MAX_RANK (0 is a scalar with one
 *               element). Model info may report -1: rank unknown.
 *   dims        sizes in elements of dims[0..rank); the entries at and after
 *               `rank` are ignored on input and set to 0 on output. Model
 *               info reports -1 for a dimension that is dynamic.
 *   data        the elements, dense row-major, aligned to at least the size
 *               of one element (64 bytes is fastest). May be NULL only when
 *               size_bytes is 0.
 *   size_bytes  product(dims) * element size, in bytes (see si_run for the
 *               meaning on output buffers). */
typedef struct {
  si_dtype dtype;
  int32_t rank;
  int64_t dims[SI_MAX_RANK];
  void *data;
  size_t size_bytes;
} si_tensor;

/* Opaque handles. */
typedef struct si_options si_options;
typedef struct si_session si_session;

/* ---------------------------------------------------------------- Library */

/* The library version, "MAJOR.MINOR.PATCH". Static storage; never NULL;
 * thread-safe. */
SI_API const char *si_version(void);

/* The message of the last failed call made by the calling thread, or "" when
 * that call succeeded (or no call was made yet). Never NULL. The string
 * belongs to the library and stays valid until the calling thread's next call
 * to a function that returns si_status. si_version, si_last_error, the
 * *_count functions and the destroy/free functions leave it unchanged. */
SI_API const char *si_last_error(void);

/* ---------------------------------------------------------------- Options */

/* Creates session options holding the defaults: threads = 0 (all cores),
 * mode = SI_MODE_AUTO. Release with si_options_destroy. An options object may
 * be read by several concurrent si_session_create calls, but must not be
 * modified while any call uses it. Sessions copy what they need: the options
 * may be destroyed right after si_session_create returns. */
SI_API si_status si_options_create(si_options **out);

/* Destroys options. NULL is a no-op. */
SI_API void si_options_destroy(si_options *opts);

/* Intra-op threads each si_run call may use: n > 0 exactly n, 0 = one per
 * core (the default), n < 0 fails with SI_ERR_INVALID_ARGUMENT. The threads
 * belong to the calling thread's OpenMP team: a service that runs many
 * sessions or many si_run calls concurrently should set 1 and parallelise
 * across requests instead. */
SI_API si_status si_options_set_threads(si_options *opts, int32_t n);

/* Matmul path selection, see si_mode. A value outside si_mode fails with
 * SI_ERR_INVALID_ARGUMENT. */
SI_API si_status si_options_set_mode(si_options *opts, si_mode mode);

/* Memory ceiling of each session created with these options, in bytes; 0 (the
 * default) means the machine's physical memory. It bounds the session's
 * constants (weights and folded values), checked at si_session_create from
 * the sizes the model declares before anything is allocated, and, in each
 * si_run call separately, the constants plus the tensors that call
 * allocates. Exceeding it fails with SI_ERR_OUT_OF_MEMORY and a message
 * naming the sizes (and the node, in si_run). Caller-owned input and output
 * buffers are not counted. */
SI_API si_status si_options_set_max_memory(si_options *opts, uint64_t bytes);

/* Nonzero: hold each constant weight in one layout only (default 0: two where
 * that is faster). A matmul after a Relu-like op then keeps only the sparse
 * path's row layout and runs its dense path on it unpacked: the session's
 * weight memory stays near the model's, batch 1 runs as fast, and batches of
 * 2 or more whose activations are too dense for the sparse path run slower.
 * NULL opts fails with SI_ERR_INVALID_ARGUMENT. */
SI_API si_status si_options_set_single_weight_copy(si_options *opts, int32_t enable);

/* ---------------------------------------------------------------- Session */

/* Loads, checks, optimises and plans an ONNX model file. `opts` may be NULL
 * for the defaults. External weight files are read from the model's folder
 * only (paths escaping it are rejected). On success *out receives a session
 * that the caller releases with si_session_destroy; the file is not needed
 * afterwards.
 *
 * Fails with SI_ERR_IO when the file cannot be read, SI_ERR_INVALID_MODEL
 * when it is not a valid model, SI_ERR_UNSUPPORTED when it uses operators the
 * engine lacks (every one is listed) or declares an input or output of rank
 * above SI_MAX_RANK. Thread-safe: any number of sessions may be created
 * concurrently. */
SI_API si_status si_session_create(const char *model_path, const si_options *opts,
                                   si_session **out);

/* Same from a serialized ModelProto of `size` bytes at `data`, which the
 * caller keeps ownership of; it is not referenced after the call returns.
 * `opts` may be NULL. Models with external data are rejected
 * (SI_ERR_INVALID_MODEL), since there is no folder to read it from. */
SI_API si_status si_session_create_from_memory(const void *data, size_t size,
                                               const si_options *opts, si_session **out);

/* Destroys a session and everything it owns (weights, names returned by the
 * *_info functions). NULL is a no-op. Must not overlap any other call that
 * uses the same session. Tensors already returned by si_run stay valid: they
 * are independent of the session. */
SI_API void si_session_destroy(si_session *s);

/* Number of model inputs (graph inputs that are not initializers) and
 * outputs. 0 when s is NULL. Thread-safe. */
SI_API size_t si_session_input_count(const si_session *s);
SI_API size_t si_session_output_count(const si_session *s);

/* Describes model input (or output) i, 0 <= i < count, as the model declares
 * it. *name receives the value's name, a NUL-terminated string owned by the
 * session and valid until si_session_destroy. *info receives dtype, rank and
 * dims, with -1 for each dynamic dimension (e.g. a batch axis) and rank = -1
 * with all dims 0 when the model does not declare the rank. info->data is set
 * to NULL. info->size_bytes is the exact byte size when every dimension is
 * known, else 0, so that a fixed-shape output buffer can be sized from it.
 * An out-of-range i fails with SI_ERR_INVALID_ARGUMENT. Thread-safe. */
SI_API si_status si_session_input_info(const si_session *s, size_t i, const char **name,
                                       si_tensor *info);
SI_API si_status si_session_output_info(const si_session *s, size_t i, const char **name,
                                        si_tensor *info);

/* ---------------------------------------------------------------- Running */

/* Runs the model once.
 *
 * Inputs: inputs[i] feeds model input i; n_inputs must equal
 * si_session_input_count. Each input's dtype must be the model's, its rank
 * 0..SI_MAX_RANK and the model's, each dim >= 0 and equal to the model's
 * where that one is fixed, size_bytes exactly product(dims) * element size,
 * and data non-NULL unless size_bytes is 0. The engine reads the caller's
 * data in place, without copying, and only during the call; it never writes
 * to it. `inputs` may be NULL only when n_inputs is 0.
 *
 * Outputs: n_outputs must equal si_session_output_count; outputs[i] receives
 * model output i. On entry only `data` and `size_bytes` of each output are
 * read:
 *   data != NULL  the result is written there. size_bytes is the buffer's
 *                 capacity in bytes; if the result does not fit, the call
 *                 fails with SI_ERR_INVALID_ARGUMENT before anything is
 *                 written. The buffer must not overlap any input.
 *   data == NULL  the engine allocates a buffer (64-byte aligned) that the
 *                 caller owns and releases with si_tensor_free. A result of
 *                 0 bytes leaves data NULL.
 * On success dtype, rank, dims and size_bytes (the bytes written) are set.
 * The pattern "zero the si_tensor, run, read, run again, si_tensor_free"
 * therefore reuses the engine's buffer from the second call on, as long as
 * the output size does not grow. On failure no output is modified and no
 * buffer is allocated.
 *
 * Threads: safe to call concurrently on one session, with distinct output
 * buffers; each call keeps its own scratch memory.
 *
 * Errors: SI_ERR_INVALID_ARGUMENT for the caller errors above (the message
 * names the input or output), SI_ERR_UNSUPPORTED for an output of rank above
 * SI_MAX_RANK, SI_ERR_OUT_OF_MEMORY, or an error raised by an operator (the
 * message names the node). */
SI_API si_status si_run(si_session *s, const si_tensor *inputs, size_t n_inputs, si_tensor *outputs,
                        size_t n_outputs);

/* Releases the buffer of an output the engine allocated in si_run and sets
 * t->data to NULL and t->size_bytes to 0; dtype, rank and dims are kept. NULL
 * t and NULL t->data are no-ops. Must not be called on data the caller
 * allocated; engine buffers must not be released with free(). */
SI_API void si_tensor_free(si_tensor *t);

#ifdef __cplusplus
} /* extern "C" */
#endif

#pragma pop_macro("si_status")

#endif /* SPARSE_INFER_H_ */
