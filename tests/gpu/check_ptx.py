"""Every zoo model compiles for NVIDIA GPUs: `kilnc --target=cuda --emit=so`
builds its GPU artefact, whose kernels the CUDA toolkit's ptxas assembles
for the architecture asked for (sm_90 by default) into the fatbin the host
code embeds, and --dump-stages writes their PTX. No GPU is needed.

Exit 77 (ctest: skipped) when the CUDA toolkit (ptxas and libdevice, under
$CUDA_PATH or /usr/local/cuda) is absent.

Usage: check_ptx.py --kilnc build/bin/kilnc [--arch sm_90] [--jobs 2] [models...]
"""
import argparse
import concurrent.futures
import os
import subprocess
import sys
import tempfile
import time


def check(kilnc, arch, model, folder):
    """(model, ok, message, seconds, kernels)."""
    stages = os.path.join(folder, model)
    start = time.time()
    compiled = subprocess.run(
        [kilnc, "--model=" + model, "--target=cuda", "--gpu-arch=" + arch,
         "--emit=so", "--dump-stages=" + stages,
         "-o", os.path.join(folder, model + ".so")],
        capture_output=True, text=True)
    if compiled.returncode != 0:
        return model, False, "kilnc failed:\n" + compiled.stderr[-3000:], 0, 0
    seconds = time.time() - start
    with open(os.path.join(stages, "5-kernels.ptx")) as f:
        kernels = f.read().count(".visible .entry")
    if kernels == 0:
        return model, False, "the PTX has no kernel", seconds, 0
    return model, True, "", seconds, kernels


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kilnc", required=True)
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("models", nargs="*")
    args = parser.parse_args()

    cuda = os.environ.get("CUDA_PATH") or "/usr/local/cuda"
    ptxas = os.path.join(cuda, "bin", "ptxas")
    libdevice = os.path.join(cuda, "nvvm", "libdevice", "libdevice.10.bc")
    if not (os.path.exists(ptxas) and os.path.exists(libdevice)):
        print(f"skipped: no CUDA toolkit at {cuda} (ptxas and libdevice; "
              "set CUDA_PATH)")
        return 77

    models = args.models
    if not models:
        listed = subprocess.run([args.kilnc, "--list-models"],
                                capture_output=True, text=True, check=True)
        models = [line.split()[0] for line in listed.stdout.splitlines()
                  if line.strip()]
    failures = 0
    with tempfile.TemporaryDirectory() as folder, \
            concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        jobs = [pool.submit(check, args.kilnc, args.arch, m, folder)
                for m in models]
        for job in jobs:
            model, ok, message, seconds, kernels = job.result()
            if ok:
                print(f"{model:14s} {kernels:4d} kernels assembled by ptxas for "
                      f"{args.arch} into its GPU artefact in {seconds:5.1f} s")
            else:
                failures += 1
                print(f"{model:14s} FAIL: {message}")
    print(f"{len(models) - failures} of {len(models)} models compile to GPU "
          f"artefacts whose kernels ptxas assembles ({args.arch})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
