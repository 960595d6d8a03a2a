# tiles: one cmocka binary per module, plus the helper tools that the node
# decoder checks drive (built by the default build, found via MAPD_BUILD_DIR).
mapd_unit_test(tiles tile_math mapd_tiles)
mapd_unit_test(tiles mvt_encode mapd_tiles)
mapd_unit_test(tiles tile_geom mapd_tiles)
mapd_unit_test(tiles tile_gzip mapd_tiles)
mapd_unit_test(tiles tile_cache mapd_tiles)
mapd_unit_test(tiles tile_crs mapd_tiles)
mapd_unit_test(tiles glyphs mapd_tiles)

add_executable(mvt_from_json ${CMAKE_CURRENT_SOURCE_DIR}/tools/mvt_from_json.c)
target_link_libraries(mvt_from_json PRIVATE mapd_tiles PkgConfig::JANSSON)
mapd_target(mvt_from_json)

# Throughput of prepare + encode (run by hand: build/.../tests/mvt_bench).
add_executable(mvt_bench ${CMAKE_CURRENT_SOURCE_DIR}/tools/mvt_bench.c)
target_link_libraries(mvt_bench PRIVATE mapd_tiles)
mapd_target(mvt_bench)
mapd_unit_test(tiles cluster_index mapd_tiles)
