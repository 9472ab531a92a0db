//===- Sampling.h - Samples of generative models, as tensors and pictures ===//
//
// `./gan sample`, `./vae sample` and `./vae reconstruct`: a compiled
// model's `sample` entry maps latents z [B, D] to images [B, 1, H, W] in
// [0, 1]; the sampler draws z ~ N(0, 1) from a seed, runs as many batches
// as the samples need, and writes them as safetensors (`images`) and as a
// PNG grid. `./ddpm sample` runs the denoising chain instead: ancestral
// (`ddpm_step`, 1000 steps) or DDIM (`ddim_step`, --ddim S steps), with a
// progress bar.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_SAMPLING_H
#define KILN_RUNTIME_SAMPLING_H

#include "kiln/runtime/SafeTensors.h"
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
  /// Diffusion models (entries ddpm_step, ddim_step): the chain from
  /// x_T ~ N(0, 1). `steps` ancestral steps (all of the schedule's
  /// kDiffusionSteps), or, with `ddim` S > 0, S deterministic DDIM steps at
  /// t = 0, T/S, 2T/S, ... (S must divide T). -1: not given (ancestral).
  int64_t steps = -1;
  int64_t ddim = -1;
};

/// The length T of the diffusion models' noise schedule.
constexpr int64_t kDiffusionSteps = 1000;

/// Parses `sample`/`reconstruct` flags: --params, --n, --seed, --out,
/// --png, --data-dir, --threads, and for diffusion models --steps, --ddim.
Status parseSampleFlags(int argc, char **argv, int first,
                        SampleOptions &options);

/// Draws `options.n` samples (or reconstructions) and writes them. Both
/// output paths are checked before any work; each file is replaced
/// atomically.
Status sample(const CompiledModel &model, const SampleOptions &options);

/// `options.n` images [n, 1, H, W] in [0, 1] of a generative model: its
/// `sample` entry on latents z ~ N(0, 1), or a diffusion model's chain.
StatusOr<HostTensor> drawImages(const CompiledModel &model,
                                const SafeTensorsFile &params,
                                const SampleOptions &options);

/// The Fréchet distance of images in the feature space of Kiln's trained
/// cnn (the 128 activations of its fc1, after the ReLU: the `features`
/// entry): Gaussians fitted to the features of two image sets (mean,
/// unbiased covariance), |m1 - m2|^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2)).
struct FrechetOptions {
  std::string cnn;       // the cnn compiled as a shared library (--emit=so)
  std::string cnnParams; // its trained state (safetensors)
  /// The images scored: "model" (drawn from this executable's model, as
  /// `sample` draws them), "train" (training images: the floor), "noise"
  /// (uniform noise: the ceiling), or a safetensors file with `images`.
  std::string samples = "model";
  /// Against: "test" (the Fashion-MNIST test set) or a safetensors file.
  std::string reference = "test";
  SampleOptions sampling; // params, n (default 10000), seed, ddim, data dir
  std::vector<std::string> flagText; // parseFrechetFlags' storage
};

/// Parses `fid` flags: --cnn, --cnn-params, --samples, --reference, and
/// those of `sample` that choose how samples are drawn.
Status parseFrechetFlags(int argc, char **argv, int first,
                         FrechetOptions &options);

/// Prints the distance; `model` draws the samples where asked.
Status frechet(const CompiledModel &model, const FrechetOptions &options);

/// Mean [D] and unbiased covariance [D, D] of features [N, D] (f64).
struct FeatureMoments {
  int64_t dim = 0, count = 0;
  std::vector<double> mean, covariance;
};
StatusOr<FeatureMoments> featureMoments(const HostTensor &features);
/// The Fréchet distance of the Gaussians with these moments.
double frechetDistance(const FeatureMoments &a, const FeatureMoments &b);

} // namespace kiln::rt

#endif // KILN_RUNTIME_SAMPLING_H
