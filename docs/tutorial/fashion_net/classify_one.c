/* Step 6 of the tutorial: the trained model inside a C program. Reads the
 * weights `net train --save-params` wrote, classifies the first images of
 * the Fashion-MNIST test set one at a time (the model compiled for batch
 * 1), and prints each prediction beside its label.
 * Usage: classify_one PARAMS.safetensors FASHION_MNIST_DIR [N] */
#include "fashion_net.h"

#include <kiln/kiln.h>

#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

static const char *const kNames[] = {"conv.weight", "conv.bias", "fc.weight",
                                     "fc.bias"};
static const int64_t kCounts[] = {16 * 1 * 3 * 3, 16, 10 * 16 * 14 * 14, 10};

/* The first `n` entries of a gzip-compressed IDX file after its header. */
static unsigned char *read_idx(const char *path, int header, long n) {
  gzFile file = gzopen(path, "rb");
  unsigned char *data = malloc((size_t)(header + n));
  if (!file || !data || gzread(file, data, (unsigned)(header + n)) != header + n) {
    fprintf(stderr, "classify_one: cannot read %s\n", path);
    exit(1);
  }
  gzclose(file);
  return data + header;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s PARAMS.safetensors FASHION_MNIST_DIR [N]\n",
            argv[0]);
    return 2;
  }
  long n = argc > 3 ? atol(argv[3]) : 8;
  kiln_set_num_threads(1);
  kiln_tensors *weights = kiln_tensors_open(argv[1]);
  if (!weights) {
    fprintf(stderr, "classify_one: %s\n", kiln_last_error());
    return 1;
  }
  float *params[4];
  for (int p = 0; p < 4; ++p) {
    params[p] = malloc(sizeof(float) * (size_t)kCounts[p]);
    if (kiln_tensors_read_f32(weights, kNames[p], params[p], kCounts[p])) {
      fprintf(stderr, "classify_one: %s\n", kiln_last_error());
      return 1;
    }
  }
  kiln_tensors_close(weights);

  char path[4096];
  snprintf(path, sizeof(path), "%s/t10k-images-idx3-ubyte.gz", argv[2]);
  unsigned char *pixels = read_idx(path, 16, n * 784);
  snprintf(path, sizeof(path), "%s/t10k-labels-idx1-ubyte.gz", argv[2]);
  unsigned char *labels = read_idx(path, 8, n);
  long right = 0;
  for (long i = 0; i < n; ++i) {
    float image[784], logits[10];
    for (int j = 0; j < 784; ++j)
      image[j] = pixels[i * 784 + j] / 255.0f;
    fashion_net_forward(params[0], params[1], params[2], params[3], image,
                        logits);
    int best = 0;
    for (int c = 1; c < 10; ++c)
      if (logits[c] > logits[best])
        best = c;
    right += best == labels[i];
    printf("image %ld: class %d, label %d\n", i, best, labels[i]);
  }
  printf("%ld of %ld right\n", right, n);
  for (int p = 0; p < 4; ++p)
    free(params[p]);
  free(pixels - 16);
  free(labels - 8);
  return 0;
}
