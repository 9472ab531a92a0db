func.func @f() {
  %0 = "test.op"() {a = array<i1: 0>} : () -> i32
  return
}
