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

#include "dialects/Kernel/IR/KernelEnums.h.inc"
#include "dialects/Kernel/IR/KernelOpsDialect.h.inc"

#define GET_OP_CLASSES
#include "dialects/Kernel/IR/KernelOps.h.inc"

#endif // KILN_DIALECTS_KERNEL_IR_KERNELDIALECT_H
