//===- ConvertLibraryCalls.cpp - kernel.library_call to C calls -----------===//

#include "compiler/Conversion/Passes.h"
#include "dialects/Graph/IR/AttributeNames.h"

#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTLIBRARYCALLS
#include "compiler/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The address (as an index) of the first byte of `memref`'s data. Views
/// into an arena are followed to their byte shift explicitly: the base
/// pointer of a memref.view's result is not its source's.
Value byteAddress(OpBuilder &b, Location loc, Value memref) {
  Operation *def = memref.getDefiningOp();
  if (auto view = dyn_cast_or_null<memref::ViewOp>(def))
    return b.create<arith::AddIOp>(loc, byteAddress(b, loc, view.getSource()),
                                   view.getByteShift());
  if (isa_and_nonnull<memref::CollapseShapeOp, memref::ExpandShapeOp,
                      memref::CastOp>(def))
    return byteAddress(b, loc, def->getOperand(0));
  auto type = llvm::cast<MemRefType>(memref.getType());
  Value base = b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, memref);
  auto metadata = b.create<memref::ExtractStridedMetadataOp>(loc, memref);
  int64_t bytes = type.getElementTypeBitWidth() / 8;
  Value offset = b.create<arith::MulIOp>(
      loc, metadata.getOffset(), b.create<arith::ConstantIndexOp>(loc, bytes));
  return b.create<arith::AddIOp>(loc, base, offset);
}

/// The address of the first element of `memref` as an i64. Strided inputs
/// are first copied into a contiguous buffer, recorded in `copies` so the
/// caller frees it after the call.
Value dataPointer(OpBuilder &b, Location loc, Value memref, bool isInput,
                  SmallVectorImpl<Value> &copies) {
  auto type = llvm::cast<MemRefType>(memref.getType());
  if (!type.getLayout().isIdentity() && isInput) {
    auto contiguous = MemRefType::get(type.getShape(), type.getElementType());
    Value copy = b.create<memref::AllocOp>(loc, contiguous);
    b.create<memref::CopyOp>(loc, memref, copy);
    copies.push_back(copy);
    memref = copy;
  }
  Value address = byteAddress(b, loc, memref);
  return b.create<arith::IndexCastOp>(loc, b.getI64Type(), address);
}

struct ConvertLibraryCalls
    : kiln::impl::ConvertLibraryCallsBase<ConvertLibraryCalls> {
  int64_t bodies = 0;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<kiln::kernel::LibraryCallOp> calls;
    module.walk([&](kiln::kernel::LibraryCallOp op) { calls.push_back(op); });
    for (kiln::kernel::LibraryCallOp call : calls) {
      if (!call.getResults().empty()) {
        call.emitOpError("must be bufferized before it becomes a C call");
        return signalPassFailure();
      }
      OpBuilder b(call);
      Location loc = call.getLoc();
      SmallVector<Value> args, copies;
      // A loop body outlined by kiln-parallelize goes first, as a function
      // pointer. Its type differs from call to call, so each call declares
      // the callee under a name of its own ("kiln_parallel_for.3");
      // kiln-emit-abi merges them into one C symbol.
      std::string callee = call.getCallee().str();
      if (auto body = call->getAttrOfType<FlatSymbolRefAttr>(kiln::attr::kParallelBody)) {
        auto fn = symbols.lookup<func::FuncOp>(body.getValue());
        if (!fn) {
          call.emitOpError("names no loop body '") << body.getValue() << "'";
          return signalPassFailure();
        }
        args.push_back(b.create<func::ConstantOp>(loc, fn.getFunctionType(),
                                                  body));
        callee += "." + std::to_string(bodies++);
      }
      for (int64_t slot : call.getSlots())
        args.push_back(slot < 0 ? b.create<arith::ConstantOp>(
                                       loc, b.getI64IntegerAttr(0))
                                       .getResult()
                                 : dataPointer(b, loc, call.getInputs()[slot],
                                               /*isInput=*/true, copies));
      for (Value out : call.getOutputs()) {
        if (!llvm::cast<MemRefType>(out.getType()).getLayout().isIdentity()) {
          call.emitOpError("writes a strided buffer; the runtime expects a "
                           "contiguous one");
          return signalPassFailure();
        }
        args.push_back(dataPointer(b, loc, out, /*isInput=*/false, copies));
      }
      for (int64_t v : call.getInts())
        args.push_back(b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(v)));
      for (double v : call.getFloats())
        args.push_back(
            b.create<arith::ConstantOp>(loc, b.getF64FloatAttr(v)));

      SmallVector<Type> argTypes;
      for (Value a : args)
        argTypes.push_back(a.getType());
      FunctionType type = b.getFunctionType(argTypes, {});
      auto declared = symbols.lookup<func::FuncOp>(callee);
      if (!declared) {
        OpBuilder top(module.getBodyRegion());
        declared = top.create<func::FuncOp>(loc, callee, type);
        declared.setPrivate();
        symbols.insert(declared);
      } else if (declared.getFunctionType() != type) {
        call.emitOpError("calls '")
            << callee << "' with type " << type
            << ", but it is declared with " << declared.getFunctionType();
        return signalPassFailure();
      }
      b.create<func::CallOp>(loc, declared, args);
      for (Value copy : copies)
        b.create<memref::DeallocOp>(loc, copy);
      call.erase();
    }
  }
};

} // namespace
