// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-stage-elementwise))' -split-input-file | FileCheck %s
// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-stage-elementwise{block-elements=64}))' -split-input-file | FileCheck %s --check-prefix=SMALL

// A chain of three transcendentals (the sigmoid's exp, tanh, exp) becomes
// three stages over blocks of 256 elements: one row of 256 here, in a
// parallel loop over rows and blocks. relu(x), read only by the last stage,
// is computed there; a stage reads the slice of x it needs itself, and what
// the next stage reads travels in a block-sized tensor (one, reused).
// CHECK-LABEL: func.func @chain
// CHECK: scf.for %[[ROW:.*]] = %c0 to %c8 step %c1
// CHECK: scf.for %[[COL:.*]] = %c0 to %c512 step %c256
// CHECK: %[[X:.*]] = tensor.extract_slice %{{.*}}[%[[ROW]], %[[COL]]] [1, 256] [1, 1]
// CHECK: %[[B:.*]] = tensor.extract_slice %{{.*}}[%[[COL]]] [256] [1]
// CHECK: %[[T:.*]] = tensor.empty() : tensor<1x256xf32>
// CHECK: %[[S0:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[B]] : tensor<1x256xf32>, tensor<256xf32>) outs(%[[T]] : tensor<1x256xf32>)
// CHECK-NOT: linalg.yield
// CHECK: math.exp
// CHECK-NEXT: linalg.yield
// CHECK: %[[S1:.*]] = linalg.generic {{.*}} ins(%[[S0]] : tensor<1x256xf32>) outs(%[[T]] : tensor<1x256xf32>)
// CHECK: arith.divf
// CHECK: math.tanh
// CHECK-NEXT: linalg.yield
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[S1]] : tensor<1x256xf32>, tensor<1x256xf32>)
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK-NEXT: linalg.yield
// CHECK: tensor.insert_slice
// CHECK: } {kiln.parallel}
// SMALL-LABEL: func.func @chain
// SMALL: scf.for %{{.*}} = %c0 to %c512 step %c64
// SMALL: tensor.extract_slice %{{.*}} [1, 64] [1, 1]
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @chain(%x: tensor<8x512xf32>, %b: tensor<512xf32>) -> tensor<8x512xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<8x512xf32>
  %0 = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : tensor<8x512xf32>, tensor<512xf32>) outs(%e : tensor<8x512xf32>) {
  ^bb0(%v: f32, %c: f32, %o: f32):
    %relu = arith.maximumf %v, %zero : f32
    %z = arith.addf %v, %c : f32
    %nz = arith.negf %z : f32
    %ez = math.exp %nz : f32
    %d = arith.addf %ez, %one : f32
    %s = arith.divf %one, %d : f32
    %t = math.tanh %s : f32
    %u = arith.addf %t, %relu : f32
    %nu = arith.negf %u : f32
    %r = math.exp %nu : f32
    linalg.yield %r : f32
  } -> tensor<8x512xf32>
  return %0 : tensor<8x512xf32>
}

// -----

// One transcendental: nothing to split.
// CHECK-LABEL: func.func @one_exp
// CHECK-NOT: scf.for
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @one_exp(%x: tensor<8x512xf32>) -> tensor<8x512xf32> {
  %e = tensor.empty() : tensor<8x512xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x512xf32>) outs(%e : tensor<8x512xf32>) {
  ^bb0(%v: f32, %o: f32):
    %n = arith.negf %v : f32
    %r = math.exp %n : f32
    %s = arith.addf %r, %v : f32
    linalg.yield %s : f32
  } -> tensor<8x512xf32>
  return %0 : tensor<8x512xf32>
}

// -----

// A value two later stages read travels once; a small tensor (3x5, one
// block) is split into stages without a loop.
// CHECK-LABEL: func.func @two_readers
// CHECK-NOT: scf.for
// CHECK: %[[E:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<3x5xf32>) outs(%{{.*}} : tensor<3x5xf32>)
// CHECK: math.exp
// CHECK: %[[L:.*]] = linalg.generic {{.*}} ins(%[[E]] : tensor<3x5xf32>)
// CHECK: math.log
// CHECK: linalg.generic {{.*}} ins(%[[E]], %[[L]] : tensor<3x5xf32>, tensor<3x5xf32>)
// CHECK: math.tanh
// CHECK: arith.mulf
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @two_readers(%x: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %e = tensor.empty() : tensor<3x5xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<3x5xf32>) outs(%e : tensor<3x5xf32>) {
  ^bb0(%v: f32, %o: f32):
    %a = math.exp %v : f32
    %l = math.log %a : f32
    %t = math.tanh %l : f32
    %r = arith.mulf %t, %a : f32
    linalg.yield %r : f32
  } -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

// A generic that reads a reduction's result is kiln-vectorize's (blocks of
// rows): it stays whole.
// CHECK-LABEL: func.func @after_reduction
// CHECK-NOT: scf.for
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: math.exp
// CHECK: math.tanh
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
func.func @after_reduction(%x: tensor<8x512xf32>) -> tensor<8x512xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<8xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<8x512xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %a = arith.addf %v, %acc : f32
    linalg.yield %a : f32
  } -> tensor<8xf32>
  %e = tensor.empty() : tensor<8x512xf32>
  %0 = linalg.generic {indexing_maps = [#id, #rows, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : tensor<8x512xf32>, tensor<8xf32>) outs(%e : tensor<8x512xf32>) {
  ^bb0(%v: f32, %s: f32, %o: f32):
    %d = arith.subf %v, %s : f32
    %ex = math.exp %d : f32
    %t = math.tanh %ex : f32
    linalg.yield %t : f32
  } -> tensor<8x512xf32>
  return %0 : tensor<8x512xf32>
}

// -----

// A transcendental nothing reads would make a stage without results: the
// generic stays whole (the dead exp then goes with the pass's clean-up).
// CHECK-LABEL: func.func @dead_stage
// CHECK-NOT: scf.for
// CHECK: linalg.generic
// CHECK: math.tanh
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @dead_stage(%x: tensor<8x512xf32>) -> tensor<8x512xf32> {
  %e = tensor.empty() : tensor<8x512xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x512xf32>) outs(%e : tensor<8x512xf32>) {
  ^bb0(%v: f32, %o: f32):
    %unused = math.exp %v : f32
    %t = math.tanh %v : f32
    linalg.yield %t : f32
  } -> tensor<8x512xf32>
  return %0 : tensor<8x512xf32>
}

// -----

// An op with a region in the body could read another stage's values inside
// it: the generic stays whole.
// CHECK-LABEL: func.func @region_in_body
// CHECK-NOT: scf.for
// CHECK: linalg.generic
// CHECK: scf.if
// CHECK: math.tanh
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @region_in_body(%x: tensor<8x512xf32>, %c: i1) -> tensor<8x512xf32> {
  %e = tensor.empty() : tensor<8x512xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<8x512xf32>) outs(%e : tensor<8x512xf32>) {
  ^bb0(%v: f32, %o: f32):
    %a = math.exp %v : f32
    %b = scf.if %c -> f32 {
      scf.yield %a : f32
    } else {
      scf.yield %v : f32
    }
    %t = math.tanh %b : f32
    %r = arith.addf %t, %a : f32
    linalg.yield %r : f32
  } -> tensor<8x512xf32>
  return %0 : tensor<8x512xf32>
}
