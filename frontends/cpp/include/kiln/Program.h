//===- Program.h - A model's entry points, emitted as graph IR ------------===//
//
// A Program gathers the entry points (forward, loss, ...) built from one
// model and emits them as one `graph` dialect module, verified. The text is
// the hand-off to the compiler; no MLIR type appears in this header.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DSL_PROGRAM_H
#define KILN_DSL_PROGRAM_H

#include "kiln/Module.h"
#include "kiln/Tensor.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln {

class Program {
public:
  /// `model` must outlive the program.
  Program(std::string name, const Module &model);

  /// Starts a new entry point whose first arguments are the model's
  /// parameters and buffers.
  Graph &addEntry(const std::string &name);

  const std::string &name() const { return name_; }
  const Module &model() const { return model_; }
  const std::vector<std::unique_ptr<Graph>> &entries() const {
    return entries_;
  }

  /// The program as `graph` dialect text, verified. With `debugInfo`, every
  /// op carries its location: the user's file and line inside the module
  /// path that created it. Throws GraphError if verification fails.
  std::string emitGraphIR(bool debugInfo = false) const;

  /// A human-readable summary: parameters with shapes and counts, entry
  /// points with their inputs and outputs, and an op histogram.
  std::string summary() const;

private:
  std::string name_;
  const Module &model_;
  std::vector<std::unique_ptr<Graph>> entries_;
};

} // namespace kiln

#endif // KILN_DSL_PROGRAM_H
