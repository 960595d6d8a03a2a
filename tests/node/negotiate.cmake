# gzip and validators of API answers (api/negotiate.c), decoded by Node's zlib.
mapd_node_test(negotiate negotiate.mjs sample_db)
