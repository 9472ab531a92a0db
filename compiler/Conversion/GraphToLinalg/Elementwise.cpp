//===- Elementwise.cpp - Elementwise graph ops to linalg.generic ----------===//
//
// Every elementwise op becomes one parallel generic whose inputs broadcast by
// numpy rules; linalg's elementwise fusion later merges the generics of one
// kernel into a single loop nest.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/GraphToLinalg/Common.h"
#include "compiler/Conversion/GraphToLinalg/Lowerings.h"

#include "dialects/Graph/IR/GraphDialect.h"
#include "dialects/Kernel/IR/KernelDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace kiln::graph;

namespace kiln::lowering {

static Value scalarSigmoid(OpBuilder &b, Location loc, Value x) {
  Type t = x.getType();
  Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, x));
  return b.create<arith::DivFOp>(
      loc, scalar(b, loc, t, 1), b.create<arith::AddFOp>(loc, scalar(b, loc, t, 1), e));
}

Value scalarActivation(OpBuilder &b, Location loc, graph::Activation act,
                       double alpha, Value x) {
  Type t = x.getType();
  switch (act) {
  case graph::Activation::none:
    return x;
  case graph::Activation::relu:
    return b.create<arith::MaximumFOp>(loc, x, scalar(b, loc, t, 0));
  case graph::Activation::leaky_relu: {
    Value scaled = b.create<arith::MulFOp>(loc, x, scalar(b, loc, t, alpha));
    Value positive = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGE, x,
                                             scalar(b, loc, t, 0));
    return b.create<arith::SelectOp>(loc, positive, x, scaled);
  }
  case graph::Activation::gelu: {
    Value scaled = b.create<arith::MulFOp>(loc, x, scalar(b, loc, t, M_SQRT1_2));
    Value cdf = b.create<arith::AddFOp>(loc, scalar(b, loc, t, 1),
                                        b.create<math::ErfOp>(loc, scaled));
    return b.create<arith::MulFOp>(
        loc, b.create<arith::MulFOp>(loc, x, scalar(b, loc, t, 0.5)), cdf);
  }
  case graph::Activation::silu:
    return b.create<arith::MulFOp>(loc, x, scalarSigmoid(b, loc, x));
  case graph::Activation::sigmoid:
    return scalarSigmoid(b, loc, x);
  case graph::Activation::tanh:
    return b.create<math::TanhOp>(loc, x);
  }
  return x;
}

/// True if scalarUnary has a formula for `op`.
static bool hasScalarUnary(Operation *op) {
  return isa<NegOp, AbsOp, ExpOp, LogOp, SqrtOp, RsqrtOp, SinOp, CosOp, ErfOp,
             FloorOp, ClampOp>(op) ||
         libraryActivationOf(op).has_value();
}

/// The scalar formula of a unary elementwise op (float operand).
static std::optional<Value> scalarUnary(OpBuilder &b, Location loc, Operation *op,
                                 Value x) {
  Type t = x.getType();
  return llvm::TypeSwitch<Operation *, std::optional<Value>>(op)
      .Case([&](NegOp) { return b.create<arith::NegFOp>(loc, x); })
      .Case([&](AbsOp) { return b.create<math::AbsFOp>(loc, x); })
      .Case([&](ExpOp) { return b.create<math::ExpOp>(loc, x); })
      .Case([&](LogOp) { return b.create<math::LogOp>(loc, x); })
      .Case([&](SqrtOp) { return b.create<math::SqrtOp>(loc, x); })
      .Case([&](RsqrtOp) {
        return b.create<arith::DivFOp>(loc, scalar(b, loc, t, 1),
                                       b.create<math::SqrtOp>(loc, x));
      })
      .Case([&](SinOp) { return b.create<math::SinOp>(loc, x); })
      .Case([&](CosOp) { return b.create<math::CosOp>(loc, x); })
      .Case([&](ErfOp) { return b.create<math::ErfOp>(loc, x); })
      .Case([&](FloorOp) { return b.create<math::FloorOp>(loc, x); })
      .Case([&](ClampOp o) {
        Value lo = b.create<arith::MaximumFOp>(
            loc, x, scalar(b, loc, t, o.getMin().convertToDouble()));
        return b.create<arith::MinimumFOp>(
            loc, lo, scalar(b, loc, t, o.getMax().convertToDouble()));
      })
      .Default([&](Operation *) -> std::optional<Value> {
        // Activations (relu, gelu, silu, leaky_relu, sigmoid, tanh) share
        // their formula with library-call epilogues computed in code.
        if (auto act = libraryActivationOf(op))
          return scalarActivation(b, loc, act->first, act->second, x);
        return std::nullopt;
      });
}

namespace {

Value compareScalars(OpBuilder &b, Location loc, ComparePredicate p, Value x,
                     Value y) {
  if (isFloat(x.getType())) {
    // Ordered comparisons, except `ne`, which is true for NaN as in PyTorch.
    arith::CmpFPredicate fp = arith::CmpFPredicate::OEQ;
    switch (p) {
    case ComparePredicate::eq: fp = arith::CmpFPredicate::OEQ; break;
    case ComparePredicate::ne: fp = arith::CmpFPredicate::UNE; break;
    case ComparePredicate::lt: fp = arith::CmpFPredicate::OLT; break;
    case ComparePredicate::le: fp = arith::CmpFPredicate::OLE; break;
    case ComparePredicate::gt: fp = arith::CmpFPredicate::OGT; break;
    case ComparePredicate::ge: fp = arith::CmpFPredicate::OGE; break;
    }
    return b.create<arith::CmpFOp>(loc, fp, x, y);
  }
  arith::CmpIPredicate ip = arith::CmpIPredicate::eq;
  switch (p) {
  case ComparePredicate::eq: ip = arith::CmpIPredicate::eq; break;
  case ComparePredicate::ne: ip = arith::CmpIPredicate::ne; break;
  case ComparePredicate::lt: ip = arith::CmpIPredicate::slt; break;
  case ComparePredicate::le: ip = arith::CmpIPredicate::sle; break;
  case ComparePredicate::gt: ip = arith::CmpIPredicate::sgt; break;
  case ComparePredicate::ge: ip = arith::CmpIPredicate::sge; break;
  }
  return b.create<arith::CmpIOp>(loc, ip, x, y);
}

/// Converts a scalar between element types, as graph.cast defines.
Value castScalar(OpBuilder &b, Location loc, Value x, Type to) {
  Type from = x.getType();
  if (from == to)
    return x;
  bool fromFloat = isFloat(from), toFloat = isFloat(to);
  if (to.isInteger(1)) {
    Value zero = scalar(b, loc, from, 0);
    return fromFloat ? b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNE,
                                               x, zero)
                           .getResult()
                     : b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne,
                                               x, zero)
                           .getResult();
  }
  if (fromFloat && toFloat)
    return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()
               ? b.create<arith::ExtFOp>(loc, to, x).getResult()
               : b.create<arith::TruncFOp>(loc, to, x).getResult();
  if (fromFloat)
    return b.create<arith::FPToSIOp>(loc, to, x);
  if (toFloat)
    return from.isInteger(1) ? b.create<arith::UIToFPOp>(loc, to, x).getResult()
                             : b.create<arith::SIToFPOp>(loc, to, x).getResult();
  if (from.isInteger(1))
    return b.create<arith::ExtUIOp>(loc, to, x);
  return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()
             ? b.create<arith::ExtSIOp>(loc, to, x).getResult()
             : b.create<arith::TruncIOp>(loc, to, x).getResult();
}

std::optional<Value> scalarBinary(OpBuilder &b, Location loc, Operation *op,
                                  Value x, Value y) {
  bool f = isFloat(x.getType());
  return llvm::TypeSwitch<Operation *, std::optional<Value>>(op)
      .Case([&](AddOp) { return addS(b, loc, x, y); })
      .Case([&](SubOp) {
        return f ? b.create<arith::SubFOp>(loc, x, y).getResult()
                 : b.create<arith::SubIOp>(loc, x, y).getResult();
      })
      .Case([&](MulOp) { return mulS(b, loc, x, y); })
      .Case([&](DivOp) { return b.create<arith::DivFOp>(loc, x, y); })
      .Case([&](PowOp) { return b.create<math::PowFOp>(loc, x, y); })
      .Case([&](MaximumOp) { return maxS(b, loc, x, y); })
      .Case([&](MinimumOp) { return minS(b, loc, x, y); })
      .Case([&](CompareOp o) {
        return compareScalars(b, loc, o.getPredicate(), x, y);
      })
      .Default([](Operation *) { return std::nullopt; });
}

} // namespace

Results lowerElementwise(OpBuilder &b, Operation *op) {
  Location loc = op->getLoc();
  if (op->getNumResults() != 1)
    return std::nullopt;
  Value result = op->getResult(0);
  if (!llvm::isa<RankedTensorType>(result.getType()))
    return std::nullopt;
  ArrayRef<int64_t> shape = shapeOf(result);
  Type elt = elementTypeOf(result);

  if (auto constant = dyn_cast<ConstantOp>(op))
    return SmallVector<Value>{b.create<arith::ConstantOp>(
        loc, llvm::cast<TypedAttr>(constant.getValue()))};
  if (auto cast = dyn_cast<CastOp>(op))
    return SmallVector<Value>{elementwise(
        b, loc, shape, elt, cast.getInput(),
        [&](OpBuilder &nb, Location l, ValueRange a) {
          return castScalar(nb, l, a[0], elt);
        })};
  if (auto bc = dyn_cast<BroadcastToOp>(op))
    return SmallVector<Value>{
        elementwise(b, loc, shape, elt, bc.getInput(),
                    [](OpBuilder &, Location, ValueRange a) { return a[0]; })};
  if (auto sel = dyn_cast<SelectOp>(op))
    return SmallVector<Value>{elementwise(
        b, loc, shape, elt, op->getOperands(),
        [](OpBuilder &nb, Location l, ValueRange a) {
          return nb.create<arith::SelectOp>(l, a[0], a[1], a[2]).getResult();
        })};
  if (op->getNumOperands() == 1 && isFloat(elt)) {
    if (!hasScalarUnary(op))
      return std::nullopt;
    return SmallVector<Value>{elementwise(
        b, loc, shape, elt, op->getOperand(0),
        [&](OpBuilder &nb, Location l, ValueRange a) {
          return *scalarUnary(nb, l, op, a[0]);
        })};
  }
  if (op->getNumOperands() == 2 &&
      isa<AddOp, SubOp, MulOp, DivOp, PowOp, MaximumOp, MinimumOp, CompareOp>(
          op))
    return SmallVector<Value>{elementwise(
        b, loc, shape, elt, op->getOperands(),
        [&](OpBuilder &nb, Location l, ValueRange a) {
          return *scalarBinary(nb, l, op, a[0], a[1]);
        })};
  return std::nullopt;
}

} // namespace kiln::lowering
