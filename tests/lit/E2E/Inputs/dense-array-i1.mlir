// "array<i1: 0>" in a comment or a string is not an attribute.
func.func @f() {
  %0 = "test.op"() {s = "array<i1: 1>", a = array<i1: true, false>, b = array<i1:
      true, 0>} : () -> i32
  return
}
