//===- Contraction.cpp - Matmul and convolution to linalg ----------------===//
//
// The generated path: contractions as linalg.generic with explicit maps
// (transposed operands read in place, grouped convolutions by channel
// arithmetic), and the library calls of the kernel dialect as the same
// contraction plus one epilogue generic. Float64 always takes this path.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/GraphToLinalg/Common.h"
#include "compiler/Conversion/GraphToLinalg/Lowerings.h"
#include "compiler/Conversion/GraphToLinalg/Spatial.h"

#include "dialects/Graph/IR/GraphDialect.h"
#include "dialects/Kernel/IR/KernelDialect.h"

#include "kiln/runtime/Cuda.h"
#include "kiln/runtime/Library.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/TypeSwitch.h"

#include <initializer_list>
#include <limits>
#include <optional>

using namespace mlir;
using namespace kiln::graph;

// Library calls pass the graph dialect's Activation as the runtime's
// KILN_ACTIVATION_* code: the two lists must agree, case by case.
static_assert(static_cast<int64_t>(kiln::graph::Activation::none) ==
              KILN_ACTIVATION_NONE);
#define KILN_SAME_ACTIVATION(NAME, name, code, algorithm, algorithmAlpha)      \
  static_assert(static_cast<int64_t>(kiln::graph::Activation::name) ==         \
                    KILN_ACTIVATION_##NAME,                                    \
                "graph::Activation::" #name " is not KILN_ACTIVATION_" #NAME);
KILN_ACTIVATIONS(KILN_SAME_ACTIVATION)
#undef KILN_SAME_ACTIVATION
#define KILN_COUNT_ACTIVATION(...) +1
static_assert(kiln::graph::getMaxEnumValForActivation() ==
                  0 KILN_ACTIVATIONS(KILN_COUNT_ACTIVATION),
              "graph::Activation has a case the runtime does not know");
#undef KILN_COUNT_ACTIVATION

// The GPU's library calls pass GpuMath as the runtime's KILN_GPU_MATH_*.
static_assert(static_cast<int64_t>(kiln::GpuMath::Float32) ==
                  KILN_GPU_MATH_FLOAT32 &&
              static_cast<int64_t>(kiln::GpuMath::Tf32) == KILN_GPU_MATH_TF32 &&
              static_cast<int64_t>(kiln::GpuMath::Bf16) == KILN_GPU_MATH_BF16);

namespace kiln::lowering {
namespace {

AffineExpr d(MLIRContext *ctx, unsigned i) { return getAffineDimExpr(i, ctx); }

Value multiplyAccumulate(OpBuilder &b, Location loc, ValueRange a) {
  return addS(b, loc, mulS(b, loc, a[0], a[1]), a[2]);
}

/// [..., M, K] x [..., K, N] with optional transposes; `batch` leading dims.
/// The loops run batch..., m, k, n: the innermost one along N, contiguous
/// in the right operand and the result, so each step is a vector
/// multiply-add into a row of the result and no sum is horizontal. A
/// transposed right operand ([..., N, K]) is transposed once first.
Value contraction(OpBuilder &b, Location loc, Value lhs, Value rhs, bool tl,
                  bool tr, ArrayRef<int64_t> resultShape) {
  MLIRContext *ctx = b.getContext();
  if (tr)
    rhs = transposeLastTwo(b, loc, rhs);
  int64_t batch = resultShape.size() - 2;
  int64_t rank = batch + 3; // batch..., m, k, n
  AffineExpr m = d(ctx, batch), k = d(ctx, batch + 1), n = d(ctx, batch + 2);
  SmallVector<AffineExpr> lhsE, rhsE, outE;
  for (int64_t i = 0; i < batch; ++i) {
    lhsE.push_back(d(ctx, i));
    rhsE.push_back(d(ctx, i));
    outE.push_back(d(ctx, i));
  }
  lhsE.append(tl ? SmallVector<AffineExpr>{k, m} : SmallVector<AffineExpr>{m, k});
  rhsE.append({k, n});
  outE.append({m, n});
  Type t = elementTypeOf(lhs);
  Value init = filled(b, loc, resultShape, scalar(b, loc, t, 0));
  return generic(b, loc, rank, {lhs, rhs},
                 {AffineMap::get(rank, 0, lhsE, ctx),
                  AffineMap::get(rank, 0, rhsE, ctx)},
                 init, AffineMap::get(rank, 0, outE, ctx), {batch + 1},
                 [](OpBuilder &nb, Location l, ValueRange a) {
                   return SmallVector<Value>{multiplyAccumulate(nb, l, a)};
                 })
      .front();
}

/// The input channel that output channel `o` reads as its group's `c`-th:
/// `c` itself without groups.
AffineExpr groupChannel(AffineExpr o, AffineExpr c, int64_t groups,
                        int64_t outPerGroup, int64_t inPerGroup) {
  return groups == 1 ? c : o.floorDiv(outPerGroup) * inPerGroup + c;
}

/// out[n, O, y, x] = init + sum_{c, kh, kw} in[n, g(O)*Cg + c, y*s + kh*dl,
/// x*s + kw*dl] * w[O, c, kh, kw], on an already padded input.
Value convolution(OpBuilder &b, Location loc, Value padded, Value weight,
                  Value init, ArrayRef<int64_t> strides,
                  ArrayRef<int64_t> dilation, int64_t groups) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> w = shapeOf(weight);
  int64_t outPerGroup = w[0] / groups, inPerGroup = w[1];
  // Loops: n, O, y, x, c, kh, kw.
  AffineExpr n = d(ctx, 0), o = d(ctx, 1), y = d(ctx, 2), x = d(ctx, 3),
             c = d(ctx, 4), kh = d(ctx, 5), kw = d(ctx, 6);
  AffineExpr channel = groupChannel(o, c, groups, outPerGroup, inPerGroup);
  AffineMap in = AffineMap::get(
      7, 0,
      {n, channel, y * strides[0] + kh * dilation[0],
       x * strides[1] + kw * dilation[1]},
      ctx);
  AffineMap wt = AffineMap::get(7, 0, {o, c, kh, kw}, ctx);
  AffineMap out = AffineMap::get(7, 0, {n, o, y, x}, ctx);
  return generic(b, loc, 7, {padded, weight}, {in, wt}, init, out, {4, 5, 6},
                 [](OpBuilder &nb, Location l, ValueRange a) {
                   return SmallVector<Value>{multiplyAccumulate(nb, l, a)};
                 })
      .front();
}

/// The init of a convolution: zeros, or the bias broadcast along channels.
Value convInit(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type t,
               Value bias) {
  if (!bias)
    return filled(b, loc, shape, scalar(b, loc, t, 0));
  MLIRContext *ctx = b.getContext();
  return generic(b, loc, 4, bias, AffineMap::get(4, 0, d(ctx, 1), ctx),
                 empty(b, loc, shape, t),
                 AffineMap::getMultiDimIdentityMap(4, ctx), {},
                 [](OpBuilder &, Location, ValueRange a) {
                   return SmallVector<Value>{a[0]};
                 })
      .front();
}

Value conv2d(OpBuilder &b, Location loc, Value x, Value weight, Value bias,
             ArrayRef<int64_t> strides, ArrayRef<int64_t> padding,
             ArrayRef<int64_t> dilation, int64_t groups,
             ArrayRef<int64_t> resultShape) {
  Type t = elementTypeOf(x);
  Value padded = padSpatial(b, loc, x, padding[0], padding[1], padding[0],
                            padding[1], scalar(b, loc, t, 0));
  return convolution(b, loc, padded, weight,
                     convInit(b, loc, resultShape, t, bias), strides, dilation,
                     groups);
}

/// The generated code of graph.conv2d or kernel.conv2d (bias included, no
/// epilogue), computed channels-first: a channels-last input is transposed
/// in, and the result stays NCHW.
template <typename ConvOp>
Value generatedConv2d(OpBuilder &b, Location loc, ConvOp o) {
  bool channelsLast = o.getChannelsLast();
  return conv2d(b, loc, channelsFirst(b, loc, o.getInput(), channelsLast),
                o.getWeight(), o.getBias(), o.getStrides(), o.getPadding(),
                o.getDilation(), static_cast<int64_t>(o.getGroups()),
                nchwOf(o.getResult(), channelsLast));
}

/// A convolution as cuDNN states it: x [n, c, h, w] by the filter [k,
/// c / groups, kh, kw] to y [n, k, oh, ow], and its window.
struct CudnnConvolution {
  int64_t n, c, h, w, k, kh, kw, oh, ow;
  ArrayRef<int64_t> strides, padding, dilation;
  int64_t groups;
  GpuMath math;

  /// Whether cuDNN takes it: sizes its int descriptors state, tensors of
  /// fewer than 2^31 elements, and y the forward convolution's size (a
  /// transposed convolution's output padding at most what the stride's
  /// rounding allows). Otherwise the convolution is generated code.
  bool takes() const {
    constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
    for (int64_t v : {n, c, h, w, k, kh, kw, oh, ow, groups})
      if (v <= 0 || v > kMax)
        return false;
    for (int i = 0; i < 2; ++i)
      if (strides[i] <= 0 || strides[i] > kMax || dilation[i] <= 0 ||
          dilation[i] > kMax || padding[i] < 0 || padding[i] > kMax / 4)
        return false;
    auto fits = [&](std::initializer_list<int64_t> sizes) {
      int64_t elements = 1;
      for (int64_t size : sizes)
        if (__builtin_mul_overflow(elements, size, &elements))
          return false;
      return elements <= kMax;
    };
    auto forwardSize = [](int64_t in, int64_t kernel, int64_t stride,
                          int64_t pad, int64_t dilation) -> int64_t {
      int64_t span = dilation * (kernel - 1) + 1;
      return in + 2 * pad < span ? -1 : (in + 2 * pad - span) / stride + 1;
    };
    return fits({n, c, h, w}) && fits({n, k, oh, ow}) && fits({k, c, kh, kw}) &&
           forwardSize(h, kh, strides[0], padding[0], dilation[0]) == oh &&
           forwardSize(w, kw, strides[1], padding[1], dilation[1]) == ow;
  }

  /// The runtime's arguments, in its terms: x's sizes, k, the kernel, y's
  /// sizes, the window, groups and the math mode.
  SmallVector<int64_t> arguments() const {
    return {n,
            c,
            h,
            w,
            k,
            kh,
            kw,
            oh,
            ow,
            strides[0],
            strides[1],
            padding[0],
            padding[1],
            dilation[0],
            dilation[1],
            groups,
            static_cast<int64_t>(math)};
  }
};

/// The cuDNN convolution of a float32 channels-first conv2d (op: graph or
/// kernel conv2d), or nothing where the library is another or cuDNN does
/// not take it.
template <typename ConvOp>
std::optional<CudnnConvolution> onCudnn(ConvOp o, LibraryCalls library,
                                        GpuMath math) {
  if (library != LibraryCalls::Cuda || o.getChannelsLast() ||
      !elementTypeOf(o.getInput()).isF32())
    return std::nullopt;
  ArrayRef<int64_t> x = shapeOf(o.getInput()), w = shapeOf(o.getWeight()),
                    y = shapeOf(o.getResult());
  CudnnConvolution conv{x[0],
                        x[1],
                        x[2],
                        x[3],
                        w[0],
                        w[2],
                        w[3],
                        y[2],
                        y[3],
                        o.getStrides(),
                        o.getPadding(),
                        o.getDilation(),
                        static_cast<int64_t>(o.getGroups()),
                        math};
  if (!conv.takes())
    return std::nullopt;
  return conv;
}

/// A conv2d on cuDNN: the convolution, then its bias, residual and
/// activation as one generated epilogue.
template <typename ConvOp>
Value cudnnConv2d(OpBuilder &b, Location loc, ConvOp o,
                  const CudnnConvolution &conv, Value residual,
                  graph::Activation act, double alpha) {
  Value product =
      libraryCall(b, loc, "kiln_cuda_conv2d_f32", {o.getInput(), o.getWeight()},
                  ArrayRef<RankedTensorType>{tensorTypeOf(o.getResult())},
                  conv.arguments(), ArrayRef<double>{})
          .front();
  return epilogue(b, loc, product, o.getBias(), 1, residual, act, alpha);
}

/// Transposed convolution. In float32 with library calls, oneDNN's
/// deconvolution on the operands as they are, or cuDNN's backward-data
/// convolution channels-first on the GPU; otherwise a stride-1
/// convolution of the zero-dilated, padded input with the flipped,
/// transposed weight.
Value convTranspose2d(OpBuilder &b, Location loc, ConvTranspose2DOp op,
                      LibraryCalls library, GpuMath math) {
  bool libraryCalls = library == LibraryCalls::OneDnn;
  MLIRContext *ctx = b.getContext();
  bool channelsLast = op.getChannelsLast();
  Value x = op.getInput(), w = op.getWeight();
  Type t = elementTypeOf(x);
  SmallVector<int64_t> xs = nchwOf(x, channelsLast);
  ArrayRef<int64_t> ws = shapeOf(w);
  ArrayRef<int64_t> s = op.getStrides(), p = op.getPadding(),
                    dl = op.getDilation(), op_ = op.getOutputPadding();
  int64_t groups = static_cast<int64_t>(op.getGroups());
  int64_t inPerGroup = ws[0] / groups, outPerGroup = ws[1];
  int64_t outChannels = outPerGroup * groups;
  SmallVector<int64_t> rs = nchwOf(op.getResult(), channelsLast);
  if (libraryCalls && t.isF32())
    return libraryCall(
        b, loc,
        channelsLast ? "kiln_conv_transpose2d_nhwc_f32"
                     : "kiln_conv_transpose2d_f32",
        {x, w, op.getBias(), Value()}, tensorTypeOf(op.getResult()),
        {xs[0], xs[1], xs[2], xs[3], outChannels, ws[2], ws[3], rs[2], rs[3],
         s[0], s[1], p[0], p[1], op_[0], op_[1], dl[0], dl[1], groups,
         static_cast<int64_t>(graph::Activation::none)},
        0.0);
  // On cuDNN, the backward-data pass of the convolution from the result's
  // size to the input's (its filter is this weight), then the bias.
  CudnnConvolution transposed{rs[0], rs[1], rs[2], rs[3], xs[1], ws[2],  ws[3],
                              xs[2], xs[3], s,     p,     dl,    groups, math};
  if (library == LibraryCalls::Cuda && t.isF32() && !channelsLast &&
      transposed.takes()) {
    // The runtime's arguments are the transposed convolution's own.
    SmallVector<int64_t> arguments{xs[0],
                                   xs[1],
                                   xs[2],
                                   xs[3],
                                   outChannels,
                                   ws[2],
                                   ws[3],
                                   rs[2],
                                   rs[3],
                                   s[0],
                                   s[1],
                                   p[0],
                                   p[1],
                                   dl[0],
                                   dl[1],
                                   groups,
                                   static_cast<int64_t>(math)};
    Value product =
        libraryCall(b, loc, "kiln_cuda_conv_transpose2d_f32", {x, w},
                    ArrayRef<RankedTensorType>{tensorTypeOf(op.getResult())},
                    arguments, ArrayRef<double>{})
            .front();
    return epilogue(b, loc, product, op.getBias(), 1, Value(),
                    graph::Activation::none, 0.0);
  }

  x = channelsFirst(b, loc, x, channelsLast);
  // Insert stride-1 zeros between input pixels.
  int64_t dh = (xs[2] - 1) * s[0] + 1, dw = (xs[3] - 1) * s[1] + 1;
  Value zeros = filled(b, loc, {xs[0], xs[1], dh, dw}, scalar(b, loc, t, 0));
  SmallVector<OpFoldResult> offsets(4, b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(xs[0]), b.getIndexAttr(xs[1]),
                                  b.getIndexAttr(xs[2]), b.getIndexAttr(xs[3])};
  SmallVector<OpFoldResult> steps{b.getIndexAttr(1), b.getIndexAttr(1),
                                  b.getIndexAttr(s[0]), b.getIndexAttr(s[1])};
  Value dilated = b.create<tensor::InsertSliceOp>(loc, x, zeros, offsets,
                                                  sizes, steps);

  // Pad by dilation*(k-1) - padding (crop where negative), plus
  // output_padding at the bottom and right.
  int64_t padH = dl[0] * (ws[2] - 1) - p[0], padW = dl[1] * (ws[3] - 1) - p[1];
  Value src = dilated;
  int64_t cropH = std::max<int64_t>(0, -padH), cropW = std::max<int64_t>(0, -padW);
  if (cropH || cropW) {
    SmallVector<int64_t> cs{xs[0], xs[1], dh - 2 * cropH, dw - 2 * cropW};
    src = b.create<tensor::ExtractSliceOp>(
        loc, RankedTensorType::get(cs, t), dilated, ValueRange{}, ValueRange{},
        ValueRange{}, b.getDenseI64ArrayAttr({0, 0, cropH, cropW}),
        b.getDenseI64ArrayAttr(cs), b.getDenseI64ArrayAttr({1, 1, 1, 1}));
  }
  padH = std::max<int64_t>(0, padH);
  padW = std::max<int64_t>(0, padW);
  Value padded = padSpatial(b, loc, src, padH, padW, padH + op_[0],
                            padW + op_[1], scalar(b, loc, t, 0));

  // w'[O, c, kh, kw] = w[g*Cg + c, O mod Og, KH-1-kh, KW-1-kw].
  AffineExpr o = d(ctx, 0), c = d(ctx, 1), kh = d(ctx, 2), kw = d(ctx, 3);
  AffineMap read = AffineMap::get(
      4, 0,
      {o.floorDiv(outPerGroup) * inPerGroup + c, o % outPerGroup,
       ws[2] - 1 - kh, ws[3] - 1 - kw},
      ctx);
  // The flipped weight is indexed by the result's loops only: a view read
  // through `read` from the original weight.
  Value flippedInit = empty(b, loc, {outChannels, inPerGroup, ws[2], ws[3]}, t);
  Value flipped =
      generic(b, loc, 4, w, read, flippedInit,
              AffineMap::getMultiDimIdentityMap(4, ctx), {},
              [](OpBuilder &, Location, ValueRange a) {
                return SmallVector<Value>{a[0]};
              })
          .front();
  Value result =
      convolution(b, loc, padded, flipped,
                  convInit(b, loc, rs, t, op.getBias()), {1, 1}, dl, groups);
  return channelsLastAgain(b, loc, result, channelsLast);
}

/// The weight gradient of a convolution. In float32 with library calls,
/// oneDNN's backward-weights convolution, or cuDNN's backward-filter
/// convolution channels-first on the GPU; otherwise one generic over the
/// padded input: dw[o, c, kh, kw] = sum over n, y, x of
/// input[n, channel, y s + kh d, x s + kw d] * g[n, o, y, x].
Value conv2dWeightGrad(OpBuilder &b, Location loc, Conv2DWeightGradOp op,
                       LibraryCalls library, GpuMath math) {
  bool libraryCalls = library == LibraryCalls::OneDnn;
  MLIRContext *ctx = b.getContext();
  bool channelsLast = op.getChannelsLast();
  Value x = op.getInput(), g = op.getResultGrad();
  Type t = elementTypeOf(x);
  SmallVector<int64_t> xs = nchwOf(x, channelsLast),
                       gs = nchwOf(g, channelsLast);
  ArrayRef<int64_t> rs = shapeOf(op.getResult());
  ArrayRef<int64_t> s = op.getStrides(), p = op.getPadding(),
                    dl = op.getDilation();
  int64_t groups = static_cast<int64_t>(op.getGroups());
  if (libraryCalls && t.isF32())
    return libraryCall(b, loc,
                       channelsLast ? "kiln_conv2d_weight_grad_nhwc_f32"
                                    : "kiln_conv2d_weight_grad_f32",
                       {x, g}, tensorTypeOf(op.getResult()),
                       {xs[0], xs[1], xs[2], xs[3], gs[1], rs[2], rs[3], gs[2],
                        gs[3], s[0], s[1], p[0], p[1], dl[0], dl[1], groups},
                       0.0);
  CudnnConvolution conv{xs[0], xs[1], xs[2], xs[3], gs[1], rs[2],  rs[3],
                        gs[2], gs[3], s,     p,     dl,    groups, math};
  if (library == LibraryCalls::Cuda && t.isF32() && !channelsLast &&
      conv.takes())
    return libraryCall(b, loc, "kiln_cuda_conv2d_weight_grad_f32", {x, g},
                       ArrayRef<RankedTensorType>{tensorTypeOf(op.getResult())},
                       conv.arguments(), ArrayRef<double>{})
        .front();
  x = channelsFirst(b, loc, x, channelsLast);
  g = channelsFirst(b, loc, g, channelsLast);
  Value padded =
      padSpatial(b, loc, x, p[0], p[1], p[0], p[1], scalar(b, loc, t, 0));
  int64_t outPerGroup = gs[1] / groups, inPerGroup = rs[1];
  // Loops: O, c, kh, kw, n, y, x.
  AffineExpr o = d(ctx, 0), c = d(ctx, 1), kh = d(ctx, 2), kw = d(ctx, 3),
             n = d(ctx, 4), y = d(ctx, 5), xx = d(ctx, 6);
  AffineExpr channel = groupChannel(o, c, groups, outPerGroup, inPerGroup);
  AffineMap in = AffineMap::get(
      7, 0, {n, channel, y * s[0] + kh * dl[0], xx * s[1] + kw * dl[1]}, ctx);
  AffineMap grad = AffineMap::get(7, 0, {n, o, y, xx}, ctx);
  AffineMap out = AffineMap::get(7, 0, {o, c, kh, kw}, ctx);
  return generic(b, loc, 7, {padded, g}, {in, grad},
                 filled(b, loc, rs, scalar(b, loc, t, 0)), out, {4, 5, 6},
                 [](OpBuilder &nb, Location l, ValueRange a) {
                   return SmallVector<Value>{multiplyAccumulate(nb, l, a)};
                 })
      .front();
}

/// The contracted size K of a product's `lhs` ([..., M, K], or [..., K, M]
/// transposed).
int64_t contractedSize(Value lhs, bool transposeLhs) {
  ArrayRef<int64_t> shape = shapeOf(lhs);
  return shape[shape.size() - (transposeLhs ? 2 : 1)];
}

/// kernel.matmul as a call of the library's matmul with activation `act`
/// (the op's, or none where the library applies it not).
Value matmulCall(OpBuilder &b, Location loc, kernel::MatmulOp o,
                 LibraryCalls library, GpuMath math, graph::Activation act) {
  RankedTensorType result = tensorTypeOf(o.getResult());
  int64_t k = contractedSize(o.getLhs(), o.getTransposeLhs());
  bool cuda = library == LibraryCalls::Cuda;
  SmallVector<int64_t> ints{
      result.getDimSize(0), result.getDimSize(1), k,
      o.getTransposeLhs(),  o.getTransposeRhs(),  static_cast<int64_t>(act)};
  if (cuda)
    ints.push_back(static_cast<int64_t>(math));
  return libraryCall(b, loc, cuda ? "kiln_cuda_matmul_f32" : "kiln_matmul_f32",
                     {o.getLhs(), o.getRhs(), o.getBias(), o.getResidual()},
                     result, ints, o.getAlpha().convertToDouble());
}

/// Whether cuBLASLt takes a product of these sizes: none of them zero (an
/// empty product is generated code), a batch within its int32.
bool cublasLtTakes(int64_t batch, int64_t m, int64_t n, int64_t k) {
  return batch > 0 && batch <= std::numeric_limits<int32_t>::max() && m > 0 &&
         n > 0 && k > 0;
}

/// Whether `library` computes kernel.matmul `o`.
bool onLibrary(kernel::MatmulOp o, LibraryCalls library) {
  if (library == LibraryCalls::None || !elementTypeOf(o.getLhs()).isF32())
    return false;
  ArrayRef<int64_t> result = shapeOf(o.getResult());
  int64_t k = contractedSize(o.getLhs(), o.getTransposeLhs());
  return library == LibraryCalls::OneDnn ||
         cublasLtTakes(1, result[0], result[1], k);
}

/// kernel.matmul on the library: cuBLASLt's epilogues apply a bias, a
/// residual and ReLU, so other activations follow as a generic.
Value libraryMatmul(OpBuilder &b, Location loc, kernel::MatmulOp o,
                    LibraryCalls library, GpuMath math) {
  graph::Activation act = o.getActivation();
  if (library == LibraryCalls::OneDnn || act == graph::Activation::none ||
      act == graph::Activation::relu)
    return matmulCall(b, loc, o, library, math, act);
  Value product = matmulCall(b, loc, o, library, math, graph::Activation::none);
  return epilogue(b, loc, product, Value(), 1, Value(), act,
                  o.getAlpha().convertToDouble());
}

Value convCall(OpBuilder &b, Location loc, kernel::Conv2DOp o) {
  bool channelsLast = o.getChannelsLast();
  RankedTensorType result = tensorTypeOf(o.getResult());
  SmallVector<int64_t> x = nchwOf(o.getInput(), channelsLast),
                       r = nchwOf(o.getResult(), channelsLast);
  ArrayRef<int64_t> w = shapeOf(o.getWeight());
  ArrayRef<int64_t> s = o.getStrides(), p = o.getPadding(),
                    dl = o.getDilation();
  return libraryCall(
      b, loc, channelsLast ? "kiln_conv2d_nhwc_f32" : "kiln_conv2d_f32",
      {o.getInput(), o.getWeight(), o.getBias(), o.getResidual()}, result,
      {x[0], x[1], x[2], x[3], w[0], w[2], w[3], r[2], r[3], s[0], s[1], p[0],
       p[1], dl[0], dl[1], static_cast<int64_t>(o.getGroups()),
       static_cast<int64_t>(o.getActivation())},
      o.getAlpha().convertToDouble());
}

/// graph.batch_matmul in float32 as cuBLASLt's strided batch, its leading
/// dimensions flattened into one batch; nothing where the library is
/// another or cuBLASLt does not take the sizes.
std::optional<Value> cudaBatchMatmul(OpBuilder &b, Location loc,
                                     BatchMatmulOp o, LibraryCalls library,
                                     GpuMath math) {
  if (library != LibraryCalls::Cuda || !elementTypeOf(o.getLhs()).isF32())
    return std::nullopt;
  RankedTensorType result = tensorTypeOf(o.getResult());
  ArrayRef<int64_t> shape = result.getShape();
  int64_t batch = 1;
  for (int64_t d : shape.drop_back(2))
    batch *= d;
  int64_t m = shape[shape.size() - 2], n = shape.back();
  int64_t k = contractedSize(o.getLhs(), o.getTransposeLhs());
  if (!cublasLtTakes(batch, m, n, k))
    return std::nullopt;
  return libraryCall(b, loc, "kiln_cuda_batch_matmul_f32",
                     {o.getLhs(), o.getRhs()},
                     ArrayRef<RankedTensorType>{result},
                     {batch, m, n, k, o.getTransposeLhs(), o.getTransposeRhs(),
                      static_cast<int64_t>(math)},
                     ArrayRef<double>{})
      .front();
}

} // namespace

Results lowerContraction(OpBuilder &b, Operation *op, LibraryCalls library,
                         GpuMath math) {
  Location loc = op->getLoc();
  return llvm::TypeSwitch<Operation *, Results>(op)
      .Case([&](MatmulOp o) {
        return SmallVector<Value>{
            contraction(b, loc, o.getLhs(), o.getRhs(), o.getTransposeLhs(),
                        o.getTransposeRhs(), shapeOf(o.getResult()))};
      })
      .Case([&](BatchMatmulOp o) {
        if (std::optional<Value> call =
                cudaBatchMatmul(b, loc, o, library, math))
          return SmallVector<Value>{*call};
        return SmallVector<Value>{
            contraction(b, loc, o.getLhs(), o.getRhs(), o.getTransposeLhs(),
                        o.getTransposeRhs(), shapeOf(o.getResult()))};
      })
      .Case([&](Conv2DOp o) {
        if (std::optional<CudnnConvolution> conv = onCudnn(o, library, math))
          return SmallVector<Value>{cudnnConv2d(b, loc, o, *conv, Value(),
                                                graph::Activation::none, 0.0)};
        return SmallVector<Value>{channelsLastAgain(
            b, loc, generatedConv2d(b, loc, o), o.getChannelsLast())};
      })
      .Case([&](ConvTranspose2DOp o) {
        return SmallVector<Value>{convTranspose2d(b, loc, o, library, math)};
      })
      .Case([&](Conv2DWeightGradOp o) {
        return SmallVector<Value>{conv2dWeightGrad(b, loc, o, library, math)};
      })
      .Case([&](kernel::MatmulOp o) {
        if (onLibrary(o, library))
          return SmallVector<Value>{libraryMatmul(b, loc, o, library, math)};
        Value product =
            contraction(b, loc, o.getLhs(), o.getRhs(), o.getTransposeLhs(),
                        o.getTransposeRhs(), shapeOf(o.getResult()));
        return SmallVector<Value>{
            epilogue(b, loc, product, o.getBias(), 1, o.getResidual(),
                     o.getActivation(), o.getAlpha().convertToDouble())};
      })
      .Case([&](kernel::Conv2DOp o) {
        if (library == LibraryCalls::OneDnn &&
            elementTypeOf(o.getInput()).isF32())
          return SmallVector<Value>{convCall(b, loc, o)};
        if (std::optional<CudnnConvolution> conv = onCudnn(o, library, math))
          return SmallVector<Value>{
              cudnnConv2d(b, loc, o, *conv, o.getResidual(), o.getActivation(),
                          o.getAlpha().convertToDouble())};
        bool channelsLast = o.getChannelsLast();
        Value product =
            epilogue(b, loc, generatedConv2d(b, loc, o), Value(), 1,
                     channelsFirst(b, loc, o.getResidual(), channelsLast),
                     o.getActivation(), o.getAlpha().convertToDouble());
        return SmallVector<Value>{
            channelsLastAgain(b, loc, product, channelsLast)};
      })
      .Default([](Operation *) { return std::nullopt; });
}

} // namespace kiln::lowering
