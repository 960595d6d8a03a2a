/* pg_tokens.h - API tokens, units and officers on PostgreSQL (private to
 * store/): the twins of tokens.c's md_token_create, md_token_verify,
 * md_token_set_policy, md_token_use, md_token_revoke, md_token_list and of
 * units.c's md_unit_add, unit_exists, md_officer_add, md_officer_unit,
 * assignment_get, md__assignment_record and the reads md_units_json,
 * md_assignment_json and md_unit_cases_json's case list. Each has the contract of its
 * SQLite function (tokens.h, units.h); the SQLite function dispatches here
 * at its top. Tokens are made and hashed as tokens.c does (32 random
 * bytes, "mdt_" + hex, SHA-256 stored, compared in constant time).
 */
#ifndef MD_PG_TOKENS_H
#define MD_PG_TOKENS_H

#include "tokens.h"
#include "units.h"
#include "workflow.h"

struct md_pg;

md_err md__pg_token_create(struct md_pg *pg, enum md_role role, const char *label,
                           char token[MD_TOKEN_TEXT_MAX], int64_t *id, struct md_ctx *ctx) MD_WUR;
md_err md__pg_token_verify(struct md_pg *pg, const char *token, struct md_principal *out,
                           struct md_ctx *ctx) MD_WUR;
md_err md__pg_token_set_policy(struct md_pg *pg, int64_t id, const struct md_token_policy *p,
                               struct md_ctx *ctx) MD_WUR;
md_err md__pg_token_use(struct md_pg *pg, const struct md_principal *who, int64_t now,
                        int64_t *retry_after_s, struct md_ctx *ctx) MD_WUR;
md_err md__pg_token_revoke(struct md_pg *pg, int64_t id, struct md_ctx *ctx) MD_WUR;
md_err md__pg_token_list(struct md_pg *pg, md_token_fn fn, void *userdata,
                         struct md_ctx *ctx) MD_WUR;

md_err md__pg_unit_add(struct md_pg *pg, const char *code, const char *name, const char *unit_type,
                       const char *district, struct md_ctx *ctx) MD_WUR;
md_err md__pg_unit_exists(struct md_pg *pg, const char *code, struct md_ctx *ctx) MD_WUR;
md_err md__pg_officer_add(struct md_pg *pg, const char *unit_code, const char *name, int64_t *id,
                          struct md_ctx *ctx) MD_WUR;
md_err md__pg_officer_unit(struct md_pg *pg, int64_t officer_id, char unit[MD_UNIT_CODE_MAX],
                           struct md_ctx *ctx) MD_WUR;
/* The case's assignment: *found 0 when none. */
md_err md__pg_assignment_get(struct md_pg *pg, int64_t report_id, int *found,
                             char unit[MD_UNIT_CODE_MAX], int64_t *officer_id,
                             struct md_ctx *ctx) MD_WUR;
md_err md__pg_assignment_record(struct md_pg *pg, int64_t report_id, const char *unit,
                                int64_t officer_id, int64_t now, const char *actor,
                                struct md_ctx *ctx) MD_WUR;

/* units.c's reads: md_units_json, md_assignment_json, md_unit_cases_json
 * (on store s, whose connection is pg). */
md_err md__pg_units_json(struct md_pg *pg, json_t **out, struct md_ctx *ctx) MD_WUR;
md_err md__pg_assignment_json(struct md_pg *pg, int64_t report_id, int offset_min, json_t **out,
                              struct md_ctx *ctx) MD_WUR;
md_err md__pg_unit_cases_json(struct md_store *s, struct md_pg *pg, const char *unit,
                              int64_t officer_id, int limit, int64_t now, int offset_min,
                              json_t **out, struct md_ctx *ctx) MD_WUR;

#endif
