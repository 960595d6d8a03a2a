# MVT encoder checked by independent decoders (@mapbox/vector-tile + pbf)
# against @mapbox/mvt-fixtures; drives tests/tools/mvt_from_json (built in
# tests/unit/tiles/tests.cmake).
mapd_node_test(mvt_fixtures mvt_fixtures.mjs)
