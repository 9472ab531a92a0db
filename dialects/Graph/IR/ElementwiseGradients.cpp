//===- ElementwiseGradients.cpp - Gradients of elementwise ops ------------===//
//
// GradientBuilder.h describes how the rules read.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/IR/GradientBuilder.h"

#include <cmath>

using namespace mlir;
using namespace kiln::graph;
using namespace kiln::graph::gradients;

//===----------------------------------------------------------------------===//
// Unary elementwise
//===----------------------------------------------------------------------===//

RULE(NegOp) { G m{builder, getLoc()}; out.assign({m.neg(grads[0])}); return success(); }
// sign(x) g, with sign(0) = 0 as PyTorch.
RULE(AbsOp) {
  G m{builder, getLoc()};
  Value x = getInput(), g = grads[0], zero = m.c(x, 0);
  Value negative = m.select(m.cmp(ComparePredicate::lt, x, zero), m.neg(g), zero);
  out.assign({m.select(m.cmp(ComparePredicate::gt, x, zero), g, negative)});
  return success();
}
RULE(ExpOp) { G m{builder, getLoc()}; out.assign({m.mul(grads[0], getResult())}); return success(); }
RULE(LogOp) { G m{builder, getLoc()}; out.assign({m.div(grads[0], getInput())}); return success(); }
RULE(SqrtOp) {
  G m{builder, getLoc()};
  out.assign({m.div(m.mul(grads[0], m.c(getInput(), 0.5)), getResult())});
  return success();
}
RULE(RsqrtOp) {
  G m{builder, getLoc()};
  Value y = getResult();
  out.assign({m.mul(m.mul(grads[0], m.c(y, -0.5)), m.mul(y, m.mul(y, y)))});
  return success();
}
RULE(SinOp) {
  G m{builder, getLoc()};
  out.assign({m.mul(grads[0], builder.create<CosOp>(getLoc(), getInput()))});
  return success();
}
RULE(CosOp) {
  G m{builder, getLoc()};
  out.assign({m.neg(m.mul(grads[0], builder.create<SinOp>(getLoc(), getInput())))});
  return success();
}
RULE(TanhOp) {
  G m{builder, getLoc()};
  Value y = getResult();
  out.assign({m.mul(grads[0], m.sub(m.c(y, 1), m.mul(y, y)))});
  return success();
}
RULE(ErfOp) {
  G m{builder, getLoc()};
  Value x = getInput();
  Value e = builder.create<ExpOp>(getLoc(), m.neg(m.mul(x, x)));
  out.assign({m.mul(grads[0], m.mul(e, m.c(x, 2 / std::sqrt(M_PI))))});
  return success();
}
// Piecewise constant: no gradient flows through floor.
RULE(FloorOp) {
  G m{builder, getLoc()};
  out.assign({m.mul(grads[0], m.c(grads[0], 0))});
  return success();
}
RULE(SigmoidOp) {
  G m{builder, getLoc()};
  Value y = getResult();
  out.assign({m.mul(grads[0], m.mul(y, m.sub(m.c(y, 1), y)))});
  return success();
}
// relu(x) > 0 exactly where x > 0 (NaN and -0 included): the mask reads the
// result, so the input need not outlive the forward pass, and the kernel
// computing it (a batch norm, say) need not write it.
RULE(ReluOp) {
  G m{builder, getLoc()};
  Value y = getResult();
  out.assign({m.select(m.cmp(ComparePredicate::gt, y, m.c(y, 0)), grads[0],
                  m.c(y, 0))});
  return success();
}
RULE(GeluOp) {
  // d/dx [x Phi(x)] = Phi(x) + x phi(x).
  G m{builder, getLoc()};
  Value x = getInput();
  Value cdf = m.mul(m.c(x, 0.5),
                    m.add(m.c(x, 1), builder.create<ErfOp>(
                                         getLoc(), m.mul(x, m.c(x, M_SQRT1_2)))));
  Value pdf = m.mul(builder.create<ExpOp>(
                        getLoc(), m.mul(m.mul(x, x), m.c(x, -0.5))),
                    m.c(x, 1 / std::sqrt(2 * M_PI)));
  out.assign({m.mul(grads[0], m.add(cdf, m.mul(x, pdf)))});
  return success();
}
RULE(SiluOp) {
  G m{builder, getLoc()};
  Value x = getInput();
  Value s = builder.create<SigmoidOp>(getLoc(), x);
  out.assign({m.mul(grads[0],
               m.add(s, m.mul(x, m.mul(s, m.sub(m.c(x, 1), s)))))});
  return success();
}
RULE(LeakyReluOp) {
  G m{builder, getLoc()};
  Value x = getInput(), g = grads[0];
  out.assign({m.select(m.cmp(ComparePredicate::gt, x, m.c(x, 0)), g,
                  m.mul(g, m.c(x, getAlpha().convertToDouble())))});
  return success();
}
RULE(ClampOp) {
  G m{builder, getLoc()};
  Value x = getInput(), zero = m.c(x, 0);
  Value inside = m.select(
      m.cmp(ComparePredicate::ge, x, m.c(x, getMin().convertToDouble())),
      grads[0], zero);
  out.assign({m.select(
      m.cmp(ComparePredicate::le, x, m.c(x, getMax().convertToDouble())),
      inside, zero)});
  return success();
}
RULE(CastOp) {
  G m{builder, getLoc()};
  Value x = getInput();
  out.assign({isFloatTensor(x) && isFloatTensor(getResult())
             ? builder.create<CastOp>(getLoc(), grads[0],
                                      TypeAttr::get(m.elt(x)))
                   .getResult()
             : Value()});
  return success();
}

//===----------------------------------------------------------------------===//
// Binary elementwise (with broadcasting)
//===----------------------------------------------------------------------===//

RULE(AddOp) {
  G m{builder, getLoc()};
  if (!isFloatTensor(getLhs()))
    return noGradients(out, 2);
  out.assign({m.unbroadcast(grads[0], getLhs()), m.unbroadcast(grads[0], getRhs())});
  return success();
}
RULE(SubOp) {
  G m{builder, getLoc()};
  if (!isFloatTensor(getLhs()))
    return noGradients(out, 2);
  out.assign({m.unbroadcast(grads[0], getLhs()),
         m.unbroadcast(m.neg(grads[0]), getRhs())});
  return success();
}
RULE(MulOp) {
  G m{builder, getLoc()};
  if (!isFloatTensor(getLhs()))
    return noGradients(out, 2);
  out.assign({m.unbroadcast(m.mul(grads[0], getRhs()), getLhs()),
         m.unbroadcast(m.mul(grads[0], getLhs()), getRhs())});
  return success();
}
RULE(DivOp) {
  G m{builder, getLoc()};
  Value gr = m.div(grads[0], getRhs());
  out.assign({m.unbroadcast(gr, getLhs()),
         m.unbroadcast(m.neg(m.mul(gr, getResult())), getRhs())});
  return success();
}
RULE(PowOp) {
  G m{builder, getLoc()};
  Value x = getLhs(), p = getRhs(), g = grads[0];
  Value dx = m.mul(m.mul(g, p),
                   builder.create<PowOp>(getLoc(), x, m.sub(p, m.c(p, 1))));
  Value dp = m.mul(m.mul(g, getResult()), builder.create<LogOp>(getLoc(), x));
  out.assign({m.unbroadcast(dx, x), m.unbroadcast(dp, p)});
  return success();
}
namespace {
/// The gradient of max (`wins` = gt) or min (lt): to the operand that wins,
/// split evenly on ties, as PyTorch.
LogicalResult extremumGradients(G &m, ComparePredicate wins, Value lhs,
                                Value rhs, Value g,
                                SmallVectorImpl<Value> &out) {
  Value zero = m.c(g, 0), half = m.mul(g, m.c(g, 0.5));
  Value tie = m.cmp(ComparePredicate::eq, lhs, rhs);
  Value left = m.select(m.cmp(wins, lhs, rhs), g, m.select(tie, half, zero));
  Value right = m.select(m.cmp(wins, rhs, lhs), g, m.select(tie, half, zero));
  out.assign({m.unbroadcast(left, lhs), m.unbroadcast(right, rhs)});
  return success();
}
} // namespace

RULE(MaximumOp) {
  G m{builder, getLoc()};
  if (!isFloatTensor(getLhs()))
    return noGradients(out, 2);
  return extremumGradients(m, ComparePredicate::gt, getLhs(), getRhs(),
                           grads[0], out);
}
RULE(MinimumOp) {
  G m{builder, getLoc()};
  if (!isFloatTensor(getLhs()))
    return noGradients(out, 2);
  return extremumGradients(m, ComparePredicate::lt, getLhs(), getRhs(),
                           grads[0], out);
}
RULE(SelectOp) {
  G m{builder, getLoc()};
  if (!isFloatTensor(getLhs()))
    return noGradients(out, 3);
  Value g = grads[0], zero = m.c(g, 0);
  out.assign({Value(), m.unbroadcast(m.select(getCondition(), g, zero), getLhs()),
         m.unbroadcast(m.select(getCondition(), zero, g), getRhs())});
  return success();
}
