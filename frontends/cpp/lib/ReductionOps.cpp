//===- ReductionOps.cpp - The DSL's reductions, softmax and losses --------===//
//
// Reductions over dimensions, argmax, softmax and log-softmax, and the
// losses: those the dialect has as ops and those composed of others
// (cross-entropy with ignored labels or smoothing, NLL, L1, smooth L1,
// KL divergence).
//
//===----------------------------------------------------------------------===//

#include "frontends/cpp/lib/OpSupport.h"

#include <fmt/format.h>

#include <cmath>

namespace kiln {
namespace {

Tensor reduceOp(const char *op, const Tensor &x, Shape dims, bool keepDims,
                SourceLoc loc) {
  if (x.dtype() == DType::I1)
    x.graph().fail(op, "input must be numeric, got i1", loc);
  Shape shape = check(x.graph(), op, shapes::reduce(x.shape(), dims, keepDims),
                      loc);
  Attrs attrs{{"dims", dims}};
  if (keepDims)
    attrs.push_back({"keep_dims", UnitAttr{}});
  return single(x.graph(), op, {x}, std::move(attrs), shape, x.dtype(), loc);
}

Tensor softmaxOp(const char *op, const Tensor &x, int64_t axis,
                 SourceLoc loc) {
  requireFloat(op, x, "input", loc);
  check(x.graph(), op, shapes::alongAxis(x.shape(), axis), loc);
  return single(x.graph(), op, {x}, {{"axis", axis}}, x.shape(), x.dtype(),
                loc);
}

Tensor elementwiseLoss(const char *op, const Tensor &input,
                       const Tensor &target, Reduction reduction,
                       SourceLoc loc) {
  requireFloat(op, input, "input", loc);
  requireSameDType(op, input, target, loc);
  Shape shape = check(input.graph(), op,
                      shapes::elementwiseLoss(
                          input.shape(), target.shape(),
                          static_cast<shapes::Reduction>(reduction)),
                      loc);
  return single(input.graph(), op, {input, target},
                {{"reduction", EnumAttr{static_cast<int64_t>(reduction)}}},
                shape, input.dtype(), loc);
}

} // namespace

//===----------------------------------------------------------------------===//
// Reductions and softmax
//===----------------------------------------------------------------------===//

Tensor sum(const Tensor &x, Shape dims, bool keepDims, SourceLoc loc) {
  return reduceOp("graph.reduce_sum", x, dims, keepDims, loc);
}
Tensor mean(const Tensor &x, Shape dims, bool keepDims, SourceLoc loc) {
  return reduceOp("graph.reduce_mean", x, dims, keepDims, loc);
}
Tensor amax(const Tensor &x, Shape dims, bool keepDims, SourceLoc loc) {
  return reduceOp("graph.reduce_max", x, dims, keepDims, loc);
}
Tensor amin(const Tensor &x, Shape dims, bool keepDims, SourceLoc loc) {
  return reduceOp("graph.reduce_min", x, dims, keepDims, loc);
}

Tensor argmax(const Tensor &x, int64_t dim, bool keepDims, SourceLoc loc) {
  const char *op = "graph.argmax";
  Shape shape =
      check(x.graph(), op, shapes::reduce(x.shape(), {dim}, keepDims), loc);
  Attrs attrs{{"dim", dim}};
  if (keepDims)
    attrs.push_back({"keep_dims", UnitAttr{}});
  return single(x.graph(), op, {x}, std::move(attrs), shape, DType::I64, loc);
}

Tensor softmax(const Tensor &x, int64_t axis, SourceLoc loc) {
  return softmaxOp("graph.softmax", x, axis, loc);
}
Tensor log_softmax(const Tensor &x, int64_t axis, SourceLoc loc) {
  return softmaxOp("graph.log_softmax", x, axis, loc);
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

namespace {

/// The mean, sum or the values themselves of per-example `losses`.
Tensor reduceLoss(const Tensor &losses, Reduction reduction, SourceLoc loc) {
  Shape all(losses.rank());
  for (int64_t i = 0; i < losses.rank(); ++i)
    all[i] = i;
  switch (reduction) {
  case Reduction::None:
    return losses;
  case Reduction::Sum:
    return sum(losses, all, false, loc);
  case Reduction::Mean:
    break;
  }
  return mean(losses, all, false, loc);
}

/// The loss of `logProbs [N, C]` against `labels [N]` as cross-entropy
/// with smoothing `smoothing` and an optional ignored label, reduced.
Tensor classLoss(const char *op, const Tensor &logProbs, const Tensor &labels,
                 std::optional<int64_t> ignoreIndex, double smoothing,
                 Reduction reduction, SourceLoc loc) {
  requireFloat(op, logProbs, "input", loc);
  requireInteger(op, labels, "labels", loc);
  check(logProbs.graph(), op,
        shapes::crossEntropy(logProbs.shape(), labels.shape(),
                             static_cast<shapes::Reduction>(reduction)),
        loc);
  if (!(smoothing >= 0 && smoothing <= 1))
    logProbs.graph().fail(op,
                          fmt::format("label smoothing must be in [0, 1], "
                                      "got {}",
                                      smoothing),
                          loc);
  int64_t classes = logProbs.shape()[1];
  Tensor picked = labels, valid;
  if (ignoreIndex) {
    Tensor ignored =
        scalar_like(labels, static_cast<double>(*ignoreIndex), loc);
    valid = ne(labels, ignored, loc);
    picked = where(valid, labels, scalar_like(labels, 0, loc), loc);
  }
  Tensor hot = one_hot(picked, classes, logProbs.dtype(), loc);
  Tensor losses = -sum(logProbs * hot, {1}, false, loc);
  if (smoothing > 0)
    losses = losses * (1 - smoothing) -
             mean(logProbs, {1}, false, loc) * smoothing;
  if (!valid.valid())
    return reduceLoss(losses, reduction, loc);
  Tensor weights = cast(valid, logProbs.dtype(), loc);
  losses = losses * weights;
  if (reduction != Reduction::Mean)
    return reduceLoss(losses, reduction, loc);
  // PyTorch's mean over the labels that count (NaN when none does).
  return sum(losses, {0}, false, loc) / sum(weights, {0}, false, loc);
}

} // namespace

Tensor cross_entropy(const Tensor &logits, const Tensor &labels,
                     const CrossEntropyOptions &options, SourceLoc loc) {
  const char *op = "graph.cross_entropy";
  if (options.ignore_index_ || options.label_smoothing_ != 0) {
    requireFloat(op, logits, "logits", loc);
    return classLoss("cross_entropy", log_softmax(logits, 1, loc), labels,
                     options.ignore_index_, options.label_smoothing_,
                     options.reduction_, loc);
  }
  Reduction reduction = options.reduction_;
  requireFloat(op, logits, "logits", loc);
  requireInteger(op, labels, "labels", loc);
  Shape shape = check(logits.graph(), op,
                      shapes::crossEntropy(
                          logits.shape(), labels.shape(),
                          static_cast<shapes::Reduction>(reduction)),
                      loc);
  return single(logits.graph(), op, {logits, labels},
                {{"reduction", EnumAttr{static_cast<int64_t>(reduction)}}},
                shape, logits.dtype(), loc);
}

Tensor nll_loss(const Tensor &logProbs, const Tensor &labels,
                const NllLossOptions &options, SourceLoc loc) {
  return classLoss("nll_loss", logProbs, labels, options.ignore_index_, 0,
                   options.reduction_, loc);
}

Tensor l1_loss(const Tensor &input, const Tensor &target, Reduction reduction,
               SourceLoc loc) {
  requireFloat("l1_loss", input, "input", loc);
  check(input.graph(), "l1_loss",
        shapes::elementwiseLoss(input.shape(), target.shape(),
                                static_cast<shapes::Reduction>(reduction)),
        loc);
  return reduceLoss(abs(input - target, loc), reduction, loc);
}

Tensor smooth_l1_loss(const Tensor &input, const Tensor &target,
                      Reduction reduction, double beta, SourceLoc loc) {
  requireFloat("smooth_l1_loss", input, "input", loc);
  check(input.graph(), "smooth_l1_loss",
        shapes::elementwiseLoss(input.shape(), target.shape(),
                                static_cast<shapes::Reduction>(reduction)),
        loc);
  if (!(beta > 0 && std::isfinite(beta)))
    input.graph().fail("smooth_l1_loss",
                       fmt::format("beta must be positive, got {}", beta),
                       loc);
  Tensor d = abs(input - target, loc);
  Tensor quadratic = d * d * (0.5 / beta);
  Tensor linear = d - 0.5 * beta;
  return reduceLoss(
      where(lt(d, scalar_like(d, beta, loc), loc), quadratic, linear, loc),
      reduction, loc);
}

Tensor kl_div(const Tensor &input, const Tensor &target,
              const KLDivOptions &options, SourceLoc loc) {
  requireFloat("kl_div", input, "input", loc);
  requireSameDType("kl_div", input, target, loc);
  check(input.graph(), "kl_div",
        shapes::elementwiseLoss(input.shape(), target.shape(),
                                shapes::Reduction::None),
        loc);
  Tensor pointwise;
  if (options.log_target_) {
    pointwise = exp(target, loc) * (target - input);
  } else {
    // target log target, with 0 log 0 = 0 (torch's xlogy).
    Tensor zero = scalar_like(target, 0, loc);
    Tensor positive = gt(target, zero, loc);
    Tensor safe = where(positive, target, scalar_like(target, 1, loc), loc);
    pointwise = where(positive, target * (log(safe, loc) - input),
                      zero - target * input, loc);
  }
  Shape all(pointwise.rank());
  for (int64_t i = 0; i < pointwise.rank(); ++i)
    all[i] = i;
  switch (options.reduction_) {
  case KLDivReduction::None:
    return pointwise;
  case KLDivReduction::Sum:
    return sum(pointwise, all, false, loc);
  case KLDivReduction::Mean:
    return mean(pointwise, all, false, loc);
  case KLDivReduction::BatchMean:
    break;
  }
  double batch = pointwise.rank() > 0 ? pointwise.shape()[0] : 1;
  return sum(pointwise, all, false, loc) / batch;
}

Tensor mse_loss(const Tensor &input, const Tensor &target, Reduction reduction,
               SourceLoc loc) {
  return elementwiseLoss("graph.mse_loss", input, target, reduction, loc);
}

Tensor binary_cross_entropy_with_logits(const Tensor &logits,
                                        const Tensor &target,
                                        Reduction reduction, SourceLoc loc) {
  return elementwiseLoss("graph.bce_with_logits", logits, target, reduction,
                         loc);
}

} // namespace kiln
