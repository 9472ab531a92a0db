//===- Mpi.h - The data-parallel ranks of a training executable, on MPI ---===//

#ifndef KILN_RUNTIME_MAIN_MPI_H
#define KILN_RUNTIME_MAIN_MPI_H

#include "kiln/runtime/Communicator.h"

#include <memory>

namespace kiln::rt {

/// Whether mpirun (or another MPI launcher) started this process.
bool startedByMpirun();

/// Initializes MPI and returns its world as a Communicator (MPI is
/// finalized when it is destroyed).
StatusOr<std::unique_ptr<Communicator>> mpiCommunicator();

} // namespace kiln::rt

#endif // KILN_RUNTIME_MAIN_MPI_H
