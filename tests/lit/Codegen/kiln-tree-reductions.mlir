// RUN: kiln-opt %s -pass-pipeline='builtin.module(func.func(kiln-tree-reductions))' -split-input-file | FileCheck %s

// A reduction over a tile's vectors: pairwise, then the accumulator.
// CHECK-LABEL: func.func @outer
// CHECK-SAME: (%[[V:.*]]: vector<4x16xf32>, %[[ACC:.*]]: vector<16xf32>)
// CHECK-DAG: %[[A:.*]] = vector.extract %[[V]][0] : vector<16xf32> from vector<4x16xf32>
// CHECK-DAG: %[[B:.*]] = vector.extract %[[V]][1] : vector<16xf32> from vector<4x16xf32>
// CHECK-DAG: %[[C:.*]] = vector.extract %[[V]][2] : vector<16xf32> from vector<4x16xf32>
// CHECK-DAG: %[[D:.*]] = vector.extract %[[V]][3] : vector<16xf32> from vector<4x16xf32>
// CHECK-DAG: %[[AB:.*]] = arith.addf %[[A]], %[[B]] : vector<16xf32>
// CHECK-DAG: %[[CD:.*]] = arith.addf %[[C]], %[[D]] : vector<16xf32>
// CHECK: %[[ABCD:.*]] = arith.addf %[[AB]], %[[CD]] : vector<16xf32>
// CHECK: %[[R:.*]] = arith.addf %[[ABCD]], %[[ACC]] : vector<16xf32>
// CHECK: return %[[R]]
// CHECK-NOT: vector.multi_reduction
func.func @outer(%v: vector<4x16xf32>, %acc: vector<16xf32>) -> vector<16xf32> {
  %r = vector.multi_reduction <add>, %v, %acc [0] : vector<4x16xf32> to vector<16xf32>
  return %r : vector<16xf32>
}

// -----

// A vector's lanes by halves (8, 4, 2, 1) with its own combining kind.
// CHECK-LABEL: func.func @lanes
// CHECK: vector.extract_strided_slice %{{.*}} {offsets = [0], sizes = [8], strides = [1]}
// CHECK: vector.extract_strided_slice %{{.*}} {offsets = [8], sizes = [8], strides = [1]}
// CHECK: arith.maximumf %{{.*}} : vector<8xf32>
// CHECK: arith.maximumf %{{.*}} : vector<4xf32>
// CHECK: arith.maximumf %{{.*}} : vector<2xf32>
// CHECK: arith.maximumf %{{.*}} : vector<1xf32>
// CHECK: arith.maximumf %{{.*}} : f32
// CHECK-NOT: vector.multi_reduction
func.func @lanes(%v: vector<16xf32>, %acc: f32) -> f32 {
  %r = vector.multi_reduction <maximumf>, %v, %acc [0] : vector<16xf32> to f32
  return %r : f32
}

// -----

// Two reduced dimensions that do not reduce to one value stay as they are.
// CHECK-LABEL: func.func @not_a_tree
// CHECK: vector.multi_reduction <add>
func.func @not_a_tree(%v: vector<2x4x8xf32>, %acc: vector<4xf32>) -> vector<4xf32> {
  %r = vector.multi_reduction <add>, %v, %acc [0, 2] : vector<2x4x8xf32> to vector<4xf32>
  return %r : vector<4xf32>
}
