/* admin_edit.h - an admin's direct edits of facilities and facility
 * categories, each with its history (before/after of the changed fields,
 * who, when). Facilities' rows go to facility_history (with report_id
 * NULL, beside the citizens' accepted corrections), categories' to
 * facility_category_history. Every write goes through the layer triggers,
 * so tiles and caches see it at once. Header of the storage seam: no
 * SQLite types.
 */
#ifndef MD_ADMIN_EDIT_H
#define MD_ADMIN_EDIT_H

#include "md_err.h"
#include <jansson.h>
#include <stdint.h>

struct md_store;
struct md_principal;

/* The editable fields of a facility; NULL = unchanged. */
struct md_facility_edit {
    const char *name, *address, *phone, *opening_hours, *category, *status;
};

/* Apply `e` to facility `id` in one transaction with its history row.
 * MD_ENOTFOUND for no such facility, MD_EINVAL for an unknown category or
 * status, MD_EINVAL when nothing would change. *out (caller decrefs) is
 * {id, name, address, phone, opening_hours, category, status, updated_at}. */
md_err md_facility_edit(struct md_store *s, int64_t id, const struct md_facility_edit *e,
                        const struct md_principal *who, int64_t now, int offset_min, json_t **out,
                        struct md_ctx *ctx) MD_WUR;
/* A facility's history, oldest first: [{report_id, change, role, actor, at}]. */
md_err md_facility_history_json(struct md_store *s, int64_t id, int offset_min, json_t **out,
                                struct md_ctx *ctx) MD_WUR;
/* Create or change a facility category (code 1-40 of [a-z0-9_]; colour
 * #rrggbb) with its history row; *out is the category. */
md_err md_facility_category_put(struct md_store *s, const char *code, const char *name_zh,
                                const char *name_en, const char *color,
                                const struct md_principal *who, int64_t now, json_t **out,
                                struct md_ctx *ctx) MD_WUR;
/* A category's history, oldest first: [{change, role, actor, at}]. */
md_err md_facility_category_history_json(struct md_store *s, const char *code, int offset_min,
                                         json_t **out, struct md_ctx *ctx) MD_WUR;

#endif
