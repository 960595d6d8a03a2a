# Idempotency-Key on the creating POSTs (issue 13): replay, 422, 400, 409,
# a key that survives kill -9, and a concurrent duplicate.
mapd_integration_test(idempotency PkgConfig::SQLITE3 PkgConfig::JANSSON Threads::Threads)
