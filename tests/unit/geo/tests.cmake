mapd_unit_test(geo coords mapd_geo)
mapd_unit_test(geo geodesic mapd_geo)
mapd_unit_test(geo reproject mapd_geo)

# The geodesic and reprojection tests compare with PROJ's command-line tools.
find_program(MAPD_GEOD_EXE geod REQUIRED)
find_program(MAPD_CS2CS_EXE cs2cs REQUIRED)
set_property(TEST unit/geo/geodesic APPEND PROPERTY ENVIRONMENT "MAPD_GEOD=${MAPD_GEOD_EXE}")
set_property(TEST unit/geo/reproject APPEND PROPERTY ENVIRONMENT "MAPD_CS2CS=${MAPD_CS2CS_EXE}")

# Helper for tests/node/geo_gcoord.mjs, at ${MAPD_BUILD_DIR}/tests/geo_convert.
add_executable(geo_convert ${CMAKE_CURRENT_SOURCE_DIR}/tools/geo_convert.c)
target_link_libraries(geo_convert PRIVATE mapd_geo)
mapd_target(geo_convert)
set_target_properties(geo_convert PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
