//===- UpdateInPlace.cpp - Updated arguments as kernel destinations -------===//
//
// train_step's results replace its arguments (parameters, optimizer state,
// running statistics). kiln-update-in-place makes the kernel computing such
// a result write into the argument itself, where bufferization finds that
// safe; kiln-alias-updated-results then lets the caller pass the argument's
// buffer as the result's, so nothing is copied.
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/Passes.h"
#include "dialects/Graph/IR/AttributeNames.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"

namespace kiln {
#define GEN_PASS_DEF_KILNUPDATEINPLACE
#define GEN_PASS_DEF_KILNDROPRETURNEDARGUMENTS
#define GEN_PASS_DEF_KILNALIASUPDATEDRESULTS
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kUpdates = kiln::attr::kUpdates;

/// The argument of `entry` whose state_dict or state name is `name`.
int argumentNamed(func::FuncOp entry, StringRef name) {
  for (unsigned i = 0; i < entry.getNumArguments(); ++i)
    for (StringRef kind : {kiln::attr::kParam, kiln::attr::kBuffer})
      if (auto a = entry.getArgAttrOfType<StringAttr>(i, kind);
          a && a.getValue() == name)
        return static_cast<int>(i);
  return -1;
}

/// If `generic` also reads the value of its init `init` as an input, with
/// the same indexing map, the payload reads the init's element instead and
/// the input goes: after tiling, each tile is then read and written through
/// the same slice, which bufferization updates in place (reading the input
/// beside writing the init would look like a conflict and copy).
void readThroughInit(linalg::GenericOp generic, OpOperand &init) {
  // With a reduction loop the init holds partial results, not the input.
  if (generic.getNumReductionLoops() != 0)
    return;
  // Operands shift as inputs go: keep what `init` says about itself.
  AffineMap initMap = generic.getMatchingIndexingMap(&init);
  Value initValue = init.get();
  unsigned initArg = init.getOperandNumber(); // Payload: inputs, then inits.
  Block &payload = generic.getRegion().front();
  for (int i = static_cast<int>(generic.getNumDpsInputs()) - 1; i >= 0; --i) {
    OpOperand *input = generic.getDpsInputOperand(i);
    if (input->get() != initValue ||
        generic.getMatchingIndexingMap(input) != initMap)
      continue;
    payload.getArgument(i).replaceAllUsesWith(payload.getArgument(initArg));
    SmallVector<Attribute> maps(generic.getIndexingMaps().begin(),
                                generic.getIndexingMaps().end());
    maps.erase(maps.begin() + i);
    generic.setIndexingMapsAttr(ArrayAttr::get(generic.getContext(), maps));
    generic.getInputsMutable().erase(i);
    payload.eraseArgument(i);
    --initArg;
  }
}

struct KilnUpdateInPlace
    : kiln::impl::KilnUpdateInPlaceBase<KilnUpdateInPlace> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    // How often each kernel is referenced, counted in one walk (the
    // rewrites below neither add nor remove references).
    if (std::optional<SymbolTable::UseRange> uses =
            SymbolTable::getSymbolUses(&module.getBodyRegion()))
      for (const SymbolTable::SymbolUse &use : *uses)
        ++references[use.getSymbolRef().getRootReference()];
    for (auto entry : module.getOps<func::FuncOp>()) {
      if (entry.isPrivate() || entry.isExternal())
        continue;
      // Which argument each result updates (-1: none).
      SmallVector<int64_t> updates;
      bool any = false;
      for (unsigned r = 0; r < entry.getNumResults(); ++r) {
        auto name = entry.getResultAttrOfType<StringAttr>(r, kiln::attr::kUpdate);
        int a = name ? argumentNamed(entry, name.getValue()) : -1;
        if (name && (a < 0 || entry.getArgument(a).getType() !=
                                  entry.getResultTypes()[r])) {
          entry.emitError("result ")
              << r << " updates '" << name.getValue()
              << "', which is not a parameter or buffer of the same type";
          return signalPassFailure();
        }
        if (a >= 0 && llvm::is_contained(updates, int64_t(a))) {
          entry.emitError("two results update '") << name.getValue() << "'";
          return signalPassFailure();
        }
        updates.push_back(a);
        any |= a >= 0;
      }
      // Only train_step and apply_step donate their arguments (they update
      // them in place);
      // other entries (loss and grad of batch-norm models) leave theirs
      // unchanged, though their updated results may still be given the
      // arguments' buffers.
      bool donates = entry.getSymName() == "train_step" ||
                     entry.getSymName().starts_with("train_step_") ||
                     entry.getSymName().starts_with("apply_step");
      for (unsigned i = 0; i < entry.getNumArguments(); ++i)
        entry.setArgAttr(
            i, bufferization::BufferizationDialect::kWritableAttrName,
            BoolAttr::get(&getContext(),
                          donates && llvm::is_contained(updates, int64_t(i))));
      if (!any)
        continue;
      entry->setAttr(kUpdates, DenseI64ArrayAttr::get(&getContext(), updates));
      if (!donates)
        continue;
      auto ret = cast<func::ReturnOp>(entry.getBody().front().getTerminator());
      for (auto [r, a] : llvm::enumerate(updates))
        if (a >= 0)
          writeInto(symbols, ret.getOperand(r), entry.getArgument(a));
    }
  }

  llvm::DenseMap<StringAttr, int64_t> references;

  /// If `value` is the result of a kernel used once, whose op computing it
  /// writes a fresh tensor (tensor.empty), that op writes into `destination`
  /// instead: the kernel's argument holding it, or a new one.
  void writeInto(SymbolTable &symbols, Value value, Value destination) {
    auto call = value.getDefiningOp<func::CallOp>();
    if (!call)
      return;
    auto kernel = symbols.lookup<func::FuncOp>(call.getCallee());
    if (!kernel || !kernel.isPrivate() || kernel.isExternal())
      return;
    if (references.lookup(kernel.getSymNameAttr()) != 1)
      return;
    unsigned k = cast<OpResult>(value).getResultNumber();
    auto ret = cast<func::ReturnOp>(kernel.getBody().front().getTerminator());
    auto producer = dyn_cast_or_null<DestinationStyleOpInterface>(
        ret.getOperand(k).getDefiningOp());
    if (!producer)
      return;
    OpOperand *init =
        producer.getTiedOpOperand(cast<OpResult>(ret.getOperand(k)));
    // A fresh tensor (CSE may have merged it with other kernels' inits).
    auto empty = init ? init->get().getDefiningOp<tensor::EmptyOp>() : nullptr;
    if (!empty)
      return;
    // The kernel's own argument for the updated value when it reads it (an
    // optimizer update reads the parameter it replaces): two arguments of
    // one call aliasing, one read and one written, would make bufferization
    // copy. Otherwise a new destination argument.
    auto passed = llvm::find(call.getOperands(), destination);
    if (passed != call.getOperands().end()) {
      init->set(kernel.getArgument(passed - call.getOperands().begin()));
      if (auto generic = dyn_cast<linalg::GenericOp>(producer.getOperation()))
        readThroughInit(generic, *init);
    } else {
      unsigned index = kernel.getNumArguments();
      kernel.insertArgument(index, destination.getType(), {},
                            destination.getLoc());
      init->set(kernel.getArgument(index));
      call->insertOperands(call->getNumOperands(), destination);
    }
    if (empty->use_empty())
      empty.erase();
  }
};

/// Numerics checks find a kernel's outputs as the call's last operands, one
/// per kernel.origins entry: a result now written into argument `a` moves
/// to kernel.updated_origins as [a, origin].
void moveDroppedOrigins(Operation *call, const llvm::BitVector &erase,
                        ArrayRef<int> argumentOf) {
  auto origins = call->getAttrOfType<ArrayAttr>("kernel.origins");
  if (!origins || origins.size() != erase.size())
    return;
  Builder b(call->getContext());
  SmallVector<Attribute> kept, updated;
  if (auto previous = call->getAttrOfType<ArrayAttr>("kernel.updated_origins"))
    updated.assign(previous.begin(), previous.end());
  for (auto [r, origin] : llvm::enumerate(origins)) {
    if (!erase.test(r)) {
      kept.push_back(origin);
      continue;
    }
    updated.push_back(
        b.getArrayAttr({b.getI64IntegerAttr(argumentOf[r]), origin}));
  }
  call->setAttr("kernel.origins", b.getArrayAttr(kept));
  call->setAttr("kernel.updated_origins", b.getArrayAttr(updated));
}

struct KilnDropReturnedArguments
    : kiln::impl::KilnDropReturnedArgumentsBase<KilnDropReturnedArguments> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTableCollection tables;
    SymbolUserMap users(tables, module);
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (!fn.isPrivate() || fn.isExternal() || !fn.getBody().hasOneBlock())
        continue;
      auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
      // The argument each result returns (-1: none); those results go.
      SmallVector<int> argumentOf(fn.getNumResults(), -1);
      llvm::BitVector erase(fn.getNumResults());
      for (auto [r, v] : llvm::enumerate(ret.getOperands()))
        if (auto arg = dyn_cast<BlockArgument>(v);
            arg && isa<MemRefType>(v.getType()) &&
            arg.getOwner() == &fn.getBody().front()) {
          argumentOf[r] = arg.getArgNumber();
          erase.set(r);
        }
      ArrayRef<Operation *> calls = users.getUsers(fn);
      if (erase.none() || llvm::any_of(calls, [](Operation *op) {
            return !isa<func::CallOp>(op);
          }))
        continue;
      for (Operation *op : calls) {
        auto call = cast<func::CallOp>(op);
        OpBuilder b(call);
        SmallVector<Type> types;
        for (unsigned r = 0; r < call.getNumResults(); ++r)
          if (!erase.test(r))
            types.push_back(call.getResult(r).getType());
        auto replacement =
            b.create<func::CallOp>(call.getLoc(), fn.getSymName(), types,
                                   call.getOperands());
        replacement->setAttrs(call->getAttrs());
        moveDroppedOrigins(replacement, erase, argumentOf);
        unsigned next = 0;
        for (unsigned r = 0; r < call.getNumResults(); ++r) {
          if (!erase.test(r)) {
            call.getResult(r).replaceAllUsesWith(replacement.getResult(next++));
            continue;
          }
          Value operand = call.getOperand(argumentOf[r]);
          if (operand.getType() != call.getResult(r).getType())
            operand = b.create<memref::CastOp>(call.getLoc(),
                                               call.getResult(r).getType(),
                                               operand);
          call.getResult(r).replaceAllUsesWith(operand);
        }
        call.erase();
      }
      SmallVector<Value> operands;
      for (auto [r, v] : llvm::enumerate(ret.getOperands()))
        if (!erase.test(r))
          operands.push_back(v);
      OpBuilder(ret).create<func::ReturnOp>(ret.getLoc(), operands);
      ret.erase();
      fn.eraseResults(erase);
    }
    // Entry points keep their results. A returned argument (updated in
    // place) goes through a cast: buffer-results-to-out-params with
    // hoist-static-allocs cannot take a bare block argument.
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (fn.isPrivate() || fn.isExternal())
        continue;
      fn.walk([](func::ReturnOp ret) {
        OpBuilder b(ret);
        for (OpOperand &operand : ret->getOpOperands())
          if (isa<BlockArgument>(operand.get()) &&
              isa<MemRefType>(operand.get().getType()))
            operand.set(b.create<memref::CastOp>(
                ret.getLoc(), operand.get().getType(), operand.get()));
      });
    }
  }
};

/// `value` without the memref.casts around it.
Value stripCasts(Value value) {
  while (auto cast = value.getDefiningOp<memref::CastOp>())
    value = cast.getSource();
  return value;
}

/// The aligned pointers of two memrefs differ.
Value pointersDiffer(OpBuilder &b, Location loc, Value x, Value y) {
  Value px = b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, x);
  Value py = b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, y);
  return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, px, py);
}

struct KilnAliasUpdatedResults
    : kiln::impl::KilnAliasUpdatedResultsBase<KilnAliasUpdatedResults> {
  void runOnOperation() override {
    for (auto entry : getOperation().getOps<func::FuncOp>()) {
      auto updates = entry->getAttrOfType<DenseI64ArrayAttr>(kUpdates);
      if (!updates)
        continue;
      entry->removeAttr(kUpdates);
      if (entry.getNumResults() != 0 ||
          entry.getNumArguments() < updates.size()) {
        entry.emitError("kiln-alias-updated-results runs after "
                        "buffer-results-to-out-params");
        return signalPassFailure();
      }
      unsigned firstOut = entry.getNumArguments() - updates.size();
      Block &body = entry.getBody().front();
      auto ret = cast<func::ReturnOp>(body.getTerminator());
      for (auto [r, a] : llvm::enumerate(updates.asArrayRef())) {
        if (a < 0)
          continue;
        Value argument = entry.getArgument(a);
        BlockArgument out = entry.getArgument(firstOut + r);
        alias(ret, argument, out);
      }
    }
  }

  /// Makes the out-parameter `out` correct when the caller passes
  /// `argument`'s buffer for it: the result is then written last, after
  /// every read of the argument; an in-place update needs no copy at all.
  void alias(func::ReturnOp ret, Value argument, BlockArgument out) {
    Location loc = ret.getLoc();
    OpBuilder b(ret);
    auto finalCopy = [&]() -> memref::CopyOp {
      memref::CopyOp copy = kiln::soleCopyInto(out);
      if (!copy)
        return nullptr;
      // Nothing but other copies between it and the return.
      for (Operation *op = copy->getNextNode(); op != ret; op = op->getNextNode())
        if (!isa<memref::CopyOp>(op))
          return nullptr;
      return copy;
    }();
    if (finalCopy && stripCasts(finalCopy.getSource()) == argument) {
      // Updated in place: copy only into a buffer of the caller's own.
      b.setInsertionPoint(finalCopy);
      auto differ = b.create<scf::IfOp>(
          loc, pointersDiffer(b, loc, argument, out), /*withElse=*/false);
      finalCopy->moveBefore(differ.thenBlock()->getTerminator());
      return;
    }
    if (finalCopy) {
      // Computed elsewhere and copied in last. A later final copy that still
      // reads the argument must run first: this copy moves to the end.
      bool readLater = false;
      for (Operation *op = finalCopy->getNextNode(); op != ret;
           op = op->getNextNode())
        readLater |= stripCasts(cast<memref::CopyOp>(op).getSource()) ==
                     argument;
      if (readLater)
        finalCopy->moveBefore(ret);
      return;
    }
    // The result's buffer is written during the computation (its allocation
    // was hoisted into the out-parameter). Compute into a temporary and
    // copy it in last instead.
    auto type = cast<MemRefType>(out.getType());
    b.setInsertionPointToStart(ret->getBlock());
    Value temporary = b.create<memref::AllocOp>(loc, type);
    out.replaceAllUsesWith(temporary);
    b.setInsertionPoint(ret);
    b.create<memref::CopyOp>(loc, temporary, out);
  }
};

} // namespace
