//===- NcclAverageTest.cpp - GPU gradients averaged with NCCL, checked ----===//
//
// Run by lit under `mpirun -np N` with the fake CUDA driver (device memory
// is host memory) and the fake NCCL (all-reduce over MPI): a GPU "artefact"
// whose grad entry writes rank- and step-dependent values into its results'
// device buffers; after each step every float result must hold the average
// over the ranks, the integer one this rank's own value.
//
//   kiln-nccl-average-test BUCKET_BYTES
//
// Prints "rank R: ..." lines; exits 1 with the error on failure.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Artefact.h"
#include "kiln/runtime/Cuda.h"
#include "kiln/runtime/Manifest.h"
#include "main/Mpi.h"
#include "train/GradientAverager.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace kiln::rt;

namespace {

int gRank = 0, gStep = 0;

/// The value a rank's grad writes at element `i` of result `result`.
double valueAt(int rank, int step, int result, int64_t i) {
  return (rank + 1) * 0.25 + (i % 1000) * 0.5 + step + result;
}

constexpr int64_t kSizes[] = {1, 1000, 10, 300000, 3};
constexpr DType kTypes[] = {DType::F32, DType::F32, DType::F64, DType::F32,
                            DType::I64};

const char *manifest() {
  return R"({"version": 1, "model": "averaged", "entries": [{"name": "grad",
    "arguments": [{"name": "x", "kind": "input", "dtype": "f32",
                   "shape": [4]}],
    "results": [{"name": "loss", "dtype": "f32", "shape": []},
                {"name": "grad.w", "dtype": "f32", "shape": [1000]},
                {"name": "grad.v", "dtype": "f64", "shape": [10]},
                {"name": "grad.big", "dtype": "f32", "shape": [300000]},
                {"name": "count", "dtype": "i64", "shape": [3]}]}]})";
}

int64_t numEntries() { return 1; }

/// The entry point: with the fake driver its device pointers are host
/// memory it can write.
void grad(void **pointers) {
  for (int r = 0; r < 5; ++r) {
    void *out = pointers[1 + r];
    for (int64_t i = 0; i < kSizes[r]; ++i) {
      double v = valueAt(gRank, gStep, r, i);
      if (kTypes[r] == DType::F32)
        static_cast<float *>(out)[i] = static_cast<float>(v);
      else if (kTypes[r] == DType::F64)
        static_cast<double *>(out)[i] = v;
      else
        static_cast<int64_t *>(out)[i] = gRank * 100 + i;
    }
  }
}

const KilnEntryRecord *table() {
  static const KilnEntryRecord records[] = {{"grad", &grad}};
  return records;
}

int fail(int rank, const std::string &message) {
  std::printf("rank %d: error: %s\n", rank, message.c_str());
  std::fflush(stdout);
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  int64_t bucketBytes = argc > 1 ? std::atoll(argv[1]) : 0;
  // The entry writes its results from the host, not through the stream: a
  // CUDA graph would record none of it.
  setenv("KILN_CUDA_GRAPHS", "0", 1);
  StatusOr<std::unique_ptr<Communicator>> comm = mpiCommunicator();
  if (!comm.ok())
    return fail(-1, comm.status().message());
  Communicator &ranks = *comm.value();
  gRank = ranks.rank();
  auto artefact =
      Artefact::linked(&manifest, &numEntries, &table, &kiln_cuda_api);
  if (!artefact.ok())
    return fail(gRank, artefact.status().message());
  Artefact &a = *artefact.value();
  if (Status s = a.initializeGpu(); !s.ok())
    return fail(gRank, s.message());
  std::printf("rank %d: GPU %d\n", gRank, a.cudaApi()->deviceOrdinal());
  StatusOr<std::unique_ptr<GradientAverager>> averager =
      ncclGradientAverager(ranks, a, "grad", bucketBytes);
  if (!averager.ok())
    return fail(gRank, averager.status().message());
  std::vector<HostTensor> arguments;
  arguments.push_back(HostTensor::zeros(DType::F32, {4}).value());
  std::vector<HostTensor> results =
      allocateResults(*a.findEntry("grad")).value();
  for (gStep = 0; gStep < 3; ++gStep) {
    GradientAverager &av = *averager.value();
    Status s = av.beforeStep(results);
    if (s.ok())
      s = a.run("grad", arguments, results);
    s = av.afterStep(s);
    if (!s.ok())
      return fail(gRank, s.message());
    for (int r = 0; r < 5; ++r)
      for (int64_t i = 0; i < kSizes[r]; ++i) {
        double expected = 0, got;
        for (int k = 0; k < ranks.size(); ++k)
          expected += valueAt(k, gStep, r, i) / ranks.size();
        if (kTypes[r] == DType::F32)
          got = results[r].data<float>()[i];
        else if (kTypes[r] == DType::F64)
          got = results[r].data<double>()[i];
        else
          got = static_cast<double>(results[r].data<int64_t>()[i]),
          expected = gRank * 100 + i;
        if (std::fabs(got - expected) > 1e-6 * std::fabs(expected))
          return fail(gRank, "step " + std::to_string(gStep) + ": result " +
                                 std::to_string(r) + "[" + std::to_string(i) +
                                 "] is " + std::to_string(got) + ", not " +
                                 std::to_string(expected));
      }
  }
  size_t groups = averager.value()->buckets();
  std::printf("rank %d: 3 steps averaged over %d ranks, %zu group%s of "
              "all-reduces per step\n",
              gRank, ranks.size(), groups, groups == 1 ? "" : "s");
  return 0;
}
