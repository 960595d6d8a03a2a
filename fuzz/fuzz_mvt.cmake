# libFuzzer target for md_mvt_decode + encoder round trip (clang only).
# Include from fuzz/CMakeLists.txt (built when MAPD_FUZZ=ON):
#   include(${CMAKE_CURRENT_SOURCE_DIR}/fuzz_mvt.cmake)
# Seed corpus: tests/node/node_modules/@mapbox/mvt-fixtures/fixtures/*/tile.mvt
add_executable(fuzz_mvt_decode ${CMAKE_CURRENT_LIST_DIR}/fuzz_mvt_decode.c)
target_link_libraries(fuzz_mvt_decode PRIVATE mapd_tiles)
target_compile_options(fuzz_mvt_decode PRIVATE -fsanitize=fuzzer)
target_link_options(fuzz_mvt_decode PRIVATE -fsanitize=fuzzer)
mapd_target(fuzz_mvt_decode)
