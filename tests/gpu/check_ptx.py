#!/usr/bin/env python3
"""Every zoo model compiles for NVIDIA GPUs: `kilnc --target=cuda --emit=ptx`
writes its kernels' PTX, and the CUDA toolkit's ptxas assembles it for the
architecture asked for (sm_90 by default). No GPU is needed.

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


def check(kilnc, ptxas, arch, model, folder):
    ptx = os.path.join(folder, model + ".ptx")
    start = time.time()
    compiled = subprocess.run(
        [kilnc, "--model=" + model, "--target=cuda", "--gpu-arch=" + arch,
         "--emit=ptx", "-o", ptx], capture_output=True, text=True)
    if compiled.returncode != 0:
        return model, False, "kilnc failed:\n" + compiled.stderr[-3000:], 0, 0
    compile_s = time.time() - start
    with open(ptx) as f:
        text = f.read()
    kernels = text.count(".visible .entry")
    if kernels == 0:
        return model, False, "the PTX has no kernel", compile_s, 0
    assembled = subprocess.run(
        [ptxas, "-arch=" + arch, ptx, "-o", os.path.join(folder, model + ".cubin")],
        capture_output=True, text=True)
    if assembled.returncode != 0:
        return model, False, "ptxas failed:\n" + assembled.stderr[-3000:], compile_s, kernels
    return model, True, "", compile_s, kernels


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
        jobs = [pool.submit(check, args.kilnc, ptxas, args.arch, m, folder)
                for m in models]
        for job in jobs:
            model, ok, message, seconds, kernels = job.result()
            if ok:
                print(f"{model:14s} {kernels:4d} kernels, PTX in {seconds:5.1f} s, "
                      f"assembled by ptxas for {args.arch}")
            else:
                failures += 1
                print(f"{model:14s} FAIL: {message}")
    print(f"{len(models) - failures} of {len(models)} models compile to PTX "
          f"that ptxas assembles ({args.arch})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
