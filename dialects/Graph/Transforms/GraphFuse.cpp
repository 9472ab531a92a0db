//===- GraphFuse.cpp - Partition graph ops into kernels -------------------===//
//
// Three steps: library calls absorb their epilogues; elementwise ops merge
// into groups (never creating a cycle between kernels); every group and every
// remaining op is outlined into a kernel. See Passes.td for the contract.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/Transforms/Passes.h"

#include "mlir/Analysis/TopologicalSortUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"

namespace kiln::graph {
#define GEN_PASS_DEF_GRAPHFUSE
#include "dialects/Graph/Transforms/Passes.h.inc"
} // namespace kiln::graph

using namespace mlir;
using namespace kiln;
using namespace kiln::graph;

namespace {

/// What a graph op becomes: its ODS kernel kind (Graph_KernelKind).
using Role = KernelKind;

/// The other ops of the kernel `op` belongs to (empty when none yet): a
/// kernel runs as a whole, so depending on one of its ops is depending on
/// all of them.
using GroupMembers = llvm::function_ref<ArrayRef<Operation *>(Operation *)>;

/// True when some op in `targets` is among the transitive producers of
/// `values`, through ops outside `targets` and through whole kernels.
bool reachesThroughOthers(ArrayRef<Value> values,
                          const DenseSet<Operation *> &targets,
                          GroupMembers members) {
  SmallVector<Operation *> stack;
  DenseSet<Operation *> seen;
  for (Value v : values)
    if (Operation *def = v.getDefiningOp())
      stack.push_back(def);
  while (!stack.empty()) {
    Operation *op = stack.pop_back_val();
    if (!seen.insert(op).second)
      continue;
    if (targets.contains(op))
      return true;
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp())
        stack.push_back(def);
    for (Operation *member : members(op))
      stack.push_back(member);
  }
  return false;
}

/// True when merging the ops of `set` into one kernel creates a cycle
/// between kernels: an operand from outside the set depends on the set.
bool createsCycle(const DenseSet<Operation *> &set, GroupMembers members) {
  SmallVector<Value> external;
  for (Operation *op : set)
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp(); def && !set.contains(def))
        external.push_back(operand);
  return reachesThroughOthers(external, set, members);
}

ArrayRef<Operation *> noMembers(Operation *) { return {}; }

Operation *singleUser(Value v) {
  return v.hasOneUse() ? *v.getUsers().begin() : nullptr;
}

RankedTensorType tensorTypeOf(Value v) {
  return llvm::cast<RankedTensorType>(v.getType());
}

//===----------------------------------------------------------------------===//
// Library calls and their epilogues
//===----------------------------------------------------------------------===//

/// The epilogue chain after a matmul or convolution.
struct Epilogue {
  Value bias, residual;
  Activation activation = Activation::none;
  double alpha = 0;
  SmallVector<Operation *> chain; // anchor first
  Value result;                   // the value the library call replaces
};

Epilogue matchEpilogue(Operation *anchor, Value existingBias,
                       int64_t channelDim, bool fuse) {
  Epilogue e;
  e.bias = existingBias;
  e.chain.push_back(anchor);
  e.result = anchor->getResult(0);
  if (!fuse)
    return e;
  DenseSet<Operation *> anchorSet{anchor};
  auto otherOperand = [&](AddOp add) {
    return add.getLhs() == e.result ? add.getRhs() : add.getLhs();
  };
  RankedTensorType type = tensorTypeOf(e.result);
  // A bias add: the other operand is [channels] broadcast along the last
  // dimension (matmul only: convolutions carry their bias already).
  if (!e.bias && channelDim == 1)
    if (auto add = dyn_cast_or_null<AddOp>(singleUser(e.result))) {
      Value other = otherOperand(add);
      if (tensorTypeOf(other).getShape() ==
              ArrayRef<int64_t>{type.getDimSize(1)} &&
          add.getType() == type &&
          !reachesThroughOthers({other}, anchorSet, noMembers)) {
        e.bias = other;
        e.chain.push_back(add);
        e.result = add.getResult();
      }
    }
  // A residual add of a tensor with the result's type.
  if (auto add = dyn_cast_or_null<AddOp>(singleUser(e.result))) {
    Value other = otherOperand(add);
    if (other.getType() == type && add.getType() == type &&
        !reachesThroughOthers({other}, anchorSet, noMembers)) {
      e.residual = other;
      e.chain.push_back(add);
      e.result = add.getResult();
    }
  }
  // An activation (an op with Graph_LibraryActivation).
  if (Operation *user = singleUser(e.result))
    if (auto act = libraryActivationOf(user)) {
      std::tie(e.activation, e.alpha) = *act;
      e.chain.push_back(user);
      e.result = user->getResult(0);
    }
  return e;
}

void replaceChain(Epilogue &e, Value replacement) {
  e.result.replaceAllUsesWith(replacement);
  for (Operation *op : llvm::reverse(e.chain))
    op->erase();
}

LogicalResult formLibraryCalls(func::FuncOp func, bool fuseEpilogues) {
  SmallVector<Operation *> anchors;
  func.walk([&](Operation *op) {
    if (kernelKindOf(op) == KernelKind::Library)
      anchors.push_back(op);
  });
  for (Operation *anchor : anchors) {
    OpBuilder b(anchor);
    if (auto mm = dyn_cast<MatmulOp>(anchor)) {
      Epilogue e = matchEpilogue(anchor, {}, 1, fuseEpilogues);
      b.setInsertionPoint(e.chain.back());
      auto call = b.create<kernel::MatmulOp>(
          anchor->getLoc(), mm.getLhs(), mm.getRhs(), e.bias, e.residual,
          mm.getTransposeLhs(), mm.getTransposeRhs(), e.activation,
          APFloat(e.alpha));
      replaceChain(e, call.getResult());
      continue;
    }
    auto conv = dyn_cast<Conv2DOp>(anchor);
    if (!conv)
      return anchor->emitOpError("is a library op that graph-fuse has no "
                                 "library call for");
    Epilogue e = matchEpilogue(anchor, conv.getBias(), 0, fuseEpilogues);
    b.setInsertionPoint(e.chain.back());
    auto call = b.create<kernel::Conv2DOp>(
        anchor->getLoc(), conv.getInput(), conv.getWeight(), e.bias, e.residual,
        conv.getStrides(), conv.getPadding(), conv.getDilation(),
        conv.getGroups(), e.activation, APFloat(e.alpha),
        conv.getChannelsLast());
    replaceChain(e, call.getResult());
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Fusion groups
//===----------------------------------------------------------------------===//

struct Group {
  Role role;
  SmallVector<Operation *> ops; // in block order
};

/// The group of a normalization whose result the elementwise `op` can finish
/// in the same pass: `op` reads, at the result's own shape, a value of that
/// group that nothing else reads — the normalization's result or an
/// elementwise op already appended to it (batch norm, then a residual add,
/// then ReLU). The normalization's last pass is elementwise, so `op` fuses
/// into it and the value it reads is never written to memory. None when no
/// operand qualifies or when joining would make kernels depend cyclically.
std::optional<size_t> epilogueHost(Operation &op,
                                   const std::vector<Group> &groups,
                                   const DenseMap<Operation *, size_t> &groupOf) {
  if (op.getNumResults() != 1)
    return std::nullopt;
  auto resultType = llvm::dyn_cast<RankedTensorType>(op.getResult(0).getType());
  if (!resultType)
    return std::nullopt;
  for (Value operand : op.getOperands()) {
    Operation *def = operand.getDefiningOp();
    auto it = def ? groupOf.find(def) : groupOf.end();
    if (it == groupOf.end() || groups[it->second].role != Role::Reduction ||
        !operand.hasOneUse() ||
        tensorTypeOf(operand).getShape() != resultType.getShape())
      continue;
    if (!isa<BatchNormTrainingOp, LayerNormOp, GroupNormOp>(def) &&
        kernelKindOf(def) != KernelKind::Elementwise)
      continue;
    const Group &host = groups[it->second];
    DenseSet<Operation *> combined(host.ops.begin(), host.ops.end());
    combined.insert(&op);
    auto members = [&](Operation *member) -> ArrayRef<Operation *> {
      auto found = groupOf.find(member);
      if (found == groupOf.end() || found->second == it->second)
        return {};
      return groups[found->second].ops;
    };
    if (!createsCycle(combined, members))
      return it->second;
  }
  return std::nullopt;
}

/// Assigns every kernel-worthy op of `block` to a group. Fails on a graph
/// op without a kernel kind.
FailureOr<std::vector<Group>> formGroups(Block &block, bool fuseElementwise) {
  std::vector<Group> groups;
  DenseMap<Operation *, size_t> groupOf;
  for (Operation &op : block) {
    if (!isa<GraphDialect>(op.getDialect()))
      continue;
    std::optional<Role> kind = kernelKindOf(&op);
    if (!kind)
      return op.emitOpError("has no kernel kind: graph-fuse cannot place it "
                            "(give it a Graph_KernelKind trait in ODS)");
    Role role = *kind;
    if (role == Role::None || role == Role::Library)
      continue;
    if (role == Role::Elementwise && fuseElementwise) {
      if (std::optional<size_t> norm = epilogueHost(op, groups, groupOf)) {
        groups[*norm].ops.push_back(&op);
        groupOf[&op] = *norm;
        continue;
      }
    }
    size_t mine = groups.size();
    groups.push_back({role, {&op}});
    groupOf[&op] = mine;
    if (role != Role::Elementwise || !fuseElementwise)
      continue;
    // Merge with the groups of elementwise producers, one by one, while no
    // cycle appears.
    SmallVector<size_t> candidates;
    for (Value operand : op.getOperands())
      if (Operation *def = operand.getDefiningOp())
        if (auto it = groupOf.find(def);
            it != groupOf.end() && groups[it->second].role == Role::Elementwise &&
            it->second != mine && !llvm::is_contained(candidates, it->second))
          candidates.push_back(it->second);
    for (size_t other : candidates) {
      if (groups[other].ops.empty())
        continue;
      DenseSet<Operation *> combined(groups[mine].ops.begin(),
                                     groups[mine].ops.end());
      combined.insert(groups[other].ops.begin(), groups[other].ops.end());
      auto members = [&](Operation *member) -> ArrayRef<Operation *> {
        auto it = groupOf.find(member);
        if (it == groupOf.end() || it->second == mine || it->second == other)
          return {};
        return groups[it->second].ops;
      };
      if (createsCycle(combined, members))
        continue;
      for (Operation *moved : groups[other].ops)
        groupOf[moved] = mine;
      groups[mine].ops.append(groups[other].ops);
      groups[other].ops.clear();
    }
  }
  // Keep block order inside each group.
  for (Group &g : groups)
    llvm::sort(g.ops, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
  llvm::erase_if(groups, [](const Group &g) { return g.ops.empty(); });
  return groups;
}

/// Replaces the ops of `group` by one kernel.fused op.
void outline(const Group &group) {
  DenseSet<Operation *> members(group.ops.begin(), group.ops.end());
  SmallVector<Value> inputs, outputs;
  for (Operation *op : group.ops) {
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (def && (members.contains(def) || isa<ConstantOp>(def)))
        continue;
      if (!llvm::is_contained(inputs, operand))
        inputs.push_back(operand);
    }
    for (Value result : op->getResults())
      if (llvm::any_of(result.getUsers(), [&](Operation *user) {
            return !members.contains(user);
          }))
        outputs.push_back(result);
  }

  Operation *last = group.ops.back();
  OpBuilder b(last);
  SmallVector<Type> resultTypes;
  for (Value v : outputs)
    resultTypes.push_back(v.getType());
  auto fused = b.create<kernel::FusedOp>(last->getLoc(), resultTypes,
                                         kernelKindName(group.role), inputs);
  Block *body = new Block();
  fused.getBody().push_back(body);
  IRMapping mapping;
  for (Value input : inputs)
    mapping.map(input, body->addArgument(input.getType(), input.getLoc()));
  b.setInsertionPointToStart(body);
  for (Operation *op : group.ops) {
    for (Value operand : op->getOperands())
      if (auto constant = operand.getDefiningOp<ConstantOp>();
          constant && !mapping.contains(operand))
        b.clone(*constant, mapping);
    b.clone(*op, mapping);
  }
  SmallVector<Value> yielded;
  for (Value v : outputs)
    yielded.push_back(mapping.lookup(v));
  b.create<kernel::YieldOp>(last->getLoc(), yielded);

  for (auto [old, replacement] : llvm::zip(outputs, fused.getResults()))
    old.replaceAllUsesWith(replacement);
  for (Operation *op : llvm::reverse(group.ops))
    op->erase();
}

struct GraphFuse : kiln::graph::impl::GraphFuseBase<GraphFuse> {
  using GraphFuseBase::GraphFuseBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    if (failed(formLibraryCalls(func, fuseEpilogues)))
      return signalPassFailure();
    Block &block = func.getBody().front();
    FailureOr<std::vector<Group>> groups = formGroups(block, fuseElementwise);
    if (failed(groups))
      return signalPassFailure();
    for (const Group &group : *groups)
      outline(group);
    // Kernels sit at their last member's position; restore def-before-use.
    if (!sortTopologically(&block)) {
      func.emitError("graph-fuse formed kernels that depend on each other "
                     "cyclically (a bug in the fusion policy)");
      return signalPassFailure();
    }
    // Constants used only inside kernels are now dead.
    for (Operation &op : llvm::make_early_inc_range(block))
      if (isa<ConstantOp>(op) && op.use_empty())
        op.erase();
  }
};

} // namespace
