# Test registration.  Unit tests: tests/unit/test_<module>.c (cmocka), one
# executable each.  Integration/console/browser tests: shell scripts run
# against the real binary.  Names follow the runbook's validation matrix:
# `ctest -R gateway_contract` and `ctest -R gateway_runtime`.
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

file(GLOB TAU_UNIT_TESTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src ${TAU_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  # ctest name: unit_<module>; the fixture/contract ones are also gateway_contract_*
  string(REGEX REPLACE "^test_" "" mod ${name})
  # a unit test links only the library of the layer its module lives in
  if(EXISTS ${PROJECT_SOURCE_DIR}/src/core/base/${mod}.c)
    set(lib taubase)
  elseif(EXISTS ${PROJECT_SOURCE_DIR}/src/core/gateway/${mod}.c)
    set(lib taugateway)
  elseif(EXISTS ${PROJECT_SOURCE_DIR}/src/core/openresponses/${mod}.c)
    set(lib tauopenresponses)
  elseif(EXISTS ${PROJECT_SOURCE_DIR}/src/core/store/${mod}.c)
    set(lib taustore)
  elseif(mod STREQUAL "cli")
    set(lib taucli)
  else()
    set(lib tautui)
  endif()
  target_link_libraries(${name} PRIVATE ${lib} PkgConfig::CMOCKA)
  target_compile_definitions(${name} PRIVATE TAU_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  set(label "unit_${mod}")
  if(mod STREQUAL "fixture")
    set(label "gateway_contract_unit_fixture")
  elseif(mod MATCHES "^(runner|guardrail|health|state|records|events|service|status|chanstore|journal)$")
    set(label "gateway_runtime_unit_${mod}")
  endif()
  add_test(NAME ${label} COMMAND ${name})
  set_tests_properties(${label} PROPERTIES ENVIRONMENT "TAU_SOURCE_DIR=${PROJECT_SOURCE_DIR}" TIMEOUT 120)
endforeach()

# Test tools the shell tests run (tests/tools/): tau-store-listen waits on
# the store's change feed (gateway_pg_feed); tau-replica plays a replica in
# the registry (gateway_pg_replicas, console_fleet).
add_executable(tau-store-listen ${PROJECT_SOURCE_DIR}/tests/tools/store_listen.c)
target_link_libraries(tau-store-listen PRIVATE taustore)
add_executable(tau-replica ${PROJECT_SOURCE_DIR}/tests/tools/replica.c)
target_link_libraries(tau-replica PRIVATE taustore)

# Shell tests: tests/<dir>/<name>.sh -> ctest name <name> (the file names
# carry the gateway_contract_ / gateway_runtime_ / http_ / console_ /
# build_ prefixes).
file(GLOB TAU_SHELL_TESTS CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/tests/integration/*.sh
  ${PROJECT_SOURCE_DIR}/tests/console/*.sh
  ${PROJECT_SOURCE_DIR}/tests/build/*.sh)
# One test list, two backends: a script with the line "# backends: files pg"
# is registered again as pg.<name> with TAU_TEST_BACKEND=pg, which makes
# its gateways keep their state in a fresh database of the throwaway
# cluster (tests/integration/lib/backend.sh); without TAU_TEST_PG_URL the
# pg variant exits 77 and ctest reports it skipped.
set(TAU_SHELL_ENV "TAU_BIN=$<TARGET_FILE:tau-gateway>;TAU_STORE_LISTEN=$<TARGET_FILE:tau-store-listen>;TAU_REPLICA=$<TARGET_FILE:tau-replica>;TAU_SOURCE_DIR=${PROJECT_SOURCE_DIR};TAU_BUILD_DIR=${PROJECT_BINARY_DIR}")
foreach(script ${TAU_SHELL_TESTS})
  get_filename_component(name ${script} NAME_WE)
  add_test(NAME ${name} COMMAND bash ${script})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${TAU_SHELL_ENV}" TIMEOUT 600)
  file(STRINGS ${script} backends REGEX "^# backends: files pg$")
  if(backends)
    add_test(NAME pg.${name} COMMAND bash ${script})
    set_tests_properties(pg.${name} PROPERTIES ENVIRONMENT "${TAU_SHELL_ENV};TAU_TEST_BACKEND=pg"
      SKIP_RETURN_CODE 77 TIMEOUT 600)
  endif()
endforeach()

if(EXISTS ${PROJECT_SOURCE_DIR}/tests/browser/run.sh)
  add_test(NAME http_webchat_browser COMMAND bash ${PROJECT_SOURCE_DIR}/tests/browser/run.sh $<TARGET_FILE:tau-gateway>)
  set_tests_properties(http_webchat_browser PROPERTIES TIMEOUT 300)
endif()
