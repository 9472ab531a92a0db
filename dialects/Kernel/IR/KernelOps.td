//===- KernelOps.td - Fused regions and library calls ---------------------===//

#ifndef KILN_KERNEL_OPS
#define KILN_KERNEL_OPS

include "dialects/Kernel/IR/KernelDialect.td"
include "dialects/Graph/IR/GraphEnums.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"

def Kernel_FusedOp : Kernel_Op<"fused", [
    IsolatedFromAbove, Pure,
    SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "A fusion group: one kernel with explicit inputs and outputs";
  let description = [{
    The body computes the results from the inputs (its block arguments) with
    `graph` ops and yields them. After lowering, the whole body is one loop
    nest reading each input once and writing each result once. `kind` says
    what the kernel is built around: `elementwise` (a broadcast chain),
    `reduction` (softmax, norms, reductions, losses), `window` (pooling),
    `data` (transpose, slice, concat, gathers), `attention`, `random`.

    ```mlir
    %y = kernel.fused "elementwise" (%x, %b) : (tensor<64x128xf32>, tensor<128xf32>) -> tensor<64x128xf32> {
    ^bb0(%a: tensor<64x128xf32>, %c: tensor<128xf32>):
      %0 = graph.add %a, %c : tensor<64x128xf32>, tensor<128xf32>
      %1 = graph.tanh %0 : tensor<64x128xf32>
      kernel.yield %1 : tensor<64x128xf32>
    }
    ```
  }];
  let arguments = (ins StrAttr:$kind, Variadic<AnyRankedTensor>:$inputs);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $kind `(` $inputs `)` attr-dict `:` functional-type($inputs, $results)
    $body
  }];
  let hasVerifier = 1;
}

def Kernel_YieldOp : Kernel_Op<"yield", [Pure, Terminator,
                                         HasParent<"FusedOp">]> {
  let summary = "The results of a fusion group";
  let description = [{
    Terminates a `kernel.fused` body with the values it produces.

    ```mlir
    kernel.yield %1 : tensor<64x128xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
  let builders = [OpBuilder<(ins), [{ /* nothing to yield */ }]>];
}

class Kernel_LibraryOp<string mnemonic> : Kernel_Op<mnemonic,
    [Pure, AttrSizedOperandSegments, InferTypeOpAdaptor]> {
  let results = (outs AnyRankedTensor:$result);
}

def Kernel_MatmulOp : Kernel_LibraryOp<"matmul"> {
  let summary = "Matrix product as a library call, with an epilogue";
  let description = [{
    `act(lhs x rhs + bias + residual)`: the product of `graph.matmul` (same
    operands and transpose flags), then the optional `[N]` bias, the
    optional residual of the result's shape, and the activation, all applied
    by the library (oneDNN post-ops) while the result is in cache.

    ```mlir
    %h = kernel.matmul %x, %w bias(%b : tensor<256xf32>) activation(relu)
        {transpose_rhs} : tensor<128x784xf32>, tensor<256x784xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs,
      Optional<AnyRankedTensor>:$bias, Optional<AnyRankedTensor>:$residual,
      UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs,
      DefaultValuedAttr<Graph_Activation, "::kiln::graph::Activation::none">:$activation,
      DefaultValuedAttr<F64Attr, "0.0">:$alpha);
  let assemblyFormat = [{
    $lhs `,` $rhs (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`residual` `(` $residual^ `:` type($residual) `)`)?
    (`activation` `(` $activation^ `)`)? attr-dict `:` type($lhs) `,` type($rhs)
  }];
}

def Kernel_Conv2DOp : Kernel_LibraryOp<"conv2d"> {
  let summary = "2-D convolution as a library call, with an epilogue";
  let description = [{
    `act(conv2d(input, weight) + bias + residual)` with the attributes of
    `graph.conv2d` (`channels_last` included: input, residual and result
    `[N, H, W, C]`); bias, residual add and activation are library post-ops.

    ```mlir
    %y = kernel.conv2d %x, %w bias(%b : tensor<32xf32>) activation(relu)
        {padding = array<i64: 1, 1>} : tensor<64x1x28x28xf32>, tensor<32x1x3x3xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
      Optional<AnyRankedTensor>:$bias, Optional<AnyRankedTensor>:$residual,
      DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
      DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">:$padding,
      DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilation,
      DefaultValuedAttr<I64Attr, "1">:$groups,
      DefaultValuedAttr<Graph_Activation, "::kiln::graph::Activation::none">:$activation,
      DefaultValuedAttr<F64Attr, "0.0">:$alpha, UnitAttr:$channels_last);
  let assemblyFormat = [{
    $input `,` $weight (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`residual` `(` $residual^ `:` type($residual) `)`)?
    (`activation` `(` $activation^ `)`)? attr-dict `:` type($input) `,`
    type($weight)
  }];
}

def Kernel_LibraryCallOp : Kernel_Op<"library_call", [
    AttrSizedOperandSegments, DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "A call into Kiln's runtime library, in destination style";
  let description = [{
    Calls the C function `callee` of the runtime (oneDNN-backed matmul and
    convolution): on tensors before bufferization, on memrefs after, when it
    writes its `outs` in place and has no results. The C arguments are, in
    order: one pointer per entry of `slots` (an index into `ins`, or -1 for a
    null pointer: an absent bias or residual), one pointer per `outs`, then
    the `ints` as int64_t and the `floats` as double.

    ```mlir
    %r = kernel.library_call "kiln_matmul_f32" ins(%x, %w, %b : tensor<64x3136xf32>, tensor<128x3136xf32>, tensor<128xf32>)
        outs(%e : tensor<64x128xf32>) {slots = array<i64: 0, 1, 2, -1>,
        ints = array<i64: 64, 128, 3136, 0, 1, 1>, floats = array<f64: 0.0>} -> tensor<64x128xf32>
    ```
  }];
  let arguments = (ins StrAttr:$callee, Variadic<AnyShaped>:$inputs,
                       Variadic<AnyShaped>:$outputs, DenseI64ArrayAttr:$slots,
                       DenseI64ArrayAttr:$ints, DenseF64ArrayAttr:$floats);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $callee `ins` `(` ($inputs^ `:` type($inputs))? `)`
    `outs` `(` ($outputs^ `:` type($outputs))? `)` attr-dict
    (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getOutputsMutable();
    }
  }];
  let hasVerifier = 1;
}

#endif // KILN_KERNEL_OPS
