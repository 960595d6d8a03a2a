# Citizen reports, Open311, the case workflow, privacy, durability, bad input
# and live events, each against a real server over a copy of the sample DB.
mapd_node_test(reports_open311 reports_open311.mjs sample_db)
mapd_node_test(reports_workflow reports_workflow.mjs sample_db)
mapd_node_test(reports_privacy reports_privacy.mjs sample_db)
mapd_node_test(reports_durability reports_durability.mjs sample_db)
mapd_node_test(reports_bad_input reports_bad_input.mjs sample_db)
mapd_node_test(reports_events reports_events.mjs sample_db)
mapd_node_test(staff_units staff_units.mjs sample_db)
mapd_node_test(consultations consultations.mjs sample_db)
mapd_node_test(citizens citizens.mjs sample_db)
mapd_node_test(webhooks webhooks.mjs sample_db)
