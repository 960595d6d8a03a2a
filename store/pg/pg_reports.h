/* pg_reports.h - report creation on PostgreSQL and what it reads (private
 * to store/): the PostgreSQL twins of reports.c's md_category_get,
 * md_report_nearby_open, md_report_insert (with its contact, history,
 * photos and event), md_report_get / md__report_public,
 * md_report_by_token, md__report_emit, md__report_history_add,
 * md_events_since, md_events_last_id, photos.c's md__photos_insert, and
 * md_report_history, md_categories_json, md_facility_categories_json.
 * Each has the contract of its SQLite function (reports.h, store_int.h);
 * the SQLite function dispatches here at its top.
 */
#ifndef MD_PG_REPORTS_H
#define MD_PG_REPORTS_H

#include "reports.h"

#include <libpq-fe.h>

struct md_pg;

/* reports.c's REPORT_COLS and REPORT_FROM, column for column, in PostgreSQL. */
#define MD_PG_REPORT_COLS                                                                          \
    "r.id, r.kind, r.service_code, c.name_zh, c.name_en, c.group_code, r.description,"             \
    " r.address, r.district_code, r.grid_code, r.status, r.channel, r.media_urls,"                 \
    " r.attributes, r.facility_id, r.proposed_change, r.merged_into, r.created_at,"                \
    " r.updated_at, r.expected_at, r.closed_at, r.lon, r.lat,"                                     \
    " (SELECT h.note FROM report_history h WHERE h.report_id = r.id ORDER BY h.id DESC"            \
    " LIMIT 1), c.unit_type, r.supporters,"                                                        \
    " (SELECT t.score FROM report_ratings t WHERE t.report_id = r.id),"                            \
    " (SELECT coalesce(json_agg(json_build_object('id', p.id, 'width', p.width, 'height',"         \
    "  p.height) ORDER BY p.id), '[]')::text"                                                      \
    "  FROM report_photos p WHERE p.report_id = r.id AND p.status = 'kept'"                        \
    "  AND r.status <> 'reported' AND r.status <> 'rejected')"
#define MD_PG_REPORT_FROM " FROM reports r LEFT JOIN categories c ON c.code = r.service_code"

md_err md__pg_category_get(struct md_pg *pg, const char *code, struct md_category *out,
                           struct md_ctx *ctx) MD_WUR;
md_err md__pg_report_nearby_open(struct md_pg *pg, const char *service_code, double lon, double lat,
                                 double radius_m, int64_t exclude_id, int limit, int offset_min,
                                 json_t **out, struct md_ctx *ctx) MD_WUR;
md_err md__pg_report_insert(struct md_pg *pg, const struct md_report_input *in, int64_t now,
                            int offset_min, struct md_report_created *out,
                            struct md_ctx *ctx) MD_WUR;
md_err md__pg_report_public(struct md_pg *pg, int64_t id, int64_t now, int offset_min, json_t **out,
                            struct md_ctx *ctx) MD_WUR;
md_err md__pg_report_by_token(struct md_pg *pg, const char *token, int64_t *id,
                              struct md_ctx *ctx) MD_WUR;
md_err md__pg_report_emit(struct md_pg *pg, const char *type, int64_t id, json_t *report,
                          json_t *extra, int64_t now, int64_t *event_id, struct md_ctx *ctx) MD_WUR;
md_err md__pg_report_history_add(struct md_pg *pg, int64_t id, const char *action, const char *from,
                                 const char *to, const char *role, const char *actor,
                                 const char *note, int64_t now, struct md_ctx *ctx) MD_WUR;
md_err md__pg_photos_insert(struct md_pg *pg, int64_t id, const char *status,
                            const struct md_photo_new *photos, size_t n, const char *role,
                            const char *actor, int64_t now, int64_t *ids,
                            struct md_ctx *ctx) MD_WUR;
md_err md__pg_events_since(struct md_pg *pg, int64_t after, int limit, md_event_fn fn,
                           void *userdata, struct md_ctx *ctx) MD_WUR;
md_err md__pg_events_last_id(struct md_pg *pg, int64_t *out, struct md_ctx *ctx) MD_WUR;

/* The reads around a report's follow-up: md_report_history,
 * md_categories_json, md_facility_categories_json. */
md_err md__pg_report_history(struct md_pg *pg, int64_t id, int offset_min, json_t **out,
                             struct md_ctx *ctx) MD_WUR;
md_err md__pg_categories_json(struct md_pg *pg, json_t **out, struct md_ctx *ctx) MD_WUR;
md_err md__pg_facility_categories_json(struct md_pg *pg, json_t **out, struct md_ctx *ctx) MD_WUR;

/* Row `row` of a result of MD_PG_REPORT_COLS as the public report JSON
 * (reports.c's row_json); NULL on allocation failure. */
json_t *md__pg_report_row_json(const PGresult *r, int row, int64_t now, int offset_min);

#endif
