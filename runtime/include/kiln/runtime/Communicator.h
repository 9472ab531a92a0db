//===- Communicator.h - The processes of a data-parallel run --------------===//
//
// A training executable started by `mpirun -np N` trains data-parallel: each
// process (rank) computes the gradients of its share of every global batch,
// the gradients are averaged across the ranks, and every rank applies the
// same optimizer step. The trainer sees the ranks through this interface;
// the executables implement it on MPI (runtime/main/Mpi.cpp), so that the
// runtime library itself does not depend on MPI.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_COMMUNICATOR_H
#define KILN_RUNTIME_COMMUNICATOR_H

#include "kiln/runtime/HostTensor.h"
#include "kiln/runtime/Status.h"

#include <cstdint>
#include <vector>

namespace kiln::rt {

class Communicator {
public:
  virtual ~Communicator() = default;
  /// This process's rank, 0 to size() - 1.
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Sums `count` elements of `dtype` (F32 or F64) at `data` across the
  /// ranks; every rank gets the sum, in place.
  virtual Status allReduceSum(void *data, int64_t count, DType dtype) = 0;
  /// A sum begun by startAllReduceSum.
  using Request = int64_t;
  /// Begins summing as allReduceSum does, without waiting: `data` must stay
  /// untouched until wait(request) returns. Every rank begins the same sums
  /// in the same order.
  virtual StatusOr<Request> startAllReduceSum(void *data, int64_t count,
                                              DType dtype) = 0;
  /// Moves the begun sums on (MPI progresses inside its calls); whether
  /// `request` is done.
  virtual StatusOr<bool> test(Request request) = 0;
  /// Waits for `request`.
  virtual Status wait(Request request) = 0;
  /// Every rank's `value`, in rank order.
  virtual StatusOr<std::vector<uint64_t>> allGather(uint64_t value) = 0;
  /// Rank `root`'s `bytes` at `data`, on every rank.
  virtual Status broadcast(void *data, int64_t bytes, int root) = 0;
  /// Ends the run on every rank after an error on this one (the others may
  /// be waiting for it); does not return.
  [[noreturn]] virtual void abort(int status) = 0;
};

} // namespace kiln::rt

#endif // KILN_RUNTIME_COMMUNICATOR_H
