"""Writes a C program that times one entry point of a model compiled with
`kilnc --emit=lib`, from the model's header: every argument gets a buffer of
its shape (parameters and inputs filled with small deterministic values,
variances positive), the runtime is set to the thread count asked for, and
the program prints the median and the 10th percentile of the call's latency
in microseconds over the calls after a warm-up.
Usage: embed_harness.py HEADER MODEL ENTRY OUT.c"""
import re
import sys

header, model, entry, out = sys.argv[1:5]
text = open(header).read()
match = re.search(r"void %s_%s\((.*?)\);" % (re.escape(model), re.escape(entry)),
                  text, re.S)
if not match:
    sys.exit(f"{header} declares no {model}_{entry}")
arguments = []
for line in match.group(1).split(",\n"):
    # The tensor's name may hold colons (ONNX's "onnx::Conv_146").
    m = re.match(r"\s*(const )?(\w+) \*(\w+) /\* (\w+) (.+?): (\w+)\[([^\]]*)\]",
                 line)
    if not m:
        sys.exit(f"cannot read the argument '{line.strip()}'")
    const, ctype, name, kind, tensor, dtype, shape = m.groups()
    count = 1
    for size in filter(None, (s.strip() for s in shape.split(","))):
        count *= int(size)
    arguments.append((ctype, name, kind, tensor, count))

lines = [f'#include "{model}.h"', "#include <kiln/kiln.h>",
         "#include <stdio.h>", "#include <stdlib.h>", "#include <time.h>", "",
         "static int by_value(const void *a, const void *b) {",
         "  double x = *(const double *)a, y = *(const double *)b;",
         "  return (x > y) - (x < y);", "}", "",
         "int main(int argc, char **argv) {",
         "  int calls = argc > 1 ? atoi(argv[1]) : 1000;",
         "  kiln_set_num_threads(argc > 2 ? atoi(argv[2]) : 1);",
         "  unsigned state = 1;"]
for ctype, name, kind, tensor, count in arguments:
    lines.append(f"  {ctype} *{name} = malloc(sizeof({ctype}) * {count});")
    if kind == "output":
        continue
    if ctype in ("float", "double"):
        base = "1.0" if "var" in tensor else "0.0"
        lines.append(f"  for (long i = 0; i < {count}; ++i) {{ state = state * 1103515245u + 12345u; "
                     f"{name}[i] = ({ctype})({base} + ((state >> 8) % 2001 - 1000) * 1e-4); }}")
    else:
        lines.append(f"  for (long i = 0; i < {count}; ++i) {name}[i] = 0;")
call = f"{model}_{entry}(" + ", ".join(a[1] for a in arguments) + ");"
lines += ["  for (int i = 0; i < 100; ++i)", f"    {call}",
          "  double *times = malloc(sizeof(double) * calls);",
          "  for (int i = 0; i < calls; ++i) {",
          "    struct timespec a, b;",
          "    clock_gettime(CLOCK_MONOTONIC, &a);",
          f"    {call}",
          "    clock_gettime(CLOCK_MONOTONIC, &b);",
          "    times[i] = (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) * 1e-3;",
          "  }",
          "  qsort(times, calls, sizeof(double), by_value);",
          '  printf("%.1f %.1f\\n", times[calls / 2], times[calls / 10]);',
          "  return 0;", "}"]
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
