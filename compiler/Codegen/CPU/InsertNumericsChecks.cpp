//===- InsertNumericsChecks.cpp - Kernel outputs to the NaN/Inf scan ------===//

#include "compiler/Codegen/Passes.h"

#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_KILNINSERTNUMERICSCHECKS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

class Inserter {
public:
  explicit Inserter(ModuleOp module) : module(module), symbols(module) {}

  /// Reports `buffer` (the output of the op described by `origin`) after
  /// the builder's insertion point; false where it cannot: buffers that are
  /// not float, not statically shaped or not contiguous. `cost`, the
  /// kernel's flops and bytes, goes before the text as "\x01F B\x01" (the
  /// runtime's profiler reads it; messages skip it).
  bool check(OpBuilder &b, Location loc, Value buffer, StringRef origin,
             DenseI64ArrayAttr cost = {}) {
    auto type = llvm::dyn_cast<MemRefType>(buffer.getType());
    if (!type || !type.hasStaticShape() || !type.getLayout().isIdentity())
      return false;
    Type element = type.getElementType();
    if (!element.isF32() && !element.isF64())
      return false;
    std::string text = origin.str();
    if (cost && cost.size() == 2)
      text = "\x01" + std::to_string(cost[0]) + " " + std::to_string(cost[1]) +
             "\x01" + text;
    origin = text;
    // A runtime call in the library-call ABI: convert-library-calls turns
    // the buffers into addresses once the arena's views exist.
    Value global =
        b.create<memref::GetGlobalOp>(loc, originType(origin), originGlobal(origin));
    b.create<kiln::kernel::LibraryCallOp>(
        loc, TypeRange{},
        element.isF32() ? "kiln_check_finite_f32" : "kiln_check_finite_f64",
        ValueRange{buffer, global}, ValueRange{}, b.getDenseI64ArrayAttr({0, 1}),
        b.getDenseI64ArrayAttr({type.getNumElements()}),
        b.getDenseF64ArrayAttr({}));
    return true;
  }

private:
  MemRefType originType(StringRef origin) {
    return MemRefType::get({static_cast<int64_t>(origin.size()) + 1},
                           IntegerType::get(module.getContext(), 8));
  }

  /// A private constant global holding `origin` and a NUL, one per text.
  StringRef originGlobal(StringRef origin) {
    auto found = globals.find(origin);
    if (found != globals.end())
      return found->second;
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    MemRefType type = originType(origin);
    SmallVector<int8_t> bytes(origin.begin(), origin.end());
    bytes.push_back(0);
    auto tensorType = RankedTensorType::get(type.getShape(), type.getElementType());
    auto global = b.create<memref::GlobalOp>(
        module.getLoc(), "kiln_origin", b.getStringAttr("private"), type,
        DenseElementsAttr::get(tensorType, ArrayRef<int8_t>(bytes)),
        /*constant=*/true, /*alignment=*/nullptr);
    StringRef name = symbols.insert(global).getValue();
    globals[origin.str()] = name;
    return name;
  }

  ModuleOp module;
  SymbolTable symbols;
  llvm::StringMap<std::string> globals;
};

struct KilnInsertNumericsChecks
    : kiln::impl::KilnInsertNumericsChecksBase<KilnInsertNumericsChecks> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Inserter inserter(module);
    SmallVector<func::CallOp> kernelCalls;
    module.walk([&](func::CallOp call) {
      if (call->hasAttr("kernel.origins"))
        kernelCalls.push_back(call);
    });
    for (func::CallOp call : kernelCalls) {
      auto origins = call->getAttrOfType<ArrayAttr>("kernel.origins");
      unsigned outputs = origins.size();
      if (outputs > call.getNumOperands()) {
        call.emitError("kernel.origins names ")
            << outputs << " outputs, but the call has "
            << call.getNumOperands() << " operands";
        return signalPassFailure();
      }
      unsigned first = call.getNumOperands() - outputs;
      // Outputs written into an argument in place: [argument, origin].
      auto updated = call->getAttrOfType<ArrayAttr>("kernel.updated_origins");
      OpBuilder b(call);
      b.setInsertionPointAfter(call);
      // The kernel's cost goes with its first report, which closes its
      // interval.
      auto cost = call->getAttrOfType<DenseI64ArrayAttr>(kiln::kernel::kCostAttr);
      for (unsigned k = 0; k < outputs; ++k)
        if (auto origin = llvm::dyn_cast<StringAttr>(origins[k]))
          if (inserter.check(b, call.getLoc(), call.getOperand(first + k),
                             origin.getValue(), cost))
            cost = {};
      for (Attribute entry : updated ? updated.getValue() : ArrayRef<Attribute>()) {
        auto pair = llvm::dyn_cast<ArrayAttr>(entry);
        auto index = pair && pair.size() == 2
                         ? llvm::dyn_cast<IntegerAttr>(pair[0])
                         : IntegerAttr();
        auto origin = index ? llvm::dyn_cast<StringAttr>(pair[1]) : StringAttr();
        if (origin && index.getInt() >= 0 &&
            index.getInt() < static_cast<int64_t>(call.getNumOperands()))
          inserter.check(b, call.getLoc(), call.getOperand(index.getInt()),
                         origin.getValue());
      }
    }
    SmallVector<kiln::kernel::LibraryCallOp> calls;
    module.walk([&](kiln::kernel::LibraryCallOp call) {
      if (call.getNumResults() == 0 && !call.getOutputs().empty())
        calls.push_back(call);
    });
    for (kiln::kernel::LibraryCallOp call : calls) {
      OpBuilder b(call);
      b.setInsertionPointAfter(call);
      std::string origin = kiln::kernel::describeOrigin(call);
      auto cost = call->getAttrOfType<DenseI64ArrayAttr>(kiln::kernel::kCostAttr);
      for (Value out : call.getOutputs())
        if (inserter.check(b, call.getLoc(), out, origin, cost))
          cost = {};
    }
  }
};

} // namespace
