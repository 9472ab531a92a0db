//===- GraphChannelsLast.cpp - Keep activations NHWC between convolutions -===//
//
// oneDNN's convolutions run on channels-last (NHWC) activations; the graph
// holds NCHW ones, so every convolution call reordered its input and result
// (a fifth to a third of a ResNet's time in oneDNN). This pass gives each
// float32 convolution, transposed convolution and convolution weight
// gradient channels-last operands, and carries the layout forward through
// the ops whose result does not depend on it (elementwise ops) and those
// that have a channels-last form (batch and group norm, pooling,
// concatenation, slices, sums and broadcasts). A classifier with fewer
// outputs than images reads the flattened NHWC activation through its
// weight's permuted columns. A transpose is left only where a value meets
// an op that needs NCHW (a reshape such as another flatten, an op without
// a channels-last form, a result of the function).
//
// Ops already channels-last (written so) are left as they are. One walk in
// block order suffices: every op's operands are defined before
// it, so when it is reached each operand's NHWC twin, if there is one, is
// known. `twins` maps an NCHW value to the NHWC value holding the same
// data; the NCHW value is a transpose of its twin, which becomes dead (and
// is removed by the canonicalizer) once all its users read the twin.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/IR/GraphDialect.h"
#include "dialects/Graph/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace kiln::graph {
#define GEN_PASS_DEF_GRAPHCHANNELSLAST
#include "dialects/Graph/Transforms/Passes.h.inc"
} // namespace kiln::graph

using namespace mlir;
using namespace kiln;
using namespace kiln::graph;

namespace {

/// Result dimension i is operand dimension permutation[i].
constexpr int64_t kToChannelsLast[] = {0, 2, 3, 1};
constexpr int64_t kToChannelsFirst[] = {0, 3, 1, 2};

/// `values` (one per dimension) reordered by `permutation`.
SmallVector<int64_t> reordered(ArrayRef<int64_t> values,
                               ArrayRef<int64_t> permutation) {
  SmallVector<int64_t> out;
  for (int64_t d : permutation)
    out.push_back(values[d]);
  return out;
}

RankedTensorType permuted(RankedTensorType type,
                          ArrayRef<int64_t> permutation) {
  return RankedTensorType::get(reordered(type.getShape(), permutation),
                               type.getElementType());
}

bool isRank4(Value v) {
  auto type = llvm::dyn_cast<RankedTensorType>(v.getType());
  return type && type.getRank() == 4;
}

/// `v` relaid by `permutation`: a reshape (a view, no kernel) where only
/// dimensions of size 1 move, else a transpose.
Value relayout(OpBuilder &b, Location loc, Value v,
               ArrayRef<int64_t> permutation) {
  auto type = llvm::cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> moved;
  for (int64_t d : permutation)
    if (type.getDimSize(d) != 1)
      moved.push_back(d);
  if (llvm::is_sorted(moved))
    return b.create<ReshapeOp>(loc, v, permuted(type, permutation).getShape());
  return b.create<TransposeOp>(loc, v, permutation);
}

class ChannelsLast {
public:
  explicit ChannelsLast(func::FuncOp func) : func(func) {}

  void run() {
    SmallVector<Operation *> ops;
    for (Operation &op : func.getBody().front())
      ops.push_back(&op);
    for (Operation *op : ops)
      visit(op);
  }

private:
  func::FuncOp func;
  /// NCHW value -> the NHWC value holding the same data.
  DenseMap<Value, Value> twins;

  /// `v` (NCHW) as NHWC: its twin, or a new relayout right after `v`.
  Value nhwcOf(Value v) {
    if (Value twin = twins.lookup(v))
      return twin;
    OpBuilder b(func.getContext());
    if (Operation *def = v.getDefiningOp())
      b.setInsertionPointAfter(def);
    else
      b.setInsertionPointToStart(v.getParentBlock());
    Value twin = relayout(b, v.getLoc(), v, kToChannelsLast);
    twins[v] = twin;
    return twin;
  }

  /// Replaces `old` (NCHW) by the NCHW view of `nhwc`, its new twin.
  void replaceWithTwin(OpBuilder &b, Value old, Value nhwc) {
    Value nchw = relayout(b, old.getLoc(), nhwc, kToChannelsFirst);
    twins[nchw] = nhwc;
    old.replaceAllUsesWith(nchw);
  }

  void visit(Operation *op) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    if (auto conv = dyn_cast<Conv2DOp>(op)) {
      if (conv.getChannelsLast() || !isF32(conv.getInput()))
        return;
      auto y = b.create<Conv2DOp>(loc, nhwcOf(conv.getInput()),
                                  conv.getWeight(), conv.getBias(),
                                  conv.getStrides(), conv.getPadding(),
                                  conv.getDilation(), conv.getGroups(), true);
      finish(b, op, y.getResult());
      return;
    }
    if (auto conv = dyn_cast<ConvTranspose2DOp>(op)) {
      if (conv.getChannelsLast() || !isF32(conv.getInput()))
        return;
      auto y = b.create<ConvTranspose2DOp>(
          loc, nhwcOf(conv.getInput()), conv.getWeight(), conv.getBias(),
          conv.getStrides(), conv.getPadding(), conv.getOutputPadding(),
          conv.getDilation(), conv.getGroups(), true);
      finish(b, op, y.getResult());
      return;
    }
    if (auto grad = dyn_cast<Conv2DWeightGradOp>(op)) {
      if (grad.getChannelsLast() || !isF32(grad.getInput()))
        return;
      auto dw = b.create<Conv2DWeightGradOp>(
          loc, nhwcOf(grad.getInput()), nhwcOf(grad.getResultGrad()),
          grad.getKernel(), grad.getStrides(), grad.getPadding(),
          grad.getDilation(), grad.getGroups(), true);
      op->replaceAllUsesWith(dw);
      op->erase();
      return;
    }
    if (auto bn = dyn_cast<BatchNormTrainingOp>(op)) {
      if (bn.getChannelsLast() || !twins.count(bn.getInput()))
        return;
      auto y = b.create<BatchNormTrainingOp>(
          loc, twins.lookup(bn.getInput()), bn.getWeight(), bn.getBias(),
          bn.getRunningMean(), bn.getRunningVar(), bn.getEpsilon(),
          bn.getMomentum(), true);
      finishAll(b, op, y);
      return;
    }
    if (auto bn = dyn_cast<BatchNormGradOp>(op)) {
      if (bn.getChannelsLast() || !twins.count(bn.getInput()))
        return;
      auto grads = b.create<BatchNormGradOp>(
          loc, twins.lookup(bn.getInput()), nhwcOf(bn.getGrad()),
          bn.getWeight(), bn.getEpsilon(), true);
      finishAll(b, op, grads);
      return;
    }
    if (auto norm = dyn_cast<GroupNormOp>(op)) {
      if (norm.getChannelsLast() || !twins.count(norm.getInput()))
        return;
      finish(b, op,
             b.create<GroupNormOp>(
                 loc, twins.lookup(norm.getInput()), norm.getWeight(),
                 norm.getBias(), norm.getNumGroups(), norm.getEpsilon(), true));
      return;
    }
    if (auto norm = dyn_cast<GroupNormGradOp>(op)) {
      if (norm.getChannelsLast() || !twins.count(norm.getInput()))
        return;
      auto grads = b.create<GroupNormGradOp>(
          loc, twins.lookup(norm.getInput()), nhwcOf(norm.getGrad()),
          norm.getWeight(), norm.getNumGroups(), norm.getEpsilon(), true);
      finishAll(b, op, grads);
      return;
    }
    if (auto bn = dyn_cast<BatchNormInferenceOp>(op)) {
      if (bn.getChannelsLast() || !twins.count(bn.getInput()))
        return;
      auto y = b.create<BatchNormInferenceOp>(
          loc, twins.lookup(bn.getInput()), bn.getWeight(), bn.getBias(),
          bn.getMean(), bn.getVariance(), bn.getEpsilon(), true);
      finish(b, op, y.getResult());
      return;
    }
    if (visitWindow(b, op))
      return;
    if (auto broadcast = dyn_cast<BroadcastToOp>(op))
      return visitBroadcast(b, broadcast);
    if (auto concat = dyn_cast<ConcatOp>(op))
      return visitConcat(b, concat);
    if (auto slice = dyn_cast<SliceOp>(op))
      return visitSlice(b, slice);
    if (auto reshape = dyn_cast<ReshapeOp>(op))
      return visitReshape(b, reshape);
    if (auto reduce = dyn_cast<ReduceSumOp>(op))
      return visitReduce(b, reduce);
    if (auto reduce = dyn_cast<ReduceMeanOp>(op))
      return visitReduce(b, reduce);
    if (auto reduce = dyn_cast<ReduceMaxOp>(op))
      return visitReduce(b, reduce);
    if (auto reduce = dyn_cast<ReduceMinOp>(op))
      return visitReduce(b, reduce);
    visitElementwise(b, op);
  }

  /// Pooling of an NHWC twin pools it channels-last. Returns true where
  /// `op` is a window op (whether or not it changed).
  bool visitWindow(OpBuilder &b, Operation *op) {
    Location loc = op->getLoc();
    if (auto pool = dyn_cast<MaxPool2DOp>(op)) {
      if (!pool.getChannelsLast() && twins.count(pool.getInput()))
        finish(b, op,
               b.create<MaxPool2DOp>(loc, twins.lookup(pool.getInput()),
                                     pool.getKernel(), pool.getStrides(),
                                     pool.getPadding(), true));
      return true;
    }
    if (auto pool = dyn_cast<AvgPool2DOp>(op)) {
      if (!pool.getChannelsLast() && twins.count(pool.getInput()))
        finish(b, op,
               b.create<AvgPool2DOp>(loc, twins.lookup(pool.getInput()),
                                     pool.getKernel(), pool.getStrides(),
                                     pool.getPadding(),
                                     pool.getCountIncludePad(), true));
      return true;
    }
    if (auto pool = dyn_cast<GlobalAvgPool2DOp>(op)) {
      if (!pool.getChannelsLast() && twins.count(pool.getInput()))
        finish(b, op,
               b.create<GlobalAvgPool2DOp>(loc, twins.lookup(pool.getInput()),
                                           true));
      return true;
    }
    if (auto grad = dyn_cast<MaxPool2DGradOp>(op)) {
      if (!grad.getChannelsLast() && twins.count(grad.getInput()))
        finish(b, op,
               b.create<MaxPool2DGradOp>(loc, twins.lookup(grad.getInput()),
                                         nhwcOf(grad.getResultGrad()),
                                         grad.getKernel(), grad.getStrides(),
                                         grad.getPadding(), true));
      return true;
    }
    return false;
  }

  /// An elementwise op computes the same on NHWC operands where one of
  /// its operands has an NHWC twin and each other operand is a single
  /// element, a twin, a splat constant, or a broadcast operand that NHWC
  /// holds in the same order (a [N, C, 1, 1] gate is [N, 1, 1, C]: a view).
  /// It is recreated on them, with NHWC results.
  void visitElementwise(OpBuilder &b, Operation *op) {
    // Batch norm and broadcast_to have rules of their own; one_hot's result
    // has another rank.
    if (kernelKindOf(op) != KernelKind::Elementwise ||
        isa<BatchNormInferenceOp, BroadcastToOp, OneHotOp>(op) ||
        op->getNumRegions() != 0 || op->getNumResults() == 0)
      return;
    ArrayRef<int64_t> shape = shapeOf(op->getResult(0));
    if (shape.size() != 4)
      return;
    for (Value result : op->getResults())
      if (shapeOf(result) != shape)
        return;
    if (llvm::none_of(op->getOperands(),
                      [&](Value operand) { return twins.count(operand); }))
      return;
    // Decide first, then create: an op that cannot move gains nothing.
    for (Value operand : op->getOperands())
      if (!twins.count(operand) && !isSplatConstant(operand) &&
          !movesAsView(operand))
        return;
    SmallVector<Value> operands;
    for (Value operand : op->getOperands())
      operands.push_back(nhwcOperand(b, op->getLoc(), operand));
    OperationState state(op->getLoc(), op->getName());
    state.addOperands(operands);
    for (Value result : op->getResults())
      state.addTypes(permuted(llvm::cast<RankedTensorType>(result.getType()),
                              kToChannelsLast));
    state.addAttributes(op->getAttrs());
    Operation *nhwc = b.create(state);
    for (auto [old, now] : llvm::zip(op->getResults(), nhwc->getResults()))
      replaceWithTwin(b, old, now);
    op->erase();
  }

  /// A classifier's weight W [O, C*H*W] reads a flattened image in NCHW
  /// order. Where it has fewer rows than the batch (gan's discriminator:
  /// one), the products with it take the image flattened in NHWC order and
  /// W with its columns permuted to match (O*C*H*W elements moved, where
  /// the image's transpose moved N*C*H*W):
  /// - the flatten [N, C, H, W] -> [N, C*H*W] of a twin that only such
  ///   products read (x W^T, and the weight's gradient g^T x, whose columns
  ///   are permuted back) flattens the twin;
  /// - the unflatten of a product g W (the flatten's data gradient) to
  ///   [N, C, H, W] gives a twin: g W' unflattened to [N, H, W, C].
  void visitReshape(OpBuilder &b, ReshapeOp reshape) {
    Value input = reshape.getInput(), flat = reshape.getResult();
    ArrayRef<int64_t> in = shapeOf(input), out = shapeOf(flat);
    Location loc = reshape.getLoc();
    // (A flatten of a [N, C, 1, 1] image is a view in either layout.)
    if (in.size() == 4 && out.size() == 2 && out[0] == in[0] &&
        in[2] * in[3] > 1 && twins.count(input)) {
      auto readsAsClassifier = [&](OpOperand &use) {
        auto product = dyn_cast<MatmulOp>(use.getOwner());
        if (!product || product.getLhs() == product.getRhs())
          return false;
        bool weightTimesImage = use.getOperandNumber() == 0 &&
                                !product.getTransposeLhs() &&
                                product.getTransposeRhs();
        bool weightGradient = use.getOperandNumber() == 1 &&
                              product.getTransposeLhs() &&
                              !product.getTransposeRhs();
        return (weightTimesImage || weightGradient) &&
               shapeOf(product.getResult())[weightTimesImage ? 1 : 0] < in[0];
      };
      if (flat.use_empty() || !llvm::all_of(flat.getUses(), readsAsClassifier))
        return;
      // The products come later in the block, which run() still walks:
      // they and the flatten are left dead, for the canonicalizer.
      Value nhwcFlat = b.create<ReshapeOp>(loc, twins.lookup(input), out);
      SmallVector<OpOperand *> uses;
      for (OpOperand &use : flat.getUses())
        uses.push_back(&use);
      for (OpOperand *use : uses) {
        auto product = cast<MatmulOp>(use->getOwner());
        OpBuilder at(product);
        Location productLoc = product.getLoc();
        if (use->getOperandNumber() == 0) {
          Value weight = toNhwcColumns(at, productLoc, product.getRhs(), in);
          product.getResult().replaceAllUsesWith(at.create<MatmulOp>(
              productLoc, nhwcFlat, weight, false, true));
        } else {
          Value gradient = at.create<MatmulOp>(productLoc, product.getLhs(),
                                               nhwcFlat, true, false);
          product.getResult().replaceAllUsesWith(
              toNchwColumns(at, productLoc, gradient, in));
        }
      }
      return;
    }
    auto product = input.getDefiningOp<MatmulOp>();
    if (in.size() != 2 || out.size() != 4 || in[0] != out[0] ||
        out[2] * out[3] == 1 || !isF32(flat) || !product ||
        product.getTransposeLhs() ||
        product.getTransposeRhs() || !input.hasOneUse() ||
        shapeOf(product.getRhs())[0] >= out[0])
      return;
    Value weight = toNhwcColumns(b, loc, product.getRhs(), out);
    Value nhwc = b.create<MatmulOp>(loc, product.getLhs(), weight, false,
                                    false);
    finish(b, reshape,
           b.create<ReshapeOp>(loc, nhwc, reordered(out, kToChannelsLast)));
    product->erase();
  }

  /// `matrix` [O, C*H*W] with its columns in NHWC order ([O, H*W*C]), for
  /// the image shape `image` ([N, C, H, W]).
  static Value toNhwcColumns(OpBuilder &b, Location loc, Value matrix,
                             ArrayRef<int64_t> image) {
    return relaidColumns(b, loc, matrix, {image[1], image[2], image[3]},
                         kToChannelsLast);
  }

  /// The inverse: `matrix` [O, H*W*C] with its columns back in NCHW order.
  static Value toNchwColumns(OpBuilder &b, Location loc, Value matrix,
                             ArrayRef<int64_t> image) {
    return relaidColumns(b, loc, matrix, {image[2], image[3], image[1]},
                         kToChannelsFirst);
  }

  /// `matrix` [O, K] read as [O, planes...] (K their product), relaid by
  /// `permutation` (dimension 0 staying first), and flattened back.
  static Value relaidColumns(OpBuilder &b, Location loc, Value matrix,
                             ArrayRef<int64_t> planes,
                             ArrayRef<int64_t> permutation) {
    SmallVector<int64_t> shape{shapeOf(matrix)[0]};
    shape.append(planes.begin(), planes.end());
    Value relaid = relayout(b, loc, b.create<ReshapeOp>(loc, matrix, shape),
                            permutation);
    return b.create<ReshapeOp>(loc, relaid, shapeOf(matrix));
  }

  /// A broadcast to a rank-4 shape of a twin broadcasts the twin to the
  /// shape permuted (a global average pool's gradient: [N, 1, 1, C] to
  /// [N, H, W, C]). So does a broadcast of a value whose NHWC form is a
  /// view, where a user of it also reads a twin (ddpm's time embedding
  /// [N, C, 1, 1] added to a convolution's result); elsewhere (an
  /// attention mask) it would only add a transpose back.
  void visitBroadcast(OpBuilder &b, BroadcastToOp broadcast) {
    Value input = broadcast.getInput();
    auto readsTwin = [&](Operation *user) {
      return llvm::any_of(user->getOperands(),
                          [&](Value v) { return twins.count(v); });
    };
    if (!isRank4(broadcast.getResult()) ||
        (!twins.count(input) &&
         !(movesAsView(input) &&
           llvm::any_of(broadcast->getUsers(), readsTwin))))
      return;
    Value twin = nhwcOperand(b, broadcast.getLoc(), input);
    finish(b, broadcast,
           b.create<BroadcastToOp>(
               broadcast.getLoc(), twin,
               reordered(broadcast.getShape(), kToChannelsLast)));
  }

  /// A concatenation of twins concatenates them along the same dimension
  /// of NHWC (the channels: the last); operands without a twin are
  /// transposed.
  void visitConcat(OpBuilder &b, ConcatOp concat) {
    if (!isRank4(concat.getResult()) ||
        llvm::none_of(concat.getInputs(),
                      [&](Value input) { return twins.count(input); }))
      return;
    SmallVector<Value> inputs;
    for (Value input : concat.getInputs())
      inputs.push_back(nhwcOf(input));
    int64_t axis = static_cast<int64_t>(concat.getAxis());
    axis = nhwcDim(axis < 0 ? axis + 4 : axis);
    finish(b, concat, b.create<ConcatOp>(concat.getLoc(), inputs, axis));
  }

  /// A slice of a twin slices the twin, its bounds permuted.
  void visitSlice(OpBuilder &b, SliceOp slice) {
    Value twin = twins.lookup(slice.getInput());
    if (!twin)
      return;
    finish(b, slice,
           b.create<SliceOp>(slice.getLoc(), twin,
                             reordered(slice.getStarts(), kToChannelsLast),
                             reordered(slice.getLimits(), kToChannelsLast),
                             reordered(slice.getStrides(), kToChannelsLast)));
  }

  /// A reduction of a twin reduces the twin over the same dimensions. With
  /// `keep_dims` the result is a twin; without, the dimensions left must
  /// keep their order (the channel is left alone or only with the batch).
  template <typename ReduceOp> void visitReduce(OpBuilder &b, ReduceOp reduce) {
    Value twin = twins.lookup(reduce.getInput());
    if (!twin)
      return;
    SmallVector<int64_t> dims;
    for (int64_t d : reduce.getDims())
      dims.push_back(nhwcDim(d < 0 ? d + 4 : d));
    llvm::sort(dims);
    bool keepDims = reduce.getKeepDims();
    if (!keepDims) {
      int64_t last = -1;
      for (int64_t d = 0; d < 4; ++d)
        if (!llvm::is_contained(reduce.getDims(), d) &&
            !llvm::is_contained(reduce.getDims(), d - 4)) {
          if (nhwcDim(d) < last)
            return;
          last = nhwcDim(d);
        }
    }
    auto reduced =
        b.create<ReduceOp>(reduce.getLoc(), twin, dims, keepDims);
    if (keepDims) {
      finish(b, reduce, reduced.getResult());
      return;
    }
    reduce.getResult().replaceAllUsesWith(reduced.getResult());
    reduce->erase();
  }

  /// Where NCHW dimension `d` is in NHWC.
  static int64_t nhwcDim(int64_t d) {
    return llvm::find(kToChannelsLast, d) - std::begin(kToChannelsLast);
  }

  static bool isSplatConstant(Value v) {
    auto constant = v.getDefiningOp<ConstantOp>();
    return constant && llvm::isa<SplatElementsAttr>(constant.getValue());
  }

  /// `v`, padded to rank 4 with leading ones as broadcasting reads it.
  static SmallVector<int64_t> asRank4(Value v) {
    ArrayRef<int64_t> shape = shapeOf(v);
    SmallVector<int64_t> padded(4 - std::min<size_t>(shape.size(), 4), 1);
    padded.append(shape.begin(), shape.end());
    return padded;
  }

  /// True where `v` (rank 4 at most, as broadcasting reads it) holds its
  /// NHWC form in the same order: only dimensions of size 1 move.
  static bool movesAsView(Value v) {
    if (shapeOf(v).size() > 4)
      return false;
    SmallVector<int64_t> shape = asRank4(v);
    int64_t last = -1;
    for (int64_t d : kToChannelsLast)
      if (shape[d] != 1) {
        if (d < last)
          return false;
        last = d;
      }
    return true;
  }

  /// An elementwise op's operand in NHWC: its twin, a splat constant of the
  /// permuted shape, or a view (visitElementwise has checked which).
  Value nhwcOperand(OpBuilder &b, Location loc, Value operand) {
    if (Value twin = twins.lookup(operand))
      return twin;
    auto type = llvm::cast<RankedTensorType>(operand.getType());
    if (type.getNumElements() == 1)
      return operand; // broadcast the same way in either layout
    SmallVector<int64_t> nhwc = reordered(asRank4(operand), kToChannelsLast);
    auto nhwcType = RankedTensorType::get(nhwc, type.getElementType());
    if (isSplatConstant(operand))
      return b.create<ConstantOp>(
          loc, llvm::cast<SplatElementsAttr>(
                   operand.getDefiningOp<ConstantOp>().getValue())
                   .resizeSplat(nhwcType));
    if (nhwcType == type)
      return operand;
    return b.create<ReshapeOp>(loc, operand, nhwc);
  }

  /// Replaces `op`'s first result by the NCHW view of `nhwc` and erases it.
  void finish(OpBuilder &b, Operation *op, Value nhwc) {
    replaceWithTwin(b, op->getResult(0), nhwc);
    op->erase();
  }

  /// Replaces `op` by its channels-last form `nhwc`: the first result (the
  /// activation) by its NCHW view, the others (per-channel statistics and
  /// gradients, which have no layout) as they are; and erases it.
  void finishAll(OpBuilder &b, Operation *op, Operation *nhwc) {
    for (auto [old, now] :
         llvm::drop_begin(llvm::zip(op->getResults(), nhwc->getResults())))
      old.replaceAllUsesWith(now);
    finish(b, op, nhwc->getResult(0));
  }

  static bool isF32(Value v) {
    return isRank4(v) &&
           llvm::cast<RankedTensorType>(v.getType()).getElementType().isF32();
  }

  static ArrayRef<int64_t> shapeOf(Value v) {
    return llvm::cast<RankedTensorType>(v.getType()).getShape();
  }
};

struct GraphChannelsLastPass
    : kiln::graph::impl::GraphChannelsLastBase<GraphChannelsLastPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (!func.isExternal())
      ChannelsLast(func).run();
  }
};

} // namespace
