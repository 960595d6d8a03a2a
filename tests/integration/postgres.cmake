# The PostgreSQL/PostGIS backend (issue 13): tests on throwaway clusters that
# scripts/pg_cluster.sh starts under /tmp (as the postgres user when root).
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
mapd_integration_test(pg_changelog PkgConfig::LIBPQ)
target_include_directories(test_integration_pg_changelog PRIVATE ${PROJECT_SOURCE_DIR}/store)
set_tests_properties(integration/pg_changelog PROPERTIES LABELS "postgres")
