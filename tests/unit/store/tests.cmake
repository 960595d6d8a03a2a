mapd_unit_test(store store mapd_store)
mapd_unit_test(store calendar mapd_store)
mapd_unit_test(store workflow mapd_store)
mapd_unit_test(store reports mapd_store)
