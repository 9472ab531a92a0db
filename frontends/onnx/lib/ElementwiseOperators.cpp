//===- ElementwiseOperators.cpp - ONNX elementwise operators --------------===//
//
// Unary and binary math, comparisons, logic, Where, Cast and Clip: a DSL
// op each, folded over constants (integers exactly) where every input is
// known. Before opset 7, binary ops broadcast only as the node's
// `broadcast` and `axis` say.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/lib/OperatorSupport.h"

#include <cmath>

namespace kiln::onnx {

/// Rounds a folded value to its dtype (float32 folds as float32 does).
static double roundTo(DType dtype, double v) {
  return dtype == DType::F32 ? static_cast<double>(static_cast<float>(v)) : v;
}

void unaryOp(Ctx &c, Tensor (*fn)(const Tensor &, SourceLoc),
             double (*fold)(double)) {
  if (const Constant *k = c.constant(0); k && fold && isFloat(k->dtype)) {
    Constant out = *k;
    for (double &v : out.f)
      v = roundTo(out.dtype, fold(v));
    c.setOutput(0, out);
    return;
  }
  c.setOutput(0, fn(c.tensor(0), SourceLoc::current()));
}

Tensor softplus(const Tensor &x) {
  // log(1 + e^x) = max(x, 0) + log(1 + e^-|x|), exact for large |x|.
  return relu(x) + log(scalar(x, 1) + exp(neg(abs(x))));
}

Tensor elu(const Tensor &x, double alpha) {
  Tensor zero = scalar(x, 0);
  return where(compare(Compare::Gt, x, zero), x,
               scalar(x, alpha) * (exp(minimum(x, zero)) - 1.0));
}

/// The second operand of a binary op. Before opset 7, broadcasting was
/// explicit (broadcast=1) and `axis` aligned the second operand's
/// dimensions with the first's from that axis on.
static Tensor rhs(Ctx &c, const Tensor &a) {
  Tensor b = c.tensor(1);
  if (c.opset >= 7)
    return b;
  bool broadcast = c.attrInt("broadcast", 0);
  bool hasAxis = c.hasAttr("axis");
  int64_t axis = c.attrInt("axis", 0);
  if (!broadcast) {
    if (a.shape() != b.shape())
      c.fail("operands differ in shape and broadcast is not 1");
    return b;
  }
  if (!hasAxis)
    return b;
  axis = normalizeAxis(c, axis, a.rank());
  int64_t trailing = a.rank() - axis - b.rank();
  if (trailing < 0)
    c.fail("the second operand does not fit at axis");
  Shape shape = b.shape();
  shape.insert(shape.end(), trailing, 1);
  return trailing ? reshape(b, shape) : b;
}

bool foldsBinary(const Ctx &c) {
  return c.allConstant() && c.opset >= 7 && c.dtype(0) == c.dtype(1) &&
         foldable(broadcastShapes(c, c.shape(0), c.shape(1)));
}

void binaryOp(Ctx &c, Tensor (*fn)(const Tensor &, const Tensor &, SourceLoc),
              double (*fold)(double, double),
              int64_t (*foldInt)(int64_t, int64_t)) {
  if (foldsBinary(c)) {
    const Constant &a = *c.constant(0), &b = *c.constant(1);
    if (!isFloat(a.dtype))
      c.setOutput(0, foldIntegers(c, a, b, foldInt));
    else
      c.setOutput(0, foldBinary(c, a, b, a.dtype, [&](double x, double y) {
                    return roundTo(a.dtype, fold(x, y));
                  }));
    return;
  }
  Tensor a = c.tensor(0);
  c.setOutput(0, fn(a, rhs(c, a), SourceLoc::current()));
}

void variadic(Ctx &c, Tensor (*fn)(const Tensor &, const Tensor &, SourceLoc)) {
  Tensor acc = c.tensor(0);
  for (size_t k = 1; k < c.inputCount(); ++k)
    acc = fn(acc, c.tensor(k), SourceLoc::current());
  c.setOutput(0, acc);
}

/// `predicate` of two numbers of one kind.
template <typename T> static bool holds(Compare predicate, T x, T y) {
  switch (predicate) {
  case Compare::Eq:
    return x == y;
  case Compare::Ne:
    return x != y;
  case Compare::Lt:
    return x < y;
  case Compare::Le:
    return x <= y;
  case Compare::Gt:
    return x > y;
  case Compare::Ge:
    return x >= y;
  }
  return false;
}

void compareOp(Ctx &c, Compare predicate) {
  if (foldsBinary(c) && !isFloat(c.dtype(0))) {
    // Integers compare exactly (no detour through double).
    const Constant &a = *c.constant(0), &b = *c.constant(1);
    Constant out = foldIntegers(c, a, b, [predicate](int64_t x, int64_t y) {
      return int64_t(holds(predicate, x, y));
    });
    out.dtype = DType::I1;
    c.setOutput(0, out);
    return;
  }
  if (foldsBinary(c)) {
    const Constant &a = *c.constant(0), &b = *c.constant(1);
    c.setOutput(0,
                foldBinary(c, a, b, DType::I1, [predicate](double x, double y) {
                  return double(holds(predicate, x, y));
                }));
    return;
  }
  Tensor a = c.tensor(0);
  c.setOutput(0, compare(predicate, a, rhs(c, a)));
}

void convertPow(Ctx &c) {
  if (!isFloat(c.dtype(0)))
    c.unsupported("Pow of an integer base");
  if (c.allConstant() && foldable(broadcastShapes(c, c.shape(0), c.shape(1)))) {
    const Constant &a = *c.constant(0), &b = *c.constant(1);
    c.setOutput(0, foldBinary(c, a, b, a.dtype, [&](double x, double y) {
                  return roundTo(a.dtype, std::pow(x, y));
                }));
    return;
  }
  Tensor x = c.tensor(0);
  if (const Constant *e = c.constant(1); e && e->count() == 1) {
    double p = e->at(0);
    if (p == 1) {
      c.setOutput(0, x);
      return;
    }
    if (p == 2) {
      c.setOutput(0, x * x);
      return;
    }
    if (p == 3) {
      c.setOutput(0, x * x * x);
      return;
    }
    if (p == 0.5) {
      c.setOutput(0, sqrt(x));
      return;
    }
    if (p == -1) {
      c.setOutput(0, scalar(x, 1) / x);
      return;
    }
  }
  Tensor e = c.tensor(1);
  if (e.dtype() != x.dtype())
    e = cast(e, x.dtype());
  c.setOutput(0, pow(x, e));
}

void convertCast(Ctx &c) {
  DType to = dtypeOf(static_cast<int32_t>(c.attrInt("to", 1)), "'to'");
  c.attrInt("saturate", 1); // float8 conversions only
  if (const Constant *k = c.constant(0)) {
    Constant out = *k;
    if (isFloat(to) != isFloat(k->dtype) || to == DType::I1)
      out = Constant::ofDoubles(k->shape, k->doubles(), to);
    out.dtype = to;
    if (to == DType::F32)
      for (double &v : out.f)
        v = static_cast<float>(v);
    c.setOutput(0, out);
    return;
  }
  Tensor x = c.tensor(0);
  c.setOutput(0, x.dtype() == to ? x : cast(x, to));
}

void convertClip(Ctx &c) {
  Tensor x = c.tensor(0);
  if (c.opset < 11) {
    c.setOutput(0, clamp(x, c.attrFloat("min", -INFINITY),
                         c.attrFloat("max", INFINITY)));
    return;
  }
  const Constant *lo = c.constant(1), *hi = c.constant(2);
  if ((!c.has(1) || lo) && (!c.has(2) || hi) && isFloat(x.dtype())) {
    double a = lo ? lo->scalar("min") : -INFINITY,
           b = hi ? hi->scalar("max") : INFINITY;
    if (a <= b) {
      c.setOutput(0, clamp(x, a, b));
      return;
    }
  }
  if (c.has(1))
    x = maximum(x, c.tensor(1));
  if (c.has(2))
    x = minimum(x, c.tensor(2));
  c.setOutput(0, x);
}

void convertWhere(Ctx &c) {
  if (c.allConstant() &&
      foldable(broadcastShapes(c, broadcastShapes(c, c.shape(0), c.shape(1)),
                               c.shape(2)))) {
    const Constant &cond = *c.constant(0), &a = *c.constant(1),
                   &b = *c.constant(2);
    Shape out =
        broadcastShapes(c, broadcastShapes(c, cond.shape, a.shape), b.shape);
    int64_t n = checkedCount(out, "a folded constant");
    if (a.dtype != b.dtype)
      c.fail("X and Y differ in element type");
    Constant result;
    result.shape = out;
    result.dtype = a.dtype;
    for (int64_t k = 0; k < n; ++k) {
      bool first = cond.at(broadcastIndex(k, out, cond.shape)) != 0;
      const Constant &from = first ? a : b;
      int64_t at = broadcastIndex(k, out, from.shape);
      if (isFloat(result.dtype))
        result.f.push_back(from.f[at]);
      else
        result.i.push_back(from.i[at]);
    }
    c.setOutput(0, std::move(result));
    return;
  }
  c.setOutput(0, where(c.tensor(0), c.tensor(1), c.tensor(2)));
}

/// Boolean ops on 0/1 integers: And(a, b) = a * b != 0, Or = a + b != 0.
void logicOp(Ctx &c, const std::string &op) {
  if (c.allConstant() && c.opset >= 7) {
    const Constant &a = *c.constant(0);
    if (op == "Not") {
      Constant out = Constant::ofDoubles(a.shape, a.doubles(), DType::I1);
      for (int64_t &v : out.i)
        v = !v;
      c.setOutput(0, out);
      return;
    }
    const Constant &b = *c.constant(1);
    if (foldable(broadcastShapes(c, a.shape, b.shape))) {
      c.setOutput(
          0, foldBinary(c, a, b, DType::I1, [&](double x, double y) {
            bool p = x != 0, q = y != 0;
            return double(op == "And" ? p && q : op == "Or" ? p || q : p != q);
          }));
      return;
    }
  }
  Tensor a = cast(c.tensor(0), DType::I32);
  Tensor zero = scalar_like(a, 0);
  if (op == "Not") {
    c.setOutput(0, compare(Compare::Eq, a, zero));
    return;
  }
  Tensor b = cast(rhs(c, c.tensor(0)), DType::I32);
  if (op == "Xor")
    c.setOutput(0, compare(Compare::Ne, a, b));
  else if (op == "And")
    c.setOutput(0, compare(Compare::Ne, a * b, zero));
  else
    c.setOutput(0, compare(Compare::Ne, a + b, zero));
}

} // namespace kiln::onnx
