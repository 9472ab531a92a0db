//===- GraphOps.cpp - Type inference and verifiers of graph ops -----------===//
//
// Every result shape comes from the MLIR-free rules in GraphShapes.h, which
// the C++ DSL shares, so both report the same message for the same mistake.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/IR/GraphDialect.h"
#include "dialects/Graph/IR/GraphShapes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace kiln;
using namespace kiln::graph;

namespace {

using shapes::Inferred;
using shapes::Shape;

/// The shape of a ranked tensor type; nullopt for anything else.
std::optional<Shape> shapeOf(Type type) {
  auto tensor = llvm::dyn_cast_if_present<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return std::nullopt;
  return Shape(tensor.getShape().begin(), tensor.getShape().end());
}

Type elementTypeOf(Type type) {
  auto tensor = llvm::dyn_cast_if_present<ShapedType>(type);
  return tensor ? tensor.getElementType() : Type();
}

/// Collects the shapes of `values`, or reports the first one that is not a
/// statically shaped tensor.
LogicalResult collectShapes(std::optional<Location> loc, StringRef opName,
                            ValueRange values, SmallVectorImpl<Shape> &out) {
  for (auto [i, value] : llvm::enumerate(values)) {
    std::optional<Shape> shape = shapeOf(value.getType());
    if (!shape)
      return emitOptionalError(loc, "'", opName, "' op operand #", i,
                               " must be a statically shaped tensor, got ",
                               value.getType());
    out.push_back(std::move(*shape));
  }
  return success();
}

/// Turns a shape rule's answer into a result type or a located error.
LogicalResult finish(std::optional<Location> loc, StringRef opName,
                     const Inferred &inferred, Type elementType,
                     SmallVectorImpl<Type> &types) {
  if (!inferred.ok())
    return emitOptionalError(loc, "'", opName, "' op ", inferred.error);
  if (llvm::is_contained(inferred.shape, 0))
    return emitOptionalError(loc, "'", opName, "' op result ",
                             shapes::str(inferred.shape),
                             " has no elements: Kiln compiles tensors with at "
                             "least one element");
  types.push_back(RankedTensorType::get(inferred.shape, elementType));
  return success();
}

Type withElementType(Type tensor, Type elementType) {
  return RankedTensorType::get(llvm::cast<RankedTensorType>(tensor).getShape(),
                               elementType);
}

Shape toShape(ArrayRef<int64_t> values) {
  return Shape(values.begin(), values.end());
}

/// A default-valued array attribute, which the parser has not yet filled in
/// when it infers result types.
Shape attrOr(DenseI64ArrayAttr attr, Shape fallback) {
  return attr ? toShape(attr.asArrayRef()) : fallback;
}

int64_t attrOr(IntegerAttr attr, int64_t fallback) {
  return attr ? attr.getInt() : fallback;
}

/// Infers a same-element-type result from the shapes of `operands`.
template <typename Rule>
LogicalResult inferFrom(std::optional<Location> loc, StringRef opName,
                        ValueRange operands, SmallVectorImpl<Type> &types,
                        Rule rule) {
  SmallVector<Shape> s;
  if (failed(collectShapes(loc, opName, operands, s)))
    return failure();
  return finish(loc, opName, rule(s), elementTypeOf(operands[0].getType()),
                types);
}

} // namespace

//===----------------------------------------------------------------------===//
// Helpers called by op families declared through TableGen classes.
//===----------------------------------------------------------------------===//

LogicalResult kiln::graph::inferBroadcastResult(std::optional<Location> loc,
                                                StringRef opName, Type lhs,
                                                Type rhs,
                                                SmallVectorImpl<Type> &types) {
  std::optional<Shape> l = shapeOf(lhs), r = shapeOf(rhs);
  if (!l || !r)
    return emitOptionalError(loc, "'", opName,
                             "' op operands must be statically shaped tensors");
  if (elementTypeOf(lhs) != elementTypeOf(rhs))
    return emitOptionalError(loc, "'", opName, "' op element types differ: ",
                             elementTypeOf(lhs), " vs ", elementTypeOf(rhs));
  return finish(loc, opName, shapes::broadcast(*l, *r), elementTypeOf(lhs),
                types);
}

LogicalResult kiln::graph::inferReduceResult(std::optional<Location> loc,
                                             StringRef opName, Value input,
                                             ArrayRef<int64_t> dims,
                                             bool keepDims,
                                             SmallVectorImpl<Type> &types) {
  return inferFrom(loc, opName, input, types, [&](auto &s) {
    return shapes::reduce(s[0], toShape(dims), keepDims);
  });
}

LogicalResult kiln::graph::inferElementwiseLossResult(
    std::optional<Location> loc, StringRef opName, LossReduction reduction,
    Value input, Value target, SmallVectorImpl<Type> &types) {
  return inferFrom(loc, opName, {input, target}, types, [&](auto &s) {
    return shapes::elementwiseLoss(s[0], s[1],
                                   static_cast<shapes::Reduction>(reduction));
  });
}

LogicalResult kiln::graph::inferWithShapeRule(
    std::optional<Location> loc, StringRef opName, ValueRange operands,
    SmallVectorImpl<Type> &types,
    llvm::function_ref<Inferred(ArrayRef<Shape>)> rule) {
  return inferFrom(loc, opName, operands, types,
                   [&](auto &s) { return rule(s); });
}

Shape kiln::graph::shapeAttr(ArrayRef<int64_t> values) {
  return toShape(values);
}

Shape kiln::graph::shapeAttrOr(DenseI64ArrayAttr attr, Shape fallback) {
  return attrOr(attr, std::move(fallback));
}

int64_t kiln::graph::intAttrOr(IntegerAttr attr, int64_t fallback) {
  return attrOr(attr, fallback);
}

LogicalResult kiln::graph::inferRandomResult(std::optional<Location> loc,
                                             StringRef opName,
                                             ArrayRef<int64_t> shape,
                                             Type dtype,
                                             SmallVectorImpl<Type> &types) {
  return finish(loc, opName, shapes::fromAttribute(toShape(shape)), dtype,
                types);
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

LogicalResult CastOp::inferReturnTypes(MLIRContext *context, std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  if (failed(verifyAttributes(adaptor, context, loc)))
    return failure();
  if (failed(inferFrom(loc, getOperationName(), adaptor.getInput(), types,
                       [](auto &s) { return Inferred{s[0], {}}; })))
    return failure();
  types.back() = withElementType(types.back(), adaptor.getDtype());
  return success();
}

LogicalResult ClampOp::verify() {
  std::string error = shapes::checkClampBounds(getMin().convertToDouble(),
                                               getMax().convertToDouble());
  return error.empty() ? success() : emitOpError(error);
}

LogicalResult CompareOp::inferReturnTypes(MLIRContext *context,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  if (failed(verifyAttributes(adaptor, context, loc)))
    return failure();
  if (failed(inferBroadcastResult(loc, getOperationName(),
                                  adaptor.getLhs().getType(),
                                  adaptor.getRhs().getType(), types)))
    return failure();
  types.back() = withElementType(types.back(), IntegerType::get(context, 1));
  return success();
}

LogicalResult SelectOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  if (failed(verifyAttributes(adaptor, context, loc)))
    return failure();
  Type lhs = adaptor.getLhs().getType(), rhs = adaptor.getRhs().getType();
  if (elementTypeOf(lhs) != elementTypeOf(rhs))
    return emitOptionalError(loc, "'", getOperationName(),
                             "' op element types differ: ", elementTypeOf(lhs),
                             " vs ", elementTypeOf(rhs));
  if (failed(inferFrom(loc, getOperationName(), adaptor.getOperands(), types,
                       [](auto &s) {
                         return shapes::broadcast3(s[0], s[1], s[2]);
                       })))
    return failure();
  types.back() = withElementType(types.back(), elementTypeOf(lhs));
  return success();
}

//===----------------------------------------------------------------------===//
// Contractions, convolution, pooling
//===----------------------------------------------------------------------===//

//===----------------------------------------------------------------------===//
// Reductions and normalization
//===----------------------------------------------------------------------===//

LogicalResult ArgmaxOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  if (failed(verifyAttributes(adaptor, context, loc)))
    return failure();
  SmallVector<Shape> s;
  if (failed(collectShapes(loc, getOperationName(), adaptor.getOperands(), s)))
    return failure();
  Shape dims{static_cast<int64_t>(adaptor.getDim())};
  return finish(loc, getOperationName(),
                shapes::reduce(s[0], dims, adaptor.getKeepDims()),
                IntegerType::get(context, 64), types);
}

template <typename Op> static LogicalResult verifyAxis(Op op) {
  std::optional<Shape> shape = shapeOf(op.getInput().getType());
  Inferred r = shapes::alongAxis(*shape, static_cast<int64_t>(op.getAxis()));
  if (!r.ok())
    return op.emitOpError(r.error);
  return success();
}

LogicalResult SoftmaxOp::verify() { return verifyAxis(*this); }
LogicalResult LogSoftmaxOp::verify() { return verifyAxis(*this); }

LogicalResult BatchNormTrainingOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  if (failed(verifyAttributes(adaptor, context, loc)))
    return failure();
  if (failed(inferFrom(loc, getOperationName(), adaptor.getOperands(), types,
                       [&](auto &s) {
                         return shapes::batchNorm(
                             s[0], {s[1], s[2], s[3], s[4]},
                             static_cast<bool>(adaptor.getChannelsLastAttr()));
                       })))
    return failure();
  // The running statistics keep their types.
  types.push_back(adaptor.getRunningMean().getType());
  types.push_back(adaptor.getRunningVar().getType());
  return success();
}

namespace {
/// The results of a norm's gradient op (input, gradient, weight): the
/// input's type, then the weight's twice. The gradient must have the
/// input's shape; `weightRule(input, weight)` checks the weight against the
/// input.
template <typename WeightRule>
LogicalResult inferNormGradTypes(std::optional<Location> loc, StringRef opName,
                                 ValueRange operands,
                                 SmallVectorImpl<Type> &types,
                                 WeightRule weightRule) {
  if (failed(inferFrom(loc, opName, operands, types, [&](auto &s) {
        if (s[1] != s[0])
          return shapes::Inferred::fail("gradient " + shapes::str(s[1]) +
                                        " must have the input's shape " +
                                        shapes::str(s[0]));
        return weightRule(s[0], s[2]);
      })))
    return failure();
  types.push_back(operands[2].getType());
  types.push_back(operands[2].getType());
  return success();
}
} // namespace

LogicalResult BatchNormGradOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  if (failed(verifyAttributes(adaptor, context, loc)))
    return failure();
  return inferNormGradTypes(
      loc, getOperationName(), adaptor.getOperands(), types,
      [&](const Shape &input, const Shape &weight) {
        return shapes::batchNorm(
            input, {weight}, static_cast<bool>(adaptor.getChannelsLastAttr()));
      });
}

LogicalResult GroupNormGradOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  if (failed(verifyAttributes(adaptor, context, loc)))
    return failure();
  int64_t groups = static_cast<int64_t>(adaptor.getNumGroups());
  return inferNormGradTypes(
      loc, getOperationName(), adaptor.getOperands(), types,
      [&](const Shape &input, const Shape &weight) {
        return shapes::groupNorm(
            input, weight, weight, groups,
            static_cast<bool>(adaptor.getChannelsLastAttr()));
      });
}

//===----------------------------------------------------------------------===//
// Shape manipulation and gathers
//===----------------------------------------------------------------------===//

LogicalResult OneHotOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  if (failed(verifyAttributes(adaptor, context, loc)))
    return failure();
  SmallVector<Shape> s;
  if (failed(collectShapes(loc, getOperationName(), adaptor.getOperands(), s)))
    return failure();
  return finish(loc, getOperationName(),
                shapes::oneHot(s[0], static_cast<int64_t>(adaptor.getNumClasses())),
                adaptor.getDtype(), types);
}

//===----------------------------------------------------------------------===//
// Attention, losses, random numbers
//===----------------------------------------------------------------------===//

/// What both attention ops check of their operands: every float operand
/// has the query's element type, and the scale is positive; then the
/// forward's result type from `forward` (query, key, value, mask).
static LogicalResult inferAttention(std::optional<Location> loc,
                                    StringRef opName, ValueRange floats,
                                    std::optional<APFloat> scale,
                                    ValueRange forward,
                                    SmallVectorImpl<Type> &types) {
  Type q = elementTypeOf(forward.front().getType());
  for (Value v : floats)
    if (elementTypeOf(v.getType()) != q)
      return emitOptionalError(loc, "'", opName,
                               "' op element types differ: ", q, " vs ",
                               elementTypeOf(v.getType()));
  if (scale) {
    std::string error = shapes::checkAttentionScale(scale->convertToDouble());
    if (!error.empty())
      return emitOptionalError(loc, "'", opName, "' op ", error);
  }
  return inferFrom(loc, opName, forward, types, [](auto &s) {
    return shapes::attention(s[0], s[1], s[2], s.size() > 3 ? &s[3] : nullptr);
  });
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *context,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  if (failed(verifyAttributes(adaptor, context, loc)))
    return failure();
  return inferAttention(loc, getOperationName(),
                        {adaptor.getKey(), adaptor.getValue()},
                        adaptor.getScale(), adaptor.getOperands(), types);
}

LogicalResult AttentionGradOp::inferReturnTypes(MLIRContext *context,
                                                std::optional<Location> loc,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &types) {
  if (failed(verifyAttributes(adaptor, context, loc)))
    return failure();
  // The forward's result, which the result and its gradient must be.
  SmallVector<Value> forward{adaptor.getQuery(), adaptor.getKey(),
                             adaptor.getValue()};
  if (adaptor.getMask())
    forward.push_back(adaptor.getMask());
  SmallVector<Type> result;
  if (failed(inferAttention(loc, getOperationName(),
                            {adaptor.getKey(), adaptor.getValue(),
                             adaptor.getResult(), adaptor.getResultGrad()},
                            adaptor.getScale(), forward, result)))
    return failure();
  for (Value v : {adaptor.getResult(), adaptor.getResultGrad()})
    if (v.getType() != result.front())
      return emitOptionalError(loc, "'", getOperationName(),
                               "' op the result and its gradient must be ",
                               result.front(), ", got ", v.getType());
  types.append({adaptor.getQuery().getType(), adaptor.getKey().getType(),
                adaptor.getValue().getType()});
  return success();
}

/// `scale`, or 1/sqrt(D) for a query [..., D].
static double attentionScale(std::optional<APFloat> scale, Value query) {
  if (scale)
    return scale->convertToDouble();
  return 1.0 /
         std::sqrt(static_cast<double>(
             llvm::cast<RankedTensorType>(query.getType()).getShape().back()));
}

double AttentionOp::scaleOrDefault() {
  return attentionScale(getScale(), getQuery());
}

double AttentionGradOp::scaleOrDefault() {
  return attentionScale(getScale(), getQuery());
}

//===----------------------------------------------------------------------===//
// Recurrences
//===----------------------------------------------------------------------===//

LogicalResult RecurrenceOp::inferReturnTypes(MLIRContext *context,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &types) {
  if (failed(verifyAttributes(adaptor, context, loc)))
    return failure();
  auto cell = static_cast<shapes::Cell>(adaptor.getCell());
  if (failed(inferFrom(loc, getOperationName(), adaptor.getOperands(), types,
                       [&](auto &s) {
                         return shapes::recurrence(
                             s[0], s[1], s[2], s.size() > 3 ? &s[3] : nullptr,
                             cell);
                       })))
    return failure();
  auto hidden = llvm::cast<RankedTensorType>(types.front());
  ArrayRef<int64_t> h = hidden.getShape();
  types.push_back(RankedTensorType::get(
      {h[0], h[1], shapes::cellSavedWidth(cell) * h[2]},
      hidden.getElementType()));
  return success();
}

LogicalResult RecurrenceGradOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  if (failed(verifyAttributes(adaptor, context, loc)))
    return failure();
  auto cell = static_cast<shapes::Cell>(adaptor.getCell());
  if (failed(inferFrom(loc, getOperationName(), adaptor.getOperands(), types,
                       [&](auto &s) {
                         return shapes::recurrenceGrad(s[0], s[1], s[2], s[3],
                                                       s[4], s[5], cell);
                       })))
    return failure();
  // The weight's, bias's and state's gradients have their shapes.
  auto weight = llvm::cast<RankedTensorType>(adaptor.getWeight().getType());
  types.push_back(weight);
  types.push_back(RankedTensorType::get({weight.getDimSize(0)},
                                        weight.getElementType()));
  types.push_back(adaptor.getState().getType());
  return success();
}

/// Success, or the op's error with `message` (a shared attribute check's).
static LogicalResult verified(Operation *op, const std::string &message) {
  return message.empty() ? success() : op->emitOpError(message);
}

LogicalResult RandomUniformOp::verify() {
  return verified(*this, shapes::checkUniformRange(getLow().convertToDouble(),
                                                   getHigh().convertToDouble()));
}

LogicalResult RandomNormalOp::verify() {
  return verified(*this,
                  shapes::checkNormalStddev(getStddev().convertToDouble()));
}

LogicalResult RandomIntegersOp::verify() {
  return verified(*this,
                  shapes::checkIntegerRange(static_cast<int64_t>(getLow()),
                                            static_cast<int64_t>(getHigh())));
}

#define GET_OP_CLASSES
#include "dialects/Graph/IR/GraphOps.cpp.inc"
