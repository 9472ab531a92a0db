!bit = i1
!flag=!bit
!wide = i8
func.func @f() attributes {a = array<!wide: 0>, b = array<!flag: true>, c = array<!flag : 1>} {
  return
}
