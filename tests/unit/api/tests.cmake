# api: one cmocka binary per module that stands alone (the handlers are
# tested over HTTP in tests/integration).
mapd_unit_test(api feature_cache mapd_api)
mapd_unit_test(api negotiate mapd_api PkgConfig::ZLIB)
mapd_unit_test(api open311_lang mapd_api)
mapd_unit_test(api webhook_sign mapd_api)
mapd_unit_test(api sprite mapd_api)
# The sprite is drawn from Maki's SVGs in web/node_modules (npm ci by node/web_install).
set_tests_properties(unit/api/sprite PROPERTIES FIXTURES_REQUIRED web_modules)
