"""Every zoo model compiles for NVIDIA GPUs: `kilnc --target=cuda --emit=so`
builds its GPU artefact, whose kernels the CUDA toolkit's ptxas assembles
for the architecture asked for (sm_90 by default) into the fatbin the host
code embeds, and --dump-stages writes their PTX. No GPU is needed.

A model whose recurrence runs in a CPU library (rnn, lstm, gru, bilstm and
what uses them) has no GPU artefact yet: kilnc says so, and its kernels
are checked as PTX that ptxas assembles.

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


CPU_ONLY = "runs on the CPU only: recurrences have no GPU kernel yet"


def check(kilnc, ptxas, arch, model, folder):
    """(model, ok, message, seconds, kernels, artefact built)."""
    stages = os.path.join(folder, model)
    start = time.time()
    compiled = subprocess.run(
        [kilnc, "--model=" + model, "--target=cuda", "--gpu-arch=" + arch,
         "--emit=so", "--dump-stages=" + stages,
         "-o", os.path.join(folder, model + ".so")],
        capture_output=True, text=True)
    artefact = compiled.returncode == 0
    ptx = os.path.join(stages, "5-kernels.ptx")
    if not artefact:
        if CPU_ONLY not in compiled.stderr:
            return model, False, "kilnc failed:\n" + compiled.stderr[-3000:], 0, 0, False
        ptx = os.path.join(folder, model + ".ptx")
        compiled = subprocess.run(
            [kilnc, "--model=" + model, "--target=cuda", "--gpu-arch=" + arch,
             "--emit=ptx", "-o", ptx], capture_output=True, text=True)
        if compiled.returncode != 0:
            return model, False, "kilnc failed:\n" + compiled.stderr[-3000:], 0, 0, False
    seconds = time.time() - start
    with open(ptx) as f:
        text = f.read()
    kernels = text.count(".visible .entry")
    if kernels == 0:
        return model, False, "the PTX has no kernel", seconds, 0, artefact
    if not artefact:
        assembled = subprocess.run(
            [ptxas, "-arch=" + arch, ptx, "-o",
             os.path.join(folder, model + ".cubin")],
            capture_output=True, text=True)
        if assembled.returncode != 0:
            return (model, False, "ptxas failed:\n" + assembled.stderr[-3000:],
                    seconds, kernels, artefact)
    return model, True, "", seconds, kernels, artefact


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
    failures = artefacts = 0
    with tempfile.TemporaryDirectory() as folder, \
            concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        jobs = [pool.submit(check, args.kilnc, ptxas, args.arch, m, folder)
                for m in models]
        for job in jobs:
            model, ok, message, seconds, kernels, artefact = job.result()
            artefacts += artefact
            if ok:
                what = ("GPU artefact (.so) in" if artefact else
                        "PTX only (its recurrence runs on the CPU) in")
                print(f"{model:14s} {kernels:4d} kernels assembled by ptxas for "
                      f"{args.arch}; {what} {seconds:5.1f} s")
            else:
                failures += 1
                print(f"{model:14s} FAIL: {message}")
    print(f"{len(models) - failures} of {len(models)} models compile to PTX "
          f"that ptxas assembles ({args.arch}); {artefacts} to a GPU artefact")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
