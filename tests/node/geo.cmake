# mapd's WGS84/GCJ-02/BD-09 conversions against gcoord (needs the geo_convert helper).
mapd_node_test(geo_gcoord geo_gcoord.mjs)
