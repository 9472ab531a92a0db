//===- CopyReturnedArguments.cpp - Copies for returned arguments ----------===//

#include "compiler/Codegen/Passes.h"

#include "mlir/IR/Builders.h"

namespace kiln {
#define GEN_PASS_DEF_KILNCOPYRETURNEDARGUMENTS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct KilnCopyReturnedArguments
    : kiln::impl::KilnCopyReturnedArgumentsBase<KilnCopyReturnedArguments> {
  void runOnOperation() override {
    getOperation().walk([](func::ReturnOp ret) {
      OpBuilder b(ret);
      for (OpOperand &operand : ret->getOpOperands()) {
        auto arg = llvm::dyn_cast<BlockArgument>(operand.get());
        auto type = arg ? llvm::dyn_cast<RankedTensorType>(arg.getType())
                        : RankedTensorType();
        if (!type)
          continue;
        Value init = b.create<tensor::EmptyOp>(ret.getLoc(), type.getShape(),
                                               type.getElementType());
        operand.set(
            b.create<linalg::CopyOp>(ret.getLoc(), arg, init).getResult(0));
      }
    });
  }
};

} // namespace
