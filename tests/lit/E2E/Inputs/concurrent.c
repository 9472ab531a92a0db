/* Calls the embedded cnn's forward_b1 from 8 threads at once, 1,000 calls
 * each on buffers of their own, and compares every result bit for bit with
 * the same image's result from serial calls. Usage: concurrent PARAMS */
#include "cnn.h"

#include <kiln/kiln.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kImages = 256, kPixels = 784, kClasses = 10, kThreads = 8,
       kCalls = 1000 };

static const char *const kNames[8] = {"conv1.weight", "conv1.bias",
                                      "conv2.weight", "conv2.bias",
                                      "fc1.weight",   "fc1.bias",
                                      "fc2.weight",   "fc2.bias"};
static const int64_t kCounts[8] = {288, 32, 18432, 64, 401408, 128, 1280, 10};

static float *parameters[8];
static float images[kImages][kPixels];
static float serial[kImages][kClasses];

static void forward(const float *image, float *logits) {
  cnn_forward_b1(parameters[0], parameters[1], parameters[2], parameters[3],
                 parameters[4], parameters[5], parameters[6], parameters[7],
                 image, logits);
}

struct Work {
  int thread;
  long differ;
};

static void *run(void *arg) {
  struct Work *work = arg;
  /* Each call on a copy of its own: no buffer is shared between threads. */
  float image[kPixels], logits[kClasses];
  for (int call = 0; call < kCalls; ++call) {
    int which = (call * 7 + work->thread * 31) % kImages;
    memcpy(image, images[which], sizeof(image));
    forward(image, logits);
    work->differ += memcmp(logits, serial[which], sizeof(logits)) != 0;
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PARAMS.safetensors\n", argv[0]);
    return 2;
  }
  kiln_tensors *weights = kiln_tensors_open(argv[1]);
  if (!weights) {
    fprintf(stderr, "%s\n", kiln_last_error());
    return 1;
  }
  for (int p = 0; p < 8; ++p) {
    parameters[p] = malloc(sizeof(float) * (size_t)kCounts[p]);
    if (kiln_tensors_read_f32(weights, kNames[p], parameters[p],
                              kCounts[p]) != 0) {
      fprintf(stderr, "%s\n", kiln_last_error());
      return 1;
    }
  }
  kiln_tensors_close(weights);
  uint64_t state = 12345;
  for (int i = 0; i < kImages; ++i)
    for (int j = 0; j < kPixels; ++j) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      images[i][j] = (float)(state >> 40) / (float)(1 << 24);
    }
  for (int i = 0; i < kImages; ++i)
    forward(images[i], serial[i]);

  pthread_t threads[kThreads];
  struct Work work[kThreads];
  for (int t = 0; t < kThreads; ++t) {
    work[t].thread = t;
    work[t].differ = 0;
    if (pthread_create(&threads[t], NULL, run, &work[t]) != 0) {
      fprintf(stderr, "cannot start a thread\n");
      return 1;
    }
  }
  long differ = 0;
  for (int t = 0; t < kThreads; ++t) {
    pthread_join(threads[t], NULL);
    differ += work[t].differ;
  }
  printf("%d threads x %d calls: %ld results differ from serial calls\n",
         kThreads, kCalls, differ);
  for (int p = 0; p < 8; ++p)
    free(parameters[p]);
  return differ != 0;
}
