//===- FakeNccl.cpp - NCCL without GPUs, over MPI, for tests --------------===//
//
// The NCCL functions Kiln loads, for processes that run GPU artefacts on
// the fake CUDA driver (whose device memory is host memory): an all-reduce
// is MPI_Allreduce of that memory across the ranks mpirun started. Loaded
// instead of libnccl.so.2 with $KILN_NCCL, it lets the suite check, on a
// machine without GPUs, what Kiln asks of NCCL: one communicator id shared
// by every rank (checked: ranks given different ids fail as NCCL's
// bootstrap would), each rank's place in it, the buffers, counts, types,
// operation, stream and groups of every all-reduce, and how failures are
// reported.
//
//   KILN_FAKE_NCCL_LOG=FILE      appends one line per call (with the rank)
//   KILN_FAKE_NCCL_FAIL=CALL     that call (ncclCommInitRank,
//                                ncclAllReduce, ...) fails
//   KILN_FAKE_NCCL_FAIL_RANK=R   ... on rank R only (default: on all)
//   KILN_FAKE_NCCL_VERSION=N     what ncclGetVersion says (default 22809)
//
//===----------------------------------------------------------------------===//

#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <vector>

namespace {

using NcclResult = int;
constexpr NcclResult kSuccess = 0, kSystemError = 2, kInvalidArgument = 4,
                     kInvalidUsage = 5;
constexpr int kFloat32 = 7, kFloat64 = 8;
constexpr int kSum = 0, kAvg = 4;

struct NcclUniqueId {
  char internal[128];
};

struct Comm {
  int ranks, rank;
};

struct Pending {
  const void *send;
  void *receive;
  size_t count;
  int type, op;
};

int groupDepth = 0;
std::vector<Pending> pending;

int worldRank() {
  int initialized = 0, rank = -1;
  MPI_Initialized(&initialized);
  if (initialized)
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

void log(const char *format, ...) __attribute__((format(printf, 1, 2)));
void log(const char *format, ...) {
  const char *path = std::getenv("KILN_FAKE_NCCL_LOG");
  if (!path || !*path)
    return;
  // One write per line: the ranks append to the same file.
  char line[512];
  int at = std::snprintf(line, sizeof(line), "rank %d: ", worldRank());
  va_list args;
  va_start(args, format);
  std::vsnprintf(line + at, sizeof(line) - at - 1, format, args);
  va_end(args);
  std::strcat(line, "\n");
  FILE *file = std::fopen(path, "a");
  if (!file)
    return;
  std::fputs(line, file);
  std::fclose(file);
}

bool failing(const char *call) {
  const char *named = std::getenv("KILN_FAKE_NCCL_FAIL");
  const char *rank = std::getenv("KILN_FAKE_NCCL_FAIL_RANK");
  return named && std::strcmp(named, call) == 0 &&
         (!rank || !*rank || std::atoi(rank) == worldRank());
}

NcclResult reduce(const Pending &p) {
  MPI_Datatype type = p.type == kFloat64 ? MPI_DOUBLE : MPI_FLOAT;
  size_t element = p.type == kFloat64 ? 8 : 4;
  if (p.send != p.receive)
    std::memcpy(p.receive, p.send, p.count * element);
  if (MPI_Allreduce(MPI_IN_PLACE, p.receive, static_cast<int>(p.count), type,
                    MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
    return kSystemError;
  if (p.op == kAvg) {
    int ranks = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    for (size_t i = 0; i < p.count; ++i)
      if (p.type == kFloat64)
        static_cast<double *>(p.receive)[i] /= ranks;
      else
        static_cast<float *>(p.receive)[i] /= static_cast<float>(ranks);
  }
  return kSuccess;
}

} // namespace

extern "C" {

NcclResult ncclGetVersion(int *version) {
  const char *forced = std::getenv("KILN_FAKE_NCCL_VERSION");
  *version = forced && *forced ? std::atoi(forced) : 22809;
  return kSuccess;
}

const char *ncclGetErrorString(NcclResult result) {
  switch (result) {
  case kSuccess:
    return "no error";
  case kSystemError:
    return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
  case kInvalidArgument:
    return "invalid argument (run with NCCL_DEBUG=WARN for details)";
  case kInvalidUsage:
    return "invalid usage (run with NCCL_DEBUG=WARN for details)";
  default:
    return "unknown result code";
  }
}

NcclResult ncclGetUniqueId(NcclUniqueId *id) {
  log("ncclGetUniqueId");
  if (failing("ncclGetUniqueId"))
    return kSystemError;
  std::memset(id, 0, sizeof(*id));
  std::snprintf(id->internal, sizeof(id->internal), "fake-nccl %d %ld",
                static_cast<int>(getpid()), static_cast<long>(random()));
  return kSuccess;
}

NcclResult ncclCommInitRank(void **comm, int ranks, NcclUniqueId id,
                            int rank) {
  int initialized = 0, worldRanks = 0, world = -1;
  MPI_Initialized(&initialized);
  if (!initialized)
    return kInvalidUsage;
  MPI_Comm_size(MPI_COMM_WORLD, &worldRanks);
  MPI_Comm_rank(MPI_COMM_WORLD, &world);
  // Every rank must bring rank 0's id (NCCL's bootstrap connects by it).
  std::vector<char> all(sizeof(id) * worldRanks);
  MPI_Allgather(&id, sizeof(id), MPI_BYTE, all.data(), sizeof(id), MPI_BYTE,
                MPI_COMM_WORLD);
  bool same = true;
  for (int r = 0; r < worldRanks; ++r)
    same = same && std::memcmp(all.data() + r * sizeof(id), all.data(),
                               sizeof(id)) == 0;
  log("ncclCommInitRank ranks=%d rank=%d id=%s", ranks, rank,
      same ? "shared" : "different");
  if (failing("ncclCommInitRank"))
    return kSystemError;
  if (!same || ranks != worldRanks || rank != world || id.internal[0] == 0)
    return kInvalidArgument;
  *comm = new Comm{ranks, rank};
  return kSuccess;
}

NcclResult ncclCommAbort(void *comm) {
  log("ncclCommAbort");
  delete static_cast<Comm *>(comm);
  return kSuccess;
}

NcclResult ncclAllReduce(const void *send, void *receive, size_t count,
                         int type, int op, void *comm, void *stream) {
  log("ncclAllReduce count=%zu type=%s op=%s in-place=%s stream=%s group=%d",
      count,
      type == kFloat32   ? "f32"
      : type == kFloat64 ? "f64"
                         : "other",
      op == kAvg ? "avg" : op == kSum ? "sum" : "other",
      send == receive ? "yes" : "no", stream ? "set" : "null", groupDepth);
  if (failing("ncclAllReduce"))
    return kSystemError;
  if (!comm || !send || !receive || (type != kFloat32 && type != kFloat64) ||
      (op != kSum && op != kAvg))
    return kInvalidArgument;
  Pending p{send, receive, count, type, op};
  if (groupDepth > 0) {
    pending.push_back(p);
    return kSuccess;
  }
  return reduce(p);
}

NcclResult ncclGroupStart() {
  ++groupDepth;
  return kSuccess;
}

NcclResult ncclGroupEnd() {
  if (groupDepth == 0)
    return kInvalidUsage;
  if (--groupDepth > 0)
    return kSuccess;
  log("ncclGroupEnd calls=%zu", pending.size());
  NcclResult result = kSuccess;
  for (const Pending &p : pending)
    if (result == kSuccess)
      result = reduce(p);
  pending.clear();
  return result;
}

} // extern "C"
