//===- Threads.h - The runtime's OpenMP threads beside other processes ----===//

#ifndef KILN_RUNTIME_THREADS_H
#define KILN_RUNTIME_THREADS_H

namespace kiln::rt {

/// OpenMP's threads (libgomp, which oneDNN and the generated kernels share)
/// spin up to 300,000 rounds at each barrier before they sleep. While other
/// processes want the same cores, that spinning takes the time slices the
/// waited-for threads need: two cnn trainings at once on this project's
/// two-core machine, each on two threads, ran 19 times slower than either
/// alone on one thread. libgomp reads its setting once, when it is loaded,
/// so a program calls this first thing in main: it runs the program again
/// (same process, same arguments) with GOMP_SPINCOUNT=1000, libgomp's own
/// value for a team larger than the cores, in its environment. It does
/// nothing where the user has chosen (OMP_WAIT_POLICY or GOMP_SPINCOUNT set,
/// or KILN_OPENMP_SPIN=default for libgomp's own) or where exec fails; it
/// returns only then.
void boundOpenMpSpinning(char **argv);

} // namespace kiln::rt

#endif // KILN_RUNTIME_THREADS_H
