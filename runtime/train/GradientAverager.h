//===- GradientAverager.h - Gradients averaged across ranks, overlapped ---===//
//
// Data-parallel training averages each step's gradients across the ranks.
// On the CPU (MPI), done after the backward pass, the all-reduce waits for
// the last gradient and the backward pass waits for it; as PyTorch's DDP
// does, the averager instead sums gradients in buckets while the backward
// pass goes on: the compiled code reports every kernel's output (the
// reports --check-numerics and --profile use), and a bucket's sum begins at
// the report after which none of its gradients is written again. Which
// report that is, the first step finds out (it averages after the backward
// pass); the kernels run in the same order at every step, on every rank, so
// every rank begins the same sums in the same order. On the GPU (NCCL): the
// device buffers are averaged on the artefact's stream after the step's
// kernels.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TRAIN_GRADIENTAVERAGER_H
#define KILN_RUNTIME_TRAIN_GRADIENTAVERAGER_H

#include "kiln/runtime/Communicator.h"
#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kiln::rt {

class Artefact;

/// Averages the float results of a data-parallel grad step across the
/// ranks (the gradients, the loss, batch norm's running statistics).
class GradientAverager {
public:
  virtual ~GradientAverager() = default;
  /// Before the entry that computes `results` runs (their buffers must be
  /// the same at every step).
  virtual Status beforeStep(std::vector<HostTensor> &results) = 0;
  /// After it returned with `ran`: the results averaged (if it succeeded).
  /// A failed `ran` is returned as it is.
  virtual Status afterStep(Status ran) = 0;

  /// Seconds spent in afterStep (the communication the backward pass did
  /// not hide) and in hooks during the step.
  virtual double exposedSeconds() const = 0;
  virtual double hookSeconds() const = 0;
  /// The buckets the results are summed in (0 before the first step).
  virtual size_t buckets() const = 0;
};

/// On the host, over `comm` (MPI), in buckets of at least `bucketBytes`
/// begun while the step runs (0: one sum after it).
std::unique_ptr<GradientAverager> hostGradientAverager(Communicator &comm,
                                                       int64_t bucketBytes);

/// On the GPU, for a GPU artefact's `entry`: NCCL's all-reduce (average)
/// of the results' device buffers on the artefact's stream, after the
/// entry's kernels and before the copies back, in groups of at least
/// `bucketBytes` (0: one group). NCCL is loaded with dlopen
/// (libnccl.so.2, or $KILN_NCCL) and its communicator set up over `comm`.
StatusOr<std::unique_ptr<GradientAverager>>
ncclGradientAverager(Communicator &comm, Artefact &artefact,
                     const std::string &entry, int64_t bucketBytes);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_GRADIENTAVERAGER_H
