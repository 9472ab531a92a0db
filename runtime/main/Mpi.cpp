//===- Mpi.cpp - The data-parallel ranks of a training executable, on MPI -===//
//
// Open MPI (Debian's libopenmpi) carries the gradients: MPI_Allreduce sums
// them across the ranks mpirun started. A process not started by mpirun
// (no launcher in its environment) runs alone and never initializes MPI.
//
//===----------------------------------------------------------------------===//

#include "main/Mpi.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

// MPI's C interface only (its C++ bindings need a library of their own).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstdio>
#include <cstdlib>

namespace kiln::rt {
namespace {

Status mpiError(const char *call, int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return Status::error(std::string(call) + " failed: " +
                       std::string(text, length));
}

class MpiCommunicator : public Communicator {
public:
  MpiCommunicator(int rank, int size) : rank_(rank), size_(size) {}
  ~MpiCommunicator() override { MPI_Finalize(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  Status allReduceSum(void *data, int64_t count, DType dtype) override {
    MPI_Datatype type = dtype == DType::F64 ? MPI_DOUBLE : MPI_FLOAT;
    if (dtype != DType::F64 && dtype != DType::F32)
      return Status::error("only float tensors are averaged across ranks");
    // MPI counts are ints: large tensors go in pieces.
    size_t element = dtype == DType::F64 ? 8 : 4;
    auto *bytes = static_cast<char *>(data);
    for (int64_t done = 0; done < count;) {
      int piece = static_cast<int>(std::min<int64_t>(count - done, 1 << 30));
      if (int code = MPI_Allreduce(MPI_IN_PLACE, bytes + done * element, piece,
                                   type, MPI_SUM, MPI_COMM_WORLD);
          code != MPI_SUCCESS)
        return mpiError("MPI_Allreduce", code);
      done += piece;
    }
    return Status::success();
  }

  StatusOr<Request> startAllReduceSum(void *data, int64_t count,
                                      DType dtype) override {
    if (dtype != DType::F64 && dtype != DType::F32)
      return Status::error("only float tensors are averaged across ranks");
    // MPI counts are ints: a larger sum is made at once, as allReduceSum's.
    if (count > (int64_t(1) << 30)) {
      if (Status s = allReduceSum(data, count, dtype); !s.ok())
        return s;
      requests_.push_back(MPI_REQUEST_NULL);
      return static_cast<Request>(requests_.size() - 1);
    }
    MPI_Request request;
    if (int code = MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(count),
                                  dtype == DType::F64 ? MPI_DOUBLE : MPI_FLOAT,
                                  MPI_SUM, MPI_COMM_WORLD, &request);
        code != MPI_SUCCESS)
      return mpiError("MPI_Iallreduce", code);
    requests_.push_back(request);
    return static_cast<Request>(requests_.size() - 1);
  }

  StatusOr<bool> test(Request request) override {
    if (request < 0 || request >= static_cast<Request>(requests_.size()))
      return Status::error("no such all-reduce request");
    int done = 0;
    if (int code = MPI_Test(&requests_[request], &done, MPI_STATUS_IGNORE);
        code != MPI_SUCCESS)
      return mpiError("MPI_Test", code);
    return done != 0;
  }

  Status wait(Request request) override {
    if (request < 0 || request >= static_cast<Request>(requests_.size()))
      return Status::error("no such all-reduce request");
    if (int code = MPI_Wait(&requests_[request], MPI_STATUS_IGNORE);
        code != MPI_SUCCESS)
      return mpiError("MPI_Wait", code);
    // Every request of a step done: the list starts over.
    bool all = std::all_of(requests_.begin(), requests_.end(),
                           [](MPI_Request r) { return r == MPI_REQUEST_NULL; });
    if (all && request + 1 == static_cast<Request>(requests_.size()))
      requests_.clear();
    return Status::success();
  }

  StatusOr<std::vector<uint64_t>> allGather(uint64_t value) override {
    std::vector<uint64_t> all(size_);
    if (int code = MPI_Allgather(&value, 1, MPI_UINT64_T, all.data(), 1,
                                 MPI_UINT64_T, MPI_COMM_WORLD);
        code != MPI_SUCCESS)
      return mpiError("MPI_Allgather", code);
    return all;
  }

  Status broadcast(void *data, int64_t bytes, int root) override {
    if (bytes < 0 || bytes > INT32_MAX)
      return Status::error("a broadcast of " + std::to_string(bytes) +
                           " bytes");
    if (int code = MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, root,
                             MPI_COMM_WORLD);
        code != MPI_SUCCESS)
      return mpiError("MPI_Bcast", code);
    return Status::success();
  }

  [[noreturn]] void abort(int status) override {
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status);
    std::_Exit(status);
  }

private:
  int rank_, size_;
  std::vector<MPI_Request> requests_;
};

} // namespace

bool startedByMpirun() {
  // Open MPI's launcher sets these; PMI/PMIx ones cover other launchers.
  for (const char *name :
       {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(name))
      return true;
  return false;
}

StatusOr<std::unique_ptr<Communicator>> mpiCommunicator() {
  int provided = 0;
  if (int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED,
                                 &provided);
      code != MPI_SUCCESS)
    return mpiError("MPI_Init", code);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return std::unique_ptr<Communicator>(new MpiCommunicator(rank, size));
}

} // namespace kiln::rt
