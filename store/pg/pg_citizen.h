/* pg_citizen.h - the SQL of citizen.c and photos.c on PostgreSQL (private
 * to store/): their logic (who may, in which state, the events) stays
 * shared; these are the statements it runs, inside the caller's
 * transaction. */
#ifndef MD_PG_CITIZEN_H
#define MD_PG_CITIZEN_H

#include "pg_store.h"

#include <stdbool.h>
#include <stddef.h>

/* Report `id`'s status (MD_ENOTFOUND when none). */
md_err md__pg_report_status(struct md_pg *pg, int64_t id, char *status, size_t n,
                            struct md_ctx *ctx) MD_WUR;
/* One "me too" of device_hash (MD_ECONFLICT: this device already did), the
 * report's supporters bumped; the new count into *supporters. */
md_err md__pg_support_add(struct md_pg *pg, int64_t id, const char *device_hash, int64_t now,
                          int64_t *supporters, struct md_ctx *ctx) MD_WUR;
/* The rating (MD_ECONFLICT: already rated). */
md_err md__pg_rating_add(struct md_pg *pg, int64_t id, int score, const char *comment,
                         int64_t now, struct md_ctx *ctx) MD_WUR;
/* updated_at := now. */
md_err md__pg_report_touch(struct md_pg *pg, int64_t id, int64_t now, struct md_ctx *ctx) MD_WUR;
/* The report's status and its kept photos' count (MD_ENOTFOUND: no report). */
md_err md__pg_photos_kept(struct md_pg *pg, int64_t id, int64_t *n, char *status, size_t len,
                          struct md_ctx *ctx) MD_WUR;
/* A kept photo's bytes (display or thumb, malloc'd into *out), its etag
 * (hex, unquoted) and its report's status; *found false when none. */
md_err md__pg_photo_read(struct md_pg *pg, int64_t photo_id, bool thumb, unsigned char **out,
                         size_t *len, char *etag, size_t etag_n, char *status, size_t status_n,
                         bool *found, struct md_ctx *ctx) MD_WUR;
/* A kept photo's report and that report's status; *found false when none. */
md_err md__pg_photo_find(struct md_pg *pg, int64_t photo_id, int64_t *report_id, char *status,
                         size_t n, bool *found, struct md_ctx *ctx) MD_WUR;
/* The photo removed (its bytes dropped). */
md_err md__pg_photo_drop(struct md_pg *pg, int64_t photo_id, int64_t now,
                         struct md_ctx *ctx) MD_WUR;

#endif
