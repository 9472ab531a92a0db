//===- GraphSource.h - kilnc's input: a model, an .mlir or an .onnx file --===//
//
// Where the graph module kilnc compiles comes from: a model the program
// offers (built with the C++ DSL), a graph IR file (screened, then parsed
// with located errors), or an ONNX model (imported, optionally with a loss
// added and its initializers written out). Errors are printed as kilnc
// prints them (Report.h); a null module means one was.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_DRIVER_GRAPHSOURCE_H
#define KILN_COMPILER_DRIVER_GRAPHSOURCE_H

#include "kiln/Model.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <vector>

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace kiln::driver {

struct GraphSource {
  /// A model the program offers; when null, `inputFile` is read.
  const ModelInfo *model = nullptr;
  /// The model's batch (0: its default) and element type.
  ModelOptions modelOptions;
  /// A graph IR (.mlir) or ONNX (.onnx) file.
  std::string inputFile;
  /// For an .onnx file: NAME=AxBx... shapes of its symbolic inputs, the
  /// loss to add (cross_entropy, mse or empty) and where to write its
  /// initializers (empty: nowhere).
  std::vector<std::string> inputShapes;
  std::string onnxLoss;
  std::string paramsOut;
};

/// Whether `path` names an ONNX model.
bool isOnnxFile(const std::string &path);

/// A symbol-safe name from `path`'s stem: "resnet-18.onnx" -> "resnet_18",
/// "1x.mlir" -> "model_1x".
std::string symbolNameOf(const std::string &path);

/// The graph module of `source` in `context`; `summary` receives the
/// model's summary (empty for an .mlir file). Null after a printed error.
mlir::OwningOpRef<mlir::ModuleOp> loadGraph(const GraphSource &source,
                                            mlir::MLIRContext &context,
                                            std::string &summary);

} // namespace kiln::driver

#endif // KILN_COMPILER_DRIVER_GRAPHSOURCE_H
