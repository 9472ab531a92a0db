//===- tiny_mlp.cpp - A user's own model, compiled with every kilnc flag --===//
//
// A model written with the DSL in a program of its own: linking kilnc's
// driver library gives it every kilnc flag. Built and run by the test suite:
//
//   tiny-mlp --summary                 graph IR and summary
//   tiny-mlp --emit=so -o tiny.so      a shared library for kiln-run
//   tiny-mlp --emit=exe -o tiny        a program that also trains it:
//                                      tiny train --data text ...
//
// `forward` maps x [B, 16] to logits y [B, 4]; `loss` (cross-entropy
// against integer labels y, with dropout 0.1 on the hidden layer while
// training) makes it trainable: grad and train_step derive from it.
//===----------------------------------------------------------------------===//

#include "kiln/DSL.h"
#include "kiln/Driver.h"

using namespace kiln;

namespace {

/// Two linear layers with a GELU between them, on 16 features; dropout on
/// the hidden layer in training.
struct TinyMlp : Module {
  Linear hidden{this, "hidden", 16, 32};
  Dropout drop{this, "drop", 0.1};
  Linear out{this, "out", 32, 4};

  explicit TinyMlp(DType dtype) : Module("TinyMlp", dtype) {}

  Tensor operator()(const Tensor &x) const {
    return out(drop(gelu(hidden(x))));
  }
};

BuiltModel build(const ModelOptions &options) {
  auto model = std::make_unique<TinyMlp>(options.dtype);
  auto program = std::make_unique<Program>("tiny_mlp", *model);
  Graph &forward = program->addEntry("forward");
  Tensor x = forward.input("x", {options.batch, 16}, options.dtype);
  forward.output("y", (*model)(x));
  Graph &loss = program->addEntry("loss");
  loss.setTraining(true);
  Tensor logits = (*model)(loss.input("x", {options.batch, 16}, options.dtype));
  Tensor labels = loss.input("y", {options.batch}, DType::I64);
  loss.output("loss", cross_entropy(logits, labels));
  return {std::move(model), std::move(program)};
}

} // namespace

int main(int argc, char **argv) {
  return driver::kilncMain(argc, argv,
                           {{"tiny_mlp", "16 -> 32 (GELU) -> 4", 8, build}});
}
