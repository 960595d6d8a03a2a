mapd_node_test(tiles_decode tiles_decode.mjs sample_db)
mapd_node_test(tiles_gcj02 tiles_gcj02.mjs sample_db)
