//===- Model.cpp - A model as the compiler driver builds it ---------------===//

#include "kiln/Model.h"

#include <string>

namespace kiln {

BuiltModel buildModel(const ModelInfo &info, ModelOptions options) {
  if (options.batch < 0)
    throw GraphError("batch size must be positive, got " +
                     std::to_string(options.batch));
  if (options.batch == 0)
    options.batch = info.defaultBatch;
  return info.build(options);
}

} // namespace kiln
