//===- Operators.cpp - ONNX operators as DSL ops --------------------------===//
//
// One converter per ONNX operator of the default domain. A converter reads
// its node's inputs and attributes through NodeContext and sets its
// outputs: DSL tensors, or constants where every input is known (shape
// arithmetic is folded so that Reshape and friends see fixed shapes). An
// attribute value Kiln cannot honour exactly is an error, never an
// approximation.
//
// This file holds the helpers the converters share (OperatorSupport.h
// declares them) and the table from operator names to converters. The
// converters are in ElementwiseOperators.cpp, NeuralOperators.cpp,
// ShapeOperators.cpp, ReductionOperators.cpp, RecurrentOperators.cpp and
// ConstantOperators.cpp.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/lib/OperatorSupport.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <numeric>

namespace kiln::onnx {

int64_t normalizeAxis(const Ctx &c, int64_t axis, int64_t rank,
                      const char *what) {
  if (axis < -rank || axis >= rank)
    c.fail(fmt::format("{} {} is out of range for rank {}", what, axis, rank));
  return axis < 0 ? axis + rank : axis;
}

int64_t product(const Shape &s, size_t from, size_t to) {
  auto end = s.begin() + static_cast<std::ptrdiff_t>(std::min(to, s.size()));
  auto begin = s.begin() + static_cast<std::ptrdiff_t>(std::min(from, s.size()));
  return std::accumulate(begin, std::max(begin, end), int64_t(1),
                         std::multiplies<int64_t>());
}

Shape stridesOf(const Shape &shape) {
  Shape strides(shape.size(), 1);
  for (int64_t k = static_cast<int64_t>(shape.size()) - 2; k >= 0; --k)
    strides[k] = strides[k + 1] * shape[k + 1];
  return strides;
}

bool foldable(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d != 0 && n > kMaxFolded / d))
      return false;
    n *= d;
  }
  return true;
}

Shape broadcastShapes(const Ctx &c, const Shape &a, const Shape &b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t k = 0; k < rank; ++k) {
    int64_t da = k < rank - a.size() ? 1 : a[k - (rank - a.size())];
    int64_t db = k < rank - b.size() ? 1 : b[k - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      c.fail(fmt::format("shapes [{}] and [{}] do not broadcast",
                         fmt::join(a, "x"), fmt::join(b, "x")));
    out[k] = da == 1 ? db : da;
  }
  return out;
}

int64_t broadcastIndex(int64_t k, const Shape &out, const Shape &shape) {
  int64_t index = 0, stride = 1;
  size_t offset = out.size() - shape.size();
  for (int64_t d = static_cast<int64_t>(out.size()) - 1; d >= 0; --d) {
    int64_t coord = k % out[d];
    k /= out[d];
    if (d >= static_cast<int64_t>(offset)) {
      int64_t size = shape[d - offset];
      index += (size == 1 ? 0 : coord) * stride;
      stride *= size;
    }
  }
  return index;
}

std::optional<std::vector<int64_t>> axesOf(const Ctx &c, int64_t inputOpset,
                                           size_t index) {
  if (c.opset < inputOpset) {
    if (!c.hasAttr("axes"))
      return std::nullopt;
    return c.attrInts("axes");
  }
  if (!c.has(index))
    return std::nullopt;
  return c.requireConstant(index, "axes").ints();
}

Tensor scalar(const Tensor &like, double v) { return scalar_like(like, v); }

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

namespace {

const std::map<std::string, Converter> &converters() {
  static const std::map<std::string, Converter> table = [] {
    std::map<std::string, Converter> t;
    auto unary = [&](const char *name, Tensor (*fn)(const Tensor &, SourceLoc),
                     double (*fold)(double)) {
      t[name] = [fn, fold](Ctx &c) { unaryOp(c, fn, fold); };
    };
    unary("Abs", abs, [](double v) { return std::fabs(v); });
    unary("Exp", exp, [](double v) { return std::exp(v); });
    unary("Log", log, [](double v) { return std::log(v); });
    unary("Sqrt", sqrt, [](double v) { return std::sqrt(v); });
    unary("Sin", sin, [](double v) { return std::sin(v); });
    unary("Cos", cos, [](double v) { return std::cos(v); });
    unary("Tanh", tanh, [](double v) { return std::tanh(v); });
    unary("Erf", erf, [](double v) { return std::erf(v); });
    unary("Sigmoid", sigmoid, [](double v) { return 1 / (1 + std::exp(-v)); });
    unary("Relu", relu, [](double v) { return v > 0 ? v : 0.0; });
    t["Neg"] = [](Ctx &c) {
      if (const Constant *k = c.constant(0)) {
        Constant out = *k;
        for (double &v : out.f)
          v = -v;
        for (int64_t &v : out.i)
          v = -v;
        c.setOutput(0, out);
        return;
      }
      c.setOutput(0, neg(c.tensor(0)));
    };
    t["Reciprocal"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, scalar(x, 1) / x);
    };
    t["Softplus"] = [](Ctx &c) { c.setOutput(0, softplus(c.tensor(0))); };
    t["Softsign"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, x / (scalar(x, 1) + abs(x)));
    };
    t["Mish"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, x * tanh(softplus(x)));
    };
    t["Elu"] = [](Ctx &c) {
      c.setOutput(0, elu(c.tensor(0), c.attrFloat("alpha", 1)));
    };
    t["Celu"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      double alpha = c.attrFloat("alpha", 1);
      c.setOutput(0, elu(x / scalar(x, alpha), 1) * scalar(x, alpha));
    };
    t["Selu"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      double alpha = c.attrFloat("alpha", 1.67326319217681884765625);
      double gamma = c.attrFloat("gamma", 1.05070102214813232421875);
      c.setOutput(0, elu(x, alpha) * scalar(x, gamma));
    };
    t["LeakyRelu"] = [](Ctx &c) {
      c.setOutput(0, leaky_relu(c.tensor(0), c.attrFloat("alpha", 0.01)));
    };
    t["PRelu"] = [](Ctx &c) {
      Tensor x = c.tensor(0), slope = c.tensor(1);
      // Before opset 7 a 1-D slope is per channel.
      if (c.opset < 7 && slope.rank() == 1 && x.rank() > 2 &&
          slope.size(0) == x.size(1) && slope.size(0) > 1) {
        Shape s{slope.size(0)};
        s.insert(s.end(), x.rank() - 2, 1);
        slope = reshape(slope, s);
      }
      c.setOutput(0, where(compare(Compare::Lt, x, scalar(x, 0)), x * slope,
                            x));
    };
    t["ThresholdedRelu"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, where(compare(Compare::Gt, x,
                                    scalar(x, c.attrFloat("alpha", 1))),
                            x, scalar(x, 0)));
    };
    t["HardSigmoid"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, clamp(x * scalar(x, c.attrFloat("alpha", 0.2)) +
                               scalar(x, c.attrFloat("beta", 0.5)),
                           0, 1));
    };
    t["HardSwish"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, x * clamp(x * scalar(x, 1.0 / 6) + scalar(x, 0.5), 0, 1));
    };
    t["Sign"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      Tensor zero = scalar(x, 0);
      c.setOutput(0, cast(compare(Compare::Gt, x, zero), x.dtype()) -
                         cast(compare(Compare::Lt, x, zero), x.dtype()));
    };
    t["Gelu"] = convertGelu;
    // Integers fold exactly, wrapping as two's complement (exporters use
    // INT64_MAX for "to the end").
    t["Add"] = [](Ctx &c) {
      binaryOp(
          c, add, [](double a, double b) { return a + b; },
          [](int64_t a, int64_t b) {
            return static_cast<int64_t>(uint64_t(a) + uint64_t(b));
          });
    };
    t["Sub"] = [](Ctx &c) {
      binaryOp(
          c, sub, [](double a, double b) { return a - b; },
          [](int64_t a, int64_t b) {
            return static_cast<int64_t>(uint64_t(a) - uint64_t(b));
          });
    };
    t["Mul"] = [](Ctx &c) {
      binaryOp(
          c, mul, [](double a, double b) { return a * b; },
          [](int64_t a, int64_t b) {
            return static_cast<int64_t>(uint64_t(a) * uint64_t(b));
          });
    };
    t["Div"] = [](Ctx &c) {
      if (foldsBinary(c) && !isFloat(c.dtype(0))) {
        const Constant &a = *c.constant(0), &b = *c.constant(1);
        for (int64_t v : b.i)
          if (v == 0)
            c.fail("integer division by zero");
        c.setOutput(0, foldIntegers(c, a, b, [](int64_t x, int64_t y) {
                      // INT64_MIN / -1 overflows: it wraps.
                      return y == -1 ? static_cast<int64_t>(0 - uint64_t(x))
                                     : x / y;
                    }));
        return;
      }
      binaryOp(
          c, div, [](double a, double b) { return a / b; },
          [](int64_t a, int64_t b) { return a / b; });
    };
    t["Pow"] = convertPow;
    t["Max"] = [](Ctx &c) { variadic(c, maximum); };
    t["Min"] = [](Ctx &c) { variadic(c, minimum); };
    t["Sum"] = [](Ctx &c) { variadic(c, add); };
    t["Mean"] = [](Ctx &c) {
      variadic(c, add);
      Tensor s = c.outputs()[0].tensor;
      c.setOutput(0, s / scalar(s, double(c.inputCount())));
    };
    t["Equal"] = [](Ctx &c) { compareOp(c, Compare::Eq); };
    t["Less"] = [](Ctx &c) { compareOp(c, Compare::Lt); };
    t["LessOrEqual"] = [](Ctx &c) { compareOp(c, Compare::Le); };
    t["Greater"] = [](Ctx &c) { compareOp(c, Compare::Gt); };
    t["GreaterOrEqual"] = [](Ctx &c) { compareOp(c, Compare::Ge); };
    for (const char *op : {"Not", "And", "Or", "Xor"})
      t[op] = [op = std::string(op)](Ctx &c) { logicOp(c, op); };
    t["Where"] = convertWhere;
    t["Cast"] = convertCast;
    t["Clip"] = convertClip;
    t["MatMul"] = [](Ctx &c) {
      c.setOutput(0, matmulNd(c, c.tensor(0), c.tensor(1)));
    };
    t["Gemm"] = convertGemm;
    t["Conv"] = convertConv;
    t["ConvTranspose"] = convertConvTranspose;
    t["MaxPool"] = [](Ctx &c) { convertPool(c, true); };
    t["AveragePool"] = [](Ctx &c) { convertPool(c, false); };
    t["GlobalAveragePool"] = [](Ctx &c) { convertGlobalPool(c, false); };
    t["GlobalMaxPool"] = [](Ctx &c) { convertGlobalPool(c, true); };
    t["BatchNormalization"] = convertBatchNorm;
    t["LayerNormalization"] = convertLayerNorm;
    t["InstanceNormalization"] = convertInstanceNorm;
    t["GroupNormalization"] = convertGroupNorm;
    t["Softmax"] = [](Ctx &c) { convertSoftmax(c, false); };
    t["LogSoftmax"] = [](Ctx &c) { convertSoftmax(c, true); };
    t["Reshape"] = convertReshape;
    t["Flatten"] = convertFlatten;
    t["Squeeze"] = convertSqueeze;
    t["Unsqueeze"] = convertUnsqueeze;
    t["Transpose"] = convertTranspose;
    t["Concat"] = convertConcat;
    t["Slice"] = convertSlice;
    t["Split"] = convertSplit;
    t["Gather"] = convertGather;
    t["Expand"] = convertExpand;
    t["Tile"] = convertTile;
    t["Pad"] = convertPad;
    for (const char *op :
         {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL1",
          "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"})
      t[op] = [op = std::string(op)](Ctx &c) { convertReduce(c, op); };
    t["ArgMax"] = [](Ctx &c) { convertArg(c, true); };
    t["ArgMin"] = [](Ctx &c) { convertArg(c, false); };
    t["Constant"] = convertConstant;
    t["Shape"] = convertShape;
    t["Size"] = [](Ctx &c) {
      c.setOutput(0, Constant::ofInts({}, {product(c.shape(0))}));
    };
    t["ConstantOfShape"] = convertConstantOfShape;
    t["Range"] = convertRange;
    t["Identity"] = convertIdentity;
    t["Dropout"] = convertDropout;
    t["LSTM"] = [](Ctx &c) { convertRecurrent(c, Cell::Lstm); };
    t["GRU"] = [](Ctx &c) { convertRecurrent(c, Cell::Gru); };
    t["RNN"] = [](Ctx &c) { convertRecurrent(c, Cell::Tanh); };
    t["CastLike"] = [](Ctx &c) {
      DType to = c.dtype(1);
      if (const Constant *k = c.constant(0)) {
        c.setOutput(0, Constant::ofDoubles(k->shape, k->doubles(), to));
        return;
      }
      Tensor x = c.tensor(0);
      c.setOutput(0, x.dtype() == to ? x : cast(x, to));
    };
    t["IsNaN"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, compare(Compare::Ne, x, x));
    };
    t["IsInf"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      bool positive = c.attrInt("detect_positive", 1),
           negative = c.attrInt("detect_negative", 1);
      // Nothing is below -inf: the empty selection.
      Tensor a = positive && negative ? abs(x)
                 : positive           ? x
                 : negative           ? neg(x)
                                      : Tensor();
      c.setOutput(0, a.valid()
                         ? compare(Compare::Eq, a, scalar(x, INFINITY))
                         : compare(Compare::Lt, x, scalar(x, -INFINITY)));
    };
    t["Sinh"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, (exp(x) - exp(neg(x))) * scalar(x, 0.5));
    };
    t["Cosh"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, (exp(x) + exp(neg(x))) * scalar(x, 0.5));
    };
    t["Tan"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, sin(x) / cos(x));
    };
    t["Asinh"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, log(x + sqrt(x * x + scalar(x, 1))));
    };
    t["Acosh"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, log(x + sqrt(x * x - scalar(x, 1))));
    };
    t["Atanh"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      c.setOutput(0, log((scalar(x, 1) + x) / (scalar(x, 1) - x)) *
                         scalar(x, 0.5));
    };
    t["Shrink"] = [](Ctx &c) {
      Tensor x = c.tensor(0);
      double bias = c.attrFloat("bias", 0), lambd = c.attrFloat("lambd", 0.5);
      Tensor zero = scalar(x, 0);
      c.setOutput(0, where(compare(Compare::Lt, x, scalar(x, -lambd)),
                            x + scalar(x, bias),
                            where(compare(Compare::Gt, x, scalar(x, lambd)),
                                   x - scalar(x, bias), zero)));
    };
    t["Trilu"] = convertTrilu;
    t["ScatterND"] = convertScatterND;
    t["Resize"] = [](Ctx &c) { convertResize(c, false); };
    t["Upsample"] = [](Ctx &c) { convertResize(c, true); };
    return t;
  }();
  return table;
}

} // namespace

const Converter *findConverter(const std::string &opType) {
  const auto &table = converters();
  auto it = table.find(opType);
  return it == table.end() ? nullptr : &it->second;
}

bool isSettingInput(const ::onnx::NodeProto &node, int input) {
  const std::string &op = node.op_type();
  return ((op == "Resize" || op == "Upsample") && input >= 1) ||
         (op == "Clip" && input >= 1) || (op == "Pad" && input == 2) ||
         (op == "Dropout" && input == 1) || op == "Range" ||
         op == "ConstantOfShape";
}

} // namespace kiln::onnx
