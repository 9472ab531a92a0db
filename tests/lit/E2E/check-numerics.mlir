// --check-numerics names the first op whose output is not finite, by its
// module path and DSL line; without it the same run succeeds.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -c "import numpy as np; np.save('%t/x.npy', np.array([1, 2, -1, 4], np.float32))"
// RUN: kiln-run %s --jit --inputs=%t/x.npy --outputs=%t/y.npy
// RUN: not kiln-run %s --jit --inputs=%t/x.npy --outputs=%t/y.npy --check-numerics 2>&1 | FileCheck %s
// CHECK: kiln-run: error: 'forward' computed nan at element 2 of 4 written by graph.log in head.norm at model.cpp:12 (outputs written to {{.*}}y.npy)

// The same in float64 (libm's log), through a shared library.
// RUN: kilnc %s --emit=so -o %t/model.so
// RUN: not kiln-run %t/model.so --entry=forward64 --inputs=%t/x.npy --outputs=%t/y64.npy --check-numerics 2>&1 | FileCheck %s --check-prefix=F64
// F64: 'forward64' computed nan at element 2 of 4 written by graph.log in head.norm at model.cpp:12

// A kernel whose output is finite is not blamed for a later one.
// RUN: %python -c "import numpy as np; np.save('%t/ok.npy', np.array([1, 2, 3, 4], np.float32))"
// RUN: kiln-run %s --jit --inputs=%t/ok.npy --outputs=%t/ok-out.npy --check-numerics

func.func @forward(%x: tensor<4xf32> {graph.input = "x"}) -> (tensor<4xf32> {graph.output = "y"}) {
  %0 = graph.log %x : tensor<4xf32> loc(#head)
  %1 = graph.softmax %0 {axis = 0 : i64} : tensor<4xf32> loc(#out)
  return %1 : tensor<4xf32>
}
func.func @forward64(%x: tensor<4xf64> {graph.input = "x"}) -> (tensor<4xf64> {graph.output = "y"}) {
  %0 = graph.log %x : tensor<4xf64> loc(#head)
  %1 = graph.softmax %0 {axis = 0 : i64} : tensor<4xf64> loc(#out)
  return %1 : tensor<4xf64>
}
#head = loc("head.norm"("model.cpp":12:0))
#out = loc("out"("model.cpp":13:0))
