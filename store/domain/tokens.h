/* tokens.h - API tokens for the roles of SPEC §7 (app, officer, centre, admin).
 *
 * A token is 32 random bytes from getrandom(), shown once as "mdt_" + 64 hex
 * digits. Only its SHA-256 (hex) is stored, in table `tokens`; verifying a
 * presented token hashes it, finds the row by hash and compares the hashes
 * in constant time. Revoked tokens stay in the table (revoked_at set) so
 * the history that names them keeps meaning.
 */
#ifndef MD_TOKENS_H
#define MD_TOKENS_H

#include "store.h"

#define MD_TOKEN_TEXT_MAX 72 /* "mdt_" + 64 hex + NUL, rounded up */
#define MD_ROLE_MAX 16

enum md_role {
    MD_ROLE_PUBLIC = 0, /* anonymous citizen: no token */
    MD_ROLE_APP,        /* a client app (Open311 api_key) */
    MD_ROLE_OFFICER,
    MD_ROLE_CENTRE,
    MD_ROLE_ADMIN,
    MD_ROLE__COUNT
};

/* Scopes narrow what a token may do within its role (an app key for one
 * purpose). A token without listed scopes may do all its role allows. */
#define MD_SCOPES(X)                                                                          \
    X(REPORT_CREATE, "report:create", "file reports (JSON API, Open311 POST requests)")       \
    X(REPORT_TRANSITION, "report:transition", "move cases through the workflow")               \
    X(CONSULTATION, "consultation:manage", "publish, moderate and close consultations")        \
    X(ADMIN_EDIT, "admin:edit", "edit facilities, categories and units")                      \
    X(STAFF_READ, "staff:read", "read staff data: units, officers' queues")                 \
    X(WEBHOOK, "webhook:manage", "subscribe webhooks to report events, read their log")
enum md_scope {
#define X(name, text, desc) MD_SCOPE_##name,
    MD_SCOPES(X)
#undef X
        MD_SCOPE__COUNT
};
#define MD_SCOPES_ALL ((1u << MD_SCOPE__COUNT) - 1)

/* Who is calling: role and a stable actor id for the history
 * ("anonymous" or "token:<id>"). */
struct md_principal {
    enum md_role role;
    int64_t token_id; /* 0 for anonymous */
    char actor[48];
    int64_t officer_id; /* officers: the officer the token names (0 = none) */
    char unit[33];      /* officers: their unit's code ("" = none) */
    unsigned scopes;    /* bit (1 << enum md_scope); MD_SCOPES_ALL when none were listed */
    int64_t quota_per_day; /* authenticated requests per UTC day; 0 = unlimited */
};

/* Optional policy of a token (table token_policy). Zero/NULL = none. */
struct md_token_policy {
    int64_t officer_id;    /* officer tokens: who (units.h) */
    const char *scopes;    /* comma list of scope names, checked by md_scopes_parse */
    int64_t quota_per_day; /* > 0 */
    int64_t expires_at;    /* epoch seconds */
};

/* Parse "report:create,admin:edit" into scope bits; MD_EINVAL naming an
 * unknown scope. NULL or "" gives MD_SCOPES_ALL. */
md_err md_scopes_parse(const char *text, unsigned *out, struct md_ctx *ctx) MD_WUR;
/* The scope's name ("report:create"); never NULL. */
const char *md_scope_name(enum md_scope scope);
/* MD_OK when `who` holds `scope`, else MD_EFORBID naming it. */
md_err md_principal_scope(const struct md_principal *who, enum md_scope scope,
                          struct md_ctx *ctx) MD_WUR;
/* Attach a policy to token `id` (replacing any). */
md_err md_token_set_policy(struct md_store *s, int64_t id, const struct md_token_policy *p,
                           struct md_ctx *ctx) MD_WUR;
/* Count one authenticated request of a token with a quota in today's (UTC)
 * bucket; MD_ERATE with the limit in the message when the day's quota is
 * used up (the request is then not counted). *retry_after_s (may be NULL)
 * gets the seconds until the next UTC day. */
md_err md_token_use(struct md_store *s, const struct md_principal *who, int64_t now,
                    int64_t *retry_after_s, struct md_ctx *ctx) MD_WUR;

/* "public", "app", ...; never NULL. */
const char *md_role_name(enum md_role role);
/* Parse a role name accepted by `mapd token add` (app|officer|centre|admin). */
md_err md_role_parse(const char *name, enum md_role *out, struct md_ctx *ctx) MD_WUR;
/* The anonymous principal. */
void md_principal_public(struct md_principal *p);

/* Create a token for `role` with a free-text label (may be NULL). Writes the
 * token text (the only time it exists outside the caller) into `token` and
 * its row id into *id (may be NULL). */
md_err md_token_create(struct md_store *s, enum md_role role, const char *label,
                       char token[MD_TOKEN_TEXT_MAX], int64_t *id, struct md_ctx *ctx) MD_WUR;
/* Look up a presented token with its policy (officer and unit, scopes,
 * quota). MD_EUNAUTH with a message when it is malformed, unknown, revoked
 * or expired. */
md_err md_token_verify(struct md_store *s, const char *token, struct md_principal *out,
                       struct md_ctx *ctx) MD_WUR;
/* Mark token `id` revoked; MD_ENOTFOUND when there is no such live token. */
md_err md_token_revoke(struct md_store *s, int64_t id, struct md_ctx *ctx) MD_WUR;

struct md_token_info {
    int64_t id;
    char role[MD_ROLE_MAX];
    char label[128];
    char hash_prefix[13]; /* first 12 hex digits of the hash, to tell tokens apart */
    int64_t created_at, revoked_at; /* revoked_at 0 = live */
    char unit[33];                  /* officer tokens: unit code, "" = none */
    char officer[101];              /* officer tokens: officer's name, "" = none */
    char scopes[200];               /* "" = all of the role */
    int64_t quota_per_day, expires_at, used_today;
};
typedef md_err (*md_token_fn)(const struct md_token_info *t, void *userdata);
/* Call fn for every token, oldest first. */
md_err md_token_list(struct md_store *s, md_token_fn fn, void *userdata, struct md_ctx *ctx) MD_WUR;

/* Fill buf with n cryptographically random bytes (getrandom). */
md_err md_random_bytes(void *buf, size_t n, struct md_ctx *ctx) MD_WUR;

#endif
