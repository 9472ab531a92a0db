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

#include <optional>
#include <utility>

#include "dialects/Graph/IR/GraphEnums.h.inc"
#include "dialects/Graph/IR/GraphOpsDialect.h.inc"

#include "dialects/Graph/IR/GraphTypeInference.h"

#include "dialects/Graph/IR/GraphInterfaces.h.inc"

namespace kiln::graph {

/// What graph-fuse makes of an op (Graph_KernelKind in GraphDialect.td).
enum class KernelKind {
  Elementwise, // fuses with its elementwise neighbours
  Library,     // kernel.matmul / kernel.conv2d, epilogue included
  Reduction,   // norms, softmax, losses: one kernel each
  Window,      // pooling
  Data,        // transpose, slice, concat, gather
  Attention,
  Random,
  Contraction, // batched matmul, transposed convolution: own kernel
  None,        // constants and reshapes: no kernel
};

/// The name kernel.fused carries for a kind ("elementwise", ...).
const char *kernelKindName(KernelKind kind);

namespace OpTrait {
/// Differentiable except where an operand crosses a branch point (ReLU's 0,
/// a tie of a maximum): see Graph_Piecewise in GraphDialect.td.
template <typename ConcreteType>
class Piecewise : public mlir::OpTrait::TraitBase<ConcreteType, Piecewise> {};

/// The op's kernel kind (Graph_KernelKind).
template <KernelKind Kind> struct KernelKindIs {
  template <typename ConcreteType>
  class Impl : public mlir::OpTrait::TraitBase<ConcreteType, Impl> {
  public:
    static constexpr KernelKind kernelKind() { return Kind; }
  };
};

/// The library-call epilogue activation the op becomes
/// (Graph_LibraryActivation).
template <Activation Act> struct LibraryActivationIs {
  template <typename ConcreteType>
  class Impl : public mlir::OpTrait::TraitBase<ConcreteType, Impl> {
  public:
    static constexpr Activation libraryActivation() { return Act; }
  };
};
} // namespace OpTrait

/// The kernel kind of a graph op; none for ops of other dialects or graph
/// ops without a Graph_KernelKind trait.
std::optional<KernelKind> kernelKindOf(mlir::Operation *op);
std::optional<KernelKind> kernelKindOf(mlir::OperationName name);

/// The dimensions 0..rank-1 but `keep`, in order: what a per-channel
/// statistic sums over.
llvm::SmallVector<int64_t> allDimsBut(int64_t rank, int64_t keep);

/// The epilogue activation `op` becomes, with its alpha (leaky ReLU's
/// slope); none if it is not an activation.
std::optional<std::pair<Activation, double>>
libraryActivationOf(mlir::Operation *op);
std::optional<Activation> libraryActivationOf(mlir::OperationName name);

} // namespace kiln::graph

#define GET_OP_CLASSES
#include "dialects/Graph/IR/GraphOps.h.inc"

#endif // KILN_DIALECTS_GRAPH_IR_GRAPHDIALECT_H
