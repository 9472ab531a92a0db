//===- Frechet.cpp - Fréchet distances in the feature space of Kiln's cnn -===//

#include "kiln/runtime/Artefact.h"
#include "kiln/runtime/Sampling.h"

#include "ModelShapes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

namespace kiln::rt {
namespace {

/// Eigenvalues of the symmetric matrix `a` [n, n] (destroyed), and with
/// `vectors` its eigenvectors as columns: cyclic Jacobi rotations until the
/// off-diagonal part vanishes to rounding.
std::vector<double> symmetricEigen(std::vector<double> a, int64_t n,
                                   std::vector<double> *vectors) {
  if (vectors) {
    vectors->assign(static_cast<size_t>(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i)
      (*vectors)[i * n + i] = 1.0;
  }
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diagonal = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        (i == j ? diagonal : off) += a[i * n + j] * a[i * n + j];
    if (off <= 1e-30 * std::max(diagonal, 1e-300))
      break;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        double apq = a[p * n + q];
        if (apq == 0.0)
          continue;
        double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) /
                   (std::abs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < n; ++k) { // columns p, q
          double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) { // rows p, q
          double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        if (vectors)
          for (int64_t k = 0; k < n; ++k) {
            double vkp = (*vectors)[k * n + p], vkq = (*vectors)[k * n + q];
            (*vectors)[k * n + p] = c * vkp - s * vkq;
            (*vectors)[k * n + q] = s * vkp + c * vkq;
          }
      }
  }
  std::vector<double> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    values[i] = a[i * n + i];
  return values;
}

/// Features [N, 128] of images [N, 1, 28, 28] from the cnn's `features`.
StatusOr<HostTensor> cnnFeatures(Artefact &cnn, const SafeTensorsFile &params,
                                 const std::string &paramsPath,
                                 const HostTensor &images,
                                 const std::string &what) {
  const EntrySpec *entry = cnn.findEntry("features");
  if (!entry || entry->results.size() != 1 ||
      entry->results[0].shape.size() != 2)
    return Status::error("the cnn artefact has no `features` entry "
                         "returning [B, D] (compile the zoo's cnn)");
  StatusOr<std::vector<HostTensor>> bound =
      bindState(*entry, params, "'" + paramsPath + "'");
  if (!bound.ok())
    return bound.status();
  std::vector<HostTensor> args = std::move(bound).value();
  HostTensor *x = inputNamed(*entry, args, "x");
  if (!x)
    return Status::error("the cnn's `features` takes no images x");
  const std::vector<int64_t> &want = x->shape();
  const std::vector<int64_t> &shape = images.shape();
  if (shape.size() != 4 || shape[0] < 2 ||
      !std::equal(want.begin() + 1, want.end(), shape.begin() + 1) ||
      (images.dtype() != DType::F32 && images.dtype() != DType::F64))
    return Status::error(what + " are " + images.describe() +
                         "; the cnn scores images [N, " +
                         std::to_string(want[1]) + ", " +
                         std::to_string(want[2]) + ", " +
                         std::to_string(want[3]) +
                         "] of f32 or f64, N at least 2");
  int64_t n = shape[0], batch = want[0], per = x->numElements() / batch;
  int64_t dim = entry->results[0].shape[1];
  HostTensor features = HostTensor::zeros(DType::F64, {n, dim}).value();
  std::vector<HostTensor> results = allocateResults(*entry).value();
  for (int64_t first = 0; first < n; first += batch) {
    int64_t rows = std::min(batch, n - first);
    for (int64_t i = 0; i < batch * per; ++i) {
      double v = 0;
      if (i < rows * per)
        v = images.dtype() == DType::F32
                ? double(images.data<float>()[first * per + i])
                : images.data<double>()[first * per + i];
      if (x->dtype() == DType::F32)
        x->data<float>()[i] = static_cast<float>(v);
      else
        x->data<double>()[i] = v;
    }
    if (Status s = cnn.run("features", args, results); !s.ok())
      return s;
    for (int64_t i = 0; i < rows * dim; ++i)
      features.data<double>()[first * dim + i] =
          results[0].dtype() == DType::F32
              ? double(results[0].data<float>()[i])
              : results[0].data<double>()[i];
  }
  return features;
}

/// `name` of a safetensors file, with errors naming the file.
StatusOr<HostTensor> imagesIn(const std::string &path) {
  StatusOr<SafeTensorsFile> file = readSafeTensors(path);
  if (!file.ok())
    return file.status();
  const HostTensor *images = file.value().find("images");
  if (!images)
    return Status::error("'" + path + "' has no tensor 'images'");
  return images->clone();
}

/// The images of a Fashion-MNIST split, the first `n` (all: n <= 0).
StatusOr<HostTensor> datasetImages(const std::string &dir, bool train,
                                   int64_t n) {
  StatusOr<Dataset> set = loadFashionMnist(dir, train);
  if (!set.ok())
    return set.status();
  const HostTensor &all = set.value().images;
  int64_t count = n > 0 ? std::min(n, all.shape()[0]) : all.shape()[0];
  HostTensor images = HostTensor::zeros(DType::F32, {count, 1, 28, 28}).value();
  std::copy(all.data<float>(), all.data<float>() + count * 784,
            images.data<float>());
  return images;
}

} // namespace

StatusOr<FeatureMoments> featureMoments(const HostTensor &features) {
  if (features.rank() != 2 || features.shape()[0] < 2 ||
      features.dtype() != DType::F64)
    return Status::error("moments need f64 features [N >= 2, D], got " +
                         features.describe());
  FeatureMoments m;
  m.count = features.shape()[0];
  m.dim = features.shape()[1];
  int64_t n = m.count, d = m.dim;
  const double *f = features.data<double>();
  m.mean.assign(static_cast<size_t>(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j)
      m.mean[j] += f[i * d + j];
  for (double &v : m.mean)
    v /= static_cast<double>(n);
  m.covariance.assign(static_cast<size_t>(d * d), 0.0);
  std::vector<double> centred(static_cast<size_t>(d));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j)
      centred[j] = f[i * d + j] - m.mean[j];
    for (int64_t j = 0; j < d; ++j)
      for (int64_t k = j; k < d; ++k)
        m.covariance[j * d + k] += centred[j] * centred[k];
  }
  for (int64_t j = 0; j < d; ++j)
    for (int64_t k = j; k < d; ++k) {
      double v = m.covariance[j * d + k] / static_cast<double>(n - 1);
      m.covariance[j * d + k] = m.covariance[k * d + j] = v;
    }
  return m;
}

double frechetDistance(const FeatureMoments &a, const FeatureMoments &b) {
  int64_t d = a.dim;
  double distance = 0;
  for (int64_t j = 0; j < d; ++j) {
    double diff = a.mean[j] - b.mean[j];
    distance += diff * diff + a.covariance[j * d + j] + b.covariance[j * d + j];
  }
  // Tr (C1 C2)^(1/2) = sum of the square roots of the eigenvalues of the
  // symmetric S C2 S, S = C1^(1/2) (the same spectrum as C1 C2).
  std::vector<double> vectors;
  std::vector<double> values = symmetricEigen(a.covariance, d, &vectors);
  std::vector<double> root(static_cast<size_t>(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < d; ++k)
        sum += vectors[i * d + k] * std::sqrt(std::max(values[k], 0.0)) *
               vectors[j * d + k];
      root[i * d + j] = sum;
    }
  std::vector<double> product(static_cast<size_t>(d * d), 0.0),
      sandwich(static_cast<size_t>(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t k = 0; k < d; ++k)
      for (int64_t j = 0; j < d; ++j)
        product[i * d + j] += root[i * d + k] * b.covariance[k * d + j];
  for (int64_t i = 0; i < d; ++i)
    for (int64_t k = 0; k < d; ++k)
      for (int64_t j = 0; j < d; ++j)
        sandwich[i * d + j] += product[i * d + k] * root[k * d + j];
  for (int64_t i = 0; i < d; ++i) // exactly symmetric
    for (int64_t j = i + 1; j < d; ++j)
      sandwich[i * d + j] = sandwich[j * d + i] =
          0.5 * (sandwich[i * d + j] + sandwich[j * d + i]);
  double trace = 0;
  for (double v : symmetricEigen(std::move(sandwich), d, nullptr))
    trace += std::sqrt(std::max(v, 0.0));
  return distance - 2 * trace;
}

Status frechet(const CompiledModel &model, const FrechetOptions &options) {
  if (options.cnn.empty() || options.cnnParams.empty())
    return Status::error("give the trained cnn: --cnn cnn.so (kilnc "
                         "--model=cnn --emit=so) and --cnn-params "
                         "cnn.safetensors");
  const SampleOptions &sampling = options.sampling;
  if (sampling.n < 2)
    return Status::error("--n must be at least 2, got " +
                         std::to_string(sampling.n));
  StatusOr<std::unique_ptr<Artefact>> cnn = Artefact::open(options.cnn);
  if (!cnn.ok())
    return cnn.status();
  StatusOr<SafeTensorsFile> cnnParams = readSafeTensors(options.cnnParams);
  if (!cnnParams.ok())
    return cnnParams.status();

  // The reference first: a wrong file fails before any sampling.
  StatusOr<HostTensor> reference =
      options.reference == "test"
          ? datasetImages(sampling.dataDir, false, 0)
          : imagesIn(options.reference);
  if (!reference.ok())
    return reference.status();
  std::string referenceName = options.reference == "test"
                                  ? "test images"
                                  : "images of '" + options.reference + "'";
  StatusOr<HostTensor> referenceFeatures =
      cnnFeatures(*cnn.value(), cnnParams.value(), options.cnnParams,
                  reference.value(), "the " + referenceName);
  if (!referenceFeatures.ok())
    return referenceFeatures.status();

  StatusOr<HostTensor> samples = Status::error("");
  std::string samplesName;
  if (options.samples == "model") {
    if (sampling.params.empty())
      return Status::error("give the model's state with --params (or score "
                           "--samples FILE, train or noise)");
    StatusOr<SafeTensorsFile> params = readSafeTensors(sampling.params);
    if (!params.ok())
      return params.status();
    samples = drawImages(model, params.value(), sampling);
    samplesName = "samples";
  } else if (options.samples == "train") {
    samples = datasetImages(sampling.dataDir, true, sampling.n);
    samplesName = "training images";
  } else if (options.samples == "noise") {
    HostTensor noise =
        HostTensor::zeros(DType::F32, {sampling.n, 1, 28, 28}).value();
    std::mt19937_64 rng(sampling.seed);
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    for (int64_t i = 0; i < noise.numElements(); ++i)
      noise.data<float>()[i] = uniform(rng);
    samples = std::move(noise);
    samplesName = "uniform noise images";
  } else {
    samples = imagesIn(options.samples);
    samplesName = "images of '" + options.samples + "'";
  }
  if (!samples.ok())
    return samples.status();
  StatusOr<HostTensor> sampleFeatures =
      cnnFeatures(*cnn.value(), cnnParams.value(), options.cnnParams,
                  samples.value(), "the " + samplesName);
  if (!sampleFeatures.ok())
    return sampleFeatures.status();
  StatusOr<FeatureMoments> a = featureMoments(sampleFeatures.value());
  StatusOr<FeatureMoments> b = featureMoments(referenceFeatures.value());
  if (!a.ok())
    return a.status();
  if (!b.ok())
    return b.status();
  std::printf("Frechet distance %.3f: %lld %s against %lld %s (cnn fc1 "
              "features, %lld dimensions)\n",
              frechetDistance(a.value(), b.value()), (long long)a.value().count,
              samplesName.c_str(), (long long)b.value().count,
              referenceName.c_str(),
              (long long)a.value().dim);
  return Status::success();
}

} // namespace kiln::rt
