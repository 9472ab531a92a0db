//===- ReductionOperators.cpp - ONNX reductions as DSL ops ----------------===//
//
// ReduceSum and its relatives over the axes of an attribute or an input
// (as the opset has it), and ArgMax and ArgMin.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/lib/OperatorSupport.h"

#include <algorithm>

namespace kiln::onnx {

void convertReduce(Ctx &c, const std::string &op) {
  Tensor x = c.tensor(0);
  int64_t rank = x.rank();
  // ReduceSum takes axes as an input from opset 13, the others from 18.
  int64_t inputOpset = op == "ReduceSum" ? 13 : 18;
  std::optional<std::vector<int64_t>> axes = axesOf(c, inputOpset, 1);
  bool keep = c.attrInt("keepdims", 1);
  Shape dims;
  if (!axes || axes->empty()) {
    if (c.attrInt("noop_with_empty_axes", 0)) {
      c.setOutput(0, x);
      return;
    }
    for (int64_t d = 0; d < rank; ++d)
      dims.push_back(d);
  } else {
    for (int64_t a : *axes)
      dims.push_back(normalizeAxis(c, a, rank));
  }
  Tensor y;
  if (op == "ReduceSum")
    y = sum(x, dims, keep);
  else if (op == "ReduceMean")
    y = mean(x, dims, keep);
  else if (op == "ReduceMax")
    y = amax(x, dims, keep);
  else if (op == "ReduceMin")
    y = amin(x, dims, keep);
  else if (op == "ReduceL1")
    y = sum(abs(x), dims, keep);
  else if (op == "ReduceL2")
    y = sqrt(sum(x * x, dims, keep));
  else if (op == "ReduceSumSquare")
    y = sum(x * x, dims, keep);
  else if (op == "ReduceLogSum")
    y = log(sum(x, dims, keep));
  else { // ReduceLogSumExp, shifted by the maximum
    Tensor m = amax(x, dims, true);
    y = log(sum(exp(x - m), dims, true)) + m;
    if (!keep) {
      Shape s;
      for (int64_t d = 0; d < rank; ++d)
        if (std::find(dims.begin(), dims.end(), d) == dims.end())
          s.push_back(x.size(d));
      y = reshape(y, s);
    }
  }
  c.setOutput(0, y);
}

void convertArg(Ctx &c, bool isMax) {
  Tensor x = c.tensor(0);
  int64_t axis = normalizeAxis(c, c.attrInt("axis", 0), x.rank());
  bool keep = c.attrInt("keepdims", 1);
  Tensor scores = isMax ? x : neg(x);
  if (!c.attrInt("select_last_index", 0)) {
    c.setOutput(0, argmax(scores, axis, keep));
    return;
  }
  // The last of equal maxima: the first in the reversed axis, counted
  // back from the end.
  Tensor first = argmax(reverseAxis(c, scores, axis), axis, keep);
  c.setOutput(0, scalar_like(first, double(x.size(axis) - 1)) - first);
}

} // namespace kiln::onnx
