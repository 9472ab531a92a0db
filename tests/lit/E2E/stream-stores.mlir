// Softmax, an elementwise kernel and layer norm writing their outputs with
// non-temporal stores (kiln-stream-stores, forced on for 2 MiB outputs) give
// the same results, bit for bit, as with ordinary stores, on one thread and
// on two; and softmax and tanh(x) * x match numpy.
// RUN: rm -rf %t && mkdir -p %t
// The three kernels store non-temporally, 64-byte aligned, each with a
// fence in its threads' body and another after the threads join.
// RUN: kilnc %s --stream-stores=0 --emit=llvm -o %t/streamed.mlir
// RUN: grep -c 'alignment = 64 : i64, nontemporal} : vector<64xf32>' %t/streamed.mlir | FileCheck %s --check-prefix=STORES
// STORES: 3
// RUN: grep -c 'llvm.fence seq_cst' %t/streamed.mlir | FileCheck %s --check-prefix=FENCES
// FENCES: 6
// RUN: kilnc %s --stream-stores=off --emit=llvm | FileCheck %s --check-prefix=OFF
// OFF-NOT: nontemporal
// RUN: kilnc %s --stream-stores=0 --emit=so -o %t/streamed.so
// RUN: kilnc %s --stream-stores=off --emit=so -o %t/cached.so
// RUN: %python -c "import numpy as np; np.save('%t/x.npy', np.random.default_rng(1).standard_normal((512, 1024)).astype(np.float32))"
// RUN: kiln-run %t/cached.so --inputs=%t/x.npy --outputs=%t/cached.safetensors --threads=1
// RUN: kiln-run %t/streamed.so --inputs=%t/x.npy --outputs=%t/one.safetensors --threads=1
// RUN: kiln-run %t/streamed.so --inputs=%t/x.npy --outputs=%t/two.safetensors --threads=2
// RUN: cmp %t/cached.safetensors %t/one.safetensors
// RUN: cmp %t/cached.safetensors %t/two.safetensors
// RUN: %python %S/Inputs/check_parallel.py %t/x.npy %t/two.safetensors

// A bad value names the flag.
// RUN: not kilnc %s --stream-stores=lots --emit=llvm 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: kilnc: error: --stream-stores=lots is not auto, off or a number of bytes

func.func @forward(%x: tensor<512x1024xf32> {graph.input = "x"})
    -> (tensor<512x1024xf32> {graph.output = "softmax"}, tensor<512x1024xf32> {graph.output = "tanh"},
        tensor<512x1024xf32> {graph.output = "norm"}) {
  %0 = graph.softmax %x {axis = 1 : i64} : tensor<512x1024xf32>
  %1 = graph.tanh %x : tensor<512x1024xf32>
  %2 = graph.mul %1, %x : tensor<512x1024xf32>, tensor<512x1024xf32>
  %g = graph.constant dense<1.5> : tensor<1024xf32>
  %b = graph.constant dense<0.25> : tensor<1024xf32>
  %3 = graph.layer_norm %x, %g, %b : tensor<512x1024xf32>, tensor<1024xf32>, tensor<1024xf32>
  return %0, %2, %3 : tensor<512x1024xf32>, tensor<512x1024xf32>, tensor<512x1024xf32>
}
