# Integration tests: the real server over a copy of a fresh sample database.
add_library(mapd_test_harness STATIC ${CMAKE_CURRENT_SOURCE_DIR}/integration/harness.c)
target_include_directories(mapd_test_harness PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/integration)
target_link_libraries(mapd_test_harness PUBLIC PkgConfig::CURL)
mapd_target(mapd_test_harness)

# The sample city every integration test starts from (made once per run).
set(MAPD_FIXTURE_DB ${CMAKE_BINARY_DIR}/tests/fixture.sqlite)
add_test(NAME fixture/sample_db COMMAND sh -c
  "rm -f '${MAPD_FIXTURE_DB}' '${MAPD_FIXTURE_DB}-wal' '${MAPD_FIXTURE_DB}-shm' && \
   '$<TARGET_FILE:mapd>' sample --db '${MAPD_FIXTURE_DB}' --facilities 5000 --reports 20000 --seed 7 --quiet")
set_tests_properties(fixture/sample_db PROPERTIES FIXTURES_SETUP sample_db
  ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1")

set(MAPD_TEST_ENV
  "MAPD_BIN=$<TARGET_FILE:mapd>"
  "MAPD_FIXTURE_DB=${MAPD_FIXTURE_DB}"
  "MAPD_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
  "MAPD_BUILD_DIR=${PROJECT_BINARY_DIR}"
  "ASAN_OPTIONS=detect_leaks=1"
  "MAPD_API_RECORD_DIR=${MAPD_API_RECORD_DIR}")

# mapd_integration_test(name [libs...]): tests/integration/test_<name>.c
function(mapd_integration_test name)
  set(target test_integration_${name})
  add_executable(${target} ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_${name}.c)
  target_link_libraries(${target} PRIVATE mapd_test_harness ${ARGN} PkgConfig::CMOCKA)
  target_include_directories(${target} PRIVATE ${MAPD_STORE_PRIVATE_INCLUDE}) # white-box checks
  mapd_target(${target})
  add_test(NAME integration/${name} COMMAND ${target})
  set_tests_properties(integration/${name} PROPERTIES
    FIXTURES_REQUIRED "sample_db;${MAPD_API_RECORD_FIXTURE}"
    ENVIRONMENT "${MAPD_TEST_ENV}" TIMEOUT 600)
endfunction()

file(GLOB MAPD_INTEGRATION_CMAKE ${CMAKE_CURRENT_SOURCE_DIR}/integration/*.cmake)
list(REMOVE_ITEM MAPD_INTEGRATION_CMAKE ${CMAKE_CURRENT_SOURCE_DIR}/integration/tests.cmake)
foreach(f ${MAPD_INTEGRATION_CMAKE})
  include(${f})
endforeach()
