//===- Manifest.cpp - Entry points of a graph module, for artefacts -------===//

#include "compiler/Target/Manifest.h"
#include "dialects/Graph/IR/AttributeNames.h"
#include "dialects/Graph/IR/GraphDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

namespace kiln {

namespace {

/// The largest tensor an artefact may hold (128 TiB): beyond any memory,
/// and far from overflowing the 64-bit sizes of memory plans.
constexpr uint64_t kMaxTensorBytes = uint64_t(1) << 47;

/// The exclusive bound of the values of `v` when they index something:
/// cross-entropy's labels (the classes), embedding ids (the rows), one-hot
/// classes; the smallest over its uses, through reshapes; 0 when none.
int64_t indexBound(Value v) {
  int64_t bound = 0;
  auto tighten = [&](int64_t b) {
    if (b > 0 && (bound == 0 || b < bound))
      bound = b;
  };
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (auto ce = dyn_cast<graph::CrossEntropyOp>(user)) {
      if (use.get() == ce.getLabels())
        tighten(llvm::cast<RankedTensorType>(ce.getLogits().getType())
                    .getShape()
                    .back());
    } else if (auto emb = dyn_cast<graph::EmbeddingOp>(user)) {
      if (use.get() == emb.getIndices())
        tighten(llvm::cast<RankedTensorType>(emb.getWeight().getType())
                    .getDimSize(0));
    } else if (auto hot = dyn_cast<graph::OneHotOp>(user)) {
      tighten(static_cast<int64_t>(hot.getNumClasses()));
    } else if (auto reshape = dyn_cast<graph::ReshapeOp>(user)) {
      tighten(indexBound(reshape.getResult()));
    }
  }
  return bound;
}

} // namespace
namespace {

std::optional<rt::DType> dtypeOf(Type t) {
  if (t.isF32())
    return rt::DType::F32;
  if (t.isF64())
    return rt::DType::F64;
  if (t.isF16())
    return rt::DType::F16;
  if (t.isBF16())
    return rt::DType::BF16;
  if (t.isInteger(64))
    return rt::DType::I64;
  if (t.isInteger(32))
    return rt::DType::I32;
  if (t.isInteger(1))
    return rt::DType::Bool;
  return std::nullopt;
}

} // namespace

std::string modelName(ModuleOp module) {
  std::optional<StringRef> name = module.getSymName();
  return name && !name->empty() ? name->str() : "model";
}

LogicalResult readEntries(ModuleOp module, std::vector<rt::EntrySpec> &out) {
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    rt::EntrySpec entry;
    entry.name = func.getSymName().str();
    auto spec = [&](Type type, std::string name,
                    rt::TensorSpec &into) -> LogicalResult {
      auto tensor = llvm::dyn_cast<RankedTensorType>(type);
      std::optional<rt::DType> dtype =
          tensor ? dtypeOf(tensor.getElementType()) : std::nullopt;
      if (!dtype || !tensor.hasStaticShape())
        return func.emitError("entry '")
               << entry.name << "': '" << name
               << "' must be a statically shaped tensor of a supported "
                  "dtype, got "
               << type;
      // Sizes are computed with overflow checks: a huge batch must not wrap
      // around into a plausible (or negative) memory plan.
      rt::StatusOr<uint64_t> bytes = rt::HostTensor::checkedSizeInBytes(
          *dtype, std::vector<int64_t>(tensor.getShape().begin(),
                                       tensor.getShape().end()));
      if (!bytes.ok() || *bytes > kMaxTensorBytes)
        return func.emitError("entry '")
               << entry.name << "': '" << name << "' (" << type
               << ") needs more than 2^47 bytes (128 TiB): it cannot be "
                  "allocated (check the batch size)";
      if (tensor.getNumElements() == 0)
        return func.emitError("entry '")
               << entry.name << "': '" << name << "' (" << type
               << ") has no elements: Kiln compiles tensors with at least "
                  "one element";
      into = {std::move(name), *dtype,
              std::vector<int64_t>(tensor.getShape().begin(),
                                   tensor.getShape().end())};
      return success();
    };
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      rt::ArgumentSpec arg;
      arg.kind = rt::ArgKind::Input;
      std::string name = "arg" + std::to_string(i);
      if (auto a = func.getArgAttrOfType<StringAttr>(i, kiln::attr::kParam)) {
        arg.kind = rt::ArgKind::Parameter;
        name = a.str();
      } else if (auto a =
                     func.getArgAttrOfType<StringAttr>(i, kiln::attr::kBuffer)) {
        arg.kind = rt::ArgKind::Buffer;
        name = a.str();
      } else if (auto a = func.getArgAttrOfType<StringAttr>(i, kiln::attr::kInput)) {
        name = a.str();
      }
      if (failed(spec(func.getArgument(i).getType(), name, arg.tensor)))
        return failure();
      if (auto init = func.getArgAttrOfType<StringAttr>(i, kiln::attr::kInit))
        arg.init = init.str();
      if (arg.kind == rt::ArgKind::Input)
        arg.indexBound = indexBound(func.getArgument(i));
      entry.arguments.push_back(std::move(arg));
    }
    for (unsigned i = 0; i < func.getNumResults(); ++i) {
      std::string name = "result" + std::to_string(i);
      if (auto a = func.getResultAttrOfType<StringAttr>(i, kiln::attr::kOutput))
        name = a.str();
      rt::ResultSpec result;
      if (failed(spec(func.getResultTypes()[i], name, result)))
        return failure();
      if (auto a = func.getResultAttrOfType<StringAttr>(i, kiln::attr::kUpdate))
        result.updates = a.str();
      entry.results.push_back(std::move(result));
    }
    out.push_back(std::move(entry));
  }
  return success();
}

} // namespace kiln
