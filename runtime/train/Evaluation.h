//===- Evaluation.h - A model's loss and accuracy on a held-out set -------===//

#ifndef KILN_RUNTIME_TRAIN_EVALUATION_H
#define KILN_RUNTIME_TRAIN_EVALUATION_H

#include "train/ModelShapes.h"

#include "kiln/runtime/SafeTensors.h"
#include "kiln/runtime/Training.h"

#include <cmath>
#include <string>
#include <vector>

namespace kiln::rt {

/// What an evaluation measured.
struct Evaluation {
  double loss = 0, accuracy = 0;
  /// The reversal task: the share of problems whose greedy decoding (the
  /// `decode` entry) is exactly the reversed source and EOS; -1 without.
  double sequences = -1;
  /// Only a loss was measured (models without labels).
  bool lossOnly = false;
  /// The headline accuracy: exact sequences where measured.
  double headline() const {
    return lossOnly ? std::nan("") : sequences >= 0 ? sequences : accuracy;
  }
};

/// "test accuracy 91.81%", or for the reversal task "token accuracy
/// 99.95%, exact sequences 99.40% (greedy)".
std::string describeAccuracy(const Evaluation &e);

/// Mean cross-entropy and accuracy of `forward` over `data`, with the
/// parameters found by name in `state`: per example for classifiers, per
/// predicted position (every position, or the masked ones) for token and
/// reversal models; for the reversal task, greedy decoding's exact
/// sequences; for a model without labels, the mean of its `loss`.
Status evaluateOn(const CompiledModel &model, const ModelShapes &shapes,
                  const Dataset &data, const std::vector<NamedTensor> &state,
                  Evaluation &result);

} // namespace kiln::rt

#endif // KILN_RUNTIME_TRAIN_EVALUATION_H
