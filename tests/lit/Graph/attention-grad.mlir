// RUN: kiln-opt %s -graph-autodiff -split-input-file | FileCheck %s --check-prefix=GRAD
// RUN: kiln-opt %s -graph-autodiff -graph-decompose-attention-grad -split-input-file | FileCheck %s --check-prefix=UNFUSED

// graph-autodiff gives graph.attention one graph.attention_grad, with the
// forward's result, its gradient, mask and attributes; unfused, it becomes
// batch matmuls and a softmax of the recomputed, masked scores.

func.func @loss(%q: tensor<2x8x4xf32> {graph.param = "q"},
                %k: tensor<2x8x4xf32> {graph.param = "k"},
                %v: tensor<2x8x6xf32> {graph.param = "v"},
                %m: tensor<8xi1> {graph.input = "m"})
    -> (tensor<f32> {graph.output = "loss"}) {
  %o = graph.attention %q, %k, %v, %m {causal, scale = 0.25 : f64}
      : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x6xf32>, tensor<8xi1>
  %s = graph.reduce_sum %o {dims = array<i64: 0, 1, 2>} : tensor<2x8x6xf32>
  return %s : tensor<f32>
}

// GRAD-LABEL: func.func @grad
// GRAD: %[[O:.*]] = graph.attention %arg0, %arg1, %arg2, %arg3 {causal, scale = 2.500000e-01 : f64}
// GRAD: %[[DQ:.*]], %[[DK:.*]], %[[DV:.*]] = graph.attention_grad %arg0, %arg1, %arg2, %[[O]], %{{.*}} mask(%arg3 : tensor<8xi1>) {causal, scale = 2.500000e-01 : f64}
// GRAD-SAME: : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x6xf32>, tensor<2x8x6xf32>, tensor<2x8x6xf32>
// GRAD: return %{{.*}}, %[[DQ]], %[[DK]], %[[DV]]

// UNFUSED-LABEL: func.func @grad
// UNFUSED-NOT: graph.attention_grad
// UNFUSED: %[[O:.*]] = graph.attention
// UNFUSED: graph.batch_matmul %arg0, %arg1 {transpose_rhs}
// UNFUSED: graph.select %{{.*}} : tensor<8x8xi1>
// UNFUSED: graph.select %arg3
// UNFUSED: %[[P:.*]] = graph.softmax
// UNFUSED: %[[DV:.*]] = graph.batch_matmul %[[P]], %{{.*}} {transpose_lhs}
// UNFUSED: %[[DP:.*]] = graph.batch_matmul %{{.*}}, %arg2 {transpose_rhs}
// UNFUSED: graph.reduce_sum %{{.*}} {dims = array<i64: 2>, keep_dims}
// UNFUSED: %[[DQ:.*]] = graph.batch_matmul %{{.*}}, %arg1 :
// UNFUSED: %[[DK:.*]] = graph.batch_matmul %{{.*}}, %arg0 {transpose_lhs}
// UNFUSED-NOT: graph.attention_grad
// UNFUSED: return %{{.*}}, %{{.*}}, %{{.*}}, %[[DV]]
