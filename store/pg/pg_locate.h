/* pg_locate.h - locate.h's area source over PostGIS (private to store/):
 * what md_store_areas gives for a PostgreSQL store, so md_store_locate
 * (and every other md_locate over the database) applies the one rule of
 * locate.h to the districts and grids tables there. */
#ifndef MD_PG_LOCATE_H
#define MD_PG_LOCATE_H

#include "locate.h"

struct md_pg;

/* The source; `pg` borrowed (it must outlive the source). */
struct md_area_source md__pg_store_areas(struct md_pg *pg);

#endif
