/* classify: a C program that embeds Kiln's compiled cnn, reads the weights of
 * a trained checkpoint and classifies the Fashion-MNIST test set.
 *
 *   kilnc --model=cnn --emit=lib --entries=forward --batch=64 -o libcnn.a
 *   cc -std=c99 -O2 classify.c libcnn.a $(pkg-config --cflags --libs kiln-runtime) -o classify
 *   ./cnn train --save-params cnn.safetensors
 *   ./classify cnn.safetensors /usr/share/datasets/fashion-mnist
 *
 * It prints the accuracy as `./cnn eval --params cnn.safetensors` does: the
 * same pixels (bytes / 255), the same batches of 64, the last one padded.
 */
#include "cnn.h"

#include <kiln/kiln.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { kBatch = 64, kPixels = 28 * 28, kClasses = 10 };

/* The cnn's parameters, in the order cnn_forward takes them (cnn.h). */
static const struct {
  const char *name;
  int64_t count;
} kParameters[] = {
    {"conv1.weight", 32 * 1 * 3 * 3}, {"conv1.bias", 32},
    {"conv2.weight", 64 * 32 * 3 * 3}, {"conv2.bias", 64},
    {"fc1.weight", 128 * 3136},        {"fc1.bias", 128},
    {"fc2.weight", 10 * 128},          {"fc2.bias", 10},
};
enum { kParameterCount = sizeof(kParameters) / sizeof(kParameters[0]) };

/* Reads the gzip-compressed IDX file `path`: a big-endian magic of
 * 0x0000080D with D dimensions, the sizes, then unsigned bytes. Returns the
 * data (malloc'ed) and its dimensions, or NULL after printing why. */
static unsigned char *read_idx(const char *path, int rank, long *sizes) {
  gzFile file = gzopen(path, "rb");
  if (!file) {
    fprintf(stderr, "classify: cannot open '%s'\n", path);
    return NULL;
  }
  unsigned char header[4 + 4 * 3];
  int header_bytes = 4 + 4 * rank;
  long count = 1;
  unsigned char *data = NULL;
  if (gzread(file, header, (unsigned)header_bytes) != header_bytes ||
      header[0] != 0 || header[1] != 0 || header[2] != 0x08 ||
      header[3] != rank) {
    fprintf(stderr, "classify: '%s' is not an IDX file of %d-dimensional "
                    "bytes\n", path, rank);
    goto done;
  }
  for (int d = 0; d < rank; ++d) {
    const unsigned char *b = header + 4 + 4 * d;
    sizes[d] = (long)b[0] << 24 | (long)b[1] << 16 | (long)b[2] << 8 | b[3];
    count *= sizes[d];
  }
  data = malloc((size_t)count);
  if (!data || gzread(file, data, (unsigned)count) != count) {
    fprintf(stderr, "classify: '%s' ends before its %ld bytes of data\n",
            path, count);
    free(data);
    data = NULL;
  }
done:
  gzclose(file);
  return data;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s PARAMS.safetensors FASHION_MNIST_DIR\n",
            argv[0]);
    return 2;
  }
  int status = 1;
  float *parameters[kParameterCount] = {0};
  float *images = NULL, *logits = NULL;
  unsigned char *pixels = NULL, *labels = NULL;

  /* The weights, by their PyTorch names. */
  kiln_tensors *weights = kiln_tensors_open(argv[1]);
  if (!weights) {
    fprintf(stderr, "classify: %s\n", kiln_last_error());
    return 1;
  }
  for (int p = 0; p < kParameterCount; ++p) {
    parameters[p] = malloc(sizeof(float) * (size_t)kParameters[p].count);
    if (!parameters[p] ||
        kiln_tensors_read_f32(weights, kParameters[p].name, parameters[p],
                              kParameters[p].count) != 0) {
      fprintf(stderr, "classify: %s\n", kiln_last_error());
      goto done;
    }
  }

  /* The test set. */
  char path[4096];
  long image_sizes[3], label_sizes[1];
  snprintf(path, sizeof(path), "%s/t10k-images-idx3-ubyte.gz", argv[2]);
  pixels = read_idx(path, 3, image_sizes);
  snprintf(path, sizeof(path), "%s/t10k-labels-idx1-ubyte.gz", argv[2]);
  labels = read_idx(path, 1, label_sizes);
  if (!pixels || !labels)
    goto done;
  long n = image_sizes[0];
  if (image_sizes[1] * image_sizes[2] != kPixels || label_sizes[0] != n) {
    fprintf(stderr, "classify: expected [N, 28, 28] images and N labels\n");
    goto done;
  }

  /* Batches of 64; the rows past the end of the last one are left as they
   * were and not counted. */
  images = calloc((size_t)kBatch * kPixels, sizeof(float));
  logits = malloc(sizeof(float) * kBatch * kClasses);
  if (!images || !logits)
    goto done;
  long correct = 0;
  for (long first = 0; first < n; first += kBatch) {
    long rows = n - first < kBatch ? n - first : kBatch;
    for (long i = 0; i < rows * kPixels; ++i)
      images[i] = pixels[first * kPixels + i] / 255.0f;
    cnn_forward(parameters[0], parameters[1], parameters[2], parameters[3],
                parameters[4], parameters[5], parameters[6], parameters[7],
                images, logits);
    for (long r = 0; r < rows; ++r) {
      int best = 0;
      for (int c = 1; c < kClasses; ++c)
        if (logits[r * kClasses + c] > logits[r * kClasses + best])
          best = c;
      correct += best == labels[first + r];
    }
  }
  printf("test accuracy %.2f%% (%ld examples)\n", 100.0 * correct / n, n);
  status = 0;

done:
  kiln_tensors_close(weights);
  for (int p = 0; p < kParameterCount; ++p)
    free(parameters[p]);
  free(images);
  free(logits);
  free(pixels);
  free(labels);
  return status;
}
