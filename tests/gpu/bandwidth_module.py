#!/usr/bin/env python3
"""Writes the graph module of gpu-check's bandwidth check: two entry points
on a [ROWS, COLS] float32 tensor, each reading it once and writing one
result of its size (what a device-to-device copy moves):

    elementwise  y = -exp(x), one fused kernel
    softmax      p = softmax(x) along the rows

    bandwidth_module.py ROWS COLS > bandwidth.mlir
"""
import sys


def module(rows, cols):
    t = "tensor<%dx%dxf32>" % (rows, cols)
    return """func.func @elementwise(%%x: %(t)s {graph.input = "x"})
    -> (%(t)s {graph.output = "y"}) {
  %%0 = graph.exp %%x : %(t)s
  %%1 = graph.neg %%0 : %(t)s
  return %%1 : %(t)s
}

func.func @softmax(%%x: %(t)s {graph.input = "x"})
    -> (%(t)s {graph.output = "p"}) {
  %%0 = graph.softmax %%x : %(t)s
  return %%0 : %(t)s
}
""" % {"t": t}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.stdout.write(module(int(sys.argv[1]), int(sys.argv[2])))
