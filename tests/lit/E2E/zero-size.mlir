// Tensors without elements are refused at the graph level with a clear
// message (they reached the vectorizer, which divided by zero).
// RUN: not kilnc %s --emit=so -o %t.so 2>&1 | FileCheck %s
// CHECK: error: entry 'f': 'x' ('tensor<8x0xf32>') has no elements: Kiln compiles tensors with at least one element
// RUN: not kiln-opt %s --kiln-graph-to-kernel 2>&1 | FileCheck %s
func.func @f(%x: tensor<8x0xf32> {graph.input = "x"}) -> (tensor<8x0xf32> {graph.output = "y"}) {
  %0 = graph.softmax %x : tensor<8x0xf32>
  return %0 : tensor<8x0xf32>
}
