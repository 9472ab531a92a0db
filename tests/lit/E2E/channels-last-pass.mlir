// graph-channels-last keeps what a function computes: a convolution with
// batch norm, a residual add and ReLU, a concatenation and a slice of it,
// a broadcast gate, pooling, sums over the image and a flatten, run with
// the pass (--channels-last=on, the default) and without, agree to 1e-5.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/check_channels_last.py pass-inputs %t/in.safetensors
// RUN: kiln-run --jit %s --entry=forward --inputs=%t/in.safetensors --outputs=%t/on.safetensors
// RUN: kiln-run --jit %s --entry=forward --inputs=%t/in.safetensors --outputs=%t/off.safetensors --channels-last=off
// RUN: %python %S/Inputs/check_channels_last.py same %t/on.safetensors %t/off.safetensors | FileCheck %s
// CHECK: 5 outputs agree within 1e-05
// RUN: not kiln-run --jit %s --entry=forward --inputs=%t/in.safetensors --outputs=%t/bad.safetensors --channels-last=maybe 2>&1 | FileCheck %s --check-prefix=FLAG
// FLAG: --channels-last must be on or off, got 'maybe'

func.func @forward(%x: tensor<2x8x6x6xf32> {graph.input = "x"},
                   %w: tensor<8x8x3x3xf32> {graph.input = "w"},
                   %w2: tensor<4x16x1x1xf32> {graph.input = "w2"},
                   %gate: tensor<2x16x1x1xf32> {graph.input = "gate"},
                   %g: tensor<8xf32> {graph.input = "g"},
                   %b: tensor<8xf32> {graph.input = "b"})
    -> (tensor<2x4x6x6xf32> {graph.output = "y"},
        tensor<2x16x1x1xf32> {graph.output = "sum"},
        tensor<2x16xf32> {graph.output = "mean"},
        tensor<2x128xf32> {graph.output = "flat"},
        tensor<8xf32> {graph.output = "running_mean"}) {
  %0 = graph.conv2d %x, %w {padding = array<i64: 1, 1>} : tensor<2x8x6x6xf32>, tensor<8x8x3x3xf32>
  %1, %m, %v = graph.batch_norm_training %0, %g, %b, %b, %g : tensor<2x8x6x6xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %2 = graph.add %1, %x : tensor<2x8x6x6xf32>, tensor<2x8x6x6xf32>
  %3 = graph.relu %2 : tensor<2x8x6x6xf32>
  %4 = graph.concat %3, %0 {axis = 1 : i64} : tensor<2x8x6x6xf32>, tensor<2x8x6x6xf32>
  %5 = graph.mul %4, %gate : tensor<2x16x6x6xf32>, tensor<2x16x1x1xf32>
  %6 = graph.conv2d %5, %w2 : tensor<2x16x6x6xf32>, tensor<4x16x1x1xf32>
  %7 = graph.slice %4 {starts = array<i64: 0, 4, 0, 0>, limits = array<i64: 2, 8, 6, 6>, strides = array<i64: 1, 1, 1, 1>} : tensor<2x16x6x6xf32>
  %8 = graph.add %6, %7 : tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>
  %9 = graph.reduce_sum %5 {dims = array<i64: 2, 3>, keep_dims} : tensor<2x16x6x6xf32>
  %10 = graph.reduce_mean %5 {dims = array<i64: 2, 3>} : tensor<2x16x6x6xf32>
  %11 = graph.max_pool2d %5 {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<2x16x6x6xf32>
  %12 = graph.avg_pool2d %11 {kernel = array<i64: 2, 2>, strides = array<i64: 1, 1>} : tensor<2x16x3x3xf32>
  %13 = graph.reshape %12 {shape = array<i64: 2, 64>} : tensor<2x16x2x2xf32>
  %14 = graph.concat %13, %13 {axis = 1 : i64} : tensor<2x64xf32>, tensor<2x64xf32>
  return %8, %9, %10, %14, %m : tensor<2x4x6x6xf32>, tensor<2x16x1x1xf32>, tensor<2x16xf32>, tensor<2x128xf32>, tensor<8xf32>
}
