#!/usr/bin/env python3
"""Every graph op compiles for NVIDIA GPUs: each case of the op reference
suite (tests/reference/op_cases.py and model_op_cases.py), in float32 and in
float64, goes through `kilnc --target=cuda --emit=ptx`, and the CUDA
toolkit's ptxas assembles the PTX for the architecture asked for. All cases
of a float type are compiled as one module; if that fails, each group, then
each case of a failing group, is compiled alone so that the error names it.
No GPU is needed; whether the kernels compute the right values on one is
not checked here.

Exit 77 (ctest: skipped) when the CUDA toolkit (ptxas and libdevice, under
$CUDA_PATH or /usr/local/cuda) is absent.

Usage: check_ops_ptx.py --kilnc build/bin/kilnc [--arch sm_90] [--filter S]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

from harness import CASES, build_module, expected_outputs  # noqa: E402
import op_cases  # noqa: E402,F401  (registers the cases in CASES)
import model_op_cases  # noqa: E402,F401


def compile_ptx(kilnc, ptxas, arch, cases, float_type, folder, tag):
    """'' if the cases compile to PTX that ptxas assembles, else the error;
    the number of kernels in the PTX."""
    text, _ = build_module(list(enumerate(cases)), float_type,
                           lambda c: expected_outputs(c, float_type))
    source = os.path.join(folder, tag + ".mlir")
    ptx = os.path.join(folder, tag + ".ptx")
    with open(source, "w") as f:
        f.write(text)
    compiled = subprocess.run(
        [kilnc, source, "--target=cuda", "--gpu-arch=" + arch, "--emit=ptx",
         "-o", ptx], capture_output=True, text=True)
    if compiled.returncode != 0:
        return "kilnc: " + compiled.stderr.strip()[-2000:], 0
    with open(ptx) as f:
        kernels = f.read().count(".visible .entry")
    assembled = subprocess.run(
        [ptxas, "-arch=" + arch, ptx, "-o", os.path.join(folder, tag + ".cubin")],
        capture_output=True, text=True)
    if assembled.returncode != 0:
        return "ptxas: " + assembled.stderr.strip()[-2000:], kernels
    return "", kernels


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kilnc", required=True)
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--filter", default="")
    args = parser.parse_args()

    cuda = os.environ.get("CUDA_PATH") or "/usr/local/cuda"
    ptxas = os.path.join(cuda, "bin", "ptxas")
    if not (os.path.exists(ptxas) and os.path.exists(
            os.path.join(cuda, "nvvm", "libdevice", "libdevice.10.bc"))):
        print(f"skipped: no CUDA toolkit at {cuda} (ptxas and libdevice; "
              "set CUDA_PATH)")
        return 77

    cases = [c for c in CASES if args.filter in c.name]
    failures = []
    with tempfile.TemporaryDirectory() as folder:
        for float_type in ("f32", "f64"):
            start = time.time()
            error, kernels = compile_ptx(args.kilnc, ptxas, args.arch, cases,
                                         float_type, folder, "all_" + float_type)
            if not error:
                print(f"{len(cases)} op cases in {float_type}: {kernels} "
                      f"kernels, PTX assembled by ptxas for {args.arch} "
                      f"({time.time() - start:.1f} s)")
                continue
            groups = {}
            for c in cases:
                groups.setdefault(c.group, []).append(c)
            for group, members in groups.items():
                if not compile_ptx(args.kilnc, ptxas, args.arch, members,
                                   float_type, folder, "group")[0]:
                    continue
                for c in members:
                    error, _ = compile_ptx(args.kilnc, ptxas, args.arch, [c],
                                           float_type, folder, "case")
                    if error:
                        failures.append(f"{c.name} [{float_type}]")
                        print(f"FAIL {c.name} [{float_type}]: {error}")
    print(f"{len(failures)} failures" if failures else
          f"every op case compiles to PTX for {args.arch} (f32 and f64)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
