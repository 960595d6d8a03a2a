# Hardening (issue 7): limits, faults, concurrency (TSan), the SQL rule.
mapd_integration_test(limits Threads::Threads)
set_tests_properties(integration/limits PROPERTIES LABELS "hardening")
mapd_integration_test(concurrency Threads::Threads)
set_tests_properties(integration/concurrency PROPERTIES LABELS "hardening;concurrency")
mapd_integration_test(faults Threads::Threads PkgConfig::SQLITE3)
set_tests_properties(integration/faults PROPERTIES LABELS "hardening")
# No SQL built from request text (tests/security/check_sql.sh), and proof
# that the rules catch planted violations.
add_test(NAME security/sql_constant COMMAND bash ${PROJECT_SOURCE_DIR}/tests/security/check_sql.sh ${PROJECT_SOURCE_DIR})
add_test(NAME security/sql_selftest COMMAND bash ${PROJECT_SOURCE_DIR}/tests/security/check_sql.sh --self-test)
set_tests_properties(security/sql_constant security/sql_selftest PROPERTIES LABELS "hardening;security")
mapd_integration_test(protocol Threads::Threads)
set_tests_properties(integration/protocol PROPERTIES LABELS "hardening")
mapd_integration_test(consistency Threads::Threads PkgConfig::JANSSON)
set_tests_properties(integration/consistency PROPERTIES LABELS "hardening")
mapd_integration_test(budget Threads::Threads m)
set_tests_properties(integration/budget PROPERTIES LABELS "hardening")
