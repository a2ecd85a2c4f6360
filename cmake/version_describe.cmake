# Run at every build (the charter_version target): writes OUT, the header
# naming the commit a binary was built from, only when the text changes, so
# an unchanged commit rebuilds nothing. SRC is the source tree. Outside a git
# checkout (a tarball) the commit is "unknown".
execute_process(COMMAND git -C "${SRC}" describe --always --dirty --tags
                OUTPUT_VARIABLE describe OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE rc ERROR_QUIET)
if(NOT rc EQUAL 0 OR describe STREQUAL "")
  set(describe "unknown")
endif()
set(text "/* Generated at build time by cmake/version_describe.cmake. */\n#define CHARTER_GIT_DESCRIBE \"${describe}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
else()
  set(old "")
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
