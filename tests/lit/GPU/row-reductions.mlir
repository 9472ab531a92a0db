// REQUIRES: cuda-toolkit
// Long rows on the GPU: a softmax over rows of 512 and a layer norm over
// rows of 768 reduce each row with a block of threads (kiln-gpu-map-loops):
// gpu.all_reduce, lowered by convert-gpu-to-nvvm to warp shuffles and a
// shared-memory exchange between warps, both barriers included. ptxas
// assembles the kernels for sm_90.
// RUN: rm -rf %t && mkdir -p %t
// RUN: kilnc %s --target=cuda --emit=ptx -o %t/rows.ptx
// RUN: FileCheck %s < %t/rows.ptx
// RUN: FileCheck %s --check-prefix=KERNELS < %t/rows.ptx
// RUN: %ptxas -arch=sm_90 %t/rows.ptx -o %t/rows.cubin
// Four reductions (the softmax's maximum and sum, the norm's mean and
// variance), two barriers each:
// CHECK: .shared
// CHECK: shfl.sync.bfly.b32
// CHECK-COUNT-8: bar.sync
// CHECK-NOT: bar.sync
// Each is one row program (kiln-gpu-map-loops): one kernel, one block per
// row, where the softmax was six kernels (two fills, maximum, exponentials,
// sum, division) and the layer norm five.
// KERNELS-COUNT-2: .entry
// KERNELS-NOT: .entry
func.func @f(%x: tensor<8x512xf32> {graph.input = "x"},
             %h: tensor<16x768xf32> {graph.input = "h"},
             %g: tensor<768xf32> {graph.param = "g"},
             %b: tensor<768xf32> {graph.param = "b"})
    -> (tensor<8x512xf32> {graph.output = "p"},
        tensor<16x768xf32> {graph.output = "n"}) {
  %0 = graph.softmax %x : tensor<8x512xf32>
  %1 = graph.layer_norm %h, %g, %b : tensor<16x768xf32>, tensor<768xf32>, tensor<768xf32>
  return %0, %1 : tensor<8x512xf32>, tensor<16x768xf32>
}
