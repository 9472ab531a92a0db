#!/usr/bin/env bash
# Builds and runs kiln-bench, then prints compiled/reference ratios.
# Usage: bench/run.sh [kiln-bench flags...]; BUILD overrides the build folder.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-bench}"
JSON="$BUILD/kiln-bench.json"

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$BUILD" -j1 kiln-bench
# Five repetitions of each benchmark, interleaved at random so that a kernel
# and its peer see the same state of the machine; medians are reported.
"$BUILD/bin/kiln-bench" --benchmark_out="$JSON" \
  --benchmark_out_format=json --benchmark_repetitions=5 \
  --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true "$@"

/usr/bin/python3 - "$JSON" <<'PY'
import json, sys

rates = {}
for run in json.load(open(sys.argv[1]))["benchmarks"]:
    if run.get("run_type") == "aggregate" and run.get("aggregate_name") != "median":
        continue
    # "BM_X/threads:1/min_warmup_time:0.100/real_time" -> "BM_X/threads:1"
    name = "/".join(part for part in run["run_name"].split("/")
                    if not part.startswith(("min_warmup_time:", "real_time")))
    rates[name] = None if run.get("error_occurred") else \
        run.get("FLOP/s", run.get("B/s"))

def rate(name):
    return rates.get(name)

def row(label, name, reference, unit, target):
    value, base = rate(name), rate(reference)
    if value is None or base is None:
        print(f"{label:<40} n/a: a benchmark failed or was filtered out")
        return
    ratio = value / base
    verdict = "" if target is None else \
        "ok" if ratio >= target else f"BELOW {target:.0%}"
    print(f"{label:<40} {value / 1e9:8.1f} {base / 1e9:8.1f} {unit:<7}"
          f" {ratio:6.2f}  {verdict}")

cache_rows = 4096
memory_rows = max((int(part.split(":")[1]) for name in rates
                   for part in name.split("/") if part.startswith("rows:")),
                  default=cache_rows)

def mib(rows):
    return f"{rows * 1024 * 4 >> 20} MiB"

print()
for label, name, unit in [
        ("sgemm 1024^3 oneDNN, 1 thread", "BM_SgemmOneDnn/threads:1", "GFLOP/s"),
        ("sgemm 1024^3 oneDNN, 2 threads", "BM_SgemmOneDnn/threads:2", "GFLOP/s")] + [
        (f"copy {mib(r)}, {kind}", f"{bench}/rows:{r}{suffix}", "GB/s")
        for r in (memory_rows, cache_rows)
        for kind, bench, suffix in (("loop, 1 thread", "BM_CopyLoop", "/threads:1"),
                                    ("loop, 2 threads", "BM_CopyLoop", "/threads:2"),
                                    ("non-temporal, 1 thread", "BM_CopyStream", "/threads:1"),
                                    ("non-temporal, 2 threads", "BM_CopyStream", "/threads:2"),
                                    ("memcpy", "BM_CopyMemcpy", ""))]:
    if rate(name) is not None:
        print(f"{label:<40} {rate(name) / 1e9:8.1f} {unit}")
print()
print(f"{'kernel':<40} {'Kiln':>8} {'ref':>8} {'unit':<7} {'ratio':>6}  target")
for t in (1, 2):
    row(f"matmul 256x784x128 / oneDNN, {t} thr", f"BM_MatmulKiln/threads:{t}",
        f"BM_MatmulOneDnn/threads:{t}", "GFLOP/s", 0.9)
row("conv2d 64x32x14x14 / oneDNN", "BM_Conv2dKiln", "BM_Conv2dOneDnn",
    "GFLOP/s", 0.9)
# Winograd's path, rated by the direct convolution's operations.
for t in (1, 2):
    row(f"conv2d NHWC 64x32x28x28 / oneDNN, {t} thr",
        f"BM_Conv2dNhwcKiln/threads:{t}", f"BM_Conv2dNhwcOneDnn/threads:{t}",
        "GFLOP/s", None)

# Memory-bound kernels: first at STREAM's size (each tensor four times the
# last-level cache), where the targets apply, then at 16 MiB, which the L3
# largely holds.
for r in (memory_rows, cache_rows):
    target = 0.8 if r == memory_rows else None
    where = "from memory" if r == memory_rows else "mostly in L3"
    print(f"\n[{r}, 1024] float32, {mib(r)} per tensor, {where}")
    copy1 = f"BM_CopyLoop/rows:{r}/threads:1"
    for t in (1, 2):
        copy = f"BM_CopyLoop/rows:{r}/threads:{t}"
        row(f"softmax / copy, {t} thr", f"BM_SoftmaxKiln/rows:{r}/threads:{t}",
            copy, "GB/s", target)
        row(f"softmax / oneDNN softmax, {t} thr",
            f"BM_SoftmaxKiln/rows:{r}/threads:{t}",
            f"BM_SoftmaxOneDnn/rows:{r}/threads:{t}", "GB/s", None)
        row(f"layer_norm / copy, {t} thr",
            f"BM_LayerNormKiln/rows:{r}/threads:{t}", copy, "GB/s", None)
        # From memory, Kiln writes these outputs with non-temporal stores
        # (kiln-stream-stores): beside a copy that does too.
        if r == memory_rows:
            stream = f"BM_CopyStream/rows:{r}/threads:{t}"
            row(f"softmax / non-temporal copy, {t} thr",
                f"BM_SoftmaxKiln/rows:{r}/threads:{t}", stream, "GB/s", None)
            row(f"layer_norm / non-temporal copy, {t} thr",
                f"BM_LayerNormKiln/rows:{r}/threads:{t}", stream, "GB/s", None)
    row("softmax / hand loop, 1 thr", f"BM_SoftmaxKiln/rows:{r}/threads:1",
        f"BM_SoftmaxLoop/rows:{r}", "GB/s", None)
    row("layer_norm / hand loop, 1 thr", f"BM_LayerNormKiln/rows:{r}/threads:1",
        f"BM_LayerNormLoop/rows:{r}", "GB/s", None)
    for kind, bench in (("chain", "BM_ChainKiln"),
                        ("cheap chain", "BM_CheapChainKiln")):
        row(f"{kind}, fused / copy, 1 thr",
            f"{bench}/fusion:1/rows:{r}/threads:1", copy1, "GB/s", target)
        row(f"{kind}, unfused / copy, 1 thr",
            f"{bench}/fusion:0/rows:{r}/threads:1", copy1, "GB/s", None)
        row(f"{kind}, fused / copy, 2 thr",
            f"{bench}/fusion:1/rows:{r}/threads:2",
            f"BM_CopyLoop/rows:{r}/threads:2", "GB/s", target)
    row("chain, fused / hand loop, 1 thr",
        f"BM_ChainKiln/fusion:1/rows:{r}/threads:1", f"BM_ChainLoop/rows:{r}",
        "GB/s", None)
PY
