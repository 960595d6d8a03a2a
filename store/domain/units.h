/* units.h - the units (责任单位) cases are dispatched to, their officers,
 * and which unit and officer each dispatched case belongs to.
 *
 * Units and officers are data (tables `units`, `officers`); an officer's
 * token names the officer (table `token_policy`, see tokens.h), so the
 * server knows the caller's unit. `dispatch` (and `rework`, which sends a
 * case back) records the case's unit and, optionally, officer in
 * `report_assignments`, in the step's own transaction. An officer may take
 * a step (start, report_back) only on a case assigned to their unit and,
 * when the dispatch named an officer, only that officer: anything else is
 * MD_EFORBID. The centre and admins are not restricted.
 *
 * Header of the storage seam: no SQLite types; callers get JSON or structs.
 */
#ifndef MD_UNITS_H
#define MD_UNITS_H

#include "md_err.h"
#include <jansson.h>
#include <stdint.h>

#define MD_UNIT_CODE_MAX 33 /* 1..32 of [A-Za-z0-9_-] + NUL */
#define MD_UNIT_NAME_MAX 201
#define MD_OFFICER_NAME_MAX 101

struct md_store;
struct md_principal;
struct md_step;

/* True when `code` is 1..32 characters of [A-Za-z0-9_-]. */
int md_unit_code_valid(const char *code);

/* Add a unit. unit_type and district may be NULL. MD_ECONFLICT when the code
 * exists, MD_EINVAL for a bad code or empty name. */
md_err md_unit_add(struct md_store *s, const char *code, const char *name, const char *unit_type,
                   const char *district, struct md_ctx *ctx) MD_WUR;
/* Add an officer to unit `unit_code` (MD_ENOTFOUND when there is no such unit);
 * *id (may be NULL) gets the new officer's id. */
md_err md_officer_add(struct md_store *s, const char *unit_code, const char *name, int64_t *id,
                      struct md_ctx *ctx) MD_WUR;
/* The officer's unit code (unit must hold MD_UNIT_CODE_MAX bytes);
 * MD_ENOTFOUND when there is no such officer. */
md_err md_officer_unit(struct md_store *s, int64_t officer_id, char unit[MD_UNIT_CODE_MAX],
                       struct md_ctx *ctx) MD_WUR;
/* Every unit, by code, each with its officers: [{code, name, unit_type,
 * district, officers: [{id, name}]}]. Caller decrefs *out. */
md_err md_units_json(struct md_store *s, json_t **out, struct md_ctx *ctx) MD_WUR;

/* Inside a transition's transaction, after the workflow allowed the step
 * (the caller rolls back on failure): an officer's right to
 * take it (MD_EFORBID with the reason); the dispatch target's validity
 * (unit exists, officer in it; MD_EINVAL). No effect for other roles. */
md_err md__assignment_check(struct md_store *s, int64_t report_id, const struct md_step *step,
                            const struct md_principal *who, struct md_ctx *ctx) MD_WUR;
/* After the step: record the unit/officer of a dispatch or rework that names
 * one (the previous assignment is replaced). */
md_err md__assignment_record(struct md_store *s, int64_t report_id, const struct md_step *step,
                             const struct md_principal *who, int64_t now,
                             struct md_ctx *ctx) MD_WUR;
/* A report's assignment as {unit, unit_name, officer_id, officer_name,
 * assigned_at} or JSON null; caller decrefs. */
md_err md_assignment_json(struct md_store *s, int64_t report_id, int offset_min, json_t **out,
                          struct md_ctx *ctx) MD_WUR;
/* The open cases (dispatched, in_progress) of a unit - with officer_id, the
 * ones that officer may work: named to them or to no officer - by deadline
 * (no deadline last), then id;
 * at most `limit`. Each is the report's public JSON plus "assignment".
 * Caller decrefs *out. */
md_err md_unit_cases_json(struct md_store *s, const char *unit, int64_t officer_id, int limit,
                          int64_t now, int offset_min, json_t **out, struct md_ctx *ctx) MD_WUR;

#endif
