// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-copy-returned-arguments))' | FileCheck %s

// CHECK-LABEL: func.func @identity
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<2x3xf32>)
// CHECK: %[[S:.*]] = tensor.empty() : tensor<2x3xf32>
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x3xf32>
// CHECK: %[[C:.*]] = linalg.copy ins(%[[X]] : tensor<2x3xf32>) outs(%[[E]] : tensor<2x3xf32>)
// CHECK: return %[[C]], %[[S]] :
func.func @identity(%x: tensor<2x3xf32>, %y: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %s = tensor.empty() : tensor<2x3xf32>
  return %x, %s : tensor<2x3xf32>, tensor<2x3xf32>
}
