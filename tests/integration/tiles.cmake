mapd_integration_test(tiles mapd_tiles mapd_store mapd_core PkgConfig::GDAL)
mapd_integration_test(tile_budget mapd_tiles mapd_core)
mapd_integration_test(basemap mapd_tiles mapd_core PkgConfig::GDAL)
