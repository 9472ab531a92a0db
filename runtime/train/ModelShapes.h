//===- ModelShapes.h - What a compiled model takes and scores -------------===//
//
// Read from a model's manifest by the trainer and the sampler: whether it
// classifies images or scores token windows, and their sizes.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_TRAIN_MODELSHAPES_H
#define KILN_RUNTIME_TRAIN_MODELSHAPES_H

#include "kiln/runtime/SafeTensors.h"
#include "kiln/runtime/Training.h"

namespace kiln::rt {

/// What the model's `forward` takes per example and how many classes its
/// logits score. A model of token windows takes x [B, T] (integer ids) and
/// scores each position: logits [B, T, vocabulary]. An encoder-decoder of
/// the reversal task takes src [B, S] and tgt [B, S+1] and scores each
/// target position: logits [B, S+1, vocabulary].
struct ModelShapes {
  std::vector<int64_t> example; // x's (src's) shape without the batch.
  int64_t classes = 0;
  int64_t context = 0; // token models: T
  bool masked = false; // token models: the loss takes a `mask` input
  int64_t source = 0;  // reversal models: S (0 for the others)
  /// A model of images without labels (vae): its `loss` takes x alone, and
  /// evaluation reports the held-out loss only.
  bool unsupervised = false;
  /// The positions each example's logits score: T, S+1, or 1.
  int64_t positions() const {
    return source > 0 ? source + 1 : context > 0 ? context : 1;
  }
};

/// The shapes of `model`'s forward (and loss) entries; an error if it
/// has no `forward` taking x and returning logits.
StatusOr<ModelShapes> modelShapes(const CompiledModel &model);

/// Arguments for `entry`: zero inputs, and its parameters and buffers from
/// `params`, which must hold each with the shape and dtype the entry takes
/// (errors name `source`, where `params` came from).
StatusOr<std::vector<HostTensor>> bindState(const EntrySpec &entry,
                                            const SafeTensorsFile &params,
                                            const std::string &source);
/// The argument of `entry` that is the input `name`, or null.
HostTensor *inputNamed(const EntrySpec &entry, std::vector<HostTensor> &args,
                       const std::string &name);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_MODELSHAPES_H
