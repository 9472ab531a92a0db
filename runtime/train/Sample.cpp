//===- Sample.cpp - Samples of generative models, as tensors and pictures -===//

#include "kiln/runtime/Sampling.h"

#include "Elements.h"
#include "Langevin.h"
#include "ModelShapes.h"
#include "io/AtomicFile.h"
#include "io/Png.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

namespace kiln::rt {
namespace {

/// An error naming `path` if its folder cannot take a new file.
Status checkWritable(const std::string &path) {
  std::string folder = io::directoryOf(path);
  if (::access(folder.c_str(), W_OK) == 0)
    return Status::success();
  return Status::error("cannot write '" + path + "': the folder '" + folder +
                       "' " +
                       (errno == ENOENT ? "does not exist" : "is not writable"));
}

/// Images [n, 1, H, W] of `images` (the first `n` rows of a larger batch
/// tensor are copied from batch tensors as they come).
struct Collected {
  HostTensor images;
  int64_t filled = 0;
};

void appendRows(Collected &c, const HostTensor &batch, int64_t rows) {
  int64_t per = batch.numElements() / batch.shape()[0];
  size_t bytes = static_cast<size_t>(rows * per) * dtypeSize(batch.dtype());
  std::memcpy(static_cast<char *>(c.images.data()) +
                  c.filled * per * dtypeSize(batch.dtype()),
              batch.data(), bytes);
  c.filled += rows;
}

/// Writes `tensors` and the grid of `grid`.
Status writeOutputs(const SampleOptions &options,
                    std::vector<NamedTensor> tensors, const HostTensor &grid,
                    int64_t columns) {
  if (!options.png.empty())
    if (Status s = io::writePngGrid(options.png, grid, columns); !s.ok())
      return s;
  SafeTensorsFile file;
  file.tensors = std::move(tensors);
  file.metadata = {{"seed", std::to_string(options.seed)}};
  if (!options.out.empty())
    if (Status s = writeSafeTensors(options.out, file); !s.ok())
      return s;
  std::fprintf(stderr, "wrote %s%s%s\n", options.out.c_str(),
               options.out.empty() || options.png.empty() ? "" : " and ",
               options.png.c_str());
  return Status::success();
}

Status reconstruct(const CompiledModel &model, const SafeTensorsFile &params,
                   const SampleOptions &options) {
  const EntrySpec *forward = findEntry(model.entries, "forward");
  if (!forward || forward->results.size() != 1)
    return Status::error("the model has no `forward` entry to reconstruct "
                         "with");
  StatusOr<std::vector<HostTensor>> bound =
      bindState(*forward, params, "'" + options.params + "'");
  if (!bound.ok())
    return bound.status();
  std::vector<HostTensor> args = std::move(bound).value();
  HostTensor *x = inputNamed(*forward, args, "x");
  if (!x || x->rank() != 4 || x->shape()[1] != 1 ||
      forward->results[0].shape.size() != 2 ||
      forward->results[0].shape[1] != x->shape()[2] * x->shape()[3])
    return Status::error("reconstruct needs a `forward` entry taking images "
                         "x [B, 1, H, W] and returning logits [B, H*W]");
  StatusOr<Dataset> test = loadFashionMnist(options.dataDir, /*train=*/false);
  if (!test.ok())
    return test.status();
  int64_t available = test.value().size();
  if (options.n > available)
    return Status::error("--n " + std::to_string(options.n) +
                         ": the test set has only " +
                         std::to_string(available) + " images");
  int64_t batch = x->shape()[0], pixels = x->numElements() / batch;
  std::vector<int64_t> shape = x->shape();
  shape[0] = options.n;
  Collected originals{HostTensor::zeros(x->dtype(), shape).value()};
  Collected rebuilt{HostTensor::zeros(x->dtype(), shape).value()};
  const HostTensor &images = test.value().images;
  for (int64_t first = 0; first < options.n; first += batch) {
    int64_t rows = std::min(batch, options.n - first);
    for (int64_t i = 0; i < batch * pixels; ++i)
      setValue(*x, i,
               i < rows * pixels ? images.data<float>()[first * pixels + i]
                                 : 0.0);
    std::vector<HostTensor> results = allocateResults(*forward).value();
    if (Status s = model.run("forward", args, results); !s.ok())
      return s;
    HostTensor probabilities = results[0].clone();
    for (int64_t i = 0; i < probabilities.numElements(); ++i)
      setValue(probabilities, i, 1.0 / (1.0 + std::exp(-valueAt(results[0], i))));
    appendRows(originals, *x, rows);
    appendRows(rebuilt, probabilities, rows);
  }
  // The grid: a row of originals, then the row of their reconstructions.
  int64_t columns = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(std::sqrt(2.0 * options.n))) & ~1LL);
  std::vector<int64_t> gridShape = shape;
  int64_t pairs = (options.n + columns - 1) / columns;
  gridShape[0] = 2 * pairs * columns;
  HostTensor grid = HostTensor::zeros(x->dtype(), gridShape).value();
  for (int64_t i = 0; i < options.n; ++i) {
    int64_t row = i / columns, col = i % columns;
    for (int64_t p = 0; p < pixels; ++p) {
      setValue(grid, ((2 * row) * columns + col) * pixels + p,
               valueAt(originals.images, i * pixels + p));
      setValue(grid, ((2 * row + 1) * columns + col) * pixels + p,
               valueAt(rebuilt.images, i * pixels + p));
    }
  }
  std::vector<NamedTensor> tensors;
  tensors.push_back({"images", std::move(originals.images)});
  tensors.push_back({"reconstructions", std::move(rebuilt.images)});
  return writeOutputs(options, std::move(tensors), grid, columns);
}

/// Progress of a long chain on stderr: a bar redrawn on a terminal, a line
/// per quarter otherwise.
class Progress {
public:
  Progress(int64_t total, const char *what)
      : total_(total), what_(what), terminal_(isatty(2)),
        started_(std::chrono::steady_clock::now()) {}

  void step(int64_t done) {
    double elapsed = seconds();
    double eta = elapsed / std::max<int64_t>(done, 1) * (total_ - done);
    if (terminal_) {
      int width = 24, filled = static_cast<int>(width * done / total_);
      std::fprintf(stderr, "\r%s [%s%s] %lld/%lld ETA %.0fs ", what_,
                   std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), (long long)done,
                   (long long)total_, eta);
      if (done == total_)
        std::fprintf(stderr, "\n");
    } else if (done % std::max<int64_t>(1, total_ / 4) == 0 || done == total_) {
      std::fprintf(stderr, "%s %lld/%lld ETA %.0fs\n", what_, (long long)done,
                   (long long)total_, eta);
    }
  }

  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         started_)
        .count();
  }

private:
  int64_t total_;
  const char *what_;
  bool terminal_;
  std::chrono::steady_clock::time_point started_;
};

/// The denoising chain of a diffusion model, from x_T ~ N(0, 1): every
/// ancestral step (`ddpm_step`, its noise drawn inside from the seed and a
/// fresh counter per call), or S DDIM steps (`ddim_step`). The images are
/// (x_0 + 1) / 2, clamped to [0, 1].
StatusOr<HostTensor> diffuse(const CompiledModel &model,
                             const SafeTensorsFile &params,
                             const SampleOptions &options) {
  constexpr int64_t T = kDiffusionSteps;
  bool ddim = options.ddim >= 0;
  if (ddim && options.steps >= 0)
    return Status::error("give either --steps (ancestral) or --ddim, not "
                         "both");
  if (ddim && (options.ddim < 1 || options.ddim > T || T % options.ddim))
    return Status::error("--ddim " + std::to_string(options.ddim) +
                         " does not divide the " + std::to_string(T) +
                         " steps of the schedule (e.g. 10, 20, 50, 100, " +
                         "250, 1000)");
  if (!ddim && options.steps >= 0 && options.steps != T)
    return Status::error("--steps " + std::to_string(options.steps) +
                         ": ancestral sampling runs all " + std::to_string(T) +
                         " steps of the schedule; --ddim S takes fewer");
  const char *name = ddim ? "ddim_step" : "ddpm_step";
  const EntrySpec *entry = findEntry(model.entries, name);
  if (!entry)
    return Status::error(std::string("the model has no `") + name +
                         "` entry; " + listEntries(model.entries));
  StatusOr<std::vector<HostTensor>> bound =
      bindState(*entry, params, "'" + options.params + "'");
  if (!bound.ok())
    return bound.status();
  std::vector<HostTensor> args = std::move(bound).value();
  int xIndex = -1;
  for (size_t i = 0; i < args.size(); ++i)
    if (entry->arguments[i].kind == ArgKind::Input &&
        entry->arguments[i].tensor.name == "x")
      xIndex = static_cast<int>(i);
  HostTensor *t = inputNamed(*entry, args, "t");
  HostTensor *tPrev = inputNamed(*entry, args, "t_prev");
  HostTensor *seed = inputNamed(*entry, args, "rng_seed");
  HostTensor *offset = inputNamed(*entry, args, "rng_offset");
  if (xIndex < 0 || !t || (ddim && !tPrev) || entry->results.size() != 1 ||
      entry->results[0].shape != args[xIndex].shape())
    return Status::error(std::string("`") + name +
                         "` must take images x and steps t" +
                         (ddim ? " and t_prev" : "") +
                         " and return the images one step earlier");
  int64_t batch = args[xIndex].shape()[0];
  int64_t chain = ddim ? options.ddim : T, stride = T / chain;
  int64_t batches = (options.n + batch - 1) / batch;
  std::vector<int64_t> shape = args[xIndex].shape();
  shape[0] = options.n;
  Collected images{HostTensor::zeros(args[xIndex].dtype(), shape).value()};
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> normal;
  std::vector<HostTensor> results = allocateResults(*entry).value();
  Progress progress(batches * chain, ddim ? "ddim" : "ddpm");
  int64_t calls = 0;
  for (int64_t b = 0; b < batches; ++b) {
    HostTensor &x = args[xIndex];
    for (int64_t i = 0; i < x.numElements(); ++i)
      setValue(x, i, normal(rng));
    for (int64_t k = chain - 1; k >= 0; --k) {
      for (int64_t r = 0; r < batch; ++r) {
        t->data<int64_t>()[r] = k * stride;
        if (tPrev)
          tPrev->data<int64_t>()[r] = k > 0 ? (k - 1) * stride : -1;
      }
      if (seed)
        seed->data<int64_t>()[0] =
            static_cast<int64_t>(options.seed & 0x7FFFFFFFFFFFFFFFull);
      if (offset)
        offset->data<int64_t>()[0] = calls << 32;
      if (Status s = model.run(name, args, results); !s.ok())
        return s;
      std::swap(args[xIndex], results[0]);
      ++calls;
      progress.step(calls);
    }
    HostTensor &done = args[xIndex];
    for (int64_t i = 0; i < done.numElements(); ++i)
      setValue(done, i,
               std::fmin(1.0, std::fmax(0.0, (valueAt(done, i) + 1.0) / 2.0)));
    appendRows(images, done, std::min(batch, options.n - b * batch));
  }
  std::fprintf(stderr, "%lld images in %.1f s (%.2f images/s, %lld steps "
               "each)\n",
               (long long)options.n, progress.seconds(),
               options.n / std::max(progress.seconds(), 1e-9),
               (long long)chain);
  return std::move(images.images);
}

/// An energy-based model's samples: Langevin chains of `options.steps`
/// steps (default 200) from uniform noise, clamped to [0, 1] at the end.
StatusOr<HostTensor> langevinImages(const CompiledModel &model,
                                    const EntrySpec &entry,
                                    const SafeTensorsFile &params,
                                    const SampleOptions &options) {
  if (options.ddim >= 0)
    return Status::error("--ddim is for diffusion models; an energy-based "
                         "model samples by --steps of Langevin dynamics");
  int64_t steps = options.steps >= 0 ? options.steps : 200;
  StatusOr<std::vector<HostTensor>> bound =
      bindState(entry, params, "'" + options.params + "'");
  if (!bound.ok())
    return bound.status();
  std::vector<HostTensor> args = std::move(bound).value();
  int xIndex = -1;
  for (size_t i = 0; i < args.size(); ++i)
    if (entry.arguments[i].kind == ArgKind::Input &&
        entry.arguments[i].tensor.name == "x")
      xIndex = static_cast<int>(i);
  if (xIndex < 0 || args[xIndex].rank() != 4)
    return Status::error("`energy_grad` must take images x [B, 1, H, W]");
  HostTensor &x = args[xIndex];
  int64_t batch = x.shape()[0];
  std::vector<int64_t> shape = x.shape();
  shape[0] = options.n;
  Collected images{HostTensor::zeros(x.dtype(), shape).value()};
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  int64_t batches = (options.n + batch - 1) / batch;
  Progress progress(batches, "langevin batch");
  for (int64_t b = 0; b < batches; ++b) {
    for (int64_t i = 0; i < x.numElements(); ++i)
      setValue(x, i, uniform(rng));
    if (Status s = langevinChain(model, entry, args, xIndex, steps, rng);
        !s.ok())
      return s;
    for (int64_t i = 0; i < x.numElements(); ++i)
      setValue(x, i, std::fmin(1.0, std::fmax(0.0, valueAt(x, i))));
    appendRows(images, x, std::min(batch, options.n - b * batch));
    progress.step(b + 1);
  }
  std::fprintf(stderr, "%lld images in %.1f s (%lld Langevin steps each)\n",
               (long long)options.n, progress.seconds(), (long long)steps);
  return std::move(images.images);
}

} // namespace

Status sample(const CompiledModel &model, const SampleOptions &options) {
  if (options.params.empty())
    return Status::error("give the model's state with --params "
                         "P.safetensors (as written by train --save-params)");
  if (options.n < 1)
    return Status::error("--n must be at least 1, got " +
                         std::to_string(options.n));
  if (options.out.empty() && options.png.empty())
    return Status::error("nothing to write: --out and --png are both empty");
  for (const std::string *path : {&options.out, &options.png})
    if (!path->empty())
      if (Status s = checkWritable(*path); !s.ok())
        return s;
  StatusOr<SafeTensorsFile> params = readSafeTensors(options.params);
  if (!params.ok())
    return params.status();
  if (options.reconstruct)
    return reconstruct(model, params.value(), options);
  StatusOr<HostTensor> images = drawImages(model, params.value(), options);
  if (!images.ok())
    return images.status();
  std::vector<NamedTensor> tensors;
  HostTensor grid = images.value().clone();
  tensors.push_back({"images", std::move(images).value()});
  return writeOutputs(options, std::move(tensors), grid, 0);
}

StatusOr<HostTensor> drawImages(const CompiledModel &model,
                                const SafeTensorsFile &params,
                                const SampleOptions &options) {
  if (options.n < 1)
    return Status::error("--n must be at least 1, got " +
                         std::to_string(options.n));
  if (findEntry(model.entries, "ddpm_step") ||
      findEntry(model.entries, "ddim_step"))
    return diffuse(model, params, options);
  if (const EntrySpec *energy = findEntry(model.entries, "energy_grad"))
    return langevinImages(model, *energy, params, options);
  if (options.steps >= 0 || options.ddim >= 0)
    return Status::error("--steps and --ddim are for diffusion models; this "
                         "model samples in one step");

  const EntrySpec *entry = findEntry(model.entries, "sample");
  if (!entry)
    return Status::error("the model has no `sample` entry; " +
                         listEntries(model.entries));
  StatusOr<std::vector<HostTensor>> bound =
      bindState(*entry, params, "'" + options.params + "'");
  if (!bound.ok())
    return bound.status();
  std::vector<HostTensor> args = std::move(bound).value();
  HostTensor *z = inputNamed(*entry, args, "z");
  if (!z || z->rank() != 2 || entry->results.size() != 1 ||
      entry->results[0].shape.size() != 4 || entry->results[0].shape[1] != 1)
    return Status::error("the `sample` entry must take latents z [B, D] and "
                         "return greyscale images [B, 1, H, W]");
  int64_t batch = z->shape()[0];
  std::vector<int64_t> shape = entry->results[0].shape;
  shape[0] = options.n;
  Collected images{HostTensor::zeros(entry->results[0].dtype, shape).value()};
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> normal;
  for (int64_t first = 0; first < options.n; first += batch) {
    for (int64_t i = 0; i < z->numElements(); ++i)
      setValue(*z, i, normal(rng));
    std::vector<HostTensor> results = allocateResults(*entry).value();
    if (Status s = model.run("sample", args, results); !s.ok())
      return s;
    appendRows(images, results[0], std::min(batch, options.n - first));
  }
  return std::move(images.images);
}

} // namespace kiln::rt
