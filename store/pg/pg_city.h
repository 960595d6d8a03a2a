/* pg_city.h - city-wide reads and the overdue touch on a PostgreSQL store
 * (private to store/): the twins of md_store_schema_version,
 * md_store_report_status_counts, md_store_city_bounds, md_store_data_center,
 * md_store_basemap_attribution, md_calendar_load's rows and
 * md_report_touch_overdue, with the same contracts (see their headers). */
#ifndef MD_PG_CITY_H
#define MD_PG_CITY_H

#include "pg_store.h"

md_err md__pg_schema_version(struct md_pg *pg, int *out, struct md_ctx *ctx) MD_WUR;
md_err md__pg_status_counts(struct md_pg *pg, struct md_status_count *out, int max, int *n,
                            struct md_ctx *ctx) MD_WUR;
md_err md__pg_city_bounds(struct md_pg *pg, struct md_bbox *out, bool *any,
                          struct md_ctx *ctx) MD_WUR;
md_err md__pg_data_center(struct md_pg *pg, double *lon, double *lat, bool *any,
                          struct md_ctx *ctx) MD_WUR;
md_err md__pg_basemap_attribution(struct md_pg *pg, char *out, size_t n,
                                  struct md_ctx *ctx) MD_WUR;
/* fn(day "YYYY-MM-DD", kind "holiday"|"workday", userdata) per calendar_days
 * row, by day. */
typedef md_err (*md_pg_day_fn)(const char *day, const char *kind, void *userdata,
                               struct md_ctx *ctx);
md_err md__pg_calendar_days(struct md_pg *pg, md_pg_day_fn fn, void *userdata,
                            struct md_ctx *ctx) MD_WUR;
md_err md__pg_touch_overdue(struct md_pg *pg, int64_t since, int64_t now, int *n,
                            struct md_ctx *ctx) MD_WUR;

#endif
