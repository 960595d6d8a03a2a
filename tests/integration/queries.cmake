# Location queries, planner statistics, OGC API - Features, exports and imports.
mapd_integration_test(queries PkgConfig::SQLITE3 PkgConfig::PROJ PkgConfig::JANSSON m)
# Its style checks read the sprite, drawn from Maki in web/node_modules (node/web_install).
set_property(TEST integration/queries APPEND PROPERTY FIXTURES_REQUIRED web_modules)
mapd_integration_test(ogc PkgConfig::SQLITE3 PkgConfig::SPATIALITE PkgConfig::JANSSON)
mapd_integration_test(ogc_filter PkgConfig::SQLITE3 PkgConfig::SPATIALITE PkgConfig::JANSSON)
mapd_integration_test(stats PkgConfig::SQLITE3 PkgConfig::SPATIALITE PkgConfig::JANSSON m)
mapd_integration_test(import PkgConfig::SQLITE3)
mapd_integration_test(export_files PkgConfig::SQLITE3 PkgConfig::SPATIALITE)
