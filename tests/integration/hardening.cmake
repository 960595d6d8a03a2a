# Hardening (issue 7): limits, faults, concurrency (TSan), the SQL rule.
mapd_integration_test(limits Threads::Threads)
set_tests_properties(integration/limits PROPERTIES LABELS "hardening")
