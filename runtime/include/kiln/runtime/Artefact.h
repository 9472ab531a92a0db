//===- Artefact.h - Compiled models: manifest and loading -----------------===//
//
// A compiled artefact (shared library, executable, or JIT module) exports:
//   const char *kiln_manifest(void);       JSON: entry points, names, shapes
//   int64_t kiln_num_entries(void);
//   const KilnEntryRecord *kiln_entry_table(void);
// Each record names an entry point and its packed function, which takes an
// array of pointers: one per argument, then one per result.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_ARTEFACT_H
#define KILN_RUNTIME_ARTEFACT_H

#include "kiln/runtime/Manifest.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

extern "C" {
struct KilnCudaApi;
struct KilnEntryRecord {
  const char *name;
  void (*packed)(void **arguments);
};
}

namespace kiln::rt {

/// The manifest as JSON: {"version": 1, "model": NAME, "entries": [{"name":
/// E, "arguments": [{"name", "kind", "dtype", "shape"}...], "results":
/// [{"name", "dtype", "shape"}...]}...]}.
std::string manifestToJson(const std::string &model,
                           const std::vector<EntrySpec> &entries);
/// Parses a manifest, with errors that say what is malformed.
StatusOr<std::vector<EntrySpec>> parseManifest(const std::string &json);

/// A loaded artefact whose entry points can be called.
class Artefact {
public:
  /// Loads a shared library produced by `kilnc --emit=so`.
  static StatusOr<std::unique_ptr<Artefact>> open(const std::string &path);
  /// The artefact linked into this program (`kilnc --emit=exe`), from its
  /// three ABI functions, and the CUDA runtime linked with it if it was
  /// compiled for the GPU (else null).
  static StatusOr<std::unique_ptr<Artefact>>
  linked(const char *(*manifest)(), int64_t (*numEntries)(),
         const KilnEntryRecord *(*entryTable)(),
         const KilnCudaApi *(*cudaApi)() = nullptr);
  ~Artefact();

  const std::vector<EntrySpec> &entries() const { return entries_; }
  const EntrySpec *findEntry(const std::string &name) const;

  /// Runs `entry` on arguments and results whose dtypes and shapes match
  /// its manifest (see bindArguments and allocateResults).
  /// Sets the threads the artefact computes with. A shared library carries
  /// its own copy of the runtime, whose thread pool kiln_set_num_threads in
  /// this process does not reach: this sets both.
  void setNumThreads(int64_t n);

  Status run(const std::string &entry, std::vector<HostTensor> &arguments,
             std::vector<HostTensor> &results);

  /// Whether the entry points run on an NVIDIA GPU (kilnc --target=cuda):
  /// run then copies the host tensors to the GPU and the results back.
  bool onGpu() const { return cuda_ != nullptr; }
  /// Loads the CUDA driver and sets up the GPU of a GPU artefact: "no CUDA
  /// device: ..." without one.
  Status initializeGpu();
  /// The GPU artefact's CUDA runtime (null for a CPU artefact).
  const KilnCudaApi *cudaApi() const { return cuda_; }
  /// Whether the artefact (`what` names it in the error) runs on `device`
  /// ("cpu" or "cuda"): an error that says which device it was compiled
  /// for and how to run it, or that `device` is none.
  Status checkDevice(const std::string &device, const std::string &what) const;

  /// Work on an entry point's results while they are on the GPU: given the
  /// artefact's stream (a CUstream) and the results' device buffers, in
  /// the manifest's order, it queues work on that stream, which runs after
  /// the entry's kernels and before the copies back (NCCL's all-reduce of
  /// the gradients). Its error fails the run. It runs under the CUDA
  /// runtime's lock (KilnCudaApi::submit), so it must not call the runtime,
  /// and not at all when the run failed before it.
  using DeviceResultsHook = std::function<Status(
      void *stream, const std::vector<void *> &deviceResults)>;
  /// Called by every run of `entry` on the GPU until cleared (an empty
  /// hook); an error if the artefact has no such entry point.
  Status setDeviceResultsHook(const std::string &entry,
                              DeviceResultsHook hook);

  /// Keeps `tensors` on the GPU between runs (a training run's parameters
  /// and optimizer state): a run given one of them, as an argument or as
  /// the argument a result updates, uses its device copy, with no copy to
  /// or from the host. The host data is stale until copyResidentToHost.
  /// Each tensor's buffer must stay where it is (a HostTensor moved keeps
  /// it) until releaseResident. Nothing for a CPU artefact. GpuResidency
  /// does all three for a scope.
  Status keepOnGpu(const std::vector<HostTensor *> &tensors);
  /// Copies the device data of those of `tensors` kept on the GPU to their
  /// host buffers.
  Status copyResidentToHost(const std::vector<HostTensor *> &tensors);
  /// Frees the device copies of `tensors`, without copying them back.
  void releaseResident(const std::vector<HostTensor *> &tensors);

private:
  Artefact() = default;
  static StatusOr<std::unique_ptr<Artefact>>
  fromFunctions(const char *(*manifest)(), int64_t (*numEntries)(),
                const KilnEntryRecord *(*entryTable)(),
                const std::string &where);

  /// Takes `api` as the CUDA runtime of the artefact (`where`, for the
  /// error if its version is not this runtime's).
  Status useCudaApi(const KilnCudaApi *api, const std::string &where);
  Status runOnGpu(size_t index, const std::vector<void *> &pointers,
                  const std::vector<HostTensor> &arguments,
                  const std::vector<HostTensor> &results);
  /// Runs entry `index` on the device, as a CUDA graph where `graphs`:
  /// recorded at its second call, replayed while its buffers are the same.
  void runEntryOnGpu(size_t index, std::vector<void *> &devicePointers,
                     bool graphs);

  void *handle_ = nullptr;
  /// The GPU artefact's CUDA runtime (null for the CPU's).
  const KilnCudaApi *cuda_ = nullptr;
  bool gpuReady_ = false;
  std::vector<EntrySpec> entries_;
  std::vector<DeviceResultsHook> deviceResultsHooks_; // per entry
  /// keepOnGpu's tensors: host buffer -> its device copy.
  struct DeviceCopy {
    void *data = nullptr;
    size_t bytes = 0;
  };
  std::map<void *, DeviceCopy> resident_;
  /// A GPU entry point's CUDA graph and the device buffers of its
  /// arguments and results not kept on the GPU, which keep their addresses
  /// from call to call (the graph's launches hold them).
  struct EntryGraph {
    std::vector<DeviceCopy> buffers;
    /// Which of `buffers` each argument and result is (-1: kept on the GPU).
    std::vector<int64_t> bufferOf;
    /// The recorded graph and the device pointers it was recorded with.
    void *graph = nullptr;
    std::vector<void *> devicePointers;
    int64_t calls = 0;
    /// The capture failed: launch by launch.
    bool disabled = false;
  };
  std::vector<EntryGraph> graphs_; // per entry (GPU artefacts)
  void releaseGraph(EntryGraph &graph);
  std::vector<void (*)(void **)> functions_;
};

/// Tensors a GPU artefact keeps on the GPU while this lives (a training
/// run's state across its steps, an evaluation's parameters across its
/// batches); nothing for a CPU artefact or a null one.
class GpuResidency {
public:
  GpuResidency() = default;
  GpuResidency(const GpuResidency &) = delete;
  GpuResidency &operator=(const GpuResidency &) = delete;
  ~GpuResidency() { release(); }

  Status keep(Artefact *artefact, std::vector<HostTensor *> tensors);
  /// Their host buffers up to date (before they are read or written out).
  Status copyToHost() const;
  void release();

private:
  Artefact *artefact_ = nullptr;
  std::vector<HostTensor *> tensors_;
};

/// Whether `device` names a device artefacts run on ("cpu", "cuda").
Status knownDevice(const std::string &device);

/// Checks `arguments` and `results` against `entry` and collects their data
/// pointers in the packed calling convention. A result that updates an
/// argument (ResultSpec::updates) and is given as a default-constructed
/// HostTensor (no buffer) gets the argument's buffer: the entry updates the
/// argument in place and the result stays empty.
StatusOr<std::vector<void *>> packPointers(const EntrySpec &entry,
                                           std::vector<HostTensor> &arguments,
                                           std::vector<HostTensor> &results);

} // namespace kiln::rt

#endif // KILN_RUNTIME_ARTEFACT_H
