# The web map in headless Debian Chromium (playwright-core): static serving,
# glyphs, rendered layers, clicks, the report form, the centre's live list.
# web/ installs MapLibre GL JS from its lockfile first (`npm ci`), as
# `make demo` does; screenshots go to tests/out/web in the build tree.
# Only when the lock is newer than the install (as the Makefile's `web`
# rule): an `npm ci` empties node_modules first, under tests already reading it.
add_test(NAME node/web_install
  COMMAND sh -c "[ node_modules/.package-lock.json -nt package-lock.json ] || exec ${NPM_EXE} ci --no-audit --no-fund --loglevel=error"
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/web)
set_tests_properties(node/web_install PROPERTIES FIXTURES_SETUP web_modules)

foreach(name web_map web_report web_centre web_admin web_legible)
  mapd_node_test(${name} ${name}.mjs sample_db web_modules)
  set_property(TEST node/${name} APPEND PROPERTY ENVIRONMENT
    "MAPD_TEST_OUT=${CMAKE_BINARY_DIR}/tests/out/web")
  # One browser at a time: they are the heaviest tests on a 2-core machine.
  set_tests_properties(node/${name} PROPERTIES RESOURCE_LOCK chromium TIMEOUT 300)
endforeach()
