# OGC API - Features: HTML for browsers and Part 2 CRS (ogc_html.mjs), and the
# Part 1 abstract test suite (ogc_ats.mjs), each against a real server.
mapd_node_test(ogc_html ogc_html.mjs sample_db)
mapd_node_test(ogc_ats ogc_ats.mjs sample_db)
