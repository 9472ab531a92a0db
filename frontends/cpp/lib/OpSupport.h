//===- OpSupport.h - Checks and node building the DSL's ops share ---------===//
//
// What the op families (Ops.cpp and the <Family>Ops.cpp files) share: the
// dtype checks, the dialect's shape rules as GraphErrors, and recording a
// node with one result. Defined in Ops.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_FRONTENDS_CPP_OPSUPPORT_H
#define KILN_FRONTENDS_CPP_OPSUPPORT_H

#include "kiln/Ops.h"

#include "dialects/Graph/IR/GraphShapes.h"

#include <string>
#include <utility>
#include <vector>

namespace kiln {

/// An op's attributes, by name.
using Attrs = std::vector<std::pair<std::string, AttrValue>>;

/// The shape rule's result, or a GraphError naming the op and location.
Shape check(Graph &graph, const char *op, const shapes::Inferred &r,
            SourceLoc loc);

/// Fails (naming `op` and the operand as `what`) unless `t` is a float
/// tensor.
void requireFloat(const char *op, const Tensor &t, const char *what,
                  SourceLoc loc);

/// Fails (naming `op` and the operand as `what`) unless `t` is an integer
/// tensor.
void requireInteger(const char *op, const Tensor &t, const char *what,
                    SourceLoc loc);

/// Fails (naming `op`) unless `a` and `b` have the same dtype.
void requireSameDType(const char *op, const Tensor &a, const Tensor &b,
                      SourceLoc loc);

/// Records `op` in `graph` with a single result of `shape` and `dtype`,
/// which the caller has checked.
Tensor single(Graph &graph, const char *op, std::vector<Tensor> operands,
              Attrs attrs, Shape shape, DType dtype, SourceLoc loc);

} // namespace kiln

#endif // KILN_FRONTENDS_CPP_OPSUPPORT_H
