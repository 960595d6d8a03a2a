/* tokens.c - hashed API tokens (see tokens.h). */
#include "tokens.h"
#include "md_sha256.h"
#include "md_time.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define TOKEN_PREFIX "mdt_"
#define TOKEN_BYTES 32

static const char *const role_names[MD_ROLE__COUNT] = {"public", "app", "officer", "centre",
                                                       "admin"};

const char *md_role_name(enum md_role role)
{
    if ((int)role < 0 || role >= MD_ROLE__COUNT)
        return "public";
    return role_names[role];
}

md_err md_role_parse(const char *name, enum md_role *out, struct md_ctx *ctx)
{
    for (int r = MD_ROLE_APP; r < MD_ROLE__COUNT; r++) {
        if (name && strcmp(name, role_names[r]) == 0) {
            *out = (enum md_role)r;
            return MD_OK;
        }
    }
    return md_fail(ctx, MD_EINVAL, "role must be app, officer, centre or admin, got '%s'",
                   name ? name : "");
}

void md_principal_public(struct md_principal *p)
{
    memset(p, 0, sizeof(*p));
    p->role = MD_ROLE_PUBLIC;
    snprintf(p->actor, sizeof(p->actor), "anonymous");
}

md_err md_random_bytes(void *buf, size_t n, struct md_ctx *ctx)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return md_fail(ctx, MD_EIO, "getrandom: %s", strerror(errno));
        }
        p += got;
        n -= (size_t)got;
    }
    return MD_OK;
}

md_err md_token_create(struct md_store *s, enum md_role role, const char *label,
                       char token[MD_TOKEN_TEXT_MAX], int64_t *id, struct md_ctx *ctx)
{
    static const char sql[] = "INSERT INTO tokens(hash, role, label, created_at) VALUES (?, ?, ?, ?)";
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[TOKEN_BYTES];
    if (role <= MD_ROLE_PUBLIC || role >= MD_ROLE__COUNT)
        return md_fail(ctx, MD_EINVAL, "a token needs the role app, officer, centre or admin");
    md_err rc = md_random_bytes(raw, sizeof(raw), ctx);
    if (rc)
        return rc;
    size_t n = strlen(TOKEN_PREFIX);
    memcpy(token, TOKEN_PREFIX, n);
    for (int i = 0; i < TOKEN_BYTES; i++) {
        token[n++] = hex[raw[i] >> 4];
        token[n++] = hex[raw[i] & 15];
    }
    token[n] = '\0';
    char hash[MD_SHA256_HEX_LEN];
    md_sha256_hex(token, n, hash);
    sqlite3_stmt *st = NULL;
    rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, role_names[role], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, label ? label : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, md_time_now());
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE) {
        token[0] = '\0';
        return md_store_fail(s, src, "saving the token", ctx);
    }
    if (id)
        *id = sqlite3_last_insert_rowid(md_store_db(s));
    return MD_OK;
}

md_err md_token_verify(struct md_store *s, const char *token, struct md_principal *out,
                       struct md_ctx *ctx)
{
    static const char sql[] = "SELECT id, hash, role, revoked_at FROM tokens WHERE hash = ?";
    size_t n = token ? strlen(token) : 0;
    if (n != strlen(TOKEN_PREFIX) + 2 * TOKEN_BYTES || strncmp(token, TOKEN_PREFIX, 4) != 0)
        return md_fail(ctx, MD_EUNAUTH, "the token is malformed (expected mdt_ and 64 hex digits)");
    char hash[MD_SHA256_HEX_LEN];
    md_sha256_hex(token, n, hash);
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        const char *stored = (const char *)sqlite3_column_text(st, 1);
        const char *role = (const char *)sqlite3_column_text(st, 2);
        bool match = stored && strlen(stored) == 64 && md_ct_equal(stored, hash, 64);
        if (!match)
            rc = md_fail(ctx, MD_EUNAUTH, "unknown token");
        else if (sqlite3_column_type(st, 3) != SQLITE_NULL)
            rc = md_fail(ctx, MD_EUNAUTH, "the token has been revoked");
        else {
            memset(out, 0, sizeof(*out));
            out->token_id = sqlite3_column_int64(st, 0);
            out->role = MD_ROLE_PUBLIC;
            for (int r = MD_ROLE_APP; r < MD_ROLE__COUNT; r++)
                if (role && strcmp(role, role_names[r]) == 0)
                    out->role = (enum md_role)r;
            snprintf(out->actor, sizeof(out->actor), "token:%lld", (long long)out->token_id);
        }
    } else if (src == SQLITE_DONE) {
        rc = md_fail(ctx, MD_EUNAUTH, "unknown token");
    } else {
        rc = md_store_fail(s, src, "token lookup", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

md_err md_token_revoke(struct md_store *s, int64_t id, struct md_ctx *ctx)
{
    static const char sql[] = "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, md_time_now());
    sqlite3_bind_int64(st, 2, id);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "revoking the token", ctx);
    if (sqlite3_changes(md_store_db(s)) == 0)
        return md_fail(ctx, MD_ENOTFOUND, "no live token with id %lld", (long long)id);
    return MD_OK;
}

md_err md_token_list(struct md_store *s, md_token_fn fn, void *userdata, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT id, role, label, hash, created_at, revoked_at FROM tokens"
                              " ORDER BY id";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    int src;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct md_token_info t = {.id = sqlite3_column_int64(st, 0)};
        snprintf(t.role, sizeof(t.role), "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(t.label, sizeof(t.label), "%s", (const char *)sqlite3_column_text(st, 2));
        snprintf(t.hash_prefix, sizeof(t.hash_prefix), "%s", (const char *)sqlite3_column_text(st, 3));
        t.created_at = sqlite3_column_int64(st, 4);
        t.revoked_at = sqlite3_column_int64(st, 5);
        rc = fn(&t, userdata);
    }
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "listing tokens", ctx);
    sqlite3_reset(st);
    return rc;
}
