//===- ArtefactGpu.cpp - Running a GPU artefact's entry points ------------===//
//
// The GPU side of Artefact: the CUDA runtime set up, an entry point run with
// its tensors on the device (copies at the edges, the training state kept
// there between calls), and the hooks that run on the artefact's stream.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime/Artefact.h"
#include "kiln/runtime/Cuda.h"
#include "kiln/runtime/Numerics.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

namespace kiln::rt {

Status Artefact::initializeGpu() {
  if (!cuda_)
    return Status::error("the artefact was compiled for the CPU; compile it "
                         "with kilnc --target=cuda to run it on a GPU");
  if (gpuReady_)
    return Status::success();
  char error[1024];
  if (cuda_->initialize(error, sizeof(error)))
    return Status::error(error);
  gpuReady_ = true;
  return Status::success();
}

Status Artefact::setDeviceResultsHook(const std::string &entry,
                                      DeviceResultsHook hook) {
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].name == entry) {
      deviceResultsHooks_.resize(entries_.size());
      deviceResultsHooks_[i] = std::move(hook);
      return Status::success();
    }
  return Status::error("no entry point named '" + entry + "'");
}

namespace {

/// A DeviceResultsHook run through KilnCudaApi::submit.
struct HookCall {
  const Artefact::DeviceResultsHook *hook;
  const std::vector<void *> *results;
};

int runHook(void *stream, void *user, char *error, size_t capacity) {
  auto *call = static_cast<HookCall *>(user);
  Status s = (*call->hook)(stream, *call->results);
  if (s.ok())
    return 0;
  std::snprintf(error, capacity, "%s", s.message().c_str());
  return 1;
}

/// Whether GPU entry points are recorded as CUDA graphs and replayed
/// ($KILN_CUDA_GRAPHS=0: never).
bool graphsAllowed() {
  const char *setting = std::getenv("KILN_CUDA_GRAPHS");
  return !setting || std::strcmp(setting, "0") != 0;
}

} // namespace

void Artefact::releaseGraph(EntryGraph &graph) {
  if (graph.graph)
    cuda_->destroyGraph(graph.graph);
  for (const DeviceCopy &buffer : graph.buffers)
    cuda_->release(buffer.data);
  // An entry whose capture failed stays launch by launch.
  bool disabled = graph.disabled;
  graph = EntryGraph{};
  graph.disabled = disabled;
}

Status Artefact::runOnGpu(size_t index, const std::vector<void *> &pointers,
                          const std::vector<HostTensor> &arguments,
                          const std::vector<HostTensor> &results) {
  if (Status s = initializeGpu(); !s.ok())
    return s;
  const std::string &name = entries_[index].name;
  cuda_->beginEntry(name.c_str());
  // The call's host buffers that are not kept on the GPU, each once: a
  // result that updates its argument in place (the same host pointer, no
  // buffer of its own) is the same device buffer, of the argument's size.
  std::vector<void *> devicePointers(pointers.size());
  std::vector<DeviceCopy> buffers;
  std::vector<void *> bufferHosts;
  std::vector<bool> bufferIsArgument;
  std::vector<int64_t> bufferOf(pointers.size(), -1); // -1: kept on the GPU
  for (size_t i = 0; i < pointers.size(); ++i) {
    bool argument = i < arguments.size();
    const HostTensor &tensor =
        argument ? arguments[i] : results[i - arguments.size()];
    auto kept = resident_.find(pointers[i]);
    if (kept != resident_.end() && kept->second.bytes == tensor.sizeInBytes()) {
      devicePointers[i] = kept->second.data;
      continue;
    }
    auto seen = std::find(bufferHosts.begin(), bufferHosts.end(), pointers[i]);
    bufferOf[i] = seen - bufferHosts.begin();
    if (seen == bufferHosts.end()) {
      bufferHosts.push_back(pointers[i]);
      buffers.push_back({nullptr, tensor.sizeInBytes()});
      bufferIsArgument.push_back(argument);
    }
  }
  // With graphs, the call's buffers are the entry's own, kept from call to
  // call (a graph's launches hold their addresses); reallocated when the
  // entry is called with other sizes, or other tensors in place.
  EntryGraph &graph = graphs_[index];
  bool graphs = graphsAllowed() && !graph.disabled;
  bool allocated = true;
  auto allocateBuffers = [&] {
    for (DeviceCopy &buffer : buffers) {
      buffer.data = cuda_->allocate(buffer.bytes);
      allocated = allocated && (buffer.data || buffer.bytes == 0);
    }
  };
  if (!graphs) {
    allocateBuffers();
  } else if (graph.bufferOf != bufferOf ||
             !std::equal(buffers.begin(), buffers.end(), graph.buffers.begin(),
                         graph.buffers.end(),
                         [](const DeviceCopy &a, const DeviceCopy &b) {
                           return a.bytes == b.bytes;
                         })) {
    releaseGraph(graph);
    allocateBuffers();
    graph.bufferOf = bufferOf;
    graph.buffers = buffers;
  } else {
    buffers = graph.buffers;
  }
  char error[1024];
  // Out of memory (or any failure so far): free what was had, run nothing.
  if (!allocated) {
    if (graphs)
      releaseGraph(graph);
    else
      for (const DeviceCopy &buffer : buffers)
        cuda_->release(buffer.data);
    cuda_->finish(error, sizeof(error));
    return Status::error(std::string("on the GPU: ") + error);
  }
  for (size_t b = 0; b < buffers.size(); ++b)
    if (bufferIsArgument[b])
      cuda_->copyToDevice(buffers[b].data, bufferHosts[b], buffers[b].bytes);
  for (size_t i = 0; i < pointers.size(); ++i)
    if (bufferOf[i] >= 0)
      devicePointers[i] = buffers[bufferOf[i]].data;

  runEntryOnGpu(index, devicePointers, graphs);
  if (index < deviceResultsHooks_.size() && deviceResultsHooks_[index]) {
    std::vector<void *> deviceResults(devicePointers.begin() + arguments.size(),
                                      devicePointers.end());
    HookCall call{&deviceResultsHooks_[index], &deviceResults};
    cuda_->submit(&runHook, &call);
  }
  // Every result's buffer back, once each (updated arguments included).
  std::vector<bool> copiedBack(buffers.size(), false);
  for (size_t i = arguments.size(); i < pointers.size(); ++i) {
    int64_t b = bufferOf[i];
    if (b < 0 || copiedBack[b])
      continue;
    cuda_->copyToHost(pointers[i], buffers[b].data, buffers[b].bytes);
    copiedBack[b] = true;
  }
  if (!graphs)
    for (const DeviceCopy &buffer : buffers)
      cuda_->release(buffer.data);
  if (cuda_->finish(error, sizeof(error)))
    return Status::error(std::string("on the GPU: ") + error);
  return Status::success();
}

void Artefact::runEntryOnGpu(size_t index, std::vector<void *> &devicePointers,
                             bool graphs) {
  EntryGraph &graph = graphs_[index];
  // The first call runs launch by launch (it loads the kernels and plans
  // cuBLASLt's products, which a capture must not do); so do calls whose
  // kernels report to --check-numerics or --profile.
  bool replay = graphs && graph.calls++ > 0 && reportsWanted() == 0;
  if (replay && graph.graph && graph.devicePointers == devicePointers) {
    cuda_->launchGraph(graph.graph);
    return;
  }
  if (replay && cuda_->captureBegin() == 0) {
    functions_[index](devicePointers.data());
    if (void *recorded = cuda_->captureEnd()) {
      if (graph.graph)
        cuda_->destroyGraph(graph.graph);
      graph.graph = recorded;
      graph.devicePointers = devicePointers;
      cuda_->launchGraph(recorded);
      return;
    }
    // The capture failed, and nothing it recorded ran: the entry runs
    // launch by launch from now on.
    char error[1024];
    cuda_->finish(error, sizeof(error));
    graph.disabled = true;
    cuda_->beginEntry(entries_[index].name.c_str());
  } else if (replay) {
    graph.disabled = true; // no graphs in this driver
  }
  functions_[index](devicePointers.data());
}

Status Artefact::keepOnGpu(const std::vector<HostTensor *> &tensors) {
  if (!cuda_)
    return Status::success();
  if (Status s = initializeGpu(); !s.ok())
    return s;
  cuda_->beginEntry("(the state kept on the GPU)");
  std::vector<HostTensor *> kept;
  bool allocated = true;
  for (HostTensor *tensor : tensors) {
    void *host = tensor->data();
    size_t bytes = tensor->sizeInBytes();
    if (bytes == 0 || resident_.count(host))
      continue;
    DeviceCopy copy{cuda_->allocate(bytes), bytes};
    if (!copy.data) {
      allocated = false;
      break;
    }
    resident_[host] = copy;
    kept.push_back(tensor);
    cuda_->copyToDevice(copy.data, host, bytes);
  }
  char error[1024];
  if (cuda_->finish(error, sizeof(error)) || !allocated) {
    releaseResident(kept);
    return Status::error(std::string("keeping the training state on the "
                                     "GPU: ") +
                         (allocated ? error : "out of device memory"));
  }
  return Status::success();
}

Status Artefact::copyResidentToHost(const std::vector<HostTensor *> &tensors) {
  if (!cuda_ || resident_.empty())
    return Status::success();
  cuda_->beginEntry("(the state kept on the GPU)");
  for (HostTensor *tensor : tensors) {
    auto kept = resident_.find(tensor->data());
    if (kept != resident_.end())
      cuda_->copyToHost(kept->first, kept->second.data, kept->second.bytes);
  }
  char error[1024];
  if (cuda_->finish(error, sizeof(error)))
    return Status::error(std::string("copying the training state from the "
                                     "GPU: ") +
                         error);
  return Status::success();
}

void Artefact::releaseResident(const std::vector<HostTensor *> &tensors) {
  if (!cuda_ || resident_.empty())
    return;
  for (HostTensor *tensor : tensors) {
    auto kept = resident_.find(tensor->data());
    if (kept == resident_.end())
      continue;
    cuda_->release(kept->second.data);
    resident_.erase(kept);
  }
  char error[1024];
  cuda_->finish(error, sizeof(error));
}

Status GpuResidency::keep(Artefact *artefact,
                          std::vector<HostTensor *> tensors) {
  release();
  if (!artefact || !artefact->onGpu())
    return Status::success();
  if (Status s = artefact->keepOnGpu(tensors); !s.ok())
    return s;
  artefact_ = artefact;
  tensors_ = std::move(tensors);
  return Status::success();
}

Status GpuResidency::copyToHost() const {
  return artefact_ ? artefact_->copyResidentToHost(tensors_)
                   : Status::success();
}

void GpuResidency::release() {
  if (artefact_)
    artefact_->releaseResident(tensors_);
  artefact_ = nullptr;
  tensors_.clear();
}

} // namespace kiln::rt
