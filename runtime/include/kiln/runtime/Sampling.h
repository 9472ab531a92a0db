//===- Sampling.h - Samples of generative models, as tensors and pictures ===//
//
// `./gan sample`, `./vae sample` and `./vae reconstruct`: a compiled
// model's `sample` entry maps latents z [B, D] to images [B, 1, H, W] in
// [0, 1]; the sampler draws z ~ N(0, 1) from a seed, runs as many batches
// as the samples need, and writes them as safetensors (`images`) and as a
// PNG grid.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SAMPLING_H
#define KILN_RUNTIME_SAMPLING_H

#include "kiln/runtime/Training.h"

namespace kiln::rt {

struct SampleOptions {
  std::string params;                    // the model's state (safetensors)
  int64_t n = 64;                        // how many samples
  uint64_t seed = 0;
  std::string out = "samples.safetensors";
  std::string png = "samples.png";       // the grid; empty: none
  /// reconstruct: the first n test images and their reconstructions
  /// (`forward`'s logits through a sigmoid), in alternating grid rows.
  bool reconstruct = false;
  std::string dataDir = "/usr/share/datasets/fashion-mnist";
};

/// Parses `sample`/`reconstruct` flags: --params, --n, --seed, --out,
/// --png, --data-dir, --threads.
Status parseSampleFlags(int argc, char **argv, int first,
                        SampleOptions &options);

/// Draws `options.n` samples (or reconstructions) and writes them. Both
/// output paths are checked before any work; each file is replaced
/// atomically.
Status sample(const CompiledModel &model, const SampleOptions &options);

} // namespace kiln::rt

#endif // KILN_RUNTIME_SAMPLING_H
