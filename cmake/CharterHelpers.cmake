# charter_add_unit_test(NAME test_config SOURCES unit/test_config.c LIBS charter_runtime)
# One cmocka executable per module or state machine, linked to the library
# under test (a common layer, or a service's core library), registered with
# ctest under the "unit" label and a timeout.
function(charter_add_unit_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  if(NOT T_LIBS)
    message(FATAL_ERROR "charter_add_unit_test(${T_NAME}): name the library under test in LIBS")
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  add_test(NAME unit.${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(unit.${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS unit)
endfunction()

# charter_add_service(NAME charter-ingest CORE charter_ingest_core)
# A service binary: its main.c (the runtime descriptor and wiring) linked to
# its core library, which holds every other file of the service so that its
# tests and benchmarks link the same code.
function(charter_add_service)
  cmake_parse_arguments(S "" "NAME;CORE" "" ${ARGN})
  add_executable(${S_NAME} main.c)
  target_link_libraries(${S_NAME} PRIVATE ${S_CORE})
  install(TARGETS ${S_NAME} RUNTIME DESTINATION bin)
endfunction()

# charter_add_integration_test(NAME skeleton SCRIPT tests/integration/skeleton.sh
#                               [TIMEOUT 300] [LABELS apache-kafka])
# A bash script run against the real binaries in the build tree. LABELS
# names its tier (default "integration": the embedded broker); the test is
# registered as <first label>.NAME, so `ctest -L apache-kafka` and
# `ctest -R '^apache-kafka\.'` pick the same tests.
function(charter_add_integration_test)
  cmake_parse_arguments(T "" "NAME;SCRIPT;TIMEOUT" "LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  if(NOT T_LABELS)
    set(T_LABELS integration)
  endif()
  list(GET T_LABELS 0 tier)
  add_test(NAME ${tier}.${T_NAME}
           COMMAND bash ${CMAKE_SOURCE_DIR}/${T_SCRIPT})
  set_tests_properties(${tier}.${T_NAME} PROPERTIES
    TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}" RUN_SERIAL TRUE
    ENVIRONMENT "CHARTER_BUILD_DIR=${CMAKE_BINARY_DIR};CHARTER_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()
