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

/* Who is calling: role and a stable actor id for the history
 * ("anonymous" or "token:<id>"). */
struct md_principal {
    enum md_role role;
    int64_t token_id; /* 0 for anonymous */
    char actor[48];
};

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
/* Look up a presented token. MD_EUNAUTH with a message when it is malformed,
 * unknown or revoked. */
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
};
typedef md_err (*md_token_fn)(const struct md_token_info *t, void *userdata);
/* Call fn for every token, oldest first. */
md_err md_token_list(struct md_store *s, md_token_fn fn, void *userdata, struct md_ctx *ctx) MD_WUR;

/* Fill buf with n cryptographically random bytes (getrandom). */
md_err md_random_bytes(void *buf, size_t n, struct md_ctx *ctx) MD_WUR;

#endif
