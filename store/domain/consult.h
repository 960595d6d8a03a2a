/* consult.h - consultations (城管维基): the centre puts a proposal at a place
 * (a new 便民菜站, a market's hours, a draft rule) to citizens with a text
 * and a closing date; citizens vote for or against and comment; comments
 * are shown once the centre approves them; results are open data.
 *
 * Who is a person: as for "me too" (docs/reports.md), once per device
 * token - a random token the app keeps; only its SHA-256 is stored, per
 * consultation. A vote keeps the voter's district (located from the point
 * they send, which is not stored), so results can be counted by district.
 * Votes and comments are refused (MD_ECONFLICT) after closes_at or once the
 * centre closed it. Header of the storage seam: no SQLite types.
 */
#ifndef MD_CONSULT_H
#define MD_CONSULT_H

#include "md_err.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct md_store;

struct md_consultation_input {
    const char *title, *body;  /* required; body is the proposal's text */
    const char *place;         /* a name for the place, may be NULL */
    double lon, lat;           /* WGS84 */
    const char *district_code; /* of the point, may be NULL */
    int64_t closes_at;         /* > now */
    const char *actor_id;
};

/* Create; *id gets the new consultation's id. */
md_err md_consultation_create(struct md_store *s, const struct md_consultation_input *in,
                              int64_t now, int64_t *id, struct md_ctx *ctx) MD_WUR;
/* One consultation as JSON: id, title, body, place, lon, lat, district,
 * status (open|closed), created_at, closes_at, closed_at, votes {for,
 * against}, comments (approved count). MD_ENOTFOUND when absent. */
md_err md_consultation_get(struct md_store *s, int64_t id, int64_t now, int offset_min,
                           json_t **out, struct md_ctx *ctx) MD_WUR;
/* All consultations (newest first), status "open", "closed" or NULL = all. */
md_err md_consultation_list(struct md_store *s, const char *status, int64_t now, int offset_min,
                            json_t **out, struct md_ctx *ctx) MD_WUR;
/* Close now (the centre); MD_ECONFLICT when already closed. */
md_err md_consultation_close(struct md_store *s, int64_t id, int64_t now,
                             struct md_ctx *ctx) MD_WUR;
/* A vote ("for"|"against") by device_hash (64 hex); district may be NULL.
 * MD_ECONFLICT when closed or when this device has voted. */
md_err md_consultation_vote(struct md_store *s, int64_t id, const char *device_hash,
                            const char *vote, const char *district, int64_t now,
                            struct md_ctx *ctx) MD_WUR;
/* A comment, pending moderation; *comment_id gets its id. MD_ECONFLICT when closed. */
md_err md_consultation_comment(struct md_store *s, int64_t id, const char *device_hash,
                               const char *body, int64_t now, int64_t *comment_id,
                               struct md_ctx *ctx) MD_WUR;
/* Approve or reject a comment ("approved"|"rejected"); MD_ENOTFOUND when the
 * comment is not of this consultation. */
md_err md_consultation_moderate(struct md_store *s, int64_t id, int64_t comment_id,
                                const char *status, const char *moderator, int64_t now,
                                struct md_ctx *ctx) MD_WUR;
/* Comments oldest first: [{id, body, status, created_at}]; with
 * approved_only, the public ones. Never the device hash. */
md_err md_consultation_comments(struct md_store *s, int64_t id, bool approved_only, int offset_min,
                                json_t **out, struct md_ctx *ctx) MD_WUR;
/* Votes by the voters' district: [{district, name, name_en, label_lon,
 * label_lat, for, against}] by district code, the unlocated ones last with
 * district null. */
md_err md_consultation_results(struct md_store *s, int64_t id, json_t **out,
                               struct md_ctx *ctx) MD_WUR;
/* Consultations whose point lies in the lon/lat box, for tiles: calls fn per
 * row (borrowed strings, valid during the call). */
struct md_consultation_point {
    int64_t id;
    double lon, lat;
    const char *title, *status;
    int64_t votes_for, votes_against, closes_at;
};
typedef md_err (*md_consultation_fn)(const struct md_consultation_point *p, void *userdata);
md_err md_consultation_points(struct md_store *s, double minlon, double minlat, double maxlon,
                              double maxlat, int64_t now, md_consultation_fn fn, void *userdata,
                              struct md_ctx *ctx) MD_WUR;

#endif
