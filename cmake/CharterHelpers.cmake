# charter_add_unit_test(NAME test_config SOURCES tests/unit/test_config.c)
# One cmocka executable per module, linked to the static charter_common,
# registered with ctest under the "unit" label and a timeout.
function(charter_add_unit_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE charter_common PkgConfig::CMOCKA ${T_LIBS})
  add_test(NAME unit.${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(unit.${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS unit)
endfunction()

# charter_add_integration_test(NAME skeleton SCRIPT tests/integration/skeleton.sh)
# A bash script run against the real binaries in the build tree.
function(charter_add_integration_test)
  cmake_parse_arguments(T "" "NAME;SCRIPT;TIMEOUT" "" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME integration.${T_NAME}
           COMMAND bash ${CMAKE_SOURCE_DIR}/${T_SCRIPT})
  set_tests_properties(integration.${T_NAME} PROPERTIES
    TIMEOUT ${T_TIMEOUT} LABELS integration RUN_SERIAL TRUE
    ENVIRONMENT "CHARTER_BUILD_DIR=${CMAKE_BINARY_DIR};CHARTER_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()
