//===- GraphDialect.h - The graph dialect: ops, enums, dialect ------------===//

#ifndef KILN_DIALECTS_GRAPH_IR_GRAPHDIALECT_H
#define KILN_DIALECTS_GRAPH_IR_GRAPHDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/Graph/IR/GraphEnums.h.inc"
#include "dialects/Graph/IR/GraphOpsDialect.h.inc"

#include "dialects/Graph/IR/GraphTypeInference.h"

#include "dialects/Graph/IR/GraphInterfaces.h.inc"

namespace kiln::graph::OpTrait {
/// Differentiable except where an operand crosses a branch point (ReLU's 0,
/// a tie of a maximum): see Graph_Piecewise in GraphDialect.td.
template <typename ConcreteType>
class Piecewise : public mlir::OpTrait::TraitBase<ConcreteType, Piecewise> {};
} // namespace kiln::graph::OpTrait

#define GET_OP_CLASSES
#include "dialects/Graph/IR/GraphOps.h.inc"

#endif // KILN_DIALECTS_GRAPH_IR_GRAPHDIALECT_H
