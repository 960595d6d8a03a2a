# Open311 in zh/en and address_string lookups (open311_locale), and a
# GeoReport v2 client written from the spec driving the server in JSON and
# XML (open311_client; XML read by fast-xml-parser).
mapd_node_test(open311_locale open311_locale.mjs sample_db)
mapd_node_test(open311_client open311_client.mjs sample_db)
