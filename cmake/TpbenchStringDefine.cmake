# tpbench_string_define(SOURCE NAME TEXT): compiles SOURCE with NAME defined as the C string
# literal TEXT. COMPILE_DEFINITIONS is a CMake list, so a ';' inside TEXT would split the
# definition in two and break the compile command: every ';' becomes ',' and every '"' a '\''
# (tests/cli/cmake_string_define.sh builds a program with such a text).
function(tpbench_string_define source name text)
  string(REPLACE ";" "," text "${text}")
  string(REPLACE "\"" "'" text "${text}")
  set_property(SOURCE "${source}" APPEND PROPERTY COMPILE_DEFINITIONS "${name}=\"${text}\"")
endfunction()
