// RUN: kiln-opt %s -kiln-expand-attention -split-input-file -verify-diagnostics | FileCheck %s

// Forward, causal, with a key mask: one parallel iteration per (batch,
// query row); the keys run to the diagonal (min(i + 1, Tk)); the first pass
// carries the maximum and the exponential sum, the second the row's two
// outputs, stored once at the end.

// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[Q:[a-z0-9_]+]]: memref<2x8x4xf32>, %[[K:[a-z0-9_]+]]: memref<2x8x4xf32>, %[[V:[a-z0-9_]+]]: memref<2x8x2xf32>, %[[M:[a-z0-9_]+]]: memref<8xi1>, %[[O:[a-z0-9_]+]]: memref<2x8x2xf32>)
// CHECK-NOT: memref.alloc
// CHECK: scf.parallel (%[[B:[a-z0-9_]+]], %[[I:[a-z0-9_]+]]) = ({{.*}}) to (%c2, %c8)
// CHECK: %[[NEXT:[a-z0-9_]+]] = arith.addi %[[I]], %{{.*}} : index
// CHECK: %[[END:[a-z0-9_]+]] = arith.minsi %[[NEXT]], %{{.*}} : index
// CHECK: %[[STATS:[a-z0-9_]+]]:2 = scf.for %[[J:[a-z0-9_]+]] = %{{.*}} to %[[END]] step %{{.*}} iter_args(%[[MAX:[a-z0-9_]+]] = %cst, %[[SUM:[a-z0-9_]+]] = %cst_{{.*}}) -> (f32, f32)
// CHECK:   %[[DOT:[a-z0-9_]+]] = scf.for %[[D:[a-z0-9_]+]] = {{.*}} -> (f32)
// CHECK:     memref.load %[[Q]][%[[B]], %[[I]], %[[D]]]
// CHECK:     memref.load %[[K]][%[[B]], %[[J]], %[[D]]]
// CHECK:   %[[SCALED:[a-z0-9_]+]] = arith.mulf %[[DOT]], %{{.*}} : f32
// CHECK:   %[[KEEP:[a-z0-9_]+]] = memref.load %[[M]][%[[J]]] : memref<8xi1>
// CHECK:   %[[S:[a-z0-9_]+]] = arith.select %[[KEEP]], %[[SCALED]], %{{.*}} : f32
// CHECK:   %[[GROWN:[a-z0-9_]+]] = arith.maximumf %[[MAX]], %[[S]] : f32
// CHECK:   arith.cmpf oeq, %[[GROWN]]
// CHECK: %[[ACC:[a-z0-9_]+]]:2 = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (f32, f32)
// CHECK:   arith.subf %{{.*}}, %[[STATS]]#0 : f32
// CHECK:   %[[P:[a-z0-9_]+]] = arith.divf %{{.*}}, %[[STATS]]#1 : f32
// CHECK:   arith.mulf %[[P]], %{{.*}} : f32
// CHECK:   arith.mulf %[[P]], %{{.*}} : f32
// CHECK: memref.store %[[ACC]]#0, %[[O]][%[[B]], %[[I]], %{{.*}}]
// CHECK: memref.store %[[ACC]]#1, %[[O]][%[[B]], %[[I]], %{{.*}}]
// CHECK-NOT: memref.store
// CHECK: return
func.func @forward(%q: memref<2x8x4xf32>, %k: memref<2x8x4xf32>, %v: memref<2x8x2xf32>, %m: memref<8xi1>, %o: memref<2x8x2xf32>) {
  kernel.library_call "kiln.attention" ins(%q, %k, %v, %m : memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x2xf32>, memref<8xi1>)
      outs(%o : memref<2x8x2xf32>) {slots = array<i64: 0, 1, 2, 3>, ints = array<i64: 1>, floats = array<f64: 0.5>}
  return
}

// -----

// The gradient's query side: the statistics pass, rowsum(g o) over Dv, one
// pass carrying the query gradient's D = 3 columns (scaled when stored),
// and the row's stats (max, sum, rowsum). Not causal: every key.

// CHECK-LABEL: func.func @rows
// CHECK-SAME: (%[[Q:[a-z0-9_]+]]: memref<4x3xf64>, %[[K:[a-z0-9_]+]]: memref<5x3xf64>, %[[V:[a-z0-9_]+]]: memref<5x2xf64>, %[[O:[a-z0-9_]+]]: memref<4x2xf64>, %[[G:[a-z0-9_]+]]: memref<4x2xf64>, %[[DQ:[a-z0-9_]+]]: memref<4x3xf64>, %[[ST:[a-z0-9_]+]]: memref<4x3xf64>)
// CHECK: scf.parallel (%[[I:[a-z0-9_]+]]) = (%{{.*}}) to (%c4)
// CHECK: %[[STATS:[a-z0-9_]+]]:2 = scf.for %{{.*}} = %{{.*}} to %c5{{.*}} -> (f64, f64)
// CHECK:   scf.yield %{{.*}}, %{{.*}} : f64, f64
// CHECK: %[[ROWDOT:[a-z0-9_]+]] = scf.for %[[E:[a-z0-9_]+]] = {{.*}} -> (f64)
// CHECK:   memref.load %[[G]][%[[I]], %[[E]]]
// CHECK:   memref.load %[[O]][%[[I]], %[[E]]]
// CHECK: %[[ACC:[a-z0-9_]+]]:3 = scf.for {{.*}} -> (f64, f64, f64)
// CHECK:   %[[P:[a-z0-9_]+]] = arith.divf
// CHECK:   %[[DP:[a-z0-9_]+]] = scf.for {{.*}} -> (f64)
// CHECK:   %[[DIFF:[a-z0-9_]+]] = arith.subf %[[DP]], %[[ROWDOT]] : f64
// CHECK:   %[[DS:[a-z0-9_]+]] = arith.mulf %[[P]], %[[DIFF]] : f64
// CHECK:   arith.mulf %[[DS]], %{{.*}} : f64
// CHECK: %[[SCALED:[a-z0-9_]+]] = arith.mulf %[[ACC]]#0, %{{.*}} : f64
// CHECK: memref.store %[[SCALED]], %[[DQ]][%[[I]], %{{.*}}]
// CHECK: memref.store %[[STATS]]#0, %[[ST]][%[[I]], %{{.*}}]
// CHECK: memref.store %[[STATS]]#1, %[[ST]][%[[I]], %{{.*}}]
// CHECK: memref.store %[[ROWDOT]], %[[ST]][%[[I]], %{{.*}}]
func.func @rows(%q: memref<4x3xf64>, %k: memref<5x3xf64>, %v: memref<5x2xf64>, %o: memref<4x2xf64>, %g: memref<4x2xf64>, %dq: memref<4x3xf64>, %st: memref<4x3xf64>) {
  kernel.library_call "kiln.attention_grad_rows" ins(%q, %k, %v, %o, %g : memref<4x3xf64>, memref<5x3xf64>, memref<5x2xf64>, memref<4x2xf64>, memref<4x2xf64>)
      outs(%dq, %st : memref<4x3xf64>, memref<4x3xf64>) {slots = array<i64: 0, 1, 2, -1, 3, 4>, ints = array<i64: 0>, floats = array<f64: 0.25>}
  return
}

// -----

// The key side, causal: key j is seen by queries j..Tq-1. Each pass
// carries v_grad's Dv columns, then k_grad's D: 130 columns take two
// passes (128 and 2); the first has only v_grad's, so it computes no ds.

// CHECK-LABEL: func.func @columns
// CHECK-SAME: (%[[Q:[a-z0-9_]+]]: memref<6x2xf32>, %[[K:[a-z0-9_]+]]: memref<6x2xf32>, %[[V:[a-z0-9_]+]]: memref<6x128xf32>, %[[G:[a-z0-9_]+]]: memref<6x128xf32>, %[[ST:[a-z0-9_]+]]: memref<6x3xf32>, %[[DK:[a-z0-9_]+]]: memref<6x2xf32>, %[[DV:[a-z0-9_]+]]: memref<6x128xf32>)
// CHECK: scf.parallel (%[[J:[a-z0-9_]+]]) = (%{{.*}}) to (%c6)
// CHECK: %[[FIRST:[a-z0-9_]+]]:128 = scf.for %[[I:[a-z0-9_]+]] = %[[J]] to %c6{{.*}} -> (f32,
// CHECK:   memref.load %[[ST]][%[[I]], %c0{{.*}}]
// CHECK:   memref.load %[[ST]][%[[I]], %c1{{.*}}]
// CHECK-NOT: memref.load %[[ST]][%[[I]], %c2{{.*}}]
// CHECK:   scf.yield
// CHECK: memref.store %[[FIRST]]#0, %[[DV]][%[[J]], %{{.*}}]
// CHECK: memref.store %[[FIRST]]#127, %[[DV]][%[[J]], %{{.*}}]
// CHECK: %[[SECOND:[a-z0-9_]+]]:2 = scf.for %{{.*}} = %[[J]] to %c6{{.*}} -> (f32, f32)
// CHECK:   memref.load %[[ST]][%{{.*}}, %c2{{.*}}]
// CHECK: %[[DK0:[a-z0-9_]+]] = arith.mulf %[[SECOND]]#0, %{{.*}} : f32
// CHECK: memref.store %[[DK0]], %[[DK]][%[[J]], %{{.*}}]
func.func @columns(%q: memref<6x2xf32>, %k: memref<6x2xf32>, %v: memref<6x128xf32>, %g: memref<6x128xf32>, %st: memref<6x3xf32>, %dk: memref<6x2xf32>, %dv: memref<6x128xf32>) {
  kernel.library_call "kiln.attention_grad_columns" ins(%q, %k, %v, %g, %st : memref<6x2xf32>, memref<6x2xf32>, memref<6x128xf32>, memref<6x128xf32>, memref<6x3xf32>)
      outs(%dk, %dv : memref<6x2xf32>, memref<6x128xf32>) {slots = array<i64: 0, 1, 2, -1, 3, 4>, ints = array<i64: 1>, floats = array<f64: 1.0>}
  return
}

// -----

func.func @unknown(%q: memref<4x3xf32>, %o: memref<4x3xf32>) {
  // expected-error @+1 {{names no fused-attention kernel: kiln.attention_sideways}}
  kernel.library_call "kiln.attention_sideways" ins(%q, %q, %q : memref<4x3xf32>, memref<4x3xf32>, memref<4x3xf32>)
      outs(%o : memref<4x3xf32>) {slots = array<i64: 0, 1, 2, -1>, ints = array<i64: 0>, floats = array<f64: 1.0>}
  return
}

// -----

func.func @operands(%q: memref<4x3xf32>, %o: memref<4x3xf32>) {
  // expected-error @+1 {{has not the operands of kiln.attention}}
  kernel.library_call "kiln.attention" ins(%q, %q, %q : memref<4x3xf32>, memref<4x3xf32>, memref<4x3xf32>)
      outs(%o : memref<4x3xf32>) {slots = array<i64: 0, 1, 2>, ints = array<i64: 0>, floats = array<f64: 1.0>}
  return
}

// -----

func.func @short_stats(%q: memref<4x3xf32>, %k: memref<5x3xf32>, %v: memref<5x2xf32>, %g: memref<4x2xf32>, %st: memref<4x2xf32>, %dk: memref<5x3xf32>, %dv: memref<5x2xf32>) {
  // expected-error @+1 {{needs the rows' statistics of shape [4, 3] and element type 'f32', got 'memref<4x2xf32>'}}
  kernel.library_call "kiln.attention_grad_columns" ins(%q, %k, %v, %g, %st : memref<4x3xf32>, memref<5x3xf32>, memref<5x2xf32>, memref<4x2xf32>, memref<4x2xf32>)
      outs(%dk, %dv : memref<5x3xf32>, memref<5x2xf32>) {slots = array<i64: 0, 1, 2, -1, 3, 4>, ints = array<i64: 0>, floats = array<f64: 1.0>}
  return
}

// -----

func.func @no_gradient(%q: memref<4x3xf32>, %o: memref<4x3xf32>, %st: memref<4x3xf32>) {
  // expected-error @+1 {{needs its gradient of shape [4, 3] and element type 'f32', got none}}
  kernel.library_call "kiln.attention_grad_rows" ins(%q, %q, %q, %o : memref<4x3xf32>, memref<4x3xf32>, memref<4x3xf32>, memref<4x3xf32>)
      outs(%o, %st : memref<4x3xf32>, memref<4x3xf32>) {slots = array<i64: 0, 1, 2, -1, 3, -1>, ints = array<i64: 0>, floats = array<f64: 1.0>}
  return
}

// -----

func.func @wide_mask(%q: memref<4x3xf32>, %m: memref<4x5xi1>, %o: memref<4x3xf32>) {
  // expected-error @+1 {{needs a mask of i1 that broadcasts to the scores [4, 4], got 'memref<4x5xi1>'}}
  kernel.library_call "kiln.attention" ins(%q, %q, %q, %m : memref<4x3xf32>, memref<4x3xf32>, memref<4x3xf32>, memref<4x5xi1>)
      outs(%o : memref<4x3xf32>) {slots = array<i64: 0, 1, 2, 3>, ints = array<i64: 0>, floats = array<f64: 1.0>}
  return
}

