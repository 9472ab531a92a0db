//===- Onnx.h - Models from .onnx files, as DSL programs ------------------===//
//
// The ONNX frontend: an .onnx file (a ModelProto) becomes a DSL model and
// program, so everything kilnc does for a zoo model it does for an imported
// one. Initializers become the model's parameters, named as in the file
// (PyTorch exports keep state_dict keys); batch-norm statistics become
// buffers; the graph's inputs become `forward`'s inputs and its outputs
// `forward`'s results. Shape computations on values known at import time
// (Shape -> Gather -> Concat -> Reshape chains) are folded away.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_FRONTENDS_ONNX_H
#define KILN_FRONTENDS_ONNX_H

#include "kiln/Model.h"

#include <string>
#include <utility>
#include <vector>

namespace kiln::onnx {

struct ImportOptions {
  /// Shapes of inputs with symbolic dimensions ("N=1x3x224x224" parsed).
  std::vector<std::pair<std::string, Shape>> inputShapes;
  /// "" (inference only), "cross_entropy" or "mse": adds a `loss` entry
  /// over the model's single output and a label input `y`, from which
  /// kilnc derives `grad` and `train_step`. The model's input is then
  /// called `x` and its output `logits`, as the training loop expects.
  std::string loss;
};

/// The value an imported parameter or buffer starts from.
struct InitialValue {
  std::string name;
  Shape shape;
  DType dtype;
  std::vector<unsigned char> bytes; ///< little-endian, row-major
};

struct ImportedModel {
  BuiltModel built;
  /// Every parameter and buffer, in the model's order.
  std::vector<InitialValue> initialValues;
  /// Operator-set version of the default domain.
  int64_t opset = 0;
};

/// Parses "1x3x224x224" (positive sizes; "" for a scalar). Throws
/// GraphError.
Shape parseShape(const std::string &text);

/// Imports the model at `path`. The program is named `name`. Throws
/// GraphError with a message naming the file and, where one is at fault,
/// the node (name, op type, domain, opset), the tensor or the input.
ImportedModel importModel(const std::string &path, const std::string &name,
                          const ImportOptions &options);

} // namespace kiln::onnx

#endif // KILN_FRONTENDS_ONNX_H
