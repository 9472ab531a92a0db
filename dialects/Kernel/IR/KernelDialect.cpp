//===- KernelDialect.cpp - Kernel dialect ops: verifiers, type inference --===//

#include "dialects/Kernel/IR/KernelDialect.h"

#include "dialects/Graph/IR/GraphShapes.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Transforms/InliningUtils.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::kernel;

#include "dialects/Kernel/IR/KernelOpsDialect.cpp.inc"

namespace {

/// Bufferizes a library call like any destination-style op: inputs are
/// read, outputs written in place, results are the output buffers.
struct LibraryCallBufferization
    : bufferization::DstBufferizableOpInterfaceExternalModel<
          LibraryCallBufferization, LibraryCallOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const bufferization::BufferizationOptions &options)
      const {
    auto call = cast<LibraryCallOp>(op);
    SmallVector<Value> inputs, outputs;
    for (Value v : call.getInputs()) {
      FailureOr<Value> buffer = bufferization::getBuffer(rewriter, v, options);
      if (failed(buffer))
        return failure();
      inputs.push_back(*buffer);
    }
    for (Value v : call.getOutputs()) {
      FailureOr<Value> buffer = bufferization::getBuffer(rewriter, v, options);
      if (failed(buffer))
        return failure();
      outputs.push_back(*buffer);
    }
    rewriter.setInsertionPoint(op);
    auto bufferized = rewriter.create<LibraryCallOp>(
        op->getLoc(), TypeRange{}, call.getCalleeAttr(), inputs, outputs,
        call.getSlotsAttr(), call.getIntsAttr(), call.getFloatsAttr());
    if (Attribute cost = op->getAttr(kCostAttr))
      bufferized->setAttr(kCostAttr, cost);
    bufferization::replaceOpWithBufferizedValues(rewriter, op, outputs);
    return success();
  }
};

/// Kernel ops inline freely: kernels (with their runtime calls) inline into
/// their entry point before memory planning.
struct KernelInlinerInterface : DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
  bool isLegalToInline(Region *, Region *, bool, IRMapping &) const final {
    return true;
  }
};

} // namespace

void KernelDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Kernel/IR/KernelOps.cpp.inc"
      >();
  LibraryCallOp::attachInterface<LibraryCallBufferization>(*getContext());
  addInterfaces<KernelInlinerInterface>();
}

LogicalResult LibraryCallOp::verify() {
  bool tensors = !getResults().empty();
  for (Value v : getInputs())
    if (llvm::isa<TensorType>(v.getType()) != tensors ||
        !llvm::isa<TensorType, MemRefType>(v.getType()))
      return emitOpError("operands must all be tensors (with results) or all "
                         "memrefs (without)");
  for (Value v : getOutputs())
    if (llvm::isa<TensorType>(v.getType()) != tensors)
      return emitOpError("operands must all be tensors (with results) or all "
                         "memrefs (without)");
  if (tensors && getResultTypes() != getOutputs().getTypes())
    return emitOpError("result types must equal the types of outs");
  for (int64_t slot : getSlots())
    if (slot < -1 || slot >= static_cast<int64_t>(getInputs().size()))
      return emitOpError("slot ") << slot << " names no input (there are "
                                  << getInputs().size() << ")";
  return success();
}

void LibraryCallOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  for (OpOperand &operand : getInputsMutable())
    if (llvm::isa<MemRefType>(operand.get().getType()))
      effects.emplace_back(MemoryEffects::Read::get(), &operand);
  for (OpOperand &operand : getOutputsMutable())
    if (llvm::isa<MemRefType>(operand.get().getType())) {
      effects.emplace_back(MemoryEffects::Read::get(), &operand);
      effects.emplace_back(MemoryEffects::Write::get(), &operand);
    }
  // A call without outputs acts on the runtime's own state (numerics
  // checks): it must stay, in order.
  if (getOutputs().empty())
    effects.emplace_back(MemoryEffects::Write::get());
}

namespace {

shapes::Shape shapeOf(Value v) {
  auto type = llvm::cast<RankedTensorType>(v.getType());
  return shapes::Shape(type.getShape().begin(), type.getShape().end());
}

shapes::Shape attrOr(DenseI64ArrayAttr attr, shapes::Shape fallback) {
  return attr ? shapes::Shape(attr.asArrayRef().begin(),
                              attr.asArrayRef().end())
              : fallback;
}

/// Checks the epilogue operands of a library call against its result.
LogicalResult checkEpilogue(std::optional<Location> loc, StringRef opName,
                            const shapes::Inferred &product, int64_t channels,
                            Value bias, Value residual, Type elementType,
                            SmallVectorImpl<Type> &types) {
  if (!product.ok())
    return emitOptionalError(loc, "'", opName, "' op ", product.error);
  if (bias && shapeOf(bias) != shapes::Shape{channels})
    return emitOptionalError(loc, "'", opName, "' op bias ",
                             shapes::str(shapeOf(bias)), " must be [",
                             channels, "]");
  if (residual && shapeOf(residual) != product.shape)
    return emitOptionalError(loc, "'", opName, "' op residual ",
                             shapes::str(shapeOf(residual)),
                             " must have the result's shape ",
                             shapes::str(product.shape));
  types.push_back(RankedTensorType::get(product.shape, elementType));
  return success();
}

} // namespace

LogicalResult FusedOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError("body has ")
           << body.getNumArguments() << " arguments for "
           << getInputs().size() << " inputs";
  for (auto [arg, input] : llvm::zip(body.getArguments(), getInputs()))
    if (arg.getType() != input.getType())
      return emitOpError("body argument ")
             << arg.getArgNumber() << " has type " << arg.getType()
             << " but its input has type " << input.getType();
  auto yield = llvm::cast<YieldOp>(body.getTerminator());
  if (yield.getValues().getTypes() != getResults().getTypes())
    return emitOpError("yields ")
           << yield.getValues().getTypes().size()
           << " values whose types differ from the results";
  return success();
}

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  if (failed(graph::verifyAttributes(adaptor, context, loc)))
    return failure();
  shapes::Inferred product = shapes::matmul(
      shapeOf(adaptor.getLhs()), shapeOf(adaptor.getRhs()),
      adaptor.getTransposeLhs(), adaptor.getTransposeRhs());
  int64_t n = product.ok() ? product.shape[1] : 0;
  return checkEpilogue(loc, getOperationName(), product, n, adaptor.getBias(),
                       adaptor.getResidual(),
                       llvm::cast<RankedTensorType>(adaptor.getLhs().getType())
                           .getElementType(),
                       types);
}

LogicalResult Conv2DOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  if (failed(graph::verifyAttributes(adaptor, context, loc)))
    return failure();
  IntegerAttr groups = adaptor.getGroupsAttr();
  bool channelsLast = static_cast<bool>(adaptor.getChannelsLastAttr());
  shapes::Inferred product =
      shapes::conv2d(shapeOf(adaptor.getInput()), shapeOf(adaptor.getWeight()),
                     nullptr, attrOr(adaptor.getStridesAttr(), {1, 1}),
                     attrOr(adaptor.getPaddingAttr(), {0, 0}),
                     attrOr(adaptor.getDilationAttr(), {1, 1}),
                     groups ? groups.getInt() : 1, channelsLast);
  int64_t channels = product.ok() ? product.shape[channelsLast ? 3 : 1] : 0;
  return checkEpilogue(
      loc, getOperationName(), product, channels, adaptor.getBias(),
      adaptor.getResidual(),
      llvm::cast<RankedTensorType>(adaptor.getInput().getType())
          .getElementType(),
      types);
}

#define GET_OP_CLASSES
#include "dialects/Kernel/IR/KernelOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Origins
//===----------------------------------------------------------------------===//

namespace {
constexpr llvm::StringLiteral kGradientOf = "gradient of ";
} // namespace

Location kiln::kernel::gradientLocation(Operation *forward) {
  MLIRContext *ctx = forward->getContext();
  return FusedLoc::get(
      ctx, {forward->getLoc()},
      StringAttr::get(ctx, kGradientOf + forward->getName().getStringRef()));
}

namespace {

int64_t elementsOf(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.hasStaticShape() ? tensor.getNumElements() : 0;
}

int64_t bytesOf(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return 0;
  return tensor.getNumElements() *
         std::max<int64_t>(1, tensor.getElementTypeBitWidth() / 8);
}

/// Dimension `d` of operand `i` (negative counts from the end), 0 when it
/// is not a ranked tensor with that dimension.
int64_t dimOf(Operation *op, unsigned i, int64_t d) {
  if (i >= op->getNumOperands())
    return 0;
  auto t = dyn_cast<RankedTensorType>(op->getOperand(i).getType());
  if (!t || !t.hasStaticShape())
    return 0;
  int64_t rank = t.getRank();
  if (d < 0)
    d += rank;
  return d >= 0 && d < rank ? t.getDimSize(d) : 0;
}

} // namespace

int64_t kiln::kernel::contractionFlops(Operation *op) {
  StringRef name = op->getName().getStringRef();
  int64_t results =
      op->getNumResults() ? elementsOf(op->getResult(0).getType()) : 0;
  if (name == "kernel.matmul" || name == "graph.matmul" ||
      name == "graph.batch_matmul")
    return 2 * results *
           dimOf(op, 0, op->hasAttr("transpose_lhs") ? -2 : -1);
  if (name == "kernel.conv2d" || name == "graph.conv2d")
    return 2 * results * dimOf(op, 1, 1) * dimOf(op, 1, 2) * dimOf(op, 1, 3);
  if (name == "graph.conv_transpose2d") // each input element, scattered
    return 2 * elementsOf(op->getOperand(0).getType()) * dimOf(op, 1, 1) *
           dimOf(op, 1, 2) * dimOf(op, 1, 3);
  if (name == "graph.conv2d_weight_grad") { // weight x (N * OH * OW)
    bool channelsLast = op->hasAttr("channels_last");
    return 2 * results * dimOf(op, 1, 0) * dimOf(op, 1, channelsLast ? 1 : 2) *
           dimOf(op, 1, channelsLast ? 2 : 3);
  }
  if (name == "graph.attention") // q k^T and the weights times v
    return 2 * dimOf(op, 1, -2) *
           (elementsOf(op->getOperand(0).getType()) + results);
  if (name == "graph.attention_grad") // the scores, g v^T, dS k, dS^T q, P^T g
    return 2 * dimOf(op, 1, -2) *
           (3 * elementsOf(op->getOperand(0).getType()) +
            2 * elementsOf(op->getOperand(3).getType()));
  if (name == "graph.recurrence" || name == "graph.recurrence_grad")
    return 2 * elementsOf(op->getOperand(0).getType()) * dimOf(op, 1, -1);
  return 0;
}

std::optional<graph::Activation> kernel::appliedActivation(Operation *op) {
  if (auto activation = op->getAttrOfType<IntegerAttr>("activation"))
    if (auto known = graph::symbolizeActivation(activation.getInt()))
      if (*known != graph::Activation::none)
        return known;
  return std::nullopt;
}

namespace {

int64_t libraryFlops(Operation *op) {
  if (op->getNumResults() == 0)
    return 0;
  int64_t results = elementsOf(op->getResult(0).getType());
  int64_t flops = contractionFlops(op);
  bool activation = appliedActivation(op).has_value();
  return flops + results * (std::max<int64_t>(op->getNumOperands(), 2) - 2 +
                            activation);
}

int64_t fusedFlops(FusedOp fused) {
  int64_t flops = 0;
  fused.getBody().walk([&](Operation *op) {
    StringRef name = op->getName().getStringRef();
    if (name == "kernel.yield" || name == "graph.reshape" ||
        name == "graph.transpose" || name == "graph.broadcast_to" ||
        name == "graph.constant" || name == "graph.slice")
      return;
    if (int64_t contraction = contractionFlops(op)) {
      flops += contraction;
      return;
    }
    int64_t widest = 0;
    for (Value v : op->getOperands())
      widest = std::max(widest, elementsOf(v.getType()));
    for (Value v : op->getResults())
      widest = std::max(widest, elementsOf(v.getType()));
    flops += widest;
  });
  return flops;
}

} // namespace

kiln::kernel::Cost kiln::kernel::estimateCost(Operation *op) {
  Cost cost;
  if (auto fused = dyn_cast<FusedOp>(op))
    cost.flops = fusedFlops(fused);
  else
    cost.flops = libraryFlops(op);
  for (Value v : op->getOperands())
    cost.bytes += bytesOf(v.getType());
  for (Value v : op->getResults())
    cost.bytes += bytesOf(v.getType());
  return cost;
}

std::string kiln::kernel::describeOrigin(Operation *op) {
  std::string text = op->getName().getStringRef().str();
  if (auto call = dyn_cast<LibraryCallOp>(op)) {
    // "kiln_matmul_f32" -> "matmul (oneDNN)", "kiln_cuda_matmul_f32" ->
    // "matmul (cuBLASLt)", "kiln_cuda_conv2d_f32" -> "conv2d (cuDNN)".
    // "kiln.attention_grad_rows" (a generated loop nest) ->
    // "attention_grad_rows (fused)".
    StringRef callee = call.getCallee();
    if (callee.consume_front("kiln.")) {
      text = callee.str() + " (fused)";
    } else {
      callee.consume_front("kiln_");
      bool cuda = callee.consume_front("cuda_");
      if (!callee.consume_back("_f32"))
        callee.consume_back("_f64");
      const char *library = !cuda                        ? " (oneDNN)"
                            : callee.starts_with("conv") ? " (cuDNN)"
                                                         : " (cuBLASLt)";
      text = callee.str() + library;
    }
  }
  // Fused locations (a gradient's tag, fused ops) wrap the graph op's
  // name("module.path")(file:line:col) location.
  Location loc = op->getLoc();
  while (auto fused = dyn_cast<FusedLoc>(loc)) {
    if (auto tag = dyn_cast_or_null<StringAttr>(fused.getMetadata());
        tag && tag.getValue().starts_with(kGradientOf))
      text += " (" + tag.str() + ")";
    if (fused.getLocations().empty())
      break;
    loc = fused.getLocations().front();
  }
  if (auto name = dyn_cast<NameLoc>(loc)) {
    text += " in " + name.getName().str();
    loc = name.getChildLoc();
  }
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    text += " at " + file.getFilename().str() + ":" +
            std::to_string(file.getLine());
  return text;
}
