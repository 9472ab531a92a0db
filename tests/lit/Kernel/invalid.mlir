// RUN: kiln-opt %s -split-input-file -verify-diagnostics
// One case per verifier message of the kernel dialect.

func.func @args(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{body has 0 arguments for 1 inputs}}
  %0 = kernel.fused "elementwise" (%x) : (tensor<4xf32>) -> tensor<4xf32> {
    %c = graph.constant dense<1.0> : tensor<4xf32>
    kernel.yield %c : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @arg_type(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{body argument 0 has type 'tensor<4xf64>' but its input has type 'tensor<4xf32>'}}
  %0 = kernel.fused "elementwise" (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf64>):
    %c = graph.constant dense<1.0> : tensor<4xf32>
    kernel.yield %c : tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @yield(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{yields 2 values whose types differ from the results}}
  %0 = kernel.fused "elementwise" (%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    kernel.yield %a, %a : tensor<4xf32>, tensor<4xf32>
  }
  return %0 : tensor<4xf32>
}

// -----

func.func @matmul_shapes(%x: tensor<8x16xf32>, %w: tensor<4x15xf32>) {
  // expected-error @+1 {{contraction dimensions differ: lhs [8, 16] has K=16, rhs [4, 15] (transposed) has K=15}}
  %0 = kernel.matmul %x, %w {transpose_rhs} : tensor<8x16xf32>, tensor<4x15xf32>
  return
}

// -----

func.func @bias(%x: tensor<8x16xf32>, %w: tensor<4x16xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{bias [8] must be [4]}}
  %0 = kernel.matmul %x, %w bias(%b : tensor<8xf32>) {transpose_rhs} : tensor<8x16xf32>, tensor<4x16xf32>
  return
}

// -----

func.func @residual(%x: tensor<2x3x8x8xf32>, %k: tensor<6x3x3x3xf32>, %r: tensor<2x6x6x6xf32>) {
  // expected-error @+1 {{residual [2, 6, 6, 6] must have the result's shape [2, 6, 8, 8]}}
  %0 = kernel.conv2d %x, %k residual(%r : tensor<2x6x6x6xf32>) {padding = array<i64: 1, 1>} : tensor<2x3x8x8xf32>, tensor<6x3x3x3xf32>
  return
}

// -----

func.func @mixed(%x: tensor<8x16xf32>, %m: memref<8x4xf32>) {
  // expected-error @+1 {{operands must all be tensors (with results) or all memrefs (without)}}
  kernel.library_call "f" ins(%x : tensor<8x16xf32>) outs(%m : memref<8x4xf32>) {slots = array<i64: 0>, ints = array<i64>, floats = array<f64>}
  return
}

// -----

func.func @result_types(%x: tensor<8x16xf32>, %e: tensor<8x4xf32>) {
  // expected-error @+1 {{result types must equal the types of outs}}
  %0 = kernel.library_call "f" ins(%x : tensor<8x16xf32>) outs(%e : tensor<8x4xf32>) {slots = array<i64: 0>, ints = array<i64>, floats = array<f64>} -> tensor<8x5xf32>
  return
}

// -----

func.func @slot(%x: tensor<8x16xf32>, %e: tensor<8x4xf32>) {
  // expected-error @+1 {{slot 3 names no input (there are 1)}}
  %0 = kernel.library_call "f" ins(%x : tensor<8x16xf32>) outs(%e : tensor<8x4xf32>) {slots = array<i64: 0, 3>, ints = array<i64>, floats = array<f64>} -> tensor<8x4xf32>
  return
}
