# Location queries, planner statistics, OGC API - Features, exports and imports.
mapd_integration_test(queries PkgConfig::SQLITE3 PkgConfig::PROJ PkgConfig::JANSSON m)
