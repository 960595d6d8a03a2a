# Node-based independent checks (decoders, reference libraries, browser).
# `npm ci` runs once as a CTest fixture; every node test requires it.
if(MAPD_NODE_TESTS)
  find_program(NODE_EXE node REQUIRED)
  find_program(NPM_EXE npm REQUIRED)
  set(MAPD_NODE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/node)
  add_test(NAME node/install
    COMMAND ${NPM_EXE} ci --no-audit --no-fund --loglevel=error
    WORKING_DIRECTORY ${MAPD_NODE_DIR})
  set_tests_properties(node/install PROPERTIES FIXTURES_SETUP node_modules)

  # mapd_node_test(NAME script.mjs [extra fixtures...]): runs `node --test script`.
  function(mapd_node_test name script)
    add_test(NAME node/${name} COMMAND ${NODE_EXE} --test ${MAPD_NODE_DIR}/${script}
      WORKING_DIRECTORY ${MAPD_NODE_DIR})
    set_tests_properties(node/${name} PROPERTIES
      FIXTURES_REQUIRED "node_modules;${MAPD_API_RECORD_FIXTURE};${ARGN}"
      ENVIRONMENT "${MAPD_TEST_ENV};NODE_OPTIONS=--import=${MAPD_NODE_DIR}/api_record.mjs")
  endfunction()

  file(GLOB MAPD_NODE_CMAKE ${MAPD_NODE_DIR}/*.cmake)
  list(REMOVE_ITEM MAPD_NODE_CMAKE ${MAPD_NODE_DIR}/tests.cmake)
  foreach(f ${MAPD_NODE_CMAKE})
    include(${f})
  endforeach()
endif()
