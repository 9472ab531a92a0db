// RUN: kiln-opt %s -convert-graph-to-linalg="fused-attention=1" -split-input-file | FileCheck %s
// RUN: not kiln-opt %s -convert-graph-to-linalg -split-input-file -o /dev/null 2>&1 | FileCheck %s --check-prefix=UNFUSED

// Fused, graph.attention is one kiln.attention call: q, k, v and the mask
// (slot -1 when absent), causal in ints, the scale in floats; no
// [..., Tq, Tk] tensor is made.

// CHECK-LABEL: func.func @forward
// CHECK-NOT: tensor<2x3x5x7xf32>
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x3x5x6xf32>
// CHECK: %[[R:.*]] = kernel.library_call "kiln.attention" ins(%arg0, %arg1, %arg2, %arg3 : tensor<2x3x5x4xf32>, tensor<2x3x7x4xf32>, tensor<2x3x7x6xf32>, tensor<5x7xi1>)
// CHECK-SAME: outs(%[[E]] : tensor<2x3x5x6xf32>) {floats = array<f64: 5.000000e-01>, ints = array<i64: 0>, slots = array<i64: 0, 1, 2, 3>}
// CHECK-NOT: tensor<2x3x5x7xf32>
// CHECK: return %[[R]]
func.func @forward(%q: tensor<2x3x5x4xf32>, %k: tensor<2x3x7x4xf32>,
                   %v: tensor<2x3x7x6xf32>, %m: tensor<5x7xi1>) -> tensor<2x3x5x6xf32> {
  %o = graph.attention %q, %k, %v, %m {scale = 0.5 : f64}
      : tensor<2x3x5x4xf32>, tensor<2x3x7x4xf32>, tensor<2x3x7x6xf32>, tensor<5x7xi1>
  return %o : tensor<2x3x5x6xf32>
}

// -----

// The gradient is two calls: per query row (the query's gradient, and the
// rows' [max, sum, rowsum(g o)] for the second), then per key row.

// CHECK-LABEL: func.func @backward
// CHECK-NOT: tensor<2x8x8xf64>
// CHECK: %[[ROWS:.*]]:2 = kernel.library_call "kiln.attention_grad_rows" ins(%arg0, %arg1, %arg2, %arg3, %arg4 : tensor<2x8x4xf64>, tensor<2x8x4xf64>, tensor<2x8x6xf64>, tensor<2x8x6xf64>, tensor<2x8x6xf64>)
// CHECK-SAME: outs(%{{.*}}, %{{.*}} : tensor<2x8x4xf64>, tensor<2x8x3xf64>) {floats = array<f64: 5.000000e-01>, ints = array<i64: 1>, slots = array<i64: 0, 1, 2, -1, 3, 4>}
// CHECK: %[[COLS:.*]]:2 = kernel.library_call "kiln.attention_grad_columns" ins(%arg0, %arg1, %arg2, %arg4, %[[ROWS]]#1 : tensor<2x8x4xf64>, tensor<2x8x4xf64>, tensor<2x8x6xf64>, tensor<2x8x6xf64>, tensor<2x8x3xf64>)
// CHECK-SAME: outs(%{{.*}}, %{{.*}} : tensor<2x8x4xf64>, tensor<2x8x6xf64>) {floats = array<f64: 5.000000e-01>, ints = array<i64: 1>, slots = array<i64: 0, 1, 2, -1, 3, 4>}
// CHECK: return %[[ROWS]]#0, %[[COLS]]#0, %[[COLS]]#1
func.func @backward(%q: tensor<2x8x4xf64>, %k: tensor<2x8x4xf64>,
                    %v: tensor<2x8x6xf64>, %o: tensor<2x8x6xf64>,
                    %g: tensor<2x8x6xf64>)
    -> (tensor<2x8x4xf64>, tensor<2x8x4xf64>, tensor<2x8x6xf64>) {
  // UNFUSED: error: 'graph.attention_grad' op is lowered only with fused attention; without, graph-decompose-attention-grad rewrites it first
  %dq, %dk, %dv = graph.attention_grad %q, %k, %v, %o, %g {causal}
      : tensor<2x8x4xf64>, tensor<2x8x4xf64>, tensor<2x8x6xf64>, tensor<2x8x6xf64>, tensor<2x8x6xf64>
  return %dq, %dk, %dv : tensor<2x8x4xf64>, tensor<2x8x4xf64>, tensor<2x8x6xf64>
}
