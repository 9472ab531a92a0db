//===- KernelDialect.h - The kernel dialect: fused kernels, library calls -===//

#ifndef KILN_DIALECTS_KERNEL_IR_KERNELDIALECT_H
#define KILN_DIALECTS_KERNEL_IR_KERNELDIALECT_H

#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/Kernel/IR/KernelOpsDialect.h.inc"

#define GET_OP_CLASSES
#include "dialects/Kernel/IR/KernelOps.h.inc"

#include <optional>
#include <string>

namespace kiln::kernel {

/// Where `op` comes from, for messages about the code it became: the op's
/// name, the gradient it is part of, the module path and the DSL source
/// line, e.g. "graph.mul (gradient of graph.relu) in fc1 at model.cpp:21".
std::string describeOrigin(mlir::Operation *op);

/// The work of a kernel (a kernel.fused op) or a library call (kernel.matmul,
/// kernel.conv2d, ...) at the kernel stage: floating-point operations (a
/// matmul's 2·M·N·K, a convolution's 2·N·O·OH·OW·(C/groups)·KH·KW plus one
/// per result element for each fused bias, residual and activation; in a
/// fused kernel one per element of each arithmetic op's widest operand or
/// result) and the bytes of its operands and results. The kernel report
/// prints it; the profiler divides it by the measured time.
struct Cost {
  int64_t flops = 0, bytes = 0;
};
Cost estimateCost(mlir::Operation *op);
/// The floating-point operations of a contraction (matmul, convolution and
/// their gradients), attention or recurrence; 0 for any other op.
int64_t contractionFlops(mlir::Operation *op);

/// The activation a library call (a kernel op, or the call it is lowered
/// to) applies to its result, from its `activation` attribute; none when it
/// applies none.
std::optional<graph::Activation> appliedActivation(mlir::Operation *op);

/// The attribute carrying a kernel's Cost (array<i64: flops, bytes>) from
/// the kernel stage to the calls that kiln-insert-numerics-checks reports.
constexpr const char *kCostAttr = "kernel.cost";

/// The location autodiff gives the ops of `forward`'s gradient: the forward
/// op's location, tagged "gradient of <op name>".
mlir::Location gradientLocation(mlir::Operation *forward);

} // namespace kiln::kernel

#endif // KILN_DIALECTS_KERNEL_IR_KERNELDIALECT_H
