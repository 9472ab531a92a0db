//===- Zoo.h - The reference models of docs/models.md, built with the DSL ===//

#ifndef KILN_FRONTENDS_MODELS_ZOO_H
#define KILN_FRONTENDS_MODELS_ZOO_H

#include "kiln/DSL.h"
#include "kiln/Model.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kiln::zoo {

/// Every model of the zoo, in the order of docs/models.md.
const std::vector<ModelInfo> &models();
/// The model named `name`, or null.
const ModelInfo *findModel(const std::string &name);

/// A Fashion-MNIST classifier's program: forward(x) -> logits and loss(x,
/// y) -> mean cross-entropy; the loss runs the model in training mode
/// (batch statistics, running statistics updated). `Model` is built from
/// a dtype and maps images [B, 1, 28, 28] to logits.
template <typename Model>
BuiltModel buildClassifier(const std::string &name,
                           const ModelOptions &options) {
  auto model = std::make_unique<Model>(options.dtype);
  auto program = std::make_unique<Program>(name, *model);
  Shape images{options.batch, 1, 28, 28};

  Graph &forward = program->addEntry("forward");
  forward.output("logits",
                 (*model)(forward.input("x", images, options.dtype)));

  Graph &loss = program->addEntry("loss");
  loss.setTraining(true);
  Tensor logits = (*model)(loss.input("x", images, options.dtype));
  Tensor labels = loss.input("y", {options.batch}, DType::I64);
  loss.output("loss", cross_entropy(logits, labels));
  return {std::move(model), std::move(program)};
}

// Families, one file each; they append to the zoo.
void addClassifiers(std::vector<ModelInfo> &zoo);
void addVision(std::vector<ModelInfo> &zoo);
void addRecurrent(std::vector<ModelInfo> &zoo);
void addTransformers(std::vector<ModelInfo> &zoo);
void addReversal(std::vector<ModelInfo> &zoo);
void addGenerative(std::vector<ModelInfo> &zoo);
void addDiffusion(std::vector<ModelInfo> &zoo);

} // namespace kiln::zoo

#endif // KILN_FRONTENDS_MODELS_ZOO_H
