/* reports_int.h - private to api/: how a report comes in (report_intake.c),
 * shared by reports_api.c, open311.c and the citizen, photo, staff and
 * consultation routes. */
#ifndef MD_REPORTS_INT_H
#define MD_REPORTS_INT_H

#include "api_int.h"
#include "calendar.h"
#include "coords.h"
#include "events.h"
#include "idem_key.h"
#include "ingest.h"
#include "md_multipart.h"
#include "photo_image.h"
#include "ratelimit.h"
#include "overdue.h"
#include "webhook_sender.h"
#include "reports.h"

/* The reports family's shared state (api->reports). */
struct md_reports_state {
    struct md_ingest *ingest;   /* NULL without a database: writes answer 503 */
    struct md_events_hub *hub;
    struct md_ratelimit *rl;
    struct md_calendar cal;
    int offset_min;
    struct md_overdue_timer *overdue; /* deadlines passing invalidate caches (overdue.c) */
    struct md_webhook_sender *webhooks; /* delivers events to webhooks (webhook_sender.c) */
    struct md_idem_inflight *inflight;  /* Idempotency-Keys of creates in flight (idem_key.c) */
    /* PostgreSQL: LISTEN on the change log (store/pg/pg_changefeed.h), so a
     * write through any node wakes this node's event hub at once; NULL on
     * SQLite (its only writer is this process, which wakes the hub itself). */
    struct md_pg_changefeed *feed;
};

/* After a committed write: its consistency token, the newest change number
 * (at least the write's), as the answer's Mapd-Consistency header; a
 * failed read leaves the header out (the write stands). */
void md__consistency_header(struct md_call *c);

/* How a created report is answered. */
enum md_created_form { MD_CREATED_JSON, MD_CREATED_O311_JSON, MD_CREATED_O311_XML };

/* The caller from `Authorization: Bearer <token>`; the public principal
 * without the header; MD_EUNAUTH for a bad token. */
md_err md__auth_bearer(struct md_call *c, struct md_principal *out) MD_WUR;
/* Same for a token given in another way (Open311 api_key). */
md_err md__auth_token(struct md_call *c, const char *token, struct md_principal *out) MD_WUR;

/* Check `attributes` (a JSON object code -> value, or NULL) against the
 * category's Open311 attribute definitions; *out_text (caller frees) is the
 * normalised object to store. */
md_err md__check_attributes(struct md_call *c, const struct md_category *cat, json_t *given,
                            char **out_text) MD_WUR;
/* Check a media URL (http/https, printable, <= 1000 bytes); `what` names it. */
md_err md__check_media_url(struct md_call *c, const char *what, const char *url) MD_WUR;

/* A report's lon/lat members rewritten from WGS84 into crs. */
void md__report_to_crs(json_t *report, enum md_crs crs);

/* Where a request's photos are: the parts named `part` of a parsed
 * multipart body (borrowed), at least `min` and at most
 * MD_PHOTOS_PER_REPORT of them. */
struct md_photo_parts {
    const struct md_multipart *m;
    const char *part;
    size_t min;
};

/* Photos checked and made safe (photo_image.h), ready for the store. */
struct md_photo_set {
    struct md_photo_image imgs[MD_PHOTOS_PER_REPORT];
    struct md_photo_new rows[MD_PHOTOS_PER_REPORT]; /* point into imgs */
    size_t n;
};

/* Every part of src through md_photo_process (photos_api.c), the one
 * place that checks uploads: 413/415/422 as photo_image.h says, 422 for a
 * sixth photo, 400 for fewer than src->min. Clear *out with
 * md__photo_set_clear (also after a failure). */
md_err md__photos_process(struct md_call *c, const struct md_photo_parts *src,
                          struct md_photo_set *out) MD_WUR;
void md__photo_set_clear(struct md_photo_set *set);
/* The request's multipart/form-data body split into parts (caller frees
 * *out with free(); the parts point into the request's body): 415 for
 * another Content-Type, 400 for a malformed body. */
md_err md__multipart_body(struct md_call *c, struct md_multipart **out) MD_WUR;
/* {id, width, height, url, thumb_url} of a photo (caller decrefs). */
json_t *md__photo_json(int64_t pid, int width, int height);

/* The common create path (report_intake.c): rate limit, category (must be of `want_kind`),
 * attributes, location (district/grid; 422 outside every district),
 * duplicate hint, then the photos of `photos` (NULL: none) checked and
 * made (md__photos_process; only now, so a refused report costs no
 * decoding), then queue on the group-commit writer - the report and its
 * photos are written in one transaction - and answer later
 * (res->deferred) in `form` once the report is on disk (the JSON form
 * with `photos` when there are any); errors after the queue in
 * error_form (NULL: mapd's JSON error). in->district/grid,
 * in->attributes are filled here. With an Idempotency-Key header, first:
 * 400 for a bad key, a replay of the key's stored answer, 422 or 409
 * (report_intake.c). */
md_err md__report_submit(struct md_call *c, struct md_report_input *in, json_t *attributes,
                         const struct md_photo_parts *photos, enum md_created_form form,
                         md_error_form_fn error_form) MD_WUR;

/* Take one unit of the per-address rate limit of report creates (votes,
 * comments and supports share it); MD_ERATE with Retry-After when spent. */
md_err md__rate_limit(struct md_call *c) MD_WUR;

/* POST /api/v1/reports/{id}/{what} for a citizen (citizen_api.c):
 * what = "supporters" ("me too"). MD_ENOTFOUND for another `what`. */
md_err md__citizen_post(struct md_call *c, int64_t id, const char *what) MD_WUR;

/* POST /api/v1/reports/{id}/photos (photos_api.c). */
md_err md__photos_upload(struct md_call *c, int64_t id) MD_WUR;


#endif
