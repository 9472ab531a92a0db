// RUN: kiln-opt %s -convert-graph-to-linalg -split-input-file | FileCheck %s

// Elementwise graph ops: each becomes one all-parallel linalg.generic whose
// body is the op's scalar formula; operands broadcast through their maps.

// A constant is an arith.constant of the same dense value, with no loop.
// CHECK-LABEL: func.func @constant
// CHECK: %[[C:.*]] = arith.constant dense<1.500000e+00> : tensor<4xf32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[C]]
func.func @constant() -> tensor<4xf32> {
  %0 = graph.constant dense<1.5> : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Casts: integer to float is signed, i1 to float unsigned, float to integer
// truncates, to i1 is "not equal to zero" (unordered, so NaN is true),
// widening and narrowing use ext / trunc.
// CHECK-LABEL: func.func @cast
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel"]
// CHECK: arith.sitofp %{{.*}} : i64 to f32
// CHECK: linalg.generic
// CHECK: arith.uitofp %{{.*}} : i1 to f32
// CHECK: linalg.generic
// CHECK: arith.fptosi %{{.*}} : f32 to i32
// CHECK: linalg.generic
// CHECK: arith.cmpf une, %{{.*}}, %{{.*}} : f32
// CHECK: linalg.generic
// CHECK: arith.extf %{{.*}} : f32 to f64
// CHECK: linalg.generic
// CHECK: arith.truncf %{{.*}} : f64 to f32
// CHECK: linalg.generic
// CHECK: arith.extui %{{.*}} : i1 to i64
// CHECK: linalg.generic
// CHECK: arith.trunci %{{.*}} : i64 to i32
func.func @cast(%i: tensor<4xi64>, %m: tensor<4xi1>, %x: tensor<4xf32>, %d: tensor<4xf64>)
    -> (tensor<4xf32>, tensor<4xf32>, tensor<4xi32>, tensor<4xi1>, tensor<4xf64>, tensor<4xf32>, tensor<4xi64>, tensor<4xi32>) {
  %0 = graph.cast %i : tensor<4xi64> to f32
  %1 = graph.cast %m : tensor<4xi1> to f32
  %2 = graph.cast %x : tensor<4xf32> to i32
  %3 = graph.cast %x : tensor<4xf32> to i1
  %4 = graph.cast %x : tensor<4xf32> to f64
  %5 = graph.cast %d : tensor<4xf64> to f32
  %6 = graph.cast %m : tensor<4xi1> to i64
  %7 = graph.cast %i : tensor<4xi64> to i32
  return %0, %1, %2, %3, %4, %5, %6, %7 : tensor<4xf32>, tensor<4xf32>, tensor<4xi32>, tensor<4xi1>, tensor<4xf64>, tensor<4xf32>, tensor<4xi64>, tensor<4xi32>
}

// -----

// CHECK-LABEL: func.func @neg
// CHECK: %[[R:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%{{.*}} : tensor<4x8xf32>) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK: %[[V:.*]] = arith.negf
// CHECK: linalg.yield %[[V]]
// CHECK: return %[[R]]
func.func @neg(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.neg %x : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @abs_floor
// CHECK: %[[A:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: %[[V:.*]] = math.absf
// CHECK: linalg.yield %[[V]]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%[[A]] : tensor<4x8xf32>)
// CHECK: %[[W:.*]] = math.floor
// CHECK: linalg.yield %[[W]]
func.func @abs_floor(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.abs %x : tensor<4x8xf32>
  %1 = graph.floor %0 : tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// Float64 takes the same path, in f64.
// CHECK-LABEL: func.func @exp_f64
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%{{.*}} : tensor<4x8xf64>) outs(%{{.*}} : tensor<4x8xf64>)
// CHECK: %[[V:.*]] = math.exp %{{.*}} : f64
// CHECK: linalg.yield %[[V]]
func.func @exp_f64(%x: tensor<4x8xf64>) -> tensor<4x8xf64> {
  %0 = graph.exp %x : tensor<4x8xf64>
  return %0 : tensor<4x8xf64>
}

// -----

// CHECK-LABEL: func.func @log_sqrt
// CHECK: %[[A:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: %[[V:.*]] = math.log
// CHECK: linalg.yield %[[V]]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%[[A]] : tensor<4x8xf32>)
// CHECK: %[[W:.*]] = math.sqrt
// CHECK: linalg.yield %[[W]]
func.func @log_sqrt(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.log %x : tensor<4x8xf32>
  %1 = graph.sqrt %0 : tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// rsqrt is 1 / sqrt(x) (not math.rsqrt).
// CHECK-LABEL: func.func @rsqrt
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: %[[S:.*]] = math.sqrt
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[V:.*]] = arith.divf %[[ONE]], %[[S]]
// CHECK: linalg.yield %[[V]]
func.func @rsqrt(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.rsqrt %x : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @sin_cos
// CHECK: %[[A:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: %[[V:.*]] = math.sin
// CHECK: linalg.yield %[[V]]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%[[A]] : tensor<4x8xf32>)
// CHECK: %[[W:.*]] = math.cos
// CHECK: linalg.yield %[[W]]
func.func @sin_cos(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.sin %x : tensor<4x8xf32>
  %1 = graph.cos %0 : tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @tanh_erf
// CHECK: %[[A:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: %[[V:.*]] = math.tanh
// CHECK: linalg.yield %[[V]]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%[[A]] : tensor<4x8xf32>)
// CHECK: %[[W:.*]] = math.erf
// CHECK: linalg.yield %[[W]]
func.func @tanh_erf(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.tanh %x : tensor<4x8xf32>
  %1 = graph.erf %0 : tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// sigmoid(x) = 1 / (1 + exp(-x)).
// CHECK-LABEL: func.func @sigmoid
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[N:.*]] = arith.negf %[[IN]]
// CHECK: %[[E:.*]] = math.exp %[[N]]
// CHECK: %[[D:.*]] = arith.addf %{{.*}}, %[[E]]
// CHECK: %[[V:.*]] = arith.divf %{{.*}}, %[[D]]
// CHECK: linalg.yield %[[V]]
func.func @sigmoid(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.sigmoid %x : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @relu
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[V:.*]] = arith.maximumf %[[IN]], %[[Z]]
// CHECK: linalg.yield %[[V]]
func.func @relu(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.relu %x : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Exact GELU: x / 2 * (1 + erf(x / sqrt(2))); the constant is rounded to the
// element type.
// CHECK-LABEL: func.func @gelu(
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[K:.*]] = arith.constant 0.707106769 : f32
// CHECK: %[[S:.*]] = arith.mulf %[[IN]], %[[K]]
// CHECK: %[[E:.*]] = math.erf %[[S]]
// CHECK: %[[CDF:.*]] = arith.addf %{{.*}}, %[[E]]
// CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[H:.*]] = arith.mulf %[[IN]], %[[HALF]]
// CHECK: %[[V:.*]] = arith.mulf %[[H]], %[[CDF]]
// CHECK: linalg.yield %[[V]]
func.func @gelu(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.gelu %x : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @gelu_f64
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<4x8xf64>)
// CHECK: arith.constant 0.70710678118654757 : f64
// CHECK: math.erf %{{.*}} : f64
func.func @gelu_f64(%x: tensor<4x8xf64>) -> tensor<4x8xf64> {
  %0 = graph.gelu %x : tensor<4x8xf64>
  return %0 : tensor<4x8xf64>
}

// -----

// silu(x) = x * sigmoid(x).
// CHECK-LABEL: func.func @silu
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK: math.exp
// CHECK: %[[S:.*]] = arith.divf
// CHECK: %[[V:.*]] = arith.mulf %[[IN]], %[[S]]
// CHECK: linalg.yield %[[V]]
func.func @silu(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.silu %x : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// leaky_relu(x) = x >= 0 ? x : alpha * x.
// CHECK-LABEL: func.func @leaky_relu
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[A:.*]] = arith.constant 2.000000e-01 : f32
// CHECK: %[[SC:.*]] = arith.mulf %[[IN]], %[[A]]
// CHECK: %[[P:.*]] = arith.cmpf oge, %[[IN]]
// CHECK: %[[V:.*]] = arith.select %[[P]], %[[IN]], %[[SC]]
// CHECK: linalg.yield %[[V]]
func.func @leaky_relu(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.leaky_relu %x {alpha = 0.2 : f64} : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// clamp(x) = min(max(x, min), max).
// CHECK-LABEL: func.func @clamp
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: %[[LO:.*]] = arith.constant -1.000000e+00 : f32
// CHECK: %[[M:.*]] = arith.maximumf %{{.*}}, %[[LO]]
// CHECK: %[[HI:.*]] = arith.constant 2.000000e+00 : f32
// CHECK: %[[V:.*]] = arith.minimumf %[[M]], %[[HI]]
// CHECK: linalg.yield %[[V]]
func.func @clamp(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = graph.clamp %x {min = -1.0 : f64, max = 2.0 : f64} : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Binary ops broadcast numpy-style: a size-1 dimension reads index 0, a
// missing leading dimension is dropped from the map. Integers use the
// integer arith ops.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @add
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[COL]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<4x1xf32>)
// CHECK: arith.addf
// CHECK: linalg.generic
// CHECK: arith.addi %{{.*}}, %{{.*}} : i64
func.func @add(%x: tensor<4x8xf32>, %c: tensor<4x1xf32>, %i: tensor<4xi64>) -> (tensor<4x8xf32>, tensor<4xi64>) {
  %0 = graph.add %x, %c : tensor<4x8xf32>, tensor<4x1xf32>
  %1 = graph.add %i, %i : tensor<4xi64>, tensor<4xi64>
  return %0, %1 : tensor<4x8xf32>, tensor<4xi64>
}

// -----

// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @sub
// CHECK: linalg.generic {indexing_maps = [#[[ROW]], #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<8xf32>, tensor<4x8xf32>)
// CHECK: arith.subf
// CHECK: linalg.generic
// CHECK: arith.subi %{{.*}}, %{{.*}} : i32
func.func @sub(%b: tensor<8xf32>, %x: tensor<4x8xf32>, %i: tensor<4xi32>) -> (tensor<4x8xf32>, tensor<4xi32>) {
  %0 = graph.sub %b, %x : tensor<8xf32>, tensor<4x8xf32>
  %1 = graph.sub %i, %i : tensor<4xi32>, tensor<4xi32>
  return %0, %1 : tensor<4x8xf32>, tensor<4xi32>
}

// -----

// CHECK-LABEL: func.func @mul
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: arith.mulf
// CHECK: linalg.generic
// CHECK: arith.muli %{{.*}}, %{{.*}} : i64
func.func @mul(%x: tensor<4x8xf32>, %i: tensor<4xi64>) -> (tensor<4x8xf32>, tensor<4xi64>) {
  %0 = graph.mul %x, %x : tensor<4x8xf32>, tensor<4x8xf32>
  %1 = graph.mul %i, %i : tensor<4xi64>, tensor<4xi64>
  return %0, %1 : tensor<4x8xf32>, tensor<4xi64>
}

// -----

// A 0-d operand is read by the empty map.
// CHECK-DAG: #[[SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @div
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[SCALAR]], #{{.*}}], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<f32>)
// CHECK: arith.divf
func.func @div(%x: tensor<4x8xf32>, %s: tensor<f32>) -> tensor<4x8xf32> {
  %0 = graph.div %x, %s : tensor<4x8xf32>, tensor<f32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @pow
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: %[[V:.*]] = math.powf
// CHECK: linalg.yield %[[V]]
func.func @pow(%x: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = graph.pow %x, %b : tensor<4x8xf32>, tensor<8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Float maximum / minimum propagate NaN (maximumf / minimumf); integers are
// signed.
// CHECK-LABEL: func.func @maximum
// CHECK: linalg.generic
// CHECK: arith.maximumf
// CHECK: linalg.generic
// CHECK: arith.maxsi %{{.*}}, %{{.*}} : i64
func.func @maximum(%x: tensor<4x8xf32>, %b: tensor<8xf32>, %i: tensor<4xi64>) -> (tensor<4x8xf32>, tensor<4xi64>) {
  %0 = graph.maximum %x, %b : tensor<4x8xf32>, tensor<8xf32>
  %1 = graph.maximum %i, %i : tensor<4xi64>, tensor<4xi64>
  return %0, %1 : tensor<4x8xf32>, tensor<4xi64>
}

// -----

// CHECK-LABEL: func.func @minimum
// CHECK: linalg.generic
// CHECK: arith.minimumf
// CHECK: linalg.generic
// CHECK: arith.minsi %{{.*}}, %{{.*}} : i64
func.func @minimum(%x: tensor<4x8xf32>, %b: tensor<8xf32>, %i: tensor<4xi64>) -> (tensor<4x8xf32>, tensor<4xi64>) {
  %0 = graph.minimum %x, %b : tensor<4x8xf32>, tensor<8xf32>
  %1 = graph.minimum %i, %i : tensor<4xi64>, tensor<4xi64>
  return %0, %1 : tensor<4x8xf32>, tensor<4xi64>
}

// -----

// Comparisons give i1: ordered float predicates except `ne` (unordered, true
// for NaN), signed integer predicates.
// CHECK-LABEL: func.func @compare
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x8xi1>)
// CHECK: arith.cmpf olt
// CHECK: linalg.generic
// CHECK: arith.cmpf une
// CHECK: linalg.generic
// CHECK: arith.cmpf oeq
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4xi1>)
// CHECK: arith.cmpi sge, %{{.*}}, %{{.*}} : i64
// CHECK: linalg.generic
// CHECK: arith.cmpi sgt
func.func @compare(%x: tensor<4x8xf32>, %b: tensor<8xf32>, %i: tensor<4xi64>)
    -> (tensor<4x8xi1>, tensor<4x8xi1>, tensor<4x8xi1>, tensor<4xi1>, tensor<4xi1>) {
  %0 = graph.compare lt, %x, %b : tensor<4x8xf32>, tensor<8xf32>
  %1 = graph.compare ne, %x, %b : tensor<4x8xf32>, tensor<8xf32>
  %2 = graph.compare eq, %x, %x : tensor<4x8xf32>, tensor<4x8xf32>
  %3 = graph.compare ge, %i, %i : tensor<4xi64>, tensor<4xi64>
  %4 = graph.compare gt, %i, %i : tensor<4xi64>, tensor<4xi64>
  return %0, %1, %2, %3, %4 : tensor<4x8xi1>, tensor<4x8xi1>, tensor<4x8xi1>, tensor<4xi1>, tensor<4xi1>
}

// -----

// select broadcasts all three operands together.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @select
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ID]], #[[SCALAR]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<4x8xi1>, tensor<4x8xf32>, tensor<f32>)
// CHECK: ^bb0(%[[C:.*]]: i1, %[[A:.*]]: f32, %[[B:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[V:.*]] = arith.select %[[C]], %[[A]], %[[B]] : f32
// CHECK: linalg.yield %[[V]]
func.func @select(%m: tensor<4x8xi1>, %x: tensor<4x8xf32>, %z: tensor<f32>) -> tensor<4x8xf32> {
  %0 = graph.select %m, %x, %z : tensor<4x8xi1>, tensor<4x8xf32>, tensor<f32>
  return %0 : tensor<4x8xf32>
}
