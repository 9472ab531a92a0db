//===- NcclAverager.cpp - Gradients averaged on the GPU with NCCL ---------===//
//
// A GPU artefact's data-parallel grad step averages its results where they
// are: NCCL's all-reduce (ncclAvg) of the device buffers, queued on the
// artefact's stream after the step's kernels and before the copies back,
// so the host only ever sees averaged gradients. NCCL is loaded with
// dlopen, like the CUDA driver: nothing here needs NCCL's headers or
// library to build, and a CPU run never loads it. The few types and
// functions used are declared below as nccl.h (2.10 and later) has them.
//
// Every rank starts the same groups of all-reduces in the same order (the
// results of one entry point, in the manifest's order); the communicator's
// id goes from rank 0 to the others over MPI.
//
//===----------------------------------------------------------------------===//

#include "core/DynamicLibrary.h"
#include "train/GradientAverager.h"
#include "train/Support.h"

#include "kiln/runtime/Artefact.h"
#include "kiln/runtime/Cuda.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kiln::rt {
namespace {

using NcclResult = int;
using NcclComm = void *;
struct NcclUniqueId {
  char internal[128];
};
constexpr int kNcclFloat32 = 7, kNcclFloat64 = 8;
constexpr int kNcclAvg = 4;
constexpr int kNcclVersionWithAvg = 21000; // 2.10.0

/// The NCCL functions Kiln calls, resolved by name.
struct Nccl {
  void *library = nullptr;
  std::string path;
  NcclResult (*getVersion)(int *);
  NcclResult (*getUniqueId)(NcclUniqueId *);
  NcclResult (*commInitRank)(NcclComm *, int, NcclUniqueId, int);
  NcclResult (*commAbort)(NcclComm);
  NcclResult (*allReduce)(const void *, void *, size_t, int, int, NcclComm,
                          void *);
  NcclResult (*groupStart)();
  NcclResult (*groupEnd)();
  const char *(*getErrorString)(NcclResult);
};

/// NCCL, loaded; or why it cannot be.
StatusOr<Nccl> loadNccl() {
  const char *override = std::getenv("KILN_NCCL");
  Nccl n;
  n.path = override && *override ? override : "libnccl.so.2";
  n.library = dlopen(n.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!n.library) {
    const char *why = dlerror();
    return Status::error("data-parallel training on GPUs needs NCCL: cannot "
                         "load '" + n.path + "': " +
                         (why ? why : "unknown error") +
                         " (install NCCL, or name it with KILN_NCCL)");
  }
#define KILN_NCCL_SYMBOLS(X)                                                   \
  X(getVersion, "ncclGetVersion")                                              \
  X(getUniqueId, "ncclGetUniqueId")                                            \
  X(commInitRank, "ncclCommInitRank")                                          \
  X(commAbort, "ncclCommAbort")                                                \
  X(allReduce, "ncclAllReduce")                                                \
  X(groupStart, "ncclGroupStart")                                              \
  X(groupEnd, "ncclGroupEnd")                                                  \
  X(getErrorString, "ncclGetErrorString")
#define KILN_RESOLVE(field, symbol)                                            \
  if (!resolve(n.library, symbol, n.field)) {                                  \
    dlclose(n.library);                                                        \
    return Status::error("'" + n.path + "' is not NCCL: it has no " +          \
                         symbol);                                              \
  }
  KILN_NCCL_SYMBOLS(KILN_RESOLVE)
#undef KILN_RESOLVE
#undef KILN_NCCL_SYMBOLS
  int version = 0;
  if (n.getVersion(&version) != 0 || version < kNcclVersionWithAvg) {
    dlclose(n.library);
    // Codes were X*1000 + Y*100 + Z up to 2.8, X*10000 + Y*100 + Z since.
    bool old = version < 10000;
    return Status::error("'" + n.path + "' is NCCL " +
                         std::to_string(version / (old ? 1000 : 10000)) +
                         "." +
                         std::to_string(old ? version / 100 % 10
                                            : version / 100 % 100) +
                         "; Kiln needs 2.10 or later (ncclAvg)");
  }
  return n;
}

std::string describe(const Nccl &nccl, const char *call, NcclResult r) {
  const char *text = nccl.getErrorString ? nccl.getErrorString(r) : nullptr;
  return std::string(call) + " failed: " +
         (text ? text : "NCCL error " + std::to_string(r));
}

class NcclGradientAverager : public GradientAverager {
public:
  NcclGradientAverager(Artefact &artefact, std::string entry,
                       int64_t bucketBytes, Nccl nccl)
      : artefact_(artefact), entry_(std::move(entry)),
        bucketBytes_(bucketBytes), nccl_(nccl) {}
  NcclGradientAverager(const NcclGradientAverager &) = delete;
  NcclGradientAverager &operator=(const NcclGradientAverager &) = delete;

  /// Frees the communicator without waiting for the other ranks
  /// (ncclCommAbort): after a failure on this rank they may never come, and
  /// the trainer must reach MPI_Abort to stop them. After a failed step the
  /// stream is not waited for either (an all-reduce there may wait for a
  /// rank that never joins).
  ~NcclGradientAverager() override {
    (void)artefact_.setDeviceResultsHook(entry_, nullptr);
    if (!comm_)
      return;
    const KilnCudaApi *api = artefact_.cudaApi();
    char error[256];
    if (!failed_)
      api->finish(error, sizeof(error));
    nccl_.commAbort(comm_);
  }

  /// Sets up the communicator: rank 0's id to every rank, then
  /// ncclCommInitRank on each (with the GPU's context current).
  Status connect(Communicator &comm) {
    // The id, or rank 0's failure to make it (the others wait for it).
    struct {
      NcclResult made;
      NcclUniqueId id;
    } shared{};
    if (comm.rank() == 0)
      shared.made = nccl_.getUniqueId(&shared.id);
    if (Status s = comm.broadcast(&shared, sizeof(shared), 0); !s.ok())
      return s;
    if (shared.made)
      return Status::error(
          (comm.rank() == 0 ? "" : "on rank 0, ") +
          describe(nccl_, "ncclGetUniqueId", shared.made));
    struct Init {
      NcclGradientAverager *self;
      NcclUniqueId id;
      int ranks, rank;
    } init{this, shared.id, comm.size(), comm.rank()};
    const KilnCudaApi *api = artefact_.cudaApi();
    api->submit(
        [](void *, void *user, char *error, size_t capacity) {
          auto *in = static_cast<Init *>(user);
          Nccl &n = in->self->nccl_;
          if (NcclResult r = n.commInitRank(&in->self->comm_, in->ranks,
                                            in->id, in->rank)) {
            in->self->comm_ = nullptr;
            std::snprintf(error, capacity, "%s",
                          describe(n, "ncclCommInitRank", r).c_str());
            return 1;
          }
          return 0;
        },
        &init);
    char error[1024];
    if (api->finish(error, sizeof(error)))
      return Status::error(error);
    return artefact_.setDeviceResultsHook(
        entry_, [this](void *stream, const std::vector<void *> &results) {
          return average(stream, results);
        });
  }

  Status beforeStep(std::vector<HostTensor> &results) override {
    floats_.clear();
    for (size_t i = 0; i < results.size(); ++i)
      if (results[i].dtype() == DType::F32 || results[i].dtype() == DType::F64)
        floats_.push_back({i, results[i].numElements(), results[i].dtype(),
                           static_cast<int64_t>(results[i].sizeInBytes())});
    return Status::success();
  }

  Status afterStep(Status ran) override {
    failed_ = failed_ || !ran.ok();
    return ran;
  }

  double exposedSeconds() const override { return 0; }
  double hookSeconds() const override { return hooked_; }
  size_t buckets() const override { return groups_; }

private:
  struct Float {
    size_t index;
    int64_t count;
    DType dtype;
    int64_t bytes;
  };

  /// Queues the average of every float result on `stream`: groups of at
  /// least bucketBytes_, each one NCCL group of in-place all-reduces.
  Status average(void *stream, const std::vector<void *> &results) {
    auto start = std::chrono::steady_clock::now();
    size_t groups = 0;
    for (size_t f = 0; f < floats_.size();) {
      if (NcclResult r = nccl_.groupStart())
        return Status::error(describe(nccl_, "ncclGroupStart", r));
      int64_t bytes = 0;
      for (; f < floats_.size() && (bucketBytes_ <= 0 || bytes < bucketBytes_);
           ++f) {
        const Float &t = floats_[f];
        void *data = results.at(t.index);
        if (NcclResult r = nccl_.allReduce(
                data, data, static_cast<size_t>(t.count),
                t.dtype == DType::F64 ? kNcclFloat64 : kNcclFloat32, kNcclAvg,
                comm_, stream)) {
          nccl_.groupEnd();
          return Status::error(describe(nccl_, "ncclAllReduce", r));
        }
        bytes += t.bytes;
      }
      if (NcclResult r = nccl_.groupEnd())
        return Status::error(describe(nccl_, "ncclGroupEnd", r));
      ++groups;
    }
    groups_ = groups;
    hooked_ += since(start);
    return Status::success();
  }

  Artefact &artefact_;
  std::string entry_;
  int64_t bucketBytes_;
  Nccl nccl_;
  NcclComm comm_ = nullptr;
  bool failed_ = false;
  std::vector<Float> floats_;
  size_t groups_ = 0;
  double hooked_ = 0;
};

} // namespace

StatusOr<std::unique_ptr<GradientAverager>>
ncclGradientAverager(Communicator &comm, Artefact &artefact,
                     const std::string &entry, int64_t bucketBytes) {
  if (!artefact.cudaApi())
    return Status::error("NCCL averages a GPU artefact's results; this one "
                         "was compiled for the CPU");
  if (Status s = artefact.initializeGpu(); !s.ok())
    return s;
  // Every rank loads NCCL before any waits in ncclCommInitRank for the
  // others: one that cannot makes all stop.
  StatusOr<Nccl> nccl = loadNccl();
  StatusOr<std::vector<uint64_t>> loaded = comm.allGather(nccl.ok() ? 1 : 0);
  if (!loaded.ok())
    return loaded.status();
  if (!nccl.ok())
    return nccl.status();
  for (size_t r = 0; r < loaded.value().size(); ++r)
    if (!loaded.value()[r])
      return Status::error("rank " + std::to_string(r) +
                           " cannot load NCCL (its own error says why)");
  // NCCL wants a GPU of its own for each rank: two ranks of one machine on
  // one GPU (more ranks than GPUs) is an error named here, not in NCCL.
  // GPUs are told apart by machine and PCI bus (ordinals differ between
  // processes that CUDA_VISIBLE_DEVICES gives different GPUs).
  char host[256] = "", bus[64] = "";
  gethostname(host, sizeof(host) - 1);
  if (artefact.cudaApi()->deviceBusId(bus, sizeof(bus)))
    return Status::error("cannot read the PCI bus id of this rank's GPU");
  std::string where = std::string(host) + " " + bus;
  uint64_t gpu = fnv(where.data(), where.size());
  StatusOr<std::vector<uint64_t>> gpus = comm.allGather(gpu);
  if (!gpus.ok())
    return gpus.status();
  for (int r = 0; r < comm.size(); ++r)
    if (r != comm.rank() && gpus.value()[r] == gpu)
      return Status::error(
          "ranks " + std::to_string(std::min(r, comm.rank())) + " and " +
          std::to_string(std::max(r, comm.rank())) +
          " share the GPU at PCI bus " + bus + " of " + host +
          ": NCCL needs a GPU for each rank (start at most as many ranks per "
          "machine as it has GPUs; KILN_CUDA_DEVICE chooses one)");
  auto averager = std::make_unique<NcclGradientAverager>(
      artefact, entry, bucketBytes, nccl.value());
  if (Status s = averager->connect(comm); !s.ok())
    return s;
  return std::unique_ptr<GradientAverager>(std::move(averager));
}

} // namespace kiln::rt
