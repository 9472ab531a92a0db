//===- GraphOps.td - Every op of the graph dialect, by family -------------===//

#ifndef KILN_GRAPH_OPS
#define KILN_GRAPH_OPS

include "dialects/Graph/IR/GraphDialect.td"
include "dialects/Graph/IR/GraphElementwiseOps.td"
include "dialects/Graph/IR/GraphContractionOps.td"
include "dialects/Graph/IR/GraphReductionOps.td"
include "dialects/Graph/IR/GraphShapeOps.td"
include "dialects/Graph/IR/GraphModelOps.td"

#endif // KILN_GRAPH_OPS
