//===- Zoo.cpp - The registry of built-in models --------------------------===//

#include "frontends/models/Zoo.h"

namespace kiln::zoo {

const std::vector<ModelInfo> &models() {
  static const std::vector<ModelInfo> zoo = [] {
    std::vector<ModelInfo> all;
    addClassifiers(all);
    addVision(all);
    addRecurrent(all);
    addTransformers(all);
    addReversal(all);
    addGenerative(all);
    addDiffusion(all);
    return all;
  }();
  return zoo;
}

const ModelInfo *findModel(const std::string &name) {
  for (const ModelInfo &m : models())
    if (m.name == name)
      return &m;
  return nullptr;
}

} // namespace kiln::zoo
