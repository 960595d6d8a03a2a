mapd_integration_test(tiles mapd_tiles mapd_geo mapd_store mapd_core PkgConfig::GDAL)
mapd_integration_test(tile_budget mapd_tiles mapd_core)
# 1M reports built and rendered under ASan: ~200 s alone, much longer beside other work.
set_tests_properties(integration/tile_budget PROPERTIES TIMEOUT 1500)
mapd_integration_test(basemap mapd_tiles mapd_core PkgConfig::GDAL)
