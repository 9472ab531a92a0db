// Kernels' parallel loops run on the runtime's threads (kiln-parallelize):
// on two threads the results are the same, bit for bit, as on one, and
// match numpy.
// RUN: rm -rf %t && mkdir -p %t
// RUN: kilnc %s --emit=llvm | FileCheck %s --check-prefix=IR
// IR: llvm.call @kiln_parallel_for(
// RUN: kilnc %s --emit=so -o %t/model.so
// RUN: %python -c "import numpy as np; np.save('%t/x.npy', np.random.default_rng(0).standard_normal((512, 1024)).astype(np.float32))"
// RUN: kiln-run %t/model.so --inputs=%t/x.npy --outputs=%t/one.safetensors --threads=1
// RUN: kiln-run %t/model.so --inputs=%t/x.npy --outputs=%t/two.safetensors --threads=2
// RUN: cmp %t/one.safetensors %t/two.safetensors
// RUN: %python %S/Inputs/check_parallel.py %t/x.npy %t/two.safetensors

func.func @forward(%x: tensor<512x1024xf32> {graph.input = "x"})
    -> (tensor<512x1024xf32> {graph.output = "softmax"}, tensor<512x1024xf32> {graph.output = "tanh"}) {
  %0 = graph.softmax %x {axis = 1 : i64} : tensor<512x1024xf32>
  %1 = graph.tanh %x : tensor<512x1024xf32>
  %2 = graph.mul %1, %x : tensor<512x1024xf32>, tensor<512x1024xf32>
  return %0, %2 : tensor<512x1024xf32>, tensor<512x1024xf32>
}
