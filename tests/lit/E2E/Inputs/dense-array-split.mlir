// An unterminated string ends at its line, as MLIR's lexer ends it: the
// chunk after it is screened.
func.func @f() attributes {s = "open} {
  return
}
// -----
func.func @g() attributes {a = array<i1: 1>} {
  return
}
