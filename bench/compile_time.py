#!/usr/bin/python3
"""kilnc's compile time per zoo model and per stage.

For every model `kilnc --list-models` names, compiles `--emit=exe` REPEAT
times (default 3) and prints the median wall time, with the split that
`kilnc --mlir-timing` reports for the median run: building the graph, each
stage's passes (graph-grad: autodiff and the optimizer; kernel: fusion;
linalg: the lowering; llvm: bufferization to the LLVM dialect) and LLVM
(translation, optimization, object code and the link).

Usage: bench/compile_time.py [--kilnc build/bin/kilnc] [--repeat 3]
       [--emit exe] [--model NAME ...]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLUMNS = [("build or parse the graph", "graph"), ("stage: graph-grad", "grad"),
           ("stage: kernel", "kernel"), ("stage: linalg", "linalg"),
           ("stage: llvm", "llvm"), ("LLVM: translate", "LLVM")]


def scopes(report):
    """{top-level scope name: wall seconds} of an --mlir-timing tree."""
    out = {}
    for line in report.splitlines():
        # "  user (  %)  wall (  %)  name": the last time is the wall time.
        m = re.match(r"^(?:\s+\d+\.\d+ \(\s*[\d.]+%\))*\s+(\d+\.\d+) \(\s*[\d.]+%\)  (\S.*)$",
                     line)
        if m:
            out.setdefault(m.group(2).strip(), float(m.group(1)))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kilnc", default=os.path.join(ROOT, "build", "bin", "kilnc"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--emit", default="exe")
    parser.add_argument("--model", action="append", default=[])
    args = parser.parse_args()
    models = args.model or [
        line.split()[0] for line in subprocess.run(
            [args.kilnc, "--list-models"], check=True, capture_output=True,
            text=True).stdout.splitlines() if line.strip()]
    print("%-10s %8s  " % ("model", "total s") +
          " ".join("%7s" % short for _, short in COLUMNS))
    with tempfile.TemporaryDirectory() as work:
        for model in models:
            runs = []
            for _ in range(args.repeat):
                start = time.monotonic()
                run = subprocess.run(
                    [args.kilnc, f"--model={model}", f"--emit={args.emit}",
                     "-o", os.path.join(work, model), "--mlir-timing",
                     "--mlir-timing-display=tree"],
                    capture_output=True, text=True)
                elapsed = time.monotonic() - start
                if run.returncode != 0:
                    sys.exit(f"{model}: kilnc failed\n{run.stderr}")
                runs.append((elapsed, scopes(run.stderr)))
            runs.sort(key=lambda r: r[0])
            elapsed, split = runs[len(runs) // 2]
            cells = []
            for prefix, _ in COLUMNS:
                value = next((v for k, v in split.items() if k.startswith(prefix)), None)
                cells.append("%7s" % ("-" if value is None else "%.2f" % value))
            print("%-10s %8.2f  %s" % (model, elapsed, " ".join(cells)), flush=True)


if __name__ == "__main__":
    main()
