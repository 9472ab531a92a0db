// RUN: kiln-opt %s -convert-graph-to-linalg -split-input-file | FileCheck %s

// Model-level ops: attention, losses, embedding and counter-based random
// numbers, each lowered to a few linalg.generic ops.

// Causal attention: k transposed once, scores = q kT (a contraction over
// d, with the keys innermost), scaled by 1/sqrt(8) with -inf where j > i, a
// row softmax, then p v (a contraction over the keys, v's rows innermost).
// CHECK-DAG: #[[Q:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[K:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[S:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-LABEL: func.func @attention_causal
// CHECK-SAME: (%[[QA:.*]]: tensor<2x6x8xf32>, %[[KA:.*]]: tensor<2x5x8xf32>, %[[VA:.*]]: tensor<2x5x3xf32>)
// CHECK: %[[KT:.*]] = linalg.transpose ins(%[[KA]] : tensor<2x5x8xf32>) outs(%{{.*}} : tensor<2x8x5xf32>) permutation = [0, 2, 1]
// CHECK: %[[SC:.*]] = linalg.generic {indexing_maps = [#[[Q]], #[[K]], #[[S]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[QA]], %[[KT]] : tensor<2x6x8xf32>, tensor<2x8x5xf32>) outs(%{{.*}} : tensor<2x6x5xf32>)
// CHECK: %[[M:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME: ins(%[[SC]] : tensor<2x6x5xf32>)
// CHECK: arith.constant 0.353553385 : f32
// CHECK: %[[I:.*]] = linalg.index 1 : index
// CHECK: %[[J:.*]] = linalg.index 2 : index
// CHECK: %[[FUT:.*]] = arith.cmpi ugt, %[[J]], %[[I]] : index
// CHECK: arith.select %[[FUT]]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%[[M]] : tensor<2x6x5xf32>)
// CHECK-SAME: attrs = {kiln.nan_agnostic_max}
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.addf
// CHECK: %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]
// CHECK: arith.divf
// CHECK: %[[O:.*]] = linalg.generic {indexing_maps = [#[[Q]], #[[K]], #[[S]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[P]], %[[VA]] : tensor<2x6x5xf32>, tensor<2x5x3xf32>) outs(%{{.*}} : tensor<2x6x3xf32>)
// CHECK: return %[[O]]
func.func @attention_causal(%q: tensor<2x6x8xf32>, %k: tensor<2x5x8xf32>, %v: tensor<2x5x3xf32>) -> tensor<2x6x3xf32> {
  %0 = graph.attention %q, %k, %v {causal} : tensor<2x6x8xf32>, tensor<2x5x8xf32>, tensor<2x5x3xf32>
  return %0 : tensor<2x6x3xf32>
}

// -----

// A padding mask broadcasts to the scores; false positions get -inf. An
// explicit scale replaces 1/sqrt(d); no causal test.
// CHECK-DAG: #[[MASK:.*]] = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// CHECK-LABEL: func.func @attention_mask
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "parallel"]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[MASK]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: tensor<2x6x5xf32>, tensor<2x1x5xi1>
// CHECK: ^bb0(%[[SC:.*]]: f32, %[[KEEP:.*]]: i1, %{{.*}}: f32):
// CHECK: %[[SCALE:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[SS:.*]] = arith.mulf %[[SC]], %[[SCALE]]
// CHECK-NOT: linalg.index
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[R:.*]] = arith.select %[[KEEP]], %[[SS]], %[[NEGINF]] : f32
// CHECK: linalg.yield %[[R]]
func.func @attention_mask(%q: tensor<2x6x8xf32>, %k: tensor<2x5x8xf32>, %v: tensor<2x5x3xf32>, %pad: tensor<2x1x5xi1>) -> tensor<2x6x3xf32> {
  %0 = graph.attention %q, %k, %v, %pad {scale = 0.5 : f64} : tensor<2x6x8xf32>, tensor<2x5x8xf32>, tensor<2x5x3xf32>, tensor<2x1x5xi1>
  return %0 : tensor<2x6x3xf32>
}

// -----

// Cross-entropy: log_softmax of the rows, the log-probability at each label
// picked by a reduction over classes, negated, then the mean over the batch.
// CHECK-LABEL: func.func @cross_entropy_mean
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: %[[LP:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: math.log
// CHECK: %[[PICK:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%[[LP]], %{{.*}} : tensor<6x10xf32>, tensor<6xi64>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[L:.*]]: i64, %[[ACC:.*]]: f32):
// CHECK: %[[C:.*]] = linalg.index 1 : index
// CHECK: %[[CI:.*]] = arith.index_cast %[[C]] : index to i64
// CHECK: %[[HIT:.*]] = arith.cmpi eq, %[[CI]], %[[L]] : i64
// CHECK: %[[V:.*]] = arith.select %[[HIT]], %[[X]], %{{.*}} : f32
// CHECK: arith.addf %[[V]], %[[ACC]]
// CHECK: linalg.generic {{.*}} ins(%[[PICK]] : tensor<6xf32>)
// CHECK: arith.negf
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = []
// CHECK: %[[N:.*]] = arith.constant 6.000000e+00 : f32
// CHECK: arith.divf %{{.*}}, %[[N]]
func.func @cross_entropy_mean(%logits: tensor<6x10xf32>, %labels: tensor<6xi64>) -> tensor<f32> {
  %0 = graph.cross_entropy mean %logits, %labels : tensor<6x10xf32>, tensor<6xi64>
  return %0 : tensor<f32>
}

// -----

// Without reduction the per-example losses are the result.
// CHECK-LABEL: func.func @cross_entropy_none
// CHECK: %[[PICK:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<6x10xf32>, tensor<6xi64>)
// CHECK: %[[L:.*]] = linalg.generic {{.*}} ins(%[[PICK]] : tensor<6xf32>) outs(%{{.*}} : tensor<6xf32>)
// CHECK: arith.negf
// CHECK-NOT: linalg.generic
// CHECK: return %[[L]] : tensor<6xf32>
func.func @cross_entropy_none(%logits: tensor<6x10xf32>, %labels: tensor<6xi64>) -> tensor<6xf32> {
  %0 = graph.cross_entropy none %logits, %labels : tensor<6x10xf32>, tensor<6xi64>
  return %0 : tensor<6xf32>
}

// -----

// Squared error, then the sum over all elements into a 0-d tensor.
// CHECK-LABEL: func.func @mse_loss_sum
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: %[[D:.*]] = arith.subf
// CHECK: arith.mulf %[[D]], %[[D]]
// CHECK: %[[R:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
// CHECK-SAME: ins(%[[SQ]] : tensor<6x10xf32>) outs(%{{.*}} : tensor<f32>)
// CHECK: arith.addf
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
func.func @mse_loss_sum(%x: tensor<6x10xf32>, %t: tensor<6x10xf32>) -> tensor<f32> {
  %0 = graph.mse_loss sum %x, %t : tensor<6x10xf32>, tensor<6x10xf32>
  return %0 : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @mse_loss_none
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} iterator_types = ["parallel"]
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK-NOT: linalg.generic
// CHECK: return %[[SQ]]
func.func @mse_loss_none(%x: tensor<6xf64>, %t: tensor<6xf64>) -> tensor<6xf64> {
  %0 = graph.mse_loss none %x, %t : tensor<6xf64>, tensor<6xf64>
  return %0 : tensor<6xf64>
}

// -----

// BCE with logits in its stable form max(x, 0) - x t + log1p(exp(-|x|)),
// then the mean over all 60 elements.
// CHECK-LABEL: func.func @bce_with_logits_mean
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: ^bb0(%[[X:.*]]: f32, %[[T:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[POS:.*]] = arith.maximumf %[[X]]
// CHECK: %[[XT:.*]] = arith.mulf %[[X]], %[[T]]
// CHECK: %[[A:.*]] = math.absf %[[X]]
// CHECK: %[[N:.*]] = arith.negf %[[A]]
// CHECK: %[[E:.*]] = math.exp %[[N]]
// CHECK: %[[SP:.*]] = math.log1p %[[E]]
// CHECK: %[[D:.*]] = arith.subf %[[POS]], %[[XT]]
// CHECK: arith.addf %[[D]], %[[SP]]
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
// CHECK: arith.constant 6.000000e+01 : f32
// CHECK: arith.divf
func.func @bce_with_logits_mean(%x: tensor<6x10xf32>, %t: tensor<6x10xf32>) -> tensor<f32> {
  %0 = graph.bce_with_logits mean %x, %t : tensor<6x10xf32>, tensor<6x10xf32>
  return %0 : tensor<f32>
}

// -----

// Embedding: a generic over indices.shape + [D] that reads the index, clamps
// it to [0, V) and extracts weight[row, d].
// CHECK-DAG: #[[IDX:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @embedding
// CHECK-SAME: (%[[W:.*]]: tensor<96x16xf32>, %[[IDS:.*]]: tensor<4x8xi64>)
// CHECK: linalg.generic {indexing_maps = [#[[IDX]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[IDS]] : tensor<4x8xi64>) outs(%{{.*}} : tensor<4x8x16xf32>)
// CHECK: ^bb0(%[[I:.*]]: i64, %{{.*}}: f32):
// CHECK: %[[ROW:.*]] = arith.index_cast %[[I]] : i64 to index
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[LAST:.*]] = arith.constant 95 : index
// CHECK: %[[LO:.*]] = arith.maxsi %[[ROW]], %[[ZERO]]
// CHECK: %[[HI:.*]] = arith.minsi %[[LO]], %[[LAST]]
// CHECK: %[[COL:.*]] = linalg.index 2 : index
// CHECK: %[[V:.*]] = tensor.extract %[[W]][%[[HI]], %[[COL]]] : tensor<96x16xf32>
// CHECK: linalg.yield %[[V]]
func.func @embedding(%w: tensor<96x16xf32>, %ids: tensor<4x8xi64>) -> tensor<4x8x16xf32> {
  %0 = graph.embedding %w, %ids : tensor<96x16xf32>, tensor<4x8xi64>
  return %0 : tensor<4x8x16xf32>
}

// -----

// Random numbers: one parallel generic reading the 0-d seed and offset; each
// element runs Philox 4x32-10 (ten rounds, two 32x32->64 multiplies each) on
// counter offset + linear index. Uniform f32 keeps the top 23 bits:
// (v + 0.5) * 2^-23, then low + u * (high - low).
// CHECK-DAG: #[[SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @random_uniform
// CHECK: linalg.generic {indexing_maps = [#[[SCALAR]], #[[SCALAR]], #{{.*}}], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<i64>, tensor<i64>) outs(%{{.*}} : tensor<3x4xf32>)
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK-COUNT-10: arith.constant 3528531795 : i64
// CHECK: %[[NINE:.*]] = arith.constant 9 : i32
// CHECK: %[[TOP:.*]] = arith.shrui %{{.*}}, %[[NINE]] : i32
// CHECK: %[[F:.*]] = arith.uitofp %[[TOP]] : i32 to f32
// CHECK: arith.addf %[[F]]
// CHECK: arith.constant 1.1920929E-7 : f32
// CHECK: arith.constant 3.000000e+00 : f32
// CHECK: arith.constant -1.000000e+00 : f32
// CHECK: %[[V:.*]] = arith.addf
// CHECK: linalg.yield %[[V]] : f32
func.func @random_uniform(%seed: tensor<i64>, %offset: tensor<i64>) -> tensor<3x4xf32> {
  %0 = graph.random_uniform %seed, %offset {shape = array<i64: 3, 4>, dtype = f32, low = -1.0 : f64, high = 2.0 : f64}
  return %0 : tensor<3x4xf32>
}

// -----

// Normal f64: Box-Muller on two 32-bit uniforms, mean + stddev * z.
// CHECK-LABEL: func.func @random_normal
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel"]
// CHECK-SAME: outs(%{{.*}} : tensor<5xf64>)
// CHECK-COUNT-10: arith.constant 3449720151 : i64
// CHECK: arith.uitofp %{{.*}} : i32 to f64
// CHECK: arith.uitofp %{{.*}} : i32 to f64
// CHECK: math.log
// CHECK: math.sqrt
// CHECK: math.cos
// CHECK: arith.constant 2.500000e+00 : f64
// CHECK: arith.constant 1.000000e+00 : f64
// CHECK: %[[V:.*]] = arith.addf
// CHECK: linalg.yield %[[V]] : f64
func.func @random_normal(%seed: tensor<i64>, %offset: tensor<i64>) -> tensor<5xf64> {
  %0 = graph.random_normal %seed, %offset {shape = array<i64: 5>, dtype = f64, mean = 1.0 : f64, stddev = 2.5 : f64}
  return %0 : tensor<5xf64>
}

// -----

// Integers: 64 random bits mod (high - low), plus low, truncated to i32.
// CHECK-LABEL: func.func @random_integers
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3xi32>)
// CHECK: arith.shli
// CHECK: %[[BITS:.*]] = arith.ori
// CHECK: %[[RANGE:.*]] = arith.constant 10 : i64
// CHECK: %[[R:.*]] = arith.remui %[[BITS]], %[[RANGE]] : i64
// CHECK: %[[LOW:.*]] = arith.constant 5 : i64
// CHECK: %[[S:.*]] = arith.addi %[[R]], %[[LOW]] : i64
// CHECK: %[[V:.*]] = arith.trunci %[[S]] : i64 to i32
// CHECK: linalg.yield %[[V]] : i32
func.func @random_integers(%seed: tensor<i64>, %offset: tensor<i64>) -> tensor<2x3xi32> {
  %0 = graph.random_integers %seed, %offset {shape = array<i64: 2, 3>, dtype = i32, low = 5 : i64, high = 15 : i64}
  return %0 : tensor<2x3xi32>
}
