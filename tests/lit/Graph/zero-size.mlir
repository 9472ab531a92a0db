// An op whose result would have no elements is an error.
// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @slice(%x: tensor<8x4xf32>) -> tensor<8x0xf32> {
  // expected-error @+1 {{'graph.slice' op result [8, 0] has no elements: Kiln compiles tensors with at least one element}}
  %0 = graph.slice %x {starts = array<i64: 0, 2>, limits = array<i64: 8, 2>, strides = array<i64: 1, 1>} : tensor<8x4xf32>
  return %0 : tensor<8x0xf32>
}

// -----

func.func @matmul(%a: tensor<4x0xf32>, %b: tensor<0x3xf32>) -> tensor<4x3xf32> {
  %0 = graph.matmul %a, %b : tensor<4x0xf32>, tensor<0x3xf32>
  return %0 : tensor<4x3xf32>
}

