//===- KernelViews.cpp - What a model compiled into, drawn and listed -----===//

#include "compiler/Driver/KernelViews.h"

#include "dialects/Graph/IR/AttributeNames.h"
#include "dialects/Graph/IR/GraphDialect.h"
#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace kiln::driver {
namespace {

/// Text safe inside a double-quoted Graphviz label ("\n" breaks lines).
std::string escape(llvm::StringRef text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out;
}

/// "2x32x28x28 f32" for a ranked tensor.
std::string describeType(mlir::Type type) {
  auto tensor = mlir::dyn_cast<mlir::RankedTensorType>(type);
  if (!tensor)
    return "";
  std::string text;
  llvm::raw_string_ostream os(text);
  for (int64_t i = 0; i < tensor.getRank(); ++i)
    os << (i ? "x" : "") << tensor.getDimSize(i);
  os << (tensor.getRank() ? " " : "scalar ") << tensor.getElementType();
  return text;
}

/// The module path and source line that built an op: a location
/// "conv1"("Classifiers.cpp":39:0) reads "conv1 · Classifiers.cpp:39"; the
/// entry point's own name is left out.
std::string describeLoc(mlir::Location loc, llvm::StringRef entry) {
  std::string path, where;
  if (auto named = mlir::dyn_cast<mlir::NameLoc>(loc)) {
    if (named.getName().getValue() != entry)
      path = named.getName().getValue().str();
    loc = named.getChildLoc();
  }
  if (auto file = mlir::dyn_cast<mlir::FileLineColLoc>(loc))
    where = (llvm::sys::path::filename(file.getFilename().getValue()) + ":" +
             llvm::Twine(file.getLine()))
                .str();
  if (!path.empty() && !where.empty())
    return path + " · " + where;
  return path + where;
}

/// A library call's fusions: "+ bias", "+ residual", "relu".
std::string describeEpilogue(mlir::Operation *op) {
  std::string text;
  if (auto segments = op->getAttrOfType<mlir::DenseI32ArrayAttr>(
          "operandSegmentSizes")) {
    llvm::ArrayRef<int32_t> sizes = segments.asArrayRef();
    if (sizes.size() >= 4 && op->getName().getStringRef().starts_with("kernel.")) {
      if (sizes[2])
        text += " + bias";
      if (sizes[3])
        text += " + residual";
    }
  }
  if (std::optional<graph::Activation> activation =
          kernel::appliedActivation(op))
    text += " → " + graph::stringifyActivation(*activation).str();
  return text;
}

bool isLibraryCall(mlir::Operation *op) {
  llvm::StringRef name = op->getName().getStringRef();
  return (name.starts_with("kernel.") && name != "kernel.fused" &&
          name != "kernel.yield") ||
         name.contains("recurrence");
}

class DotWriter {
public:
  explicit DotWriter(llvm::raw_ostream &os) : os(os) {}

  void entry(mlir::func::FuncOp f) {
    llvm::StringRef name = f.getSymName();
    os << "  subgraph \"cluster_" << escape(name) << "\" {\n"
       << "    label=\"" << escape(name) << "\"; fontsize=16; style=rounded;\n";
    // Sources: parameters, buffers and inputs.
    for (mlir::BlockArgument arg : f.getArguments()) {
      std::string label;
      const char *fill = "#eeeeee";
      for (llvm::StringRef kind : {attr::kParam, attr::kBuffer, attr::kInput})
        if (auto a = f.getArgAttrOfType<mlir::StringAttr>(arg.getArgNumber(),
                                                          kind)) {
          label = a.getValue().str();
          if (kind == attr::kInput)
            fill = "#d8e8ff";
        }
      std::string id = node();
      values[arg] = id;
      os << "    " << id << " [shape=ellipse, style=filled, fillcolor=\""
         << fill << "\", label=\"" << escape(label) << "\\n"
         << describeType(arg.getType()) << "\"];\n";
    }
    for (mlir::Operation &op : f.getBody().front())
      operation(&op, name, "    ");
    for (const std::string &edge : edges)
      os << "    " << edge << ";\n";
    edges.clear();
    os << "  }\n";
  }

private:
  std::string node() { return "n" + std::to_string(next++); }

  /// An edge into `target` from the node computing `value`. Edges are
  /// written after the entry's nodes: Graphviz puts a node named inside a
  /// cluster into it, even in an edge.
  void edgeFrom(mlir::Value value, const std::string &target,
                llvm::StringRef) {
    auto it = values.find(value);
    if (it != values.end())
      edges.push_back(it->second + " -> " + target);
  }

  void operation(mlir::Operation *op, llvm::StringRef entry,
                 llvm::StringRef indent) {
    llvm::StringRef name = op->getName().getStringRef();
    if (name == "func.return") {
      auto f = op->getParentOfType<mlir::func::FuncOp>();
      for (auto [i, value] : llvm::enumerate(op->getOperands())) {
        std::string id = node();
        auto output =
            f.getResultAttrOfType<mlir::StringAttr>(i, attr::kOutput);
        os << indent << id
           << " [shape=ellipse, style=filled, fillcolor=\"#ffe8c8\", "
              "label=\"output "
           << escape(output ? output.getValue() : "") << "\\n"
           << describeType(value.getType()) << "\"];\n";
        edgeFrom(value, id, indent);
      }
      return;
    }
    if (name == "kernel.fused") {
      fused(op, entry, indent);
      return;
    }
    std::string id = node();
    bool library = isLibraryCall(op);
    llvm::StringRef shortName = name.split('.').second;
    os << indent << id << " [shape=box, "
       << (library ? "style=\"filled,bold\", fillcolor=\"#ffd8d8\", " : "")
       << "label=\"" << (library ? "library: " : "") << escape(shortName)
       << escape(library ? describeEpilogue(op) : "") << "\\n"
       << escape(describeLoc(op->getLoc(), entry)) << "\\n"
       << (op->getNumResults() ? describeType(op->getResult(0).getType())
                               : "")
       << "\"];\n";
    for (mlir::Value operand : op->getOperands())
      edgeFrom(operand, id, indent);
    for (mlir::Value result : op->getResults())
      values[result] = id;
  }

  /// A fused kernel: a cluster of its ops, entered through its block
  /// arguments and left through its yield.
  void fused(mlir::Operation *op, llvm::StringRef entry,
             llvm::StringRef indent) {
    ++kernels;
    auto kind = op->getAttrOfType<mlir::StringAttr>("kind");
    os << indent << "subgraph cluster_kernel" << kernels << " {\n"
       << indent << "  label=\"kernel " << kernels << ": "
       << escape(kind ? kind.getValue() : "") << "\"; style=filled; "
       << "fillcolor=\"#f2f7ee\";\n";
    mlir::Block &body = op->getRegion(0).front();
    for (auto [arg, operand] :
         llvm::zip(body.getArguments(), op->getOperands())) {
      auto it = values.find(operand);
      if (it != values.end()) {
        std::string id = it->second; // values[] may grow and move it
        values[arg] = id;
      }
    }
    std::string inner = (indent + "  ").str();
    for (mlir::Operation &nested : body) {
      if (nested.getName().getStringRef() == "kernel.yield") {
        for (auto [result, yielded] :
             llvm::zip(op->getResults(), nested.getOperands())) {
          auto it = values.find(yielded);
          if (it != values.end()) {
            std::string id = it->second;
            values[result] = id;
          }
        }
        continue;
      }
      operation(&nested, entry, inner);
    }
    os << indent << "}\n";
  }

  llvm::raw_ostream &os;
  llvm::DenseMap<mlir::Value, std::string> values;
  std::vector<std::string> edges;
  int next = 0, kernels = 0;
};

/// "conv1 · Classifiers.cpp:39, conv2 · Classifiers.cpp:40" (each once).
std::string sourcesOf(mlir::Operation *op, llvm::StringRef entry) {
  std::vector<std::string> seen;
  auto add = [&](mlir::Operation *o) {
    std::string where = describeLoc(o->getLoc(), entry);
    if (!where.empty() && llvm::find(seen, where) == seen.end())
      seen.push_back(where);
  };
  if (op->getNumRegions())
    op->getRegion(0).walk([&](mlir::Operation *o) {
      if (o->getName().getStringRef() != "kernel.yield")
        add(o);
    });
  else
    add(op);
  return llvm::join(seen, ", ");
}

} // namespace

void printKernelReport(mlir::ModuleOp module, llvm::raw_ostream &os) {
  for (auto f : module.getOps<mlir::func::FuncOp>()) {
    if (f.isExternal() || !f.isPublic())
      continue;
    struct Row {
      std::string kind, ops, sources;
      int64_t flops, bytes;
    };
    std::vector<Row> rows;
    int64_t totalFlops = 0, totalBytes = 0, library = 0;
    for (mlir::Operation &op : f.getBody().front()) {
      llvm::StringRef name = op.getName().getStringRef();
      bool fused = name == "kernel.fused";
      if (!fused && !isLibraryCall(&op))
        continue;
      Row row;
      if (fused) {
        auto kind = op.getAttrOfType<mlir::StringAttr>("kind");
        row.kind = "fused " + (kind ? kind.getValue().str() : "");
        std::vector<std::string> names;
        op.getRegion(0).walk([&](mlir::Operation *o) {
          if (o->getName().getStringRef() != "kernel.yield")
            names.push_back(o->getName().getStringRef().split('.').second.str());
        });
        row.ops = llvm::join(names, " ");
      } else {
        ++library;
        row.kind = "library";
        row.ops = name.split('.').second.str() + describeEpilogue(&op);
      }
      kernel::Cost cost = kernel::estimateCost(&op);
      row.flops = cost.flops;
      row.bytes = cost.bytes;
      row.sources = sourcesOf(&op, f.getSymName());
      totalFlops += row.flops;
      totalBytes += row.bytes;
      rows.push_back(std::move(row));
    }
    os << llvm::formatv("entry {0}: {1} kernels ({2} library calls), {3:F3} "
                        "MFLOP, {4:F3} MB moved\n",
                        f.getSymName(), rows.size(), library,
                        totalFlops / 1e6, totalBytes / 1e6);
    os << llvm::formatv("  {0,-4} {1,-18} {2,10} {3,10}  {4}\n", "#",
                        "kind", "MFLOP", "MB", "ops  [source]");
    for (auto [i, row] : llvm::enumerate(rows))
      os << llvm::formatv("  {0,-4} {1,-18} {2,10:F3} {3,10:F3}  {4}  [{5}]\n",
                          i + 1, row.kind, row.flops / 1e6, row.bytes / 1e6,
                          row.ops, row.sources);
  }
}

void printDot(mlir::ModuleOp module, llvm::raw_ostream &os) {
  os << "digraph \"" << escape(module.getSymName().value_or("model"))
     << "\" {\n  rankdir=TB; node [fontname=\"Helvetica\", fontsize=11];\n"
     << "  edge [color=\"#666666\"];\n";
  DotWriter writer(os);
  for (auto f : module.getOps<mlir::func::FuncOp>())
    if (!f.isExternal() && f.isPublic())
      writer.entry(f);
  os << "}\n";
}

} // namespace kiln::driver
