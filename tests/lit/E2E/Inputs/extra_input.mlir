// The mlp at batch 4 whose loss takes one more input, 'noise', added to the
// logits: the training loop does not know what to feed it.
module @mlp {
  func.func @forward(%arg0: tensor<256x784xf32> {graph.init = "uniform:0.035714285714285712", graph.param = "fc1.weight"}, %arg1: tensor<256xf32> {graph.init = "uniform:0.035714285714285712", graph.param = "fc1.bias"}, %arg2: tensor<256x256xf32> {graph.init = "uniform:0.0625", graph.param = "fc2.weight"}, %arg3: tensor<256xf32> {graph.init = "uniform:0.0625", graph.param = "fc2.bias"}, %arg4: tensor<10x256xf32> {graph.init = "uniform:0.0625", graph.param = "fc3.weight"}, %arg5: tensor<10xf32> {graph.init = "uniform:0.0625", graph.param = "fc3.bias"}, %arg6: tensor<4x1x28x28xf32> {graph.input = "x"}) -> (tensor<4x10xf32> {graph.output = "logits"}) {
    %0 = graph.reshape %arg6 {shape = array<i64: 4, 784>} : tensor<4x1x28x28xf32>
    %1 = graph.matmul %0, %arg0 {transpose_rhs} : tensor<4x784xf32>, tensor<256x784xf32>
    %2 = graph.add %1, %arg1 : tensor<4x256xf32>, tensor<256xf32>
    %3 = graph.relu %2 : tensor<4x256xf32>
    %4 = graph.matmul %3, %arg2 {transpose_rhs} : tensor<4x256xf32>, tensor<256x256xf32>
    %5 = graph.add %4, %arg3 : tensor<4x256xf32>, tensor<256xf32>
    %6 = graph.relu %5 : tensor<4x256xf32>
    %7 = graph.matmul %6, %arg4 {transpose_rhs} : tensor<4x256xf32>, tensor<10x256xf32>
    %8 = graph.add %7, %arg5 : tensor<4x10xf32>, tensor<10xf32>
    return %8 : tensor<4x10xf32>
  }
  func.func @loss(%arg0: tensor<256x784xf32> {graph.init = "uniform:0.035714285714285712", graph.param = "fc1.weight"}, %arg1: tensor<256xf32> {graph.init = "uniform:0.035714285714285712", graph.param = "fc1.bias"}, %arg2: tensor<256x256xf32> {graph.init = "uniform:0.0625", graph.param = "fc2.weight"}, %arg3: tensor<256xf32> {graph.init = "uniform:0.0625", graph.param = "fc2.bias"}, %arg4: tensor<10x256xf32> {graph.init = "uniform:0.0625", graph.param = "fc3.weight"}, %arg5: tensor<10xf32> {graph.init = "uniform:0.0625", graph.param = "fc3.bias"}, %arg6: tensor<4x1x28x28xf32> {graph.input = "x"}, %arg7: tensor<4xi64> {graph.input = "y"}, %arg8: tensor<4x10xf32> {graph.input = "noise"}) -> (tensor<f32> {graph.output = "loss"}) {
    %0 = graph.reshape %arg6 {shape = array<i64: 4, 784>} : tensor<4x1x28x28xf32>
    %1 = graph.matmul %0, %arg0 {transpose_rhs} : tensor<4x784xf32>, tensor<256x784xf32>
    %2 = graph.add %1, %arg1 : tensor<4x256xf32>, tensor<256xf32>
    %3 = graph.relu %2 : tensor<4x256xf32>
    %4 = graph.matmul %3, %arg2 {transpose_rhs} : tensor<4x256xf32>, tensor<256x256xf32>
    %5 = graph.add %4, %arg3 : tensor<4x256xf32>, tensor<256xf32>
    %6 = graph.relu %5 : tensor<4x256xf32>
    %7 = graph.matmul %6, %arg4 {transpose_rhs} : tensor<4x256xf32>, tensor<10x256xf32>
    %8 = graph.add %7, %arg5 : tensor<4x10xf32>, tensor<10xf32>
    %n = graph.add %8, %arg8 : tensor<4x10xf32>, tensor<4x10xf32>
    %9 = graph.cross_entropy mean %n, %arg7 : tensor<4x10xf32>, tensor<4xi64>
    return %9 : tensor<f32>
  }
}

