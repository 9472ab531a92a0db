//===- Parallelize.cpp - Parallel kernel loops on the runtime's threads ---===//

#include "compiler/Codegen/Passes.h"
#include "dialects/Graph/IR/AttributeNames.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_KILNPARALLELIZE
#include "compiler/Codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::kParallelAttr;

namespace {

constexpr int64_t kMaxBuffers = 16;

struct KilnParallelize : kiln::impl::KilnParallelizeBase<KilnParallelize> {
  using KilnParallelizeBase::KilnParallelizeBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> kernels;
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn.isPrivate() && !fn.isExternal() && fn->hasAttr("kernel.kind"))
        kernels.push_back(fn);
    for (func::FuncOp fn : kernels) {
      hoistLoopScratch(fn);
      SmallVector<scf::ForOp> loops;
      for (Operation &op : fn.getBody().front())
        if (auto loop = dyn_cast<scf::ForOp>(op);
            loop && loop->hasAttr(kParallelAttr) && loop.getNumResults() == 0)
          loops.push_back(loop);
      for (auto [i, loop] : llvm::enumerate(loops))
        outline(symbols, fn, loop, i);
    }
  }

  /// A scratch buffer that a loop's body allocates and frees in each
  /// iteration (a row block's statistics) is allocated once around the
  /// outermost such loop instead, off the hot path; outlining then gives
  /// each thread its own. Its contents never outlive an iteration: every
  /// use is in the body, and none hands it on.
  static void hoistLoopScratch(func::FuncOp fn) {
    SmallVector<memref::AllocOp> allocs;
    fn.walk([&](memref::AllocOp alloc) {
      if (alloc->getNumOperands() == 0)
        allocs.push_back(alloc);
    });
    for (memref::AllocOp alloc : allocs) {
      memref::DeallocOp dealloc;
      for (Operation *user : alloc->getUsers())
        if (auto d = dyn_cast<memref::DeallocOp>(user))
          dealloc = dealloc ? memref::DeallocOp() : d;
      if (!dealloc || dealloc->getBlock() != alloc->getBlock() ||
          handsOn(alloc.getResult()))
        continue;
      while (auto loop = dyn_cast<scf::ForOp>(alloc->getParentOp())) {
        alloc->moveBefore(loop);
        dealloc->moveAfter(loop);
      }
    }
  }

  /// Whether `buffer`, or a view of it, reaches an op that could keep it
  /// past the use: a terminator, a call, or an op returning another buffer.
  static bool handsOn(Value buffer) {
    for (Operation *user : buffer.getUsers()) {
      if (auto view = dyn_cast<ViewLikeOpInterface>(user)) {
        if (handsOn(view->getResult(0)))
          return true;
        continue;
      }
      if (user->hasTrait<OpTrait::IsTerminator>() ||
          isa<CallOpInterface>(user) ||
          llvm::any_of(user->getResultTypes(), llvm::IsaPred<BaseMemRefType>))
        return true;
    }
    return false;
  }

  /// Moves `loop` into a function body(begin, end, buffers...) and runs it
  /// through kiln_parallel_for, when its bounds are constant, it has
  /// iterations to share, it touches enough data to be worth the threads,
  /// and everything it uses from outside is a constant, a contiguous,
  /// statically shaped buffer, or a static view of one (a pooling window's
  /// strided slice), which the body makes again from the buffer.
  void outline(SymbolTable &symbols, func::FuncOp kernel, scf::ForOp loop,
               size_t index) {
    std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound());
    std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound());
    std::optional<int64_t> step = getConstantIntValue(loop.getStep());
    if (!lb || !ub || !step || *step <= 0 || (*ub - *lb) / *step < 2)
      return;
    llvm::SetVector<Value> captured;
    getUsedValuesDefinedAbove(loop.getRegion(), captured);
    llvm::SetVector<Value> bufferSet;
    SmallVector<Operation *> constants;
    SmallVector<memref::SubViewOp> views;
    // Scratch buffers: allocated in the kernel and used only by the loop
    // (tile temporaries that bufferization hoisted). Each thread gets its
    // own, allocated in the body.
    SmallVector<memref::AllocOp> scratch;
    int64_t largest = 0;
    auto addBuffer = [&](Value v) {
      auto type = llvm::dyn_cast<MemRefType>(v.getType());
      if (!type || !type.hasStaticShape() || !type.getLayout().isIdentity())
        return false;
      bufferSet.insert(v);
      largest = std::max(largest, type.getNumElements());
      return true;
    };
    for (Value v : captured) {
      Operation *def = v.getDefiningOp();
      if (def && def->hasTrait<OpTrait::ConstantLike>()) {
        constants.push_back(def);
        continue;
      }
      if (auto alloc = dyn_cast_or_null<memref::AllocOp>(def);
          alloc && alloc.getDynamicSizes().empty() &&
          llvm::all_of(alloc->getUsers(), [&](Operation *user) {
            return isa<memref::DeallocOp>(user) || loop->isAncestor(user);
          })) {
        scratch.push_back(alloc);
        continue;
      }
      if (auto view = dyn_cast_or_null<memref::SubViewOp>(def);
          view && view.getOffsets().empty() && view.getSizes().empty() &&
          view.getStrides().empty() && addBuffer(view.getSource())) {
        views.push_back(view);
        continue;
      }
      if (!addBuffer(v))
        return;
    }
    SmallVector<Value> buffers = bufferSet.takeVector();
    if (buffers.empty() || static_cast<int64_t>(buffers.size()) > kMaxBuffers ||
        largest < minElements)
      return;

    Location loc = loop.getLoc();
    OpBuilder b(kernel);
    b.setInsertionPointAfter(kernel);
    SmallVector<Type> types{b.getIndexType(), b.getIndexType()};
    for (Value v : buffers)
      types.push_back(v.getType());
    auto body = b.create<func::FuncOp>(
        loc, (kernel.getSymName() + "_loop" + std::to_string(index)).str(),
        b.getFunctionType(types, {}));
    body.setPrivate();
    symbols.insert(body);
    Block *entry = body.addEntryBlock();
    b.setInsertionPointToStart(entry);
    IRMapping mapping;
    for (Operation *c : constants)
      b.clone(*c, mapping);
    for (memref::AllocOp alloc : scratch)
      b.clone(*alloc, mapping);
    for (auto [k, v] : llvm::enumerate(buffers))
      mapping.map(v, entry->getArgument(2 + k));
    for (memref::SubViewOp view : views)
      b.clone(*view, mapping);
    auto clone = cast<scf::ForOp>(b.clone(*loop, mapping));
    clone.getLowerBoundMutable().assign(entry->getArgument(0));
    clone.getUpperBoundMutable().assign(entry->getArgument(1));
    b.setInsertionPoint(clone);
    clone.getStepMutable().assign(b.create<arith::ConstantIndexOp>(loc, *step));
    b.setInsertionPointToEnd(entry);
    clone->removeAttr(kParallelAttr);
    // A fence after the loop (kiln-stream-stores'; frees of the loop's
    // scratch may come between) completes each thread's non-temporal
    // stores before the threads join.
    Operation *next = loop->getNextNode();
    while (isa_and_nonnull<memref::DeallocOp>(next))
      next = next->getNextNode();
    if (auto fence = dyn_cast_or_null<LLVM::FenceOp>(next))
      b.clone(*fence);
    for (memref::AllocOp alloc : scratch)
      b.create<memref::DeallocOp>(loc, mapping.lookup(alloc.getResult()));
    b.create<func::ReturnOp>(loc);

    // kiln_parallel_for(body, buffers (16 slots, null past the last),
    // count, lb, ub, step), in the library-call ABI.
    OpBuilder at(loop);
    SmallVector<int64_t> slots;
    for (int64_t k = 0; k < kMaxBuffers; ++k)
      slots.push_back(k < static_cast<int64_t>(buffers.size()) ? k : -1);
    auto call = at.create<kiln::kernel::LibraryCallOp>(
        loc, TypeRange{}, "kiln_parallel_for", buffers, ValueRange{},
        at.getDenseI64ArrayAttr(slots),
        at.getDenseI64ArrayAttr(
            {static_cast<int64_t>(buffers.size()), *lb, *ub, *step}),
        at.getDenseF64ArrayAttr({}));
    call->setAttr(kiln::attr::kParallelBody, FlatSymbolRefAttr::get(body));
    loop.erase();
    for (memref::AllocOp alloc : scratch) {
      for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
        user->erase(); // Deallocs: the loop's uses went with it.
      alloc.erase();
    }
  }
};

} // namespace
