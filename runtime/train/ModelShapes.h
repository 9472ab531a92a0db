//===- ModelShapes.h - What a compiled model takes and scores -------------===//
//
// Read from a model's manifest by the trainer and the sampler: whether it
// classifies images or scores token windows, and their sizes.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TRAIN_MODELSHAPES_H
#define KILN_RUNTIME_TRAIN_MODELSHAPES_H

#include "kiln/runtime/Training.h"

namespace kiln::rt {

/// What the model's `forward` takes per example and how many classes its
/// logits score. A model of token windows takes x [B, T] (integer ids) and
/// scores each position: logits [B, T, vocabulary].
struct ModelShapes {
  std::vector<int64_t> example; // x's shape without the batch dimension.
  int64_t classes = 0;
  int64_t context = 0; // token models: T
  bool masked = false; // token models: the loss takes a `mask` input
};

/// The shapes of `model`'s forward (and loss) entries; an error if it
/// has no `forward` taking x and returning logits.
StatusOr<ModelShapes> modelShapes(const CompiledModel &model);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_MODELSHAPES_H
