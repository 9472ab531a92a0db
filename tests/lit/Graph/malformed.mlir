// RUN: kiln-opt %s -split-input-file -verify-diagnostics
// Malformed or ill-typed graph IR (generic form, wrong attribute kinds,
// wrong operand or result counts) gets a located diagnostic, never a crash.

func.func @case0(%a: tensor<4xf32>, %d: tensor<?xf32>) {
  // expected-error @+1 {{expected 2 operands, but found 1}}
  %r = "graph.add"(%a) : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @case1(%a: tensor<4xf32>, %d: tensor<?xf32>) {
  // expected-error @+1 {{expected 3 results}}
  %r = "graph.batch_norm_training"(%a, %a) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @case2(%a: tensor<4xf32>, %d: tensor<?xf32>) {
  // expected-error @+1 {{attribute 'shape' failed to satisfy constraint: i64 dense array attribute}}
  %r = "graph.reshape"(%a) {shape = 3 : i64} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @case3(%a: tensor<4xf32>, %d: tensor<?xf32>) {
  // expected-error @+1 {{attribute 'strides' failed to satisfy constraint: i64 dense array attribute}}
  %r = graph.conv2d %a, %a {strides = 3} : tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @case4(%a: tensor<4xf32>, %d: tensor<?xf32>) {
  // expected-error @+1 {{attribute 'value' failed to satisfy constraint: constant vector/tensor attribute}}
  %c = "graph.constant"() {value = 3 : i64} : () -> tensor<4xf32>
  return
}

// -----

func.func @case5(%a: tensor<4xf32>, %d: tensor<?xf32>) {
  // expected-error @+1 {{operand #0 must be 0D tensor of 64-bit signless integer values, but got 'tensor<4xf32>'}}
  %z = "graph.random_uniform"(%a, %a) {shape = array<i64: 2>, dtype = f32} : (tensor<4xf32>, tensor<4xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @case6(%a: tensor<4xf32>, %d: tensor<?xf32>) {
  // expected-error @+1 {{attribute 'predicate' failed to satisfy constraint: elementwise comparison}}
  %e = "graph.compare"(%a, %a) {predicate = 17 : i64} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  return
}

// -----

func.func @case7(%a: tensor<4xf32>, %d: tensor<?xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'predicate' [eq, ne, lt, le, gt, ge]}}
  %e = graph.compare foo, %a, %a : tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @case8(%a: tensor<4xf32>, %d: tensor<?xf32>) {
  // expected-error @+2 {{'graph.add' op inferred type(s) 'tensor<4xf32>' are incompatible with return type(s) of operation 'tensor<5xf32>'}}
  // expected-error @+1 {{'graph.add' op failed to infer returned types}}
  %s = "graph.add"(%a, %a) : (tensor<4xf32>, tensor<4xf32>) -> tensor<5xf32>
  return
}

// -----

func.func @case9(%a: tensor<4xf32>, %d: tensor<?xf32>) {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<?xf32>'}}
  %s = "graph.softmax"(%d) : (tensor<?xf32>) -> tensor<?xf32>
  return
}
