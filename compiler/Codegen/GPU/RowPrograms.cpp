//===- RowPrograms.cpp - Runs of row ops as one block per row -------------===//
//
// A softmax is four linalg ops over the same rows: the rows' maximum, the
// exponentials, their sum, the quotients; a layer norm is two sums, two
// per-row formulas and the normalization. Launched one by one, each reads
// the whole tensor again from memory. A row program runs such a run of ops
// as one kernel: one block per row, whose threads take the ops in turn.
//
// - A reduction (RowReduction) folds the thread's elements, then
//   gpu.all_reduce gives every thread the row's value, which later ops read
//   from a register instead of memory.
// - A map (every loop parallel, over the rows and the reductions' element
//   space) computes and stores the thread's elements.
// - A per-row formula (loops over the rows only) is computed by every
//   thread, into a register.
//
// Every thread takes the same elements of the row in every op (elements
// thread, thread + threads, ...), and each buffer an op of the run writes
// whole rows of is read and written by the run at those same elements
// only, so a thread reads what it wrote itself and no barrier is needed
// between ops. Blocks run at different ops at once, so the run's buffers
// must not share bytes (the memory plan lets buffers whose lifetimes do
// not overlap share them), nor may one be a view of another: such runs are
// not programs. At the end thread 0 stores the registers (the per-row
// results) in the order the run last wrote them, after a barrier where
// any thread read a register's buffer from memory.
//
//===----------------------------------------------------------------------===//

#include "compiler/Codegen/GPU/RowReductions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SetVector.h"

#include <limits>

using namespace mlir;

namespace kiln::gpu {
namespace {

/// How one op of a run takes part in its row program.
enum class StageKind { Reduction, Map, RowFormula };

struct Stage {
  linalg::LinalgOp op;
  StageKind kind;
  std::optional<RowReduction> reduction;
};

struct Program {
  SmallVector<int64_t> rows, inner;
  int64_t length = 1;
  std::vector<Stage> stages;
  /// Buffers of one value per row that the run writes (registers).
  llvm::SmallPtrSet<Value, 8> registers;
};

/// (d0, ..., d{count-1}) in a map of `dims` dimensions.
bool isLeadingIdentity(AffineMap map, unsigned count) {
  if (map.getNumResults() != count || map.getNumSymbols() != 0)
    return false;
  for (unsigned i = 0; i < count; ++i) {
    auto dim = dyn_cast<AffineDimExpr>(map.getResult(i));
    if (!dim || dim.getPosition() != i)
      return false;
  }
  return true;
}

/// Where a buffer's bytes are: a root buffer (an allocation or an
/// argument) and a byte range in it, through views. A range not known
/// (a dynamic view, a strided subview) is the whole root.
struct Bytes {
  Value root;
  int64_t begin = 0, end = std::numeric_limits<int64_t>::max();
  bool overlaps(const Bytes &other) const {
    return root == other.root && begin < other.end && other.begin < end;
  }
};

Bytes bytesOf(Value v) {
  auto type = cast<MemRefType>(v.getType());
  Operation *def = v.getDefiningOp();
  if (auto view = dyn_cast_or_null<memref::ViewOp>(def)) {
    Bytes source = bytesOf(view.getSource());
    std::optional<int64_t> shift = getConstantIntValue(view.getByteShift());
    int64_t size =
        type.hasStaticShape() && type.getLayout().isIdentity()
            ? type.getNumElements() * ((type.getElementTypeBitWidth() + 7) / 8)
            : -1;
    if (!shift || size < 0 || source.end != std::numeric_limits<int64_t>::max())
      return {source.root};
    return {source.root, source.begin + *shift, source.begin + *shift + size};
  }
  if (auto like = dyn_cast_or_null<ViewLikeOpInterface>(def))
    return {bytesOf(like.getViewSource()).root};
  if (isa_and_nonnull<memref::ExpandShapeOp, memref::CollapseShapeOp,
                      memref::CastOp, memref::ReinterpretCastOp>(def))
    return {bytesOf(def->getOperand(0)).root};
  return {v};
}

/// The run's row program, if every op is a stage of one over the same rows
/// and element space, at least one of them a reduction over at least
/// `minLength` elements.
std::optional<Program> matchProgram(ArrayRef<linalg::LinalgOp> run,
                                    int64_t minLength) {
  if (run.size() < 2)
    return std::nullopt;
  Program program;
  bool found = false;
  for (linalg::LinalgOp op : run)
    if (std::optional<RowReduction> r = matchRowReduction(op, minLength)) {
      program.rows = r->rows;
      program.inner = r->reduced;
      program.length = r->length;
      found = true;
      break;
    }
  // A reduction to one value is one block: its maps stay launches over
  // the whole GPU.
  if (!found || program.rows.empty())
    return std::nullopt;
  unsigned rowRank = program.rows.size();
  SmallVector<int64_t> full(program.rows);
  full.append(program.inner);
  llvm::SmallPtrSet<Value, 8> wholeRows; // buffers the run writes rows of
  for (linalg::LinalgOp op : run) {
    if (!op.hasPureBufferSemantics())
      return std::nullopt;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    Stage stage{op, StageKind::Map, std::nullopt};
    if (std::optional<RowReduction> r = matchRowReduction(op, 1)) {
      if (r->rows != program.rows || r->reduced != program.inner)
        return std::nullopt;
      stage.kind = StageKind::Reduction;
      stage.reduction = r;
    } else if (op.getNumLoops() == op.getNumParallelLoops() &&
               ArrayRef<int64_t>(ranges) == ArrayRef<int64_t>(full)) {
      stage.kind = StageKind::Map;
    } else if (op.getNumLoops() == op.getNumParallelLoops() &&
               ArrayRef<int64_t>(ranges) == ArrayRef<int64_t>(program.rows)) {
      stage.kind = StageKind::RowFormula;
    } else {
      return std::nullopt;
    }
    // Outputs: registers (one value per row, at the row's own index) or
    // whole rows written element by element.
    for (OpOperand &init : op.getDpsInitsMutable()) {
      auto type = dyn_cast<MemRefType>(init.get().getType());
      AffineMap map = op.getMatchingIndexingMap(&init);
      bool perRow = stage.kind != StageKind::Map;
      ArrayRef<int64_t> shape =
          perRow ? ArrayRef<int64_t>(program.rows) : ArrayRef<int64_t>(full);
      if (!type || type.getShape() != shape ||
          !isLeadingIdentity(map, shape.size()))
        return std::nullopt;
      (perRow ? program.registers : wholeRows).insert(init.get());
    }
    program.stages.push_back(std::move(stage));
  }
  for (Value v : program.registers)
    if (wholeRows.contains(v))
      return std::nullopt;
  // Different buffers must not share bytes: the memory plan lets buffers
  // whose lifetimes do not overlap share them, which is sound for ops run
  // one after the other over all rows, not for a program, whose blocks are
  // at different ops at once (and a view of a buffer the run writes would
  // miss its register).
  SmallVector<std::pair<Value, Bytes>> buffers;
  for (linalg::LinalgOp op : run)
    for (Value v : op->getOperands())
      if (isa<MemRefType>(v.getType()) &&
          llvm::none_of(buffers, [&](auto &b) { return b.first == v; }))
        buffers.push_back({v, bytesOf(v)});
  for (size_t i = 0; i < buffers.size(); ++i)
    for (size_t j = i + 1; j < buffers.size(); ++j)
      if (buffers[i].second.overlaps(buffers[j].second))
        return std::nullopt;
  // Inputs the run writes are read where their writer put them: registers
  // at the row, whole rows at the thread's own elements.
  for (Stage &stage : program.stages) {
    linalg::LinalgOp op = stage.op;
    for (OpOperand *input : op.getDpsInputOperands()) {
      Value v = input->get();
      AffineMap map = op.getMatchingIndexingMap(input);
      if (program.registers.contains(v) && !isLeadingIdentity(map, rowRank))
        return std::nullopt;
      if (wholeRows.contains(v) && (stage.kind == StageKind::RowFormula ||
                                    !isLeadingIdentity(map, full.size()) ||
                                    map.getNumDims() != full.size()))
        return std::nullopt;
    }
  }
  return program;
}

/// Emits one program's loops in place of its run.
struct Emitter {
  Emitter(RewriterBase &b, Location loc, const Program &program,
          int64_t threads)
      : b(b), loc(loc), program(program), threads(threads) {}

  RewriterBase &b;
  Location loc;
  const Program &program;
  int64_t threads;

  SmallVector<Value> ivs; // the row's indices
  Value thread;
  llvm::DenseMap<Value, Value> registers; // buffer -> the row's value
  SmallVector<Value> writes;              // registers, in write order
  bool registerLoaded = false;            // a register's buffer was read

  Value index(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }

  /// The value `input` gives the op's body at loop indices `at`.
  Value read(linalg::LinalgOp op, OpOperand *input, ValueRange at) {
    Value v = input->get();
    if (!isa<MemRefType>(v.getType()))
      return v;
    if (auto it = registers.find(v); it != registers.end())
      return it->second;
    registerLoaded |= program.registers.contains(v);
    return b.create<memref::LoadOp>(
        loc, v, indicesOf(b, loc, op.getMatchingIndexingMap(input), at));
  }

  /// Clones `op`'s body with its inputs, outputs and indices given; returns
  /// the yielded values.
  SmallVector<Value> cloneBody(linalg::LinalgOp op, IRMapping &mapping,
                               ValueRange at) {
    Block *body = op.getBlock();
    for (Operation &inner : body->without_terminator()) {
      if (auto idx = dyn_cast<linalg::IndexOp>(inner))
        mapping.map(idx.getResult(), at[idx.getDim()]);
      else
        b.clone(inner, mapping);
    }
    SmallVector<Value> yielded;
    for (Value v : body->getTerminator()->getOperands())
      yielded.push_back(mapping.lookupOrDefault(v));
    return yielded;
  }

  /// The row's current value of register buffer `buffer`.
  Value current(Value buffer) {
    if (auto it = registers.find(buffer); it != registers.end())
      return it->second;
    registerLoaded = true;
    return b.create<memref::LoadOp>(loc, buffer, ivs);
  }

  void setRegister(Value buffer, Value value) {
    registers[buffer] = value;
    writes.push_back(buffer);
  }

  /// Every loop index of a stage over the whole row, from the thread's
  /// position along it.
  SmallVector<Value> along(Value position) {
    SmallVector<Value> all(ivs);
    llvm::append_range(all, delinearize(b, loc, position, program.inner));
    return all;
  }

  void rowFormula(linalg::LinalgOp op) {
    IRMapping mapping;
    for (OpOperand *input : op.getDpsInputOperands())
      mapping.map(bodyArgument(op, *input), read(op, input, ivs));
    for (OpOperand &init : op.getDpsInitsMutable()) {
      BlockArgument arg = bodyArgument(op, init);
      if (arg && !arg.use_empty())
        mapping.map(arg, current(init.get()));
    }
    SmallVector<Value> results = cloneBody(op, mapping, ivs);
    for (auto [init, value] : llvm::zip(op.getDpsInitsMutable(), results))
      setRegister(init.get(), value);
  }

  void map(linalg::LinalgOp op) {
    Value end = index(program.length), step = index(threads);
    b.create<scf::ForOp>(
        loc, thread, end, step, ValueRange{},
        [&](OpBuilder &, Location, Value position, ValueRange) {
          SmallVector<Value> all = along(position);
          IRMapping mapping;
          for (OpOperand *input : op.getDpsInputOperands())
            mapping.map(bodyArgument(op, *input), read(op, input, all));
          // An output the body reads (an update in place) is loaded.
          for (OpOperand &init : op.getDpsInitsMutable()) {
            BlockArgument arg = bodyArgument(op, init);
            if (arg && !arg.use_empty())
              mapping.map(arg, b.create<memref::LoadOp>(loc, init.get(), all));
          }
          SmallVector<Value> results = cloneBody(op, mapping, all);
          for (auto [init, value] : llvm::zip(op.getDpsInitsMutable(), results))
            b.create<memref::StoreOp>(loc, value, init.get(), all);
          b.create<scf::YieldOp>(loc);
        });
  }

  void reduction(const RowReduction &match) {
    linalg::GenericOp op = match.op;
    Block &body = op.getRegion().front();
    SmallVector<Value> rowIvs(ivs);
    rowIvs.append(match.reduced.size(), index(0));
    // Inputs constant along the row are read once, before the loop.
    IRMapping mapping;
    SmallVector<OpOperand *> alongRow;
    unsigned rowRank = program.rows.size();
    for (OpOperand *input : op.getDpsInputOperands()) {
      BlockArgument arg = body.getArgument(input->getOperandNumber());
      AffineMap map = op.getMatchingIndexingMap(input);
      bool varies =
          llvm::any_of(llvm::seq<unsigned>(rowRank, map.getNumDims()),
                       [&](unsigned d) { return map.isFunctionOfDim(d); });
      if (varies && isa<MemRefType>(input->get().getType()))
        alongRow.push_back(input);
      else
        mapping.map(arg, read(op, input, rowIvs));
    }
    SmallVector<Value> identities;
    for (Operation *combiner : match.combiners)
      identities.push_back(b.create<arith::ConstantOp>(
          loc, *arith::getNeutralElement(combiner)));
    Value end = index(program.length), step = index(threads);
    auto partial = b.create<scf::ForOp>(
        loc, thread, end, step, identities,
        [&](OpBuilder &, Location, Value position, ValueRange partials) {
          SmallVector<Value> all = along(position);
          IRMapping inside = mapping;
          for (OpOperand *input : alongRow)
            inside.map(body.getArgument(input->getOperandNumber()),
                       read(op, input, all));
          for (auto [arg, value] :
               llvm::zip(op.getRegionOutputArgs(), partials))
            inside.map(arg, value);
          SmallVector<Value> next = cloneBody(op, inside, all);
          b.create<scf::YieldOp>(loc, next);
        });
    for (unsigned i = 0; i < match.combiners.size(); ++i) {
      Value reduced = b.create<mlir::gpu::AllReduceOp>(
          loc, partial.getResult(i).getType(), partial.getResult(i),
          mlir::gpu::AllReduceOperationAttr::get(b.getContext(),
                                                 match.kinds[i]),
          b.getUnitAttr());
      Value buffer = op.getDpsInitOperand(i)->get();
      IRMapping combine;
      combine.map(op.getRegionOutputArgs()[i], current(buffer));
      combine.map(match.contributions[i], reduced);
      setRegister(buffer, b.clone(*match.combiners[i], combine)->getResult(0));
    }
  }

  /// Thread 0 stores each register, in the order of the last writes;
  /// first every thread's reads of a register's buffer must be done.
  void storeRegisters() {
    if (registerLoaded)
      b.create<mlir::gpu::BarrierOp>(loc);
    Value first = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, thread,
                                          index(0));
    auto once = b.create<scf::IfOp>(loc, first, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(once.thenBlock());
    for (size_t i = 0; i < writes.size(); ++i) {
      Value buffer = writes[i];
      if (llvm::is_contained(ArrayRef<Value>(writes).drop_front(i + 1), buffer))
        continue; // written again later
      b.create<memref::StoreOp>(loc, registers[buffer], buffer, ivs);
    }
  }
};

/// The run's ops as one program, in place of its last op.
void emitProgram(RewriterBase &rewriter, ArrayRef<linalg::LinalgOp> run,
                 const Program &program, int64_t threadsPerBlock) {
  Location loc = run.front()->getLoc();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(run.back());
  int64_t rows = 1;
  for (int64_t size : program.rows)
    rows *= size;
  Emitter e(rewriter, loc, program,
            threadsForRows(program.length, threadsPerBlock));
  Value zero = e.index(0), count = e.index(rows), one = e.index(1);
  auto grid = rewriter.create<scf::ParallelOp>(
      loc, ValueRange{zero}, ValueRange{count}, ValueRange{one});
  grid->setAttr(kRowPerBlock, rewriter.getUnitAttr());
  rewriter.setInsertionPointToStart(grid.getBody());
  e.ivs =
      delinearize(rewriter, loc, grid.getInductionVars().front(), program.rows);
  Value first = e.index(0), threads = e.index(e.threads), step = e.index(1);
  auto block = rewriter.create<scf::ParallelOp>(
      loc, ValueRange{first}, ValueRange{threads}, ValueRange{step});
  rewriter.setInsertionPointToStart(block.getBody());
  e.thread = block.getInductionVars().front();
  for (const Stage &stage : program.stages) {
    switch (stage.kind) {
    case StageKind::Reduction:
      e.reduction(*stage.reduction);
      break;
    case StageKind::Map:
      e.map(stage.op);
      break;
    case StageKind::RowFormula:
      e.rowFormula(stage.op);
      break;
    }
  }
  e.storeRegisters();
  for (linalg::LinalgOp op : run)
    rewriter.eraseOp(op);
}

} // namespace

void formRowPrograms(RewriterBase &rewriter, func::FuncOp func,
                     int64_t minLength, int64_t threadsPerBlock) {
  if (threadsPerBlock < 32)
    return;
  // Runs of linalg ops in one block, with pure ops (constants, views)
  // between them, which stay before the program (it takes the last op's
  // place).
  SmallVector<SmallVector<linalg::LinalgOp>> runs;
  func.walk([&](Block *block) {
    if (block->getParentOp()->getParentOfType<scf::ParallelOp>() ||
        isa<scf::ParallelOp>(block->getParentOp()))
      return;
    SmallVector<linalg::LinalgOp> run;
    for (Operation &op : *block) {
      if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
        run.push_back(linalgOp);
        continue;
      }
      if (op.getNumRegions() == 0 && isMemoryEffectFree(&op) &&
          !op.hasTrait<OpTrait::IsTerminator>())
        continue;
      if (run.size() >= 2)
        runs.push_back(run);
      run.clear();
    }
    if (run.size() >= 2)
      runs.push_back(run);
  });
  for (ArrayRef<linalg::LinalgOp> run : runs) {
    // The longest qualifying prefix from each start: a run may hold ops of
    // other rows (an elementwise op before a softmax).
    size_t begin = 0;
    while (begin + 1 < run.size()) {
      size_t end = run.size();
      std::optional<Program> program;
      for (; end >= begin + 2; --end)
        if ((program = matchProgram(run.slice(begin, end - begin), minLength)))
          break;
      if (!program) {
        ++begin;
        continue;
      }
      emitProgram(rewriter, run.slice(begin, end - begin), *program,
                  threadsPerBlock);
      begin = end;
    }
  }
}

} // namespace kiln::gpu
