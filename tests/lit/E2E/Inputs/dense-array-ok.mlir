// array<i1: 0> and array<index: 1> here are in a comment.
func.func @f() attributes {a = array<i1: true, false>, b = array<i8: 0, 1>, c = array<i1>, s = "array<i1: 0>"} {
  return
}
