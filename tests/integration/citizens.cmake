# A citizen and a filed report: "me too", following a report, photos.
mapd_integration_test(citizens PkgConfig::SQLITE3 PkgConfig::JANSSON)
mapd_integration_test(photos PkgConfig::JANSSON PkgConfig::ZLIB)
