//===- GradientAverager.h - Gradients averaged across ranks, overlapped ---===//
//
// Data-parallel training averages each step's gradients across the ranks.
// Done after the backward pass, the all-reduce waits for the last gradient
// and the backward pass waits for it; as PyTorch's DDP does, the averager
// instead sums gradients in buckets while the backward pass goes on: the
// compiled code reports every kernel's output (the reports --check-numerics
// and --profile use), and a bucket's sum begins at the report after which
// none of its gradients is written again. Which report that is, the first
// step finds out (it averages after the backward pass); the kernels run in
// the same order at every step, on every rank, so every rank begins the
// same sums in the same order.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TRAIN_GRADIENTAVERAGER_H
#define KILN_RUNTIME_TRAIN_GRADIENTAVERAGER_H

#include "kiln/runtime/Communicator.h"
#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/Status.h"

#include <cstdint>
#include <vector>

namespace kiln::rt {

class GradientAverager {
public:
  /// Buckets of at least `bucketBytes` (0: one sum after the backward pass).
  GradientAverager(Communicator &comm, int64_t bucketBytes)
      : comm_(comm), bucketBytes_(bucketBytes) {}
  GradientAverager(const GradientAverager &) = delete;
  GradientAverager &operator=(const GradientAverager &) = delete;
  ~GradientAverager();

  /// Before the entry that computes `results` runs (their buffers must be
  /// the same at every step): listens to its reports.
  Status beforeStep(std::vector<HostTensor> &results);
  /// After it returned with `ran`: stops listening, then (if it succeeded)
  /// begins the sums not begun yet and waits for every sum, divided by the
  /// number of ranks. A failed `ran` is returned as it is.
  Status afterStep(Status ran);

  /// Seconds spent in afterStep (the communication the backward pass did
  /// not hide), and in the reports' hook (beginning and testing sums).
  double exposedSeconds() const { return exposed_; }
  double hookSeconds() const { return hooked_; }
  /// The buckets, once the first step has made them (0 before).
  size_t buckets() const { return buckets_.size(); }

private:
  struct Member {
    HostTensor *tensor;
    int64_t lastReport; // the report after which it is final; -1: the end
  };
  struct Bucket {
    std::vector<Member> members;
    DType dtype = DType::F32;
    int64_t readyAt = -1; // the report that completes it; -1: the end
    std::vector<char> staging;
    Communicator::Request request = -1;
    bool begun = false;
  };

  static void onReport(void *self, const void *data, int64_t bytes);
  void report(const void *data, int64_t bytes);
  Status begin(Bucket &bucket);
  Status averageAll(); // the first step's: everything after the pass
  void makeBuckets();

  Communicator &comm_;
  int64_t bucketBytes_;
  std::vector<HostTensor *> results_; // the float results, in order
  std::vector<const void *> addresses_; // and their buffers
  std::vector<int64_t> lastReport_;   // per result, while calibrating
  std::vector<Bucket> buckets_;
  size_t nextBucket_ = 0;
  int64_t reports_ = 0, calibratedReports_ = -1;
  bool calibrating_ = false;
  Status failed_;
  double exposed_ = 0, hooked_ = 0;
};

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_GRADIENTAVERAGER_H
