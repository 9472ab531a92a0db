/* MPI_Allreduce (sum, in place) of float buffers from 4 KiB to 64 MiB across
 * the ranks mpirun starts: rank 0 prints, per size, the median time of 50
 * calls after 5 warm-up calls and the bandwidth it implies for a ring
 * all-reduce (2 (p-1)/p bytes moved per byte reduced). bench/distributed.sh
 * builds it with mpicc and runs it. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  enum { calls = 50 };
  double times[calls];
  if (rank == 0)
    printf("%12s %12s %14s\n", "bytes", "median us", "bus GB/s");
  for (long bytes = 4096; bytes <= 64L << 20; bytes *= 4) {
    long count = bytes / 4;
    float *data = malloc(bytes);
    for (long i = 0; i < count; ++i)
      data[i] = 1.0f;
    for (int i = 0; i < 5 + calls; ++i) {
      MPI_Barrier(MPI_COMM_WORLD);
      double start = MPI_Wtime();
      MPI_Allreduce(MPI_IN_PLACE, data, (int)count, MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
      if (i >= 5)
        times[i - 5] = MPI_Wtime() - start;
    }
    qsort(times, calls, sizeof(double), by_value);
    double median = times[calls / 2];
    if (rank == 0)
      printf("%12ld %12.1f %14.2f\n", bytes, median * 1e6,
             2.0 * (size - 1) / size * bytes / median / 1e9);
    free(data);
  }
  MPI_Finalize();
  return 0;
}
