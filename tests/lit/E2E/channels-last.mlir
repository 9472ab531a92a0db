// Channels-last ops (as graph-channels-last writes them) compute what
// PyTorch computes on the same data in NCHW, through oneDNN's NHWC entry
// points (--library-calls=on) and through generated code (off: the
// operands transposed to NCHW and back): convolution with bias,
// transposed convolution, the weight gradient, batch norm and group norm
// and their gradients, max and average pooling, the max-pooling gradient,
// global average pooling. Float64 reference, 1e-5 relative.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/check_channels_last.py inputs %t/in.safetensors
// RUN: kiln-run --jit %s --entry=forward --inputs=%t/in.safetensors --outputs=%t/on.safetensors --library-calls=on
// RUN: kiln-run --jit %s --entry=forward --inputs=%t/in.safetensors --outputs=%t/off.safetensors --library-calls=off
// RUN: %python %S/Inputs/check_channels_last.py check %t/in.safetensors %t/on.safetensors %t/off.safetensors | FileCheck %s
// CHECK: on: 14 outputs within 1e-05
// CHECK: off: 14 outputs within 1e-05

func.func @forward(%x: tensor<2x6x6x8xf32> {graph.input = "x"},
                   %w: tensor<8x8x3x3xf32> {graph.input = "w"},
                   %wt: tensor<8x4x3x3xf32> {graph.input = "wt"},
                   %dy: tensor<2x6x6x8xf32> {graph.input = "dy"},
                   %dp: tensor<2x3x3x8xf32> {graph.input = "dp"},
                   %g: tensor<8xf32> {graph.input = "g"},
                   %b: tensor<8xf32> {graph.input = "b"})
    -> (tensor<2x6x6x8xf32> {graph.output = "conv"},
        tensor<2x11x11x4xf32> {graph.output = "conv_transpose"},
        tensor<8x8x3x3xf32> {graph.output = "weight_grad"},
        tensor<2x6x6x8xf32> {graph.output = "batch_norm"},
        tensor<2x6x6x8xf32> {graph.output = "batch_norm_grad"},
        tensor<8xf32> {graph.output = "batch_norm_weight_grad"},
        tensor<2x6x6x8xf32> {graph.output = "batch_norm_inference"},
        tensor<2x3x3x8xf32> {graph.output = "max_pool"},
        tensor<2x6x6x8xf32> {graph.output = "max_pool_grad"},
        tensor<2x3x3x8xf32> {graph.output = "avg_pool"},
        tensor<2x1x1x8xf32> {graph.output = "global_avg_pool"},
        tensor<2x6x6x8xf32> {graph.output = "group_norm"},
        tensor<2x6x6x8xf32> {graph.output = "group_norm_grad"},
        tensor<8xf32> {graph.output = "group_norm_weight_grad"}) {
  %conv = graph.conv2d %x, %w, %b {channels_last, padding = array<i64: 1, 1>} : tensor<2x6x6x8xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>
  %ct = graph.conv_transpose2d %x, %wt {channels_last, padding = array<i64: 1, 1>, strides = array<i64: 2, 2>} : tensor<2x6x6x8xf32>, tensor<8x4x3x3xf32>
  %dw = graph.conv2d_weight_grad %x, %dy {channels_last, kernel = array<i64: 3, 3>, padding = array<i64: 1, 1>} : tensor<2x6x6x8xf32>, tensor<2x6x6x8xf32>
  %bn, %m, %v = graph.batch_norm_training %conv, %g, %b, %g, %b {channels_last} : tensor<2x6x6x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %dx, %dg, %db = graph.batch_norm_grad %conv, %dy, %g {channels_last} : tensor<2x6x6x8xf32>, tensor<2x6x6x8xf32>, tensor<8xf32>
  %bi = graph.batch_norm_inference %x, %g, %b, %b, %g {channels_last} : tensor<2x6x6x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  %mp = graph.max_pool2d %x {channels_last, kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<2x6x6x8xf32>
  %mg = graph.max_pool2d_grad %x, %dp {channels_last, kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<2x6x6x8xf32>, tensor<2x3x3x8xf32>
  %ap = graph.avg_pool2d %x {channels_last, count_include_pad = false, kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<2x6x6x8xf32>
  %gp = graph.global_avg_pool2d %x {channels_last} : tensor<2x6x6x8xf32>
  %gn = graph.group_norm %conv, %g, %b {channels_last, num_groups = 2 : i64} : tensor<2x6x6x8xf32>, tensor<8xf32>, tensor<8xf32>
  %gx, %gg, %gb = graph.group_norm_grad %conv, %dy, %g {channels_last, num_groups = 2 : i64} : tensor<2x6x6x8xf32>, tensor<2x6x6x8xf32>, tensor<8xf32>
  return %conv, %ct, %dw, %bn, %dx, %dg, %bi, %mp, %mg, %ap, %gp, %gn, %gx, %gg : tensor<2x6x6x8xf32>, tensor<2x11x11x4xf32>, tensor<8x8x3x3xf32>, tensor<2x6x6x8xf32>, tensor<2x6x6x8xf32>, tensor<8xf32>, tensor<2x6x6x8xf32>, tensor<2x3x3x8xf32>, tensor<2x6x6x8xf32>, tensor<2x3x3x8xf32>, tensor<2x1x1x8xf32>, tensor<2x6x6x8xf32>, tensor<2x6x6x8xf32>, tensor<8xf32>
}
