//===- Model.h - A model as the compiler driver builds it -----------------===//
//
// A program that defines models with the DSL describes each with a
// ModelInfo and hands the list to kiln::driver::kilncMain (kiln/Driver.h),
// which builds the one asked for (--model=NAME) at the batch size and dtype
// asked for.
//
// What makes a model trainable by its executable (kilnc --emit=exe):
//   - an entry `forward` (inference) and an entry `loss` built with
//     Graph::setTraining(true), whose first output is a float scalar;
//     kilnc derives `grad` and `train_step` from `loss`;
//   - inputs the training loop feeds by name: `x` (images [B, 1, 28, 28]
//     of Fashion-MNIST or a text file's rows, or token windows [B, T]),
//     `y` (integer labels [B] or targets [B, T]), and where a model has
//     them `mask`, `src`/`tgt` (the reversal task), `rng_seed` and
//     `rng_offset` (i64 scalars for random numbers drawn inside the step)
//     and `x_neg` (an energy-based model's negatives). Any other input is
//     refused by name before training starts.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DSL_MODEL_H
#define KILN_DSL_MODEL_H

#include "kiln/Module.h"
#include "kiln/Program.h"

#include <functional>
#include <memory>
#include <string>

namespace kiln {

/// What a model is built for: the batch size (0: the model's default) and
/// the dtype of its floating-point parameters and inputs.
struct ModelOptions {
  int64_t batch = 0;
  DType dtype = DType::F32;
};

/// A model and the program of its entry points; the program refers to the
/// model, so they travel together.
struct BuiltModel {
  std::unique_ptr<Module> model;
  std::unique_ptr<Program> program;
};

/// A model a program offers: its name (--model=NAME), a line for
/// --list-models, its default batch size, and how to build it.
struct ModelInfo {
  std::string name;
  std::string description;
  int64_t defaultBatch;
  std::function<BuiltModel(const ModelOptions &)> build;
  /// The optimizer of its train steps (graph-train-step options, e.g.
  /// "optimizer=adam lr=2e-4 beta1=0.5"), unless the user gives one with
  /// --train-step; empty: Adam, lr 1e-3.
  std::string trainStep = "";
};

/// Builds `info` with `options`, batch 0 meaning its default batch size.
/// Throws GraphError for a negative batch.
BuiltModel buildModel(const ModelInfo &info, ModelOptions options);

} // namespace kiln

#endif // KILN_DSL_MODEL_H
