//===- OperatorSupport.h - Helpers the ONNX converters share --------------===//
//
// What the converters of the operator families (the <Family>Operators.cpp
// files) share: axis and shape arithmetic, folding of constants, and the
// converters the table in Operators.cpp maps operator names to.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_FRONTENDS_ONNX_OPERATORSUPPORT_H
#define KILN_FRONTENDS_ONNX_OPERATORSUPPORT_H

#include "frontends/onnx/lib/Importer.h"

#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace kiln::onnx {

using Ctx = NodeContext;

//===----------------------------------------------------------------------===//
// Shared helpers (Operators.cpp)
//===----------------------------------------------------------------------===//

/// `axis` in [-rank, rank) as a non-negative axis.
int64_t normalizeAxis(const Ctx &c, int64_t axis, int64_t rank,
                      const char *what = "axis");

int64_t product(const Shape &s, size_t from = 0,
                size_t to = std::numeric_limits<size_t>::max());

/// Row-major strides of `shape`.
Shape stridesOf(const Shape &shape);

/// The most elements the importer computes itself (shape arithmetic and
/// constant tables); larger results are left to the graph.
constexpr int64_t kMaxFolded = int64_t(1) << 24;

bool foldable(const Shape &shape);

/// NumPy's broadcast of two shapes.
Shape broadcastShapes(const Ctx &c, const Shape &a, const Shape &b);

/// The flat index into `shape` (broadcast to `out`) of output element `k`.
int64_t broadcastIndex(int64_t k, const Shape &out, const Shape &shape);

/// Folds an elementwise op over constants with broadcasting.
template <typename F>
Constant foldBinary(const Ctx &c, const Constant &a, const Constant &b,
                    DType dtype, F op) {
  Shape out = broadcastShapes(c, a.shape, b.shape);
  int64_t n = checkedCount(out, "a folded constant");
  std::vector<double> values(n);
  for (int64_t k = 0; k < n; ++k)
    values[k] = op(a.at(broadcastIndex(k, out, a.shape)),
                   b.at(broadcastIndex(k, out, b.shape)));
  return Constant::ofDoubles(out, std::move(values), dtype);
}

/// Folding with exact 64-bit integers (shape arithmetic).
template <typename F>
Constant foldIntegers(const Ctx &c, const Constant &a, const Constant &b,
                      F op) {
  Shape out = broadcastShapes(c, a.shape, b.shape);
  int64_t n = checkedCount(out, "a folded constant");
  std::vector<int64_t> values(n);
  for (int64_t k = 0; k < n; ++k)
    values[k] = op(a.i[broadcastIndex(k, out, a.shape)],
                   b.i[broadcastIndex(k, out, b.shape)]);
  return Constant::ofInts(out, std::move(values), a.dtype);
}

/// Axes from the `axes` attribute (before `inputOpset`) or input `index`.
std::optional<std::vector<int64_t>> axesOf(const Ctx &c, int64_t inputOpset,
                                           size_t index);

Tensor scalar(const Tensor &like, double v);

//===----------------------------------------------------------------------===//
// Elementwise (ElementwiseOperators.cpp)
//===----------------------------------------------------------------------===//

void unaryOp(Ctx &c, Tensor (*fn)(const Tensor &, SourceLoc),
             double (*fold)(double));
Tensor softplus(const Tensor &x);
Tensor elu(const Tensor &x, double alpha);
/// Whether a binary node's constant operands can be folded: the same
/// dtype, a result of foldable size, and NumPy broadcasting (before opset
/// 7 broadcasting was explicit: left to rhs()).
bool foldsBinary(const Ctx &c);
void binaryOp(Ctx &c, Tensor (*fn)(const Tensor &, const Tensor &, SourceLoc),
              double (*fold)(double, double),
              int64_t (*foldInt)(int64_t, int64_t));
void variadic(Ctx &c, Tensor (*fn)(const Tensor &, const Tensor &, SourceLoc));
void compareOp(Ctx &c, Compare predicate);
void convertPow(Ctx &c);
void convertCast(Ctx &c);
void convertClip(Ctx &c);
void convertWhere(Ctx &c);
void logicOp(Ctx &c, const std::string &op);

//===----------------------------------------------------------------------===//
// Contractions, convolution, pooling, normalization (NeuralOperators.cpp)
//===----------------------------------------------------------------------===//

/// NumPy's matmul of ranks >= 1.
Tensor matmulNd(const Ctx &c, Tensor a, Tensor b);
void convertGemm(Ctx &c);
/// Pads `x` by `before`/`after` per dimension with `value` (mode
/// "constant"), its edge values ("edge") or its mirror ("reflect").
Tensor padTensor(const Ctx &c, Tensor x, const Shape &before,
                 const Shape &after, const std::string &mode, double value);
void convertConv(Ctx &c);
void convertConvTranspose(Ctx &c);
void convertPool(Ctx &c, bool isMax);
void convertGlobalPool(Ctx &c, bool isMax);
void convertBatchNorm(Ctx &c);
void convertLayerNorm(Ctx &c);
void convertInstanceNorm(Ctx &c);
void convertGroupNorm(Ctx &c);
void convertSoftmax(Ctx &c, bool isLog);

//===----------------------------------------------------------------------===//
// Shapes (ShapeOperators.cpp)
//===----------------------------------------------------------------------===//

void convertReshape(Ctx &c);
void convertFlatten(Ctx &c);
void convertSqueeze(Ctx &c);
void convertUnsqueeze(Ctx &c);
void convertTranspose(Ctx &c);
void convertConcat(Ctx &c);
/// `x` with dimension `axis` in reverse order: an embedding lookup of its
/// rows n-1, ..., 0 with `axis` moved first.
Tensor reverseAxis(const Ctx &c, const Tensor &x, int64_t axis);
void convertSlice(Ctx &c);
void convertSplit(Ctx &c);
void convertGather(Ctx &c);
void convertExpand(Ctx &c);
void convertTile(Ctx &c);
void convertPad(Ctx &c);
void convertResize(Ctx &c, bool upsample);

//===----------------------------------------------------------------------===//
// Reductions (ReductionOperators.cpp)
//===----------------------------------------------------------------------===//

void convertReduce(Ctx &c, const std::string &op);
void convertArg(Ctx &c, bool isMax);

//===----------------------------------------------------------------------===//
// Recurrent layers (RecurrentOperators.cpp)
//===----------------------------------------------------------------------===//

void convertRecurrent(Ctx &c, Cell cell);

//===----------------------------------------------------------------------===//
// Constants and shapes of values (ConstantOperators.cpp)
//===----------------------------------------------------------------------===//

void convertConstant(Ctx &c);
void convertShape(Ctx &c);
void convertConstantOfShape(Ctx &c);
void convertRange(Ctx &c);
void convertTrilu(Ctx &c);
void convertScatterND(Ctx &c);
void convertIdentity(Ctx &c);
void convertDropout(Ctx &c);
void convertGelu(Ctx &c);

} // namespace kiln::onnx

#endif // KILN_FRONTENDS_ONNX_OPERATORSUPPORT_H
