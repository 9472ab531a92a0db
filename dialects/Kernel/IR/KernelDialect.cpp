//===- KernelDialect.cpp - Kernel dialect ops: verifiers, type inference --===//

#include "dialects/Kernel/IR/KernelDialect.h"

#include "dialects/Graph/IR/GraphShapes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::kernel;

#include "dialects/Kernel/IR/KernelEnums.cpp.inc"
#include "dialects/Kernel/IR/KernelOpsDialect.cpp.inc"

void KernelDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Kernel/IR/KernelOps.cpp.inc"
      >();
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
  shapes::Inferred product = shapes::conv2d(
      shapeOf(adaptor.getInput()), shapeOf(adaptor.getWeight()), nullptr,
      attrOr(adaptor.getStridesAttr(), {1, 1}),
      attrOr(adaptor.getPaddingAttr(), {0, 0}),
      attrOr(adaptor.getDilationAttr(), {1, 1}), groups ? groups.getInt() : 1);
  int64_t channels = product.ok() ? product.shape[1] : 0;
  return checkEpilogue(
      loc, getOperationName(), product, channels, adaptor.getBias(),
      adaptor.getResidual(),
      llvm::cast<RankedTensorType>(adaptor.getInput().getType())
          .getElementType(),
      types);
}

#define GET_OP_CLASSES
#include "dialects/Kernel/IR/KernelOps.cpp.inc"
