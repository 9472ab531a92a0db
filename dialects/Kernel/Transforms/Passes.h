//===- Passes.h - Passes on the kernel dialect ----------------------------===//

#ifndef KILN_DIALECTS_KERNEL_TRANSFORMS_PASSES_H
#define KILN_DIALECTS_KERNEL_TRANSFORMS_PASSES_H

#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln::kernel {

#define GEN_PASS_DECL
#include "dialects/Kernel/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dialects/Kernel/Transforms/Passes.h.inc"

} // namespace kiln::kernel

#endif // KILN_DIALECTS_KERNEL_TRANSFORMS_PASSES_H
