/* citizen.h - what a citizen does with a report already filed: support it
 * ("me too", 市民支持) instead of filing a duplicate; and, as its reporter
 * (proven by the follow-up token), comment, withdraw it, and rate the
 * outcome once it is closed (满意度).
 *
 * Who is a person for "me too": one device token - a random string of
 * 16-128 printable characters the app keeps (the web map keeps one in
 * localStorage), the same rule as consultation votes. Only its SHA-256 is
 * stored, per report; the database's primary key (report, device hash)
 * refuses a second support. The follow-up token is not the key: it belongs
 * to the one report its holder filed, and a supporter usually filed none. A
 * phone-verified identity would be stronger but needs an SMS gateway mapd
 * does not have. Header of the storage seam: no SQLite types.
 */
#ifndef MD_CITIZEN_H
#define MD_CITIZEN_H

#include "md_err.h"
#include <jansson.h>
#include <stdint.h>

struct md_store;

/* Record that the device with SHA-256 hex `device_hash` supports report
 * `id`, bump reports.supporters (so the report's tile changes at once) and
 * emit a "report.supported" event, in one durable transaction. *supporters
 * gets the new count. MD_ENOTFOUND: no such report; MD_ECONFLICT: the
 * report is closed or rejected, or this device already supports it. */
md_err md_report_support(struct md_store *s, int64_t id, const char *device_hash, int64_t now,
                         int offset_min, int64_t *supporters, struct md_ctx *ctx) MD_WUR;

/* The reporter's follow-up: `token` must be report `id`'s follow-up token
 * (MD_ENOTFOUND: no such report; MD_EFORBID: the token is another report's
 * or none). Each writes a report_history row (role "public", actor
 * "reporter"), sets updated_at, emits an event and commits durably;
 * *report_out (caller decrefs) is the report's public JSON afterwards. */

/* A comment (shown in the history, event "report.commented"). */
md_err md_report_comment(struct md_store *s, int64_t id, const char *token, const char *text,
                         int64_t now, int offset_min, json_t **report_out,
                         struct md_ctx *ctx) MD_WUR;
/* Rate the outcome 1-5 with an optional comment, once, when the report is
 * closed (MD_ECONFLICT otherwise or a second time); event "report.rated". */
md_err md_report_rate(struct md_store *s, int64_t id, const char *token, int score,
                      const char *comment, int64_t now, int offset_min, json_t **report_out,
                      struct md_ctx *ctx) MD_WUR;
/* True (MD_OK) when `token` is report `id`'s follow-up token; errors as
 * above. Withdrawing is a workflow step (workflow.h, action "withdraw",
 * role public) that the caller takes after this check. */
md_err md_report_token_check(struct md_store *s, int64_t id, const char *token,
                             struct md_ctx *ctx) MD_WUR;

#endif
