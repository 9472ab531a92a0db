//===- GraphTypeInference.h - Result-type helpers shared by graph ops -----===//
//
// Declared before the generated op classes because op families defined by a
// TableGen class (binary math, reductions, losses, random numbers) call them
// from their generated `inferReturnTypes`.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_GRAPH_IR_GRAPHTYPEINFERENCE_H
#define KILN_DIALECTS_GRAPH_IR_GRAPHTYPEINFERENCE_H

#include "dialects/Graph/IR/GraphShapes.h"

#include "mlir/IR/Location.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Types.h"
#include "mlir/IR/Value.h"
#include "mlir/IR/ValueRange.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace kiln::graph {

/// Checks an op's attributes (presence and kind) before its result types are
/// inferred: the parser infers types before the op is verified.
template <typename AdaptorT>
llvm::LogicalResult verifyAttributes(AdaptorT &adaptor,
                                     mlir::MLIRContext *context,
                                     std::optional<mlir::Location> loc) {
  return adaptor.verify(loc ? *loc : mlir::UnknownLoc::get(context));
}

enum class LossReduction : uint64_t;

/// The result type of a Graph_ShapeRuleOp: `rule` applied to the shapes of
/// `operands` (each must be a statically shaped tensor), with the first
/// operand's element type; the rule's error becomes the op's.
llvm::LogicalResult inferWithShapeRule(
    std::optional<mlir::Location> loc, llvm::StringRef opName,
    mlir::ValueRange operands, llvm::SmallVectorImpl<mlir::Type> &types,
    llvm::function_ref<shapes::Inferred(llvm::ArrayRef<shapes::Shape>)> rule);

/// Attribute values as shape rules take them. A default-valued attribute
/// the parser has not filled in yet (types are inferred while parsing)
/// reads as `fallback`.
shapes::Shape shapeAttr(llvm::ArrayRef<int64_t> values);
shapes::Shape shapeAttrOr(mlir::DenseI64ArrayAttr attr, shapes::Shape fallback);
int64_t intAttrOr(mlir::IntegerAttr attr, int64_t fallback);

llvm::LogicalResult
inferBroadcastResult(std::optional<mlir::Location> loc, llvm::StringRef opName,
                     mlir::Type lhs, mlir::Type rhs,
                     llvm::SmallVectorImpl<mlir::Type> &types);

llvm::LogicalResult
inferReduceResult(std::optional<mlir::Location> loc, llvm::StringRef opName,
                  mlir::Value input, llvm::ArrayRef<int64_t> dims,
                  bool keepDims, llvm::SmallVectorImpl<mlir::Type> &types);

llvm::LogicalResult inferElementwiseLossResult(
    std::optional<mlir::Location> loc, llvm::StringRef opName,
    LossReduction reduction, mlir::Value input, mlir::Value target,
    llvm::SmallVectorImpl<mlir::Type> &types);

llvm::LogicalResult
inferRandomResult(std::optional<mlir::Location> loc, llvm::StringRef opName,
                  llvm::ArrayRef<int64_t> shape, mlir::Type dtype,
                  llvm::SmallVectorImpl<mlir::Type> &types);

} // namespace kiln::graph

#endif // KILN_DIALECTS_GRAPH_IR_GRAPHTYPEINFERENCE_H
