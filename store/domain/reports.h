/* reports.h - citizens' reports and officers' incidents: create, read, list,
 * history, workflow steps, merging, facility corrections and the events
 * they emit.
 *
 * Public vs private: every JSON object this module builds holds public
 * fields only. The reporter's contact goes to report_contacts and is read by
 * nothing here; the follow-up token is returned once by md_report_insert.
 * Every change writes, in the same transaction, one report_history row and
 * one events row (the payload of the live event stream), so a committed
 * change always has its event and a rolled-back one never does.
 */
#ifndef MD_REPORTS_H
#define MD_REPORTS_H

#include "areas.h"
#include "calendar.h"
#include "photos.h"
#include "tokens.h"
#include <jansson.h>

#define MD_REPORT_TOKEN_MAX 40
#define MD_DESCRIPTION_MAX 4000 /* code points */

/* The reporter's contact: private, stored apart, never shown. */
struct md_contact {
    const char *name, *phone, *email, *device_id; /* each may be NULL */
};

/* A new report, validated by the caller (api/): service_code exists,
 * lon/lat finite and located (district/grid filled by md_store_locate),
 * strings valid UTF-8 within their limits, JSON texts well-formed. */
struct md_report_input {
    const char *kind;            /* problem | incident | correction */
    const char *service_code;
    const char *description;     /* may be NULL */
    const char *address;         /* may be NULL */
    double lon, lat;             /* WGS84 */
    char district[MD_DISTRICT_CODE_MAX];
    char grid[MD_GRID_CODE_MAX]; /* "" = none */
    const char *channel;         /* app | web | hotline | patrol | import | open311 */
    const char *media_urls;      /* JSON array text; NULL = [] */
    const char *attributes;      /* JSON object text; NULL = {} */
    int64_t facility_id;         /* corrections; 0 = none */
    const char *proposed_change; /* corrections: JSON object text; NULL = none */
    struct md_contact contact;
    const char *client_addr; /* private, kept with the contact; may be NULL */
    enum md_role actor_role;
    const char *actor_id;
    /* Photos stored with the report, in the same transaction (made by
     * api/photo_image.c); borrowed, 0..MD_PHOTOS_PER_REPORT. */
    const struct md_photo_new *photos;
    size_t nphotos;
};

struct md_report_created {
    int64_t id;
    int64_t created_at;
    int64_t event_id;
    char token[MD_REPORT_TOKEN_MAX]; /* public follow-up token (Open311 tokens/{token}) */
    int64_t photo_ids[MD_PHOTOS_PER_REPORT]; /* of in->photos[0..nphotos), in order */
    size_t nphotos;
    /* Set by the writer (write/ingest.c) after the commit: a change number
     * at least as new as the report's, the 201's Mapd-Consistency token
     * (0 = none). */
    int64_t change_seq;
};

/* Insert one report with its contact, first history row, its photos (a
 * "photo" history row each; MD_EUNPROC over MD_PHOTOS_PER_REPORT) and
 * "report.created" event. Must run inside a transaction the caller commits; on failure the
 * caller rolls back (or to a savepoint). `offset_min` is the city's UTC offset
 * for times in the event payload. */
md_err md_report_insert(struct md_store *s, const struct md_report_input *in, int64_t now,
                        int offset_min, struct md_report_created *out, struct md_ctx *ctx) MD_WUR;

/* Category facts needed to accept a report. */
struct md_category {
    char code[8];
    char kind[16]; /* problem | correction */
    char group_code[8];
    char name_zh[64], name_en[96];
    int64_t deadline_value;
    char deadline_unit[8];
    double dup_radius_m;
    json_t *attributes; /* array of Open311 attribute definitions; owned */
};
/* MD_ENOTFOUND (with a message naming the code) for an unknown code.
 * Caller frees with md_category_clear(). */
md_err md_category_get(struct md_store *s, const char *code, struct md_category *out,
                       struct md_ctx *ctx) MD_WUR;
void md_category_clear(struct md_category *c);
/* Every category as JSON objects {code, kind, group, group_zh, group_en,
 * name_zh, name_en, description, deadline_value, deadline_unit, unit_type,
 * dup_radius_m, attributes}, in their configured order. Caller decrefs. */
/* The map correction "missing facility" (缺少设施): filed by location with a
 * proposed facility; accepting it adds the facility. */
#define MD_MISSING_FACILITY_CODE "900004"

md_err md_categories_json(struct md_store *s, json_t **out, struct md_ctx *ctx) MD_WUR;
/* The facility categories as a JSON array of {code, name_zh, name_en, color}
 * in their display order (the data the map's colours and names come from). */
md_err md_facility_categories_json(struct md_store *s, json_t **out, struct md_ctx *ctx) MD_WUR;

/* Public JSON of one report; MD_ENOTFOUND when it does not exist. `now`
 * decides "overdue". Caller decrefs. */
md_err md_report_get(struct md_store *s, int64_t id, int64_t now, int offset_min, json_t **out,
                     struct md_ctx *ctx) MD_WUR;
/* Report id for a follow-up token; MD_ENOTFOUND when unknown. */
md_err md_report_by_token(struct md_store *s, const char *token, int64_t *id,
                          struct md_ctx *ctx) MD_WUR;
/* History, oldest first: [{action, from, to, role, actor, note, at}]. */
md_err md_report_history(struct md_store *s, int64_t id, int offset_min, json_t **out,
                         struct md_ctx *ctx) MD_WUR;

/* List filters; NULL / false / 0 fields do not filter. */
struct md_report_filter {
    const char *statuses;      /* comma list of statuses */
    int open_state;            /* 1 = open (Open311), 2 = closed or rejected, 0 = any */
    const char *service_codes; /* comma list */
    const char *district;
    const char *kind;
    int64_t created_from, created_to; /* [from, to], both inclusive; 0 = unbounded */
    int64_t updated_from, updated_to;
    bool has_bbox;
    struct md_bbox bbox;
    bool has_near; /* within radius_m (geodesic) of near_lon/near_lat */
    double near_lon, near_lat, radius_m;
    bool overdue; /* dispatched or in progress past expected_at */
    bool by_supporters; /* order: most supporters first (then newest), not newest first */
    int limit, offset;
    const struct md_report_key *after; /* keyset: the rows after this one in the order
                                          (NULL: from `offset`) */
};
/* Where a row stands in the list's orders (newest: created_at, id; most
 * supported: supporters, created_at, id - all descending). */
struct md_report_key {
    int64_t supporters, created_at, id;
};
/* Deadlines passing are changes: the reports that became overdue
 * (md_workflow_overdue) in [since, now) - deadline at or after `since`,
 * before `now` - are touched (a write that changes nothing), so the
 * change-tracking triggers log each one's point and every cache drops
 * exactly those reports' tiles and features. A read first: no write
 * transaction when nothing is due. *n gets how many were touched. */
md_err md_report_touch_overdue(struct md_store *s, int64_t since, int64_t now, int *n,
                               struct md_ctx *ctx) MD_WUR;
/* Public JSON array of matching reports, newest first (by created_at,
 * ties by id). */
md_err md_report_list(struct md_store *s, const struct md_report_filter *f, int64_t now,
                      int offset_min, json_t **out, struct md_ctx *ctx) MD_WUR;
/* The same, and the key of the page's last row in *last (untouched when the
 * page is empty): a keyset page (f->after) seeks by the order's index, so
 * its cost does not grow with its depth. */
md_err md_report_list_page(struct md_store *s, const struct md_report_filter *f, int64_t now,
                           int offset_min, json_t **out, struct md_report_key *last,
                           struct md_ctx *ctx) MD_WUR;

/* Open reports of `service_code` within radius_m of lon/lat (other than
 * `exclude_id`), nearest first, at most `limit`:
 * [{id, status, distance_m, created_at, description, supporters}]. */
md_err md_report_nearby_open(struct md_store *s, const char *service_code, double lon, double lat,
                             double radius_m, int64_t exclude_id, int limit, int offset_min,
                             json_t **out, struct md_ctx *ctx) MD_WUR;

/* One workflow step (workflow.h decides; this applies it): updates the
 * report, appends history and an event, computes the deadline at dispatch
 * on `cal`, applies an accepted correction to its facility (with a
 * facility_history row), and for "merge" sets merged_into = `into`. Runs its
 * own transaction and commits durably. */
struct md_step {
    const char *action;
    const char *note; /* may be NULL */
    int64_t into;     /* merge target */
    const char *unit;   /* dispatch/rework: the unit (units.h); NULL = none */
    int64_t officer_id; /* dispatch/rework: an officer of that unit; 0 = none */
};
md_err md_report_transition(struct md_store *s, const struct md_calendar *cal, int64_t id,
                            const struct md_step *step, const struct md_principal *who,
                            int64_t now, int offset_min, json_t **report_out,
                            struct md_ctx *ctx) MD_WUR;

/* A facility's point; MD_ENOTFOUND when there is no such facility. */
md_err md_facility_point(struct md_store *s, int64_t id, double *lon, double *lat,
                         struct md_ctx *ctx) MD_WUR;
/* True (MD_OK) when `code` is a facility category; MD_ENOTFOUND otherwise. */
md_err md_facility_category_check(struct md_store *s, const char *code, struct md_ctx *ctx) MD_WUR;

/* Events with id > after, oldest first, at most limit: calls fn for each. */
typedef md_err (*md_event_fn)(int64_t id, const char *type, const char *payload, void *userdata);
md_err md_events_since(struct md_store *s, int64_t after, int limit, md_event_fn fn,
                       void *userdata, struct md_ctx *ctx) MD_WUR;
/* Newest event id (0 when none). */
md_err md_events_last_id(struct md_store *s, int64_t *out, struct md_ctx *ctx) MD_WUR;

#endif
