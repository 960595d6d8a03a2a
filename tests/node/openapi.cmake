# The OpenAPI 3.1 document (web/openapi.json): valid (an OpenAPI validator
# from npm), served at /openapi.json with the API and developer pages
# (Chromium), and, last of all, every recorded answer of the run checked
# against it (the cleanup of the fixture api_record).
mapd_node_test(openapi openapi.mjs sample_db web_modules)
set_property(TEST node/openapi APPEND PROPERTY ENVIRONMENT
  "MAPD_TEST_OUT=${CMAKE_BINARY_DIR}/tests/out/web")
set_tests_properties(node/openapi PROPERTIES RESOURCE_LOCK chromium TIMEOUT 300)

add_test(NAME node/openapi_conformance
  COMMAND ${NODE_EXE} --test ${MAPD_NODE_DIR}/openapi_conformance.mjs
  WORKING_DIRECTORY ${MAPD_NODE_DIR})
set_tests_properties(node/openapi_conformance PROPERTIES
  FIXTURES_CLEANUP api_record FIXTURES_REQUIRED node_modules
  ENVIRONMENT "MAPD_API_RECORD_DIR=${MAPD_API_RECORD_DIR}")
