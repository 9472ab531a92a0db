/*===- kiln.h - The runtime's C API for programs that embed models -------===*
 *
 * A program that links a model compiled by `kilnc --emit=lib` (or obj)
 * includes the model's header for its entry points and this one for what
 * surrounds them: reading weights from a safetensors file (a checkpoint or
 * --save-params file of a Kiln training executable, or PyTorch's
 * safetensors.torch.save_file), and the runtime's thread count.
 *
 * C99 and C++. Link with `pkg-config --libs kiln-runtime` or CMake's
 * Kiln::runtime.
 *
 * Errors: a function that fails returns NULL or a non-zero value, and
 * kiln_last_error() gives the message (naming the file and tensor) on the
 * thread that called it.
 *
 *===----------------------------------------------------------------------===*/

#ifndef KILN_KILN_H
#define KILN_KILN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The tensors of a safetensors file, read and checked in full. */
typedef struct kiln_tensors kiln_tensors;

/* Reads the safetensors file at `path`; NULL if it cannot be read or is
 * malformed. */
kiln_tensors *kiln_tensors_open(const char *path);

/* Frees what kiln_tensors_open returned (NULL is ignored). */
void kiln_tensors_close(kiln_tensors *tensors);

/* The number of tensors, and the name of tensor `index` (0 <= index <
 * count; NULL otherwise), in the order of their data in the file. */
int64_t kiln_tensors_count(const kiln_tensors *tensors);
const char *kiln_tensors_name(const kiln_tensors *tensors, int64_t index);

/* The rank of the tensor `name`, with its sizes in shape[0..rank) (at most
 * `capacity` of them are written); -1 if there is no such tensor. */
int kiln_tensors_shape(const kiln_tensors *tensors, const char *name,
                       int64_t *shape, int capacity);

/* Copies the tensor `name` into `data`, which holds `count` elements: 0 on
 * success; non-zero if there is no such tensor, it has another dtype
 * (float32, float64 and int64 respectively), or it has another number of
 * elements. */
int kiln_tensors_read_f32(const kiln_tensors *tensors, const char *name,
                          float *data, int64_t count);
int kiln_tensors_read_f64(const kiln_tensors *tensors, const char *name,
                          double *data, int64_t count);
int kiln_tensors_read_i64(const kiln_tensors *tensors, const char *name,
                          int64_t *data, int64_t count);

/* The message of the last failure on the calling thread ("" if none). */
const char *kiln_last_error(void);

/* The threads compiled code and its library calls compute with: `n` (n > 0)
 * or the default (n <= 0): the environment variable KILN_NUM_THREADS when
 * it holds a positive integer, else the number of CPUs the process may run
 * on. Affects calls that start afterwards. */
void kiln_set_num_threads(int64_t n);
int64_t kiln_num_threads(void);

/* With `on` non-zero, results do not depend on the thread count (library
 * calls that split a sum across threads run on one thread). */
void kiln_set_deterministic(int64_t on);

#ifdef __cplusplus
}
#endif

#endif /* KILN_KILN_H */
