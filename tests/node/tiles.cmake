mapd_node_test(tiles_decode tiles_decode.mjs sample_db)
