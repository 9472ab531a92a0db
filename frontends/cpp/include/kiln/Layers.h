//===- Layers.h - PyTorch-compatible layers of the Kiln C++ DSL -----------===//
//
// Each layer has PyTorch's parameter names, shapes, layouts and default
// initialization, so a state_dict moves between the two unchanged.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DSL_LAYERS_H
#define KILN_DSL_LAYERS_H

#include "kiln/Module.h"
#include "kiln/Ops.h"

namespace kiln {

/// y = x W^T + b; weight [out, in], bias [out]. Inputs of any rank >= 1
/// whose last dimension is `in`.
class Linear : public Module {
public:
  Linear(Module *parent, std::string name, int64_t in, int64_t out,
         bool bias = true);
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  int64_t in, out;
  Param weight, bias;
  bool hasBias;
};

/// 2-D convolution, NCHW; weight [out, in/groups, kh, kw], bias [out].
class Conv2d : public Module {
public:
  struct Options {
    int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
    bool bias = true;
  };
  Conv2d(Module *parent, std::string name, int64_t in, int64_t out,
         int64_t kernel, Options options);
  Conv2d(Module *parent, std::string name, int64_t in, int64_t out,
         int64_t kernel)
      : Conv2d(parent, std::move(name), in, out, kernel, Options{}) {}
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  int64_t in, out, kernel;
  Options options;
  Param weight, bias;
};

/// Batch normalization over the channels of NCHW input (PyTorch's
/// BatchNorm2d): weight [C] (ones), bias [C] (zeros), and the buffers
/// running_mean [C] (zeros), running_var [C] (ones) and
/// num_batches_tracked (int64 scalar). In a training graph it normalizes
/// with the batch statistics and updates the buffers (momentum 0.1, the
/// running variance unbiased); otherwise it uses the running statistics.
class BatchNorm2d : public Module {
public:
  BatchNorm2d(Module *parent, std::string name, int64_t channels,
              double epsilon = 1e-5, double momentum = 0.1);
  Tensor operator()(const Tensor &x,
                    SourceLoc loc = SourceLoc::current()) const;

  int64_t channels;
  double epsilon, momentum;
  Param weight, bias, runningMean, runningVar, numBatchesTracked;
};

} // namespace kiln

#endif // KILN_DSL_LAYERS_H
