//===- Common.h - Building blocks for lowering graph ops to linalg --------===//
//
// Lowerings build linalg.generic ops over static shapes. These helpers hide
// the boilerplate: empty and filled tensors, numpy broadcasting maps,
// parallel and reducing generics, and reshapes as views.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_CONVERSION_GRAPHTOLINALG_COMMON_H
#define KILN_COMPILER_CONVERSION_GRAPHTOLINALG_COMMON_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace kiln::lowering {

using mlir::ArrayRef;
using mlir::Location;
using mlir::OpBuilder;
using mlir::Type;
using mlir::Value;
using mlir::ValueRange;

/// Builds the scalar body of a generic from its block arguments (inputs, then
/// outputs) and returns the values to yield.
using BodyFn = llvm::function_ref<mlir::SmallVector<Value>(
    OpBuilder &, Location, ValueRange)>;
/// The same for one result.
using ScalarFn =
    llvm::function_ref<Value(OpBuilder &, Location, ValueRange)>;

mlir::RankedTensorType tensorTypeOf(Value v);
ArrayRef<int64_t> shapeOf(Value v);
Type elementTypeOf(Value v);
bool isFloat(Type t);

/// A scalar constant of `type` (float or integer).
Value scalar(OpBuilder &b, Location loc, Type type, double value);
/// The identity of max (-inf, or the lowest integer) and of min.
Value lowest(OpBuilder &b, Location loc, Type type);
Value highest(OpBuilder &b, Location loc, Type type);

/// tensor.empty of `shape`.
Value empty(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elt);
/// A tensor of `shape` filled with `value`.
Value filled(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Value value);

/// The map reading an operand of `operandShape` inside an iteration space of
/// rank `rank`, with numpy broadcasting (trailing alignment, size-1 dims
/// read at index 0).
mlir::AffineMap broadcastMap(mlir::MLIRContext *ctx,
                             ArrayRef<int64_t> operandShape, int64_t rank);
/// The map reading a tensor that lacks the dimensions `dropped` of the
/// iteration space (a reduced value broadcast back).
mlir::AffineMap droppingMap(mlir::MLIRContext *ctx, int64_t rank,
                            ArrayRef<int64_t> dropped);

/// A parallel generic over `shape` whose inputs broadcast (numpy rules) and
/// whose single result has element type `elt`.
Value elementwise(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                  Type elt, ValueRange inputs, ScalarFn body);

/// A generic over the dims of `inputs`' iteration space with explicit maps;
/// `inits` are the output tensors, `reduced` the reduction dims.
mlir::SmallVector<Value> generic(OpBuilder &b, Location loc, int64_t rank,
                                 ValueRange inputs,
                                 ArrayRef<mlir::AffineMap> inputMaps,
                                 ValueRange inits,
                                 ArrayRef<mlir::AffineMap> initMaps,
                                 ArrayRef<int64_t> reduced, BodyFn body);

/// A runtime call (kernel.library_call to `callee`) that writes fresh
/// tensors of `results`, each a C pointer after those of `slots`; a null
/// entry of `slots` (an absent bias) becomes a null pointer. `ints` and
/// `floats` follow as int64_t and double arguments.
mlir::SmallVector<Value> libraryCall(OpBuilder &b, Location loc,
                                     llvm::StringRef callee,
                                     ArrayRef<Value> slots,
                                     ArrayRef<mlir::RankedTensorType> results,
                                     ArrayRef<int64_t> ints,
                                     ArrayRef<double> floats);
/// The same for one result and one float argument, `alpha`.
Value libraryCall(OpBuilder &b, Location loc, llvm::StringRef callee,
                  ArrayRef<Value> slots, mlir::RankedTensorType result,
                  ArrayRef<int64_t> ints, double alpha);

/// `x` with its dimensions permuted: result dimension i is dimension
/// `permutation[i]` of `x` (a linalg.transpose into a new tensor).
Value permute(OpBuilder &b, Location loc, Value x,
              ArrayRef<int64_t> permutation);

/// `x` [..., A, B] as [..., B, A].
Value transposeLastTwo(OpBuilder &b, Location loc, Value x);

/// Marks the reduction computing `value` as a maximum whose result, where
/// its input holds NaN, may be NaN or the maximum of the other elements
/// (kiln-vectorize then reduces with one vmaxps per vector on x86, not
/// maximumf's six): the shift of softmax, where a NaN in a row makes the
/// whole row NaN either way, through the shift or through its own exp and
/// the row sum.
void markNanAgnosticMax(Value value);

/// Reduces `input` over `dims` with `combine`, starting from `init`; the
/// result drops those dims. `prologue` (optional) maps each element first.
Value reduce(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> dims,
             Value init,
             llvm::function_ref<Value(OpBuilder &, Location, Value, Value)>
                 combine,
             llvm::function_ref<Value(OpBuilder &, Location, Value)>
                 prologue = nullptr);

/// Reinterprets `value` with `shape` (same element count, row-major): a view
/// after bufferization.
Value reshape(OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> shape);

/// Scalar arithmetic that picks the float or integer op by type.
Value addS(OpBuilder &b, Location loc, Value x, Value y);
Value mulS(OpBuilder &b, Location loc, Value x, Value y);
Value maxS(OpBuilder &b, Location loc, Value x, Value y);
Value minS(OpBuilder &b, Location loc, Value x, Value y);

/// addS: reduce()'s combine for a sum.
Value addF(OpBuilder &b, Location l, Value x, Value y);

/// An elementwise pass over `x`'s shape reading `x` and tensors that lack
/// the dims `dropped` (reduced values broadcast back), plus `extra` inputs
/// with numpy broadcasting.
Value withReduced(OpBuilder &b, Location loc, Value x, ArrayRef<Value> reduced,
                  ArrayRef<int64_t> dropped, ArrayRef<Value> extra,
                  ScalarFn body, Type resultElt = {});

/// `t` divided by `count`, elementwise (float or signed integer division).
Value divideBy(OpBuilder &b, Location loc, Value t, double count);

/// The number of elements of `shape` over the dimensions `dims`.
int64_t countOver(ArrayRef<int64_t> shape, ArrayRef<int64_t> dims);

} // namespace kiln::lowering

#endif // KILN_COMPILER_CONVERSION_GRAPHTOLINALG_COMMON_H
