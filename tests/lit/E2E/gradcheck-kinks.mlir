// kilnc --gradcheck on a loss with kinks: with a step of 0.2, the finite
// differences of every w within 0.2 of ReLU's 0 straddle the kink. Those
// elements are reported as kinks with the op that owns them, not as
// failures, and others are checked in their place; v and (with
// --wrt-inputs) the input x are smooth everywhere.
// RUN: kilnc %s --gradcheck --gradcheck-step=0.2 --wrt-inputs | FileCheck %s
// CHECK: step h = 0.2 x max(|x|, 1)
// CHECK: tensor {{ *}}checked {{ *}}kinks
// CHECK-NEXT: w {{ *}}8 {{ *}}{{[1-9][0-9]*}} {{ *}}1.000000e+00 {{ *}}1.000000e+00
// CHECK-NEXT: v {{ *}}8 {{ *}}0
// CHECK-NEXT: x {{ *}}8 {{ *}}0
// CHECK-NEXT: kinks in w (skipped; its left and right derivatives differ): {{[1-9][0-9]*}} x graph.relu at {{.*}}gradcheck-kinks.mlir:{{[0-9]+}}
// CHECK-NEXT: gradients match finite differences: 24 elements of 3 tensors checked, {{[1-9][0-9]*}} on kinks skipped

// Without --wrt-inputs only the parameters are checked.
// RUN: kilnc %s --gradcheck --gradcheck-step=0.2 | FileCheck %s --check-prefix=PARAMS
// PARAMS: gradients match finite differences: 16 elements of 2 tensors checked

// Where every element tried sits on a kink nothing is checked: that fails.
// RUN: not kilnc %s --gradcheck --gradcheck-step=0.999 | FileCheck %s --check-prefix=ALL
// ALL: w {{ *}}0 {{ *}}40 {{ *}}- {{ *}}- {{ *}}- {{ *}}- {{ *}}UNCHECKED
// ALL: gradients differ from finite differences

module @kinks {
  func.func @loss(%w: tensor<64xf64> {graph.param = "w"}, %v: tensor<8xf64> {graph.param = "v"},
                  %x: tensor<8xf64> {graph.input = "x"}) -> (tensor<f64> {graph.output = "loss"}) {
    %r = graph.relu %w : tensor<64xf64>
    %s = graph.reduce_sum %r {dims = array<i64: 0>} : tensor<64xf64>
    %m = graph.mul %v, %x : tensor<8xf64>, tensor<8xf64>
    %q = graph.mul %m, %m : tensor<8xf64>, tensor<8xf64>
    %u = graph.reduce_sum %q {dims = array<i64: 0>} : tensor<8xf64>
    %l = graph.add %s, %u : tensor<f64>, tensor<f64>
    return %l : tensor<f64>
  }
}
