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

#include <string>

namespace kiln::kernel {

/// Where `op` comes from, for messages about the code it became: the op's
/// name, the gradient it is part of, the module path and the DSL source
/// line, e.g. "graph.mul (gradient of graph.relu) in fc1 at model.cpp:21".
std::string describeOrigin(mlir::Operation *op);

/// The location autodiff gives the ops of `forward`'s gradient: the forward
/// op's location, tagged "gradient of <op name>".
mlir::Location gradientLocation(mlir::Operation *forward);

} // namespace kiln::kernel

#endif // KILN_DIALECTS_KERNEL_IR_KERNELDIALECT_H
