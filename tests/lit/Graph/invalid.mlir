// RUN: kiln-opt %s -split-input-file -verify-diagnostics
// One case per verifier message of the graph dialect.

func.func @case0(%a: tensor<4x8xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{shapes [4, 8] and [3] are not broadcastable (8 vs 3 in result dimension 1)}}
  %r = graph.add %a, %b : tensor<4x8xf32>, tensor<3xf32>
  return
}

// -----

func.func @case1(%a: tensor<4xf32>, %b: tensor<4xf64>) {
  // expected-error @+1 {{element types differ: 'f32' vs 'f64'}}
  %r = graph.mul %a, %b : tensor<4xf32>, tensor<4xf64>
  return
}

// -----

func.func @case2(%a: tensor<?xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{operands must be statically shaped tensors}}
  %r = graph.sub %a, %b : tensor<?xf32>, tensor<4xf32>
  return
}

// -----

func.func @case3(%a: tensor<?x4xf32>, %b: tensor<4x4xf32>) {
  // expected-error @+1 {{operand #0 must be a statically shaped tensor, got 'tensor<?x4xf32>'}}
  %r = graph.matmul %a, %b : tensor<?x4xf32>, tensor<4x4xf32>
  return
}

// -----

func.func @case4(%c: tensor<3xi1>, %a: tensor<4x8xf32>) {
  // expected-error @+1 {{condition: shapes [3] and [4, 8] are not broadcastable}}
  %r = graph.select %c, %a, %a : tensor<3xi1>, tensor<4x8xf32>, tensor<4x8xf32>
  return
}

// -----

func.func @case5(%c: tensor<4xi1>, %a: tensor<4xf32>, %b: tensor<4xi64>) {
  // expected-error @+1 {{'graph.select' op element types differ: 'f32' vs 'i64'}}
  %r = graph.select %c, %a, %b : tensor<4xi1>, tensor<4xf32>, tensor<4xi64>
  return
}

// -----

func.func @case6(%a: tensor<4xf32>) {
  // expected-error @+1 {{result #0 must be statically shaped tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float or 1-bit signless integer or 32-bit signless integer or 64-bit signless integer values, but got 'tensor<4xi8>'}}
  %r = graph.cast %a : tensor<4xf32> to i8
  return
}

// -----

func.func @case7(%a: tensor<4xf32>) {
  // expected-error @+1 {{min 1 is greater than max -1}}
  %r = graph.clamp %a {min = 1.0 : f64, max = -1.0 : f64} : tensor<4xf32>
  return
}

// -----

func.func @case8(%a: tensor<4xf32>) {
  // expected-error @+1 {{requires attribute 'shape'}}
  %r = graph.reshape %a : tensor<4xf32>
  return
}

// -----

func.func @case9(%a: tensor<2x4x8xf32>, %b: tensor<8x3xf32>) {
  // expected-error @+1 {{operands must be rank 2, got [2, 4, 8] and [8, 3]}}
  %r = graph.matmul %a, %b : tensor<2x4x8xf32>, tensor<8x3xf32>
  return
}

// -----

func.func @case10(%a: tensor<64x3136xf32>, %b: tensor<128x3135xf32>) {
  // expected-error @+1 {{contraction dimensions differ: lhs [64, 3136] has K=3136, rhs [128, 3135] (transposed) has K=3135}}
  %r = graph.matmul %a, %b {transpose_rhs} : tensor<64x3136xf32>, tensor<128x3135xf32>
  return
}

// -----

func.func @case11(%a: tensor<4x8xf32>, %b: tensor<8x3xf32>) {
  // expected-error @+1 {{operands must have the same rank >= 3, got [4, 8] and [8, 3]}}
  %r = graph.batch_matmul %a, %b : tensor<4x8xf32>, tensor<8x3xf32>
  return
}

// -----

func.func @case12(%a: tensor<2x4x8xf32>, %b: tensor<3x8x4xf32>) {
  // expected-error @+1 {{batch dimensions differ: [2, 4, 8] and [3, 8, 4]}}
  %r = graph.batch_matmul %a, %b : tensor<2x4x8xf32>, tensor<3x8x4xf32>
  return
}

// -----

func.func @case13(%a: tensor<2x4x8xf32>, %b: tensor<2x7x4xf32>) {
  // expected-error @+1 {{in [2, 4, 8] x [2, 7, 4]: contraction dimensions differ}}
  %r = graph.batch_matmul %a, %b : tensor<2x4x8xf32>, tensor<2x7x4xf32>
  return
}

// -----

func.func @case14(%x: tensor<1x28x28xf32>, %w: tensor<8x1x3x3xf32>) {
  // expected-error @+1 {{input must be NCHW (rank 4), got [1, 28, 28]}}
  %r = graph.conv2d %x, %w : tensor<1x28x28xf32>, tensor<8x1x3x3xf32>
  return
}

// -----

func.func @case15(%x: tensor<2x1x28x28xf32>, %w: tensor<8x9xf32>) {
  // expected-error @+1 {{weight must be rank 4, got [8, 9]}}
  %r = graph.conv2d %x, %w : tensor<2x1x28x28xf32>, tensor<8x9xf32>
  return
}

// -----

func.func @case16(%x: tensor<2x1x28x28xf32>, %w: tensor<8x1x3x3xf32>) {
  // expected-error @+1 {{strides must have 2 values, got [1, 1, 1]}}
  %r = graph.conv2d %x, %w {strides = array<i64: 1, 1, 1>} : tensor<2x1x28x28xf32>, tensor<8x1x3x3xf32>
  return
}

// -----

func.func @case17(%x: tensor<2x1x28x28xf32>, %w: tensor<8x1x3x3xf32>) {
  // expected-error @+1 {{padding values must be >= 0, got [-1, 0]}}
  %r = graph.conv2d %x, %w {padding = array<i64: -1, 0>} : tensor<2x1x28x28xf32>, tensor<8x1x3x3xf32>
  return
}

// -----

func.func @case18(%x: tensor<2x1x28x28xf32>, %w: tensor<8x1x3x3xf32>) {
  // expected-error @+1 {{dilation values must be >= 1, got [0, 1]}}
  %r = graph.conv2d %x, %w {dilation = array<i64: 0, 1>} : tensor<2x1x28x28xf32>, tensor<8x1x3x3xf32>
  return
}

// -----

func.func @case19(%x: tensor<2x1x28x28xf32>, %w: tensor<8x1x3x3xf32>) {
  // expected-error @+1 {{groups must be >= 1, got 0}}
  %r = graph.conv2d %x, %w {groups = 0 : i64} : tensor<2x1x28x28xf32>, tensor<8x1x3x3xf32>
  return
}

// -----

func.func @case20(%x: tensor<2x6x8x8xf32>, %w: tensor<8x1x3x3xf32>) {
  // expected-error @+1 {{input channels 6 of [2, 6, 8, 8] are not divisible by groups=4}}
  %r = graph.conv2d %x, %w {groups = 4 : i64} : tensor<2x6x8x8xf32>, tensor<8x1x3x3xf32>
  return
}

// -----

func.func @case21(%x: tensor<2x1x28x28xf32>, %w: tensor<32x3x3x3xf32>) {
  // expected-error @+1 {{weight [32, 3, 3, 3] expects 3 input channels (groups=1) but input [2, 1, 28, 28] has 1}}
  %r = graph.conv2d %x, %w : tensor<2x1x28x28xf32>, tensor<32x3x3x3xf32>
  return
}

// -----

func.func @case22(%x: tensor<2x8x8x8xf32>, %w: tensor<6x2x3x3xf32>) {
  // expected-error @+1 {{output channels 6 of weight [6, 2, 3, 3] are not divisible by groups=4}}
  %r = graph.conv2d %x, %w {groups = 4 : i64} : tensor<2x8x8x8xf32>, tensor<6x2x3x3xf32>
  return
}

// -----

func.func @case23(%x: tensor<2x1x28x28xf32>, %w: tensor<32x1x3x3xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{bias must be [32], got [16]}}
  %r = graph.conv2d %x, %w, %b : tensor<2x1x28x28xf32>, tensor<32x1x3x3xf32>, tensor<16xf32>
  return
}

// -----

func.func @case24(%x: tensor<2x1x4x4xf32>, %w: tensor<8x1x5x5xf32>) {
  // expected-error @+1 {{kernel [5, 5] (dilation [1, 1]) does not fit the padded input [2, 1, 4, 4] (padding [0, 0])}}
  %r = graph.conv2d %x, %w : tensor<2x1x4x4xf32>, tensor<8x1x5x5xf32>
  return
}

// -----

func.func @case25(%x: tensor<2x128x7x7xf32>, %w: tensor<64x32x4x4xf32>) {
  // expected-error @+1 {{weight [64, 32, 4, 4] expects 64 input channels but input [2, 128, 7, 7] has 128}}
  %r = graph.conv_transpose2d %x, %w : tensor<2x128x7x7xf32>, tensor<64x32x4x4xf32>
  return
}

// -----

func.func @case26(%x: tensor<2x8x7x7xf32>, %w: tensor<8x4x4x4xf32>) {
  // expected-error @+1 {{output_padding must have 2 values, got [1]}}
  %r = graph.conv_transpose2d %x, %w {output_padding = array<i64: 1>} : tensor<2x8x7x7xf32>, tensor<8x4x4x4xf32>
  return
}

// -----

func.func @case27(%x: tensor<2x8x7x7xf32>, %w: tensor<8x4x4x4xf32>) {
  // expected-error @+1 {{output_padding [2, 0] must be smaller than the stride or the dilation [2, 2] / [1, 1]}}
  %r = graph.conv_transpose2d %x, %w {strides = array<i64: 2, 2>, output_padding = array<i64: 2, 0>} : tensor<2x8x7x7xf32>, tensor<8x4x4x4xf32>
  return
}

// -----

func.func @case28(%x: tensor<2x8x1x1xf32>, %w: tensor<8x4x3x3xf32>) {
  // expected-error @+1 {{padding [3, 3] leaves no output for input [2, 8, 1, 1] and weight [8, 4, 3, 3]}}
  %r = graph.conv_transpose2d %x, %w {padding = array<i64: 3, 3>} : tensor<2x8x1x1xf32>, tensor<8x4x3x3xf32>
  return
}

// -----

func.func @case29(%x: tensor<2x8x8x8xf32>) {
  // expected-error @+1 {{kernel must have 2 values, got [2]}}
  %r = graph.max_pool2d %x {kernel = array<i64: 2>, strides = array<i64: 2, 2>} : tensor<2x8x8x8xf32>
  return
}

// -----

func.func @case30(%x: tensor<2x8x8x8xf32>) {
  // expected-error @+1 {{padding [2, 2] must be at most half the kernel [3, 3]}}
  %r = graph.max_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 2, 2>} : tensor<2x8x8x8xf32>
  return
}

// -----

func.func @case31(%x: tensor<2x8x3x3xf32>) {
  // expected-error @+1 {{kernel [4, 4] does not fit the padded input [2, 8, 3, 3] (padding [0, 0])}}
  %r = graph.avg_pool2d %x {kernel = array<i64: 4, 4>, strides = array<i64: 1, 1>} : tensor<2x8x3x3xf32>
  return
}

// -----

func.func @case32(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'graph.global_avg_pool2d' op input must be NCHW (rank 4), got [2, 8]}}
  %r = graph.global_avg_pool2d %x : tensor<2x8xf32>
  return
}

// -----

func.func @case33(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{dimension 2 is out of range for [4, 8]}}
  %r = graph.reduce_sum %x {dims = array<i64: 2>} : tensor<4x8xf32>
  return
}

// -----

func.func @case34(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{dimension -1 is reduced twice in dims [1, -1]}}
  %r = graph.reduce_mean %x {dims = array<i64: 1, -1>} : tensor<4x8xf32>
  return
}

// -----

func.func @case35(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'graph.argmax' op dimension 3 is out of range for [4, 8]}}
  %r = graph.argmax %x {dim = 3 : i64} : tensor<4x8xf32>
  return
}

// -----

func.func @case36(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{axis -3 is out of range for [4, 8]}}
  %r = graph.softmax %x {axis = -3 : i64} : tensor<4x8xf32>
  return
}

// -----

func.func @case37(%x: tensor<2x5x16xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{weight [8] must equal the trailing dimensions of input [2, 5, 16]}}
  %r = graph.layer_norm %x, %w, %w : tensor<2x5x16xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @case38(%x: tensor<2x5x16xf32>, %w: tensor<16xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{bias [8] must have the shape of weight [16]}}
  %r = graph.layer_norm %x, %w, %b : tensor<2x5x16xf32>, tensor<16xf32>, tensor<8xf32>
  return
}

// -----

func.func @case39(%x: tensor<8xf32>, %c: tensor<8xf32>) {
  // expected-error @+1 {{input must be [N, C, ...], got [8]}}
  %r = graph.batch_norm_inference %x, %c, %c, %c, %c : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @case40(%x: tensor<2x8x3x3xf32>, %c: tensor<8xf32>, %d: tensor<4xf32>) {
  // expected-error @+1 {{per-channel operand [4] must be [8] for input [2, 8, 3, 3]}}
  %r:3 = graph.batch_norm_training %x, %c, %c, %d, %c : tensor<2x8x3x3xf32>, tensor<8xf32>, tensor<8xf32>, tensor<4xf32>, tensor<8xf32>
  return
}

// -----

func.func @case40b(%x: tensor<2x8x3x3xf32>, %g: tensor<2x8x3x4xf32>, %c: tensor<8xf32>) {
  // expected-error @+1 {{gradient [2, 8, 3, 4] must have the input's shape [2, 8, 3, 3]}}
  %r:3 = graph.batch_norm_grad %x, %g, %c : tensor<2x8x3x3xf32>, tensor<2x8x3x4xf32>, tensor<8xf32>
  return
}

// -----

func.func @case40c(%x: tensor<2x8x3x3xf32>, %d: tensor<4xf32>) {
  // expected-error @+1 {{per-channel operand [4] must be [8] for input [2, 8, 3, 3]}}
  %r:3 = graph.batch_norm_grad %x, %x, %d : tensor<2x8x3x3xf32>, tensor<2x8x3x3xf32>, tensor<4xf32>
  return
}

// -----

func.func @case41(%x: tensor<2x8x3x3xf32>, %c: tensor<8xf32>) {
  // expected-error @+1 {{channels 8 of [2, 8, 3, 3] are not divisible by num_groups=3}}
  %r = graph.group_norm %x, %c, %c {num_groups = 3 : i64} : tensor<2x8x3x3xf32>, tensor<8xf32>, tensor<8xf32>
  return
}

// -----

func.func @case41b(%x: tensor<2x8x3x3xf32>, %c: tensor<8xf32>) {
  // expected-error @+1 {{channels 8 of [2, 8, 3, 3] are not divisible by num_groups=3}}
  %r:3 = graph.group_norm_grad %x, %x, %c {num_groups = 3 : i64} : tensor<2x8x3x3xf32>, tensor<2x8x3x3xf32>, tensor<8xf32>
  return
}

// -----

func.func @case41c(%x: tensor<2x8x3x3xf32>, %g: tensor<2x8x9xf32>, %c: tensor<8xf32>) {
  // expected-error @+1 {{gradient [2, 8, 9] must have the input's shape [2, 8, 3, 3]}}
  %r:3 = graph.group_norm_grad %x, %g, %c {num_groups = 2 : i64} : tensor<2x8x3x3xf32>, tensor<2x8x9xf32>, tensor<8xf32>
  return
}

// -----

func.func @case42(%t: tensor<96xf32>, %i: tensor<4xi64>) {
  // expected-error @+1 {{weight must be [num_embeddings, dim], got [96]}}
  %r = graph.embedding %t, %i : tensor<96xf32>, tensor<4xi64>
  return
}

// -----

func.func @case43() {
  // expected-error @+1 {{'graph.concat' op expected 1 or more operands, but found 0}}
  %r = "graph.concat"() {axis = 0 : i64} : () -> tensor<1xf32>
  return
}

// -----

func.func @case44(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{'graph.concat' op axis 2 is out of range for [4, 8]}}
  %r = graph.concat %a, %a {axis = 2 : i64} : tensor<4x8xf32>, tensor<4x8xf32>
  return
}

// -----

func.func @case45(%a: tensor<4x8xf32>, %b: tensor<3x2xf32>) {
  // expected-error @+1 {{input 1 [3, 2] does not match input 0 [4, 8] outside axis 1}}
  %r = graph.concat %a, %b {axis = 1 : i64} : tensor<4x8xf32>, tensor<3x2xf32>
  return
}

// -----

func.func @case46(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{starts [0], limits [4] and strides [1] must each have one value per dimension of [4, 8]}}
  %r = graph.slice %a {starts = array<i64: 0>, limits = array<i64: 4>, strides = array<i64: 1>} : tensor<4x8xf32>
  return
}

// -----

func.func @case47(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{dimension 1: slice [2:9:1] is invalid for [4, 8]}}
  %r = graph.slice %a {starts = array<i64: 0, 2>, limits = array<i64: 4, 9>, strides = array<i64: 1, 1>} : tensor<4x8xf32>
  return
}

// -----

func.func @case48(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{shape [-1, 8] has a negative dimension}}
  %r = graph.reshape %a {shape = array<i64: -1, 8>} : tensor<4x8xf32>
  return
}

// -----

func.func @case49(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{cannot reshape [4, 8] (32 elements) to [5, 6] (30 elements)}}
  %r = graph.reshape %a {shape = array<i64: 5, 6>} : tensor<4x8xf32>
  return
}

// -----

func.func @case50(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{permutation [0, 0] is not a permutation of the dimensions of [4, 8]}}
  %r = graph.transpose %a {permutation = array<i64: 0, 0>} : tensor<4x8xf32>
  return
}

// -----

func.func @case51(%a: tensor<4x8xf32>) {
  // expected-error @+1 {{cannot broadcast [4, 8] to [8, 8]}}
  %r = graph.broadcast_to %a {shape = array<i64: 8, 8>} : tensor<4x8xf32>
  return
}

// -----

func.func @case52(%q: tensor<4x8xf32>, %k: tensor<2x4x8xf32>) {
  // expected-error @+1 {{query [4, 8], key [2, 4, 8] and value [2, 4, 8] must have the same rank >= 2}}
  %r = graph.attention %q, %k, %k : tensor<4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>
  return
}

// -----

func.func @case53(%q: tensor<3x4x8xf32>, %k: tensor<2x4x8xf32>) {
  // expected-error @+1 {{batch dimensions of query [3, 4, 8], key [2, 4, 8] and value [2, 4, 8] differ}}
  %r = graph.attention %q, %k, %k : tensor<3x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>
  return
}

// -----

func.func @case54(%q: tensor<2x4x16xf32>, %k: tensor<2x4x8xf32>) {
  // expected-error @+1 {{query [2, 4, 16] and key [2, 4, 8] have different feature sizes}}
  %r = graph.attention %q, %k, %k : tensor<2x4x16xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>
  return
}

// -----

func.func @case55(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x5x8xf32>) {
  // expected-error @+1 {{key [2, 4, 8] and value [2, 5, 8] have different sequence lengths}}
  %r = graph.attention %q, %k, %v : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x5x8xf32>
  return
}

// -----

func.func @case56(%q: tensor<2x4x8xf32>, %m: tensor<2x3xi1>) {
  // expected-error @+1 {{mask [2, 3] does not broadcast to the scores [2, 4, 4]}}
  %r = graph.attention %q, %q, %q, %m : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x3xi1>
  return
}

// -----

func.func @case57(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf64>) {
  // expected-error @+1 {{'graph.attention' op element types differ: 'f32' vs 'f64'}}
  %r = graph.attention %q, %k, %k : tensor<2x4x8xf32>, tensor<2x4x8xf64>, tensor<2x4x8xf64>
  return
}

// -----

func.func @case58(%q: tensor<2x4x8xf32>) {
  // expected-error @+1 {{scale must be positive, got -1}}
  %r = graph.attention %q, %q, %q {scale = -1.0 : f64} : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>
  return
}

// -----

func.func @case59(%l: tensor<64xf32>, %y: tensor<64xi64>) {
  // expected-error @+1 {{logits must be [N, C], got [64]}}
  %r = graph.cross_entropy mean %l, %y : tensor<64xf32>, tensor<64xi64>
  return
}

// -----

func.func @case60(%l: tensor<64x10xf32>, %y: tensor<32xi64>) {
  // expected-error @+1 {{labels [32] must be [64] for logits [64, 10]}}
  %r = graph.cross_entropy mean %l, %y : tensor<64x10xf32>, tensor<32xi64>
  return
}

// -----

func.func @case61(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+1 {{input [4, 8] and target [8, 4] must have the same shape}}
  %r = graph.mse_loss mean %a, %b : tensor<4x8xf32>, tensor<8x4xf32>
  return
}

// -----

func.func @case62(%s: tensor<i64>) {
  // expected-error @+1 {{'graph.random_normal' op shape [3, -2] has a negative dimension}}
  %r = graph.random_normal %s, %s {shape = array<i64: 3, -2>, dtype = f32}
  return
}

// -----

func.func @case63(%s: tensor<i64>) {
  // expected-error @+1 {{result #0 must be statically shaped tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<3xi64>'}}
  %r = graph.random_uniform %s, %s {shape = array<i64: 3>, dtype = i64}
  return
}

// -----

func.func @case64(%s: tensor<i64>) {
  // expected-error @+1 {{result #0 must be statically shaped tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<3xf32>'}}
  %r = graph.random_integers %s, %s {shape = array<i64: 3>, dtype = f32, low = 0 : i64, high = 4 : i64}
  return
}

// -----

func.func @case65(%s: tensor<i64>) {
  // expected-error @+1 {{'graph.random_uniform' op low 1 must be below high 1}}
  %r = graph.random_uniform %s, %s {shape = array<i64: 3>, dtype = f32, low = 1.0 : f64, high = 1.0 : f64}
  return
}

// -----

func.func @case66(%s: tensor<i64>) {
  // expected-error @+1 {{stddev must be positive, got 0}}
  %r = graph.random_normal %s, %s {shape = array<i64: 3>, dtype = f32, stddev = 0.0 : f64}
  return
}

// -----

func.func @case67(%s: tensor<i64>) {
  // expected-error @+1 {{'graph.random_integers' op low 5 must be below high 2}}
  %r = graph.random_integers %s, %s {shape = array<i64: 3>, dtype = i64, low = 5 : i64, high = 2 : i64}
  return
}

// -----

func.func @one_hot_classes(%l: tensor<5xi64>) {
  // expected-error @+1 {{num_classes must be >= 1, got 0}}
  %r = graph.one_hot %l {num_classes = 0 : i64, dtype = f32} : tensor<5xi64>
  return
}

// -----

func.func @pool_grad(%x: tensor<2x3x8x8xf32>, %g: tensor<2x3x3x3xf32>) {
  // expected-error @+1 {{gradient [2, 3, 3, 3] must have the pooled shape [2, 3, 4, 4] of input [2, 3, 8, 8]}}
  %r = graph.max_pool2d_grad %x, %g {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<2x3x8x8xf32>, tensor<2x3x3x3xf32>
  return
}

// -----

func.func @conv_weight_grad(%x: tensor<2x3x8x8xf32>, %g: tensor<2x4x3x3xf32>) {
  // expected-error @+1 {{gradient [2, 4, 3, 3] must have the convolution's result shape [2, 4, 4, 4] for input [2, 3, 8, 8]}}
  %r = graph.conv2d_weight_grad %x, %g {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1>} : tensor<2x3x8x8xf32>, tensor<2x4x3x3xf32>
  return
}

// -----

func.func @conv_weight_grad_groups(%x: tensor<2x3x8x8xf32>, %g: tensor<2x4x8x8xf32>) {
  // expected-error @+1 {{groups=2 must divide the input channels of [2, 3, 8, 8] and the gradient channels of [2, 4, 8, 8]}}
  %r = graph.conv2d_weight_grad %x, %g {kernel = array<i64: 1, 1>, groups = 2 : i64} : tensor<2x3x8x8xf32>, tensor<2x4x8x8xf32>
  return
}

// -----

func.func @conv_dilation_overflow(%x: tensor<1x1x8x8xf32>, %w: tensor<1x1x3x3xf32>) {
  // expected-error @+1 {{kernel [3, 3] (dilation [4611686018427387904, 1]) on input [1, 1, 8, 8] (padding [0, 0]) overflows 64-bit sizes}}
  %r = graph.conv2d %x, %w {dilation = array<i64: 4611686018427387904, 1>} : tensor<1x1x8x8xf32>, tensor<1x1x3x3xf32>
  return
}

// -----

func.func @conv_groups_overflow(%x: tensor<1x2x8x8xf32>, %w: tensor<1x4611686018427387904x3x3xf32>) {
  // expected-error @+1 {{weight [1, 4611686018427387904, 3, 3] with groups=2 overflows 64-bit sizes}}
  %r = graph.conv2d %x, %w {groups = 2 : i64} : tensor<1x2x8x8xf32>, tensor<1x4611686018427387904x3x3xf32>
  return
}

// -----

func.func @conv_transpose_overflow(%x: tensor<1x1x8x8xf32>, %w: tensor<1x1x3x3xf32>) {
  // expected-error @+1 {{the result of input [1, 1, 8, 8], weight [1, 1, 3, 3], strides [4611686018427387904, 1], padding [0, 0] and dilation [1, 1] overflows 64-bit sizes}}
  %r = graph.conv_transpose2d %x, %w {strides = array<i64: 4611686018427387904, 1>} : tensor<1x1x8x8xf32>, tensor<1x1x3x3xf32>
  return
}

// -----

func.func @pool_padding_overflow(%x: tensor<1x1x8x8xf32>) {
  // expected-error @+1 {{input [1, 1, 8, 8] with padding [4611686018427387903, 0] overflows 64-bit sizes}}
  %r = graph.max_pool2d %x {kernel = array<i64: 9223372036854775807, 1>, strides = array<i64: 1, 1>, padding = array<i64: 4611686018427387903, 0>} : tensor<1x1x8x8xf32>
  return
}

// -----

func.func @concat_overflow(%a: tensor<9223372036854775807xf32>) {
  // expected-error @+1 {{axis 0 of the concatenation overflows 64-bit sizes}}
  %r = graph.concat %a, %a {axis = 0 : i64} : tensor<9223372036854775807xf32>, tensor<9223372036854775807xf32>
  return
}

// -----

func.func @lstm_hidden_overflow(%g: tensor<1x1x4xf32>, %w: tensor<4x2305843009213693952xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{weight must be [4*H, H] (4 gates of hidden size H), got [4, 2305843009213693952]}}
  %r:2 = graph.recurrence lstm %g, %w, %b : tensor<1x1x4xf32>, tensor<4x2305843009213693952xf32>, tensor<4xf32>
  return
}

// -----

func.func @attention_grad_result_shape(%q: tensor<2x8x4xf32>, %v: tensor<2x8x6xf32>, %o: tensor<2x8x4xf32>) {
  // expected-error @+1 {{'graph.attention_grad' op the result and its gradient must be 'tensor<2x8x6xf32>', got 'tensor<2x8x4xf32>'}}
  %r:3 = graph.attention_grad %q, %q, %v, %o, %o : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x6xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>
  return
}

// -----

func.func @attention_grad_mask(%q: tensor<2x8x4xf32>, %m: tensor<3xi1>) {
  // expected-error @+1 {{mask [3] does not broadcast to the scores [2, 8, 8]}}
  %r:3 = graph.attention_grad %q, %q, %q, %q, %q mask(%m : tensor<3xi1>) : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>
  return
}

// -----

func.func @attention_grad_types(%q: tensor<2x8x4xf32>, %g: tensor<2x8x4xf64>) {
  // expected-error @+1 {{'graph.attention_grad' op element types differ: 'f32' vs 'f64'}}
  %r:3 = graph.attention_grad %q, %q, %q, %q, %g : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf64>
  return
}
