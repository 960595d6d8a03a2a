# The PostgreSQL/PostGIS backend (issue 13): tests on throwaway clusters that
# scripts/pg_cluster.sh starts under /tmp (as the postgres user when root).
add_library(mapd_test_pg_harness STATIC ${CMAKE_CURRENT_SOURCE_DIR}/integration/pg_harness.c)
target_link_libraries(mapd_test_pg_harness PUBLIC mapd_test_harness PkgConfig::LIBPQ PkgConfig::CMOCKA)
mapd_target(mapd_test_pg_harness)

mapd_integration_test(pg_changelog mapd_test_pg_harness)
target_include_directories(test_integration_pg_changelog PRIVATE ${PROJECT_SOURCE_DIR}/store/pg)
mapd_integration_test(pg_changefeed mapd_test_pg_harness mapd_store Threads::Threads)
set_tests_properties(integration/pg_changelog integration/pg_changefeed PROPERTIES LABELS "postgres")
mapd_integration_test(pg_schema mapd_test_pg_harness mapd_store)
set_tests_properties(integration/pg_schema PROPERTIES LABELS "postgres")
mapd_integration_test(pg_tiles mapd_test_pg_harness mapd_tiles mapd_store m)
set_tests_properties(integration/pg_tiles PROPERTIES LABELS "postgres")
mapd_integration_test(pg_cli mapd_test_pg_harness)
set_tests_properties(integration/pg_cli PROPERTIES LABELS "postgres")
mapd_integration_test(pg_reports mapd_test_pg_harness mapd_store Threads::Threads)
set_tests_properties(integration/pg_reports PROPERTIES LABELS "postgres")
mapd_integration_test(pg_queries mapd_test_pg_harness mapd_store)
set_tests_properties(integration/pg_queries PROPERTIES LABELS "postgres")
# Several nodes over one database, a node on a replica, failover (issue 13).
foreach(t pg_nodes pg_replica pg_failover pg_http pg_lists pg_workflow)
  mapd_integration_test(${t} mapd_test_pg_harness mapd_tiles Threads::Threads m)
  set_tests_properties(integration/${t} PROPERTIES LABELS "postgres")
endforeach()

# integration/cluster_demo: scripts/cluster.sh up|status|failover|down (make cluster-demo) end to end -
# PostgreSQL primary + streaming replica, three mapd nodes, a private nginx; a node
# killed, the replica stopped, then a second cluster failed over (scripts/cluster.sh failover).
add_test(NAME integration/cluster_demo COMMAND bash ${PROJECT_SOURCE_DIR}/tests/cluster_demo.sh)
set_tests_properties(integration/cluster_demo PROPERTIES LABELS "postgres" TIMEOUT 300
  ENVIRONMENT "MAPD_BIN=$<TARGET_FILE:mapd>;MAPD_SOURCE_DIR=${PROJECT_SOURCE_DIR};ASAN_OPTIONS=detect_leaks=0")
