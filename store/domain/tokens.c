/* tokens.c - hashed API tokens (see tokens.h). */
#include "tokens.h"
#include "store_int.h"
#include "md_sha256.h"
#include "md_time.h"
#include "pg_tokens.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define TOKEN_PREFIX "mdt_"
#define TOKEN_BYTES 32

static const char *const scope_names[MD_SCOPE__COUNT] = {
#define X(name, text, desc) text,
    MD_SCOPES(X)
#undef X
};

const char *md_scope_name(enum md_scope scope)
{
    return (int)scope >= 0 && scope < MD_SCOPE__COUNT ? scope_names[scope] : "";
}

md_err md_scopes_parse(const char *text, unsigned *out, struct md_ctx *ctx)
{
    *out = 0;
    if (!text || !*text) {
        *out = MD_SCOPES_ALL;
        return MD_OK;
    }
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, ",");
        int found = -1;
        for (int i = 0; i < MD_SCOPE__COUNT && found < 0; i++)
            if (strlen(scope_names[i]) == n && strncmp(p, scope_names[i], n) == 0)
                found = i;
        if (found < 0)
            return md_fail(ctx, MD_EINVAL,
                           "unknown scope '%.*s' (report:create, report:transition,"
                           " consultation:manage, admin:edit, staff:read, webhook:manage)",
                           (int)(n > 40 ? 40 : n), p);
        *out |= 1u << found;
        p += n;
        if (*p == ',')
            p++;
    }
    return MD_OK;
}

md_err md_principal_scope(const struct md_principal *who, enum md_scope scope, struct md_ctx *ctx)
{
    if (who->role == MD_ROLE_PUBLIC || (who->scopes & (1u << scope)))
        return MD_OK;
    return md_fail(ctx, MD_EFORBID, "this token lacks the scope %s", md_scope_name(scope));
}

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
    if (s->backend == MD_BACKEND_PG)
        return md__pg_token_create(s->pg, role, label, token, id, ctx);
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
    if (s->backend == MD_BACKEND_PG)
        return md__pg_token_verify(s->pg, token, out, ctx);
    static const char sql[] =
        "SELECT t.id, t.hash, t.role, t.revoked_at, p.officer_id, o.unit_code, p.scopes,"
        " p.quota_per_day, p.expires_at FROM tokens t LEFT JOIN token_policy p ON p.token_id = t.id"
        " LEFT JOIN officers o ON o.id = p.officer_id WHERE t.hash = ?";
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
        else if (sqlite3_column_type(st, 8) != SQLITE_NULL &&
                 sqlite3_column_int64(st, 8) <= md_time_now())
            rc = md_fail(ctx, MD_EUNAUTH, "the token has expired");
        else {
            memset(out, 0, sizeof(*out));
            out->token_id = sqlite3_column_int64(st, 0);
            out->role = MD_ROLE_PUBLIC;
            for (int r = MD_ROLE_APP; r < MD_ROLE__COUNT; r++)
                if (role && strcmp(role, role_names[r]) == 0)
                    out->role = (enum md_role)r;
            snprintf(out->actor, sizeof(out->actor), "token:%lld", (long long)out->token_id);
            out->officer_id = sqlite3_column_int64(st, 4);
            const unsigned char *unit = sqlite3_column_text(st, 5);
            snprintf(out->unit, sizeof(out->unit), "%s", unit ? (const char *)unit : "");
            const unsigned char *scopes = sqlite3_column_text(st, 6);
            struct md_ctx sub;
            md_ctx_init(&sub);
            if (md_scopes_parse(scopes ? (const char *)scopes : NULL, &out->scopes, &sub))
                out->scopes = 0; /* a scope this mapd does not know grants nothing */
            out->quota_per_day = sqlite3_column_int64(st, 7);
        }
    } else if (src == SQLITE_DONE) {
        rc = md_fail(ctx, MD_EUNAUTH, "unknown token");
    } else {
        rc = md_store_fail(s, src, "token lookup", ctx);
    }
    sqlite3_reset(st);
    return rc;
}

md_err md_token_set_policy(struct md_store *s, int64_t id, const struct md_token_policy *p,
                           struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_token_set_policy(s->pg, id, p, ctx);
    static const char sql[] = "INSERT OR REPLACE INTO token_policy(token_id, officer_id, scopes,"
                              " quota_per_day, expires_at) VALUES (?, ?, ?, ?, ?)";
    unsigned bits;
    md_err rc = md_scopes_parse(p->scopes, &bits, ctx);
    sqlite3_stmt *st = NULL;
    if (!rc && p->quota_per_day < 0)
        rc = md_fail(ctx, MD_EINVAL, "quota must be a positive number of requests per day");
    if (!rc)
        rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    if (p->officer_id)
        sqlite3_bind_int64(st, 2, p->officer_id);
    else
        sqlite3_bind_null(st, 2);
    if (p->scopes && *p->scopes)
        sqlite3_bind_text(st, 3, p->scopes, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    if (p->quota_per_day)
        sqlite3_bind_int64(st, 4, p->quota_per_day);
    else
        sqlite3_bind_null(st, 4);
    if (p->expires_at)
        sqlite3_bind_int64(st, 5, p->expires_at);
    else
        sqlite3_bind_null(st, 5);
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    return src == SQLITE_DONE ? MD_OK : md_store_fail(s, src, "saving the token's policy", ctx);
}

md_err md_token_use(struct md_store *s, const struct md_principal *who, int64_t now,
                    int64_t *retry_after_s, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_token_use(s->pg, who, now, retry_after_s, ctx);
    static const char sql[] =
        "INSERT INTO token_usage(token_id, day, n) VALUES (?1, ?2, 1)"
        " ON CONFLICT(token_id, day) DO UPDATE SET n = n + 1 WHERE n < ?3";
    if (who->quota_per_day <= 0 || who->token_id <= 0)
        return MD_OK;
    int64_t day = now / 86400;
    if (retry_after_s)
        *retry_after_s = (day + 1) * 86400 - now;
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, who->token_id);
    sqlite3_bind_int64(st, 2, day);
    sqlite3_bind_int64(st, 3, who->quota_per_day);
    int src = sqlite3_step(st);
    int changed = sqlite3_changes(md_store_db(s));
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return md_store_fail(s, src, "counting the token's use", ctx);
    if (changed == 0)
        return md_fail(ctx, MD_ERATE, "this key's quota of %lld requests per day is used up",
                       (long long)who->quota_per_day);
    return MD_OK;
}

md_err md_token_revoke(struct md_store *s, int64_t id, struct md_ctx *ctx)
{
    if (s->backend == MD_BACKEND_PG)
        return md__pg_token_revoke(s->pg, id, ctx);
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
    if (s->backend == MD_BACKEND_PG)
        return md__pg_token_list(s->pg, fn, userdata, ctx);
    static const char sql[] =
        "SELECT t.id, t.role, t.label, t.hash, t.created_at, t.revoked_at, o.unit_code, o.name,"
        " p.scopes, p.quota_per_day, p.expires_at,"
        " (SELECT n FROM token_usage u WHERE u.token_id = t.id AND u.day = ?)"
        " FROM tokens t LEFT JOIN token_policy p ON p.token_id = t.id"
        " LEFT JOIN officers o ON o.id = p.officer_id ORDER BY t.id";
    sqlite3_stmt *st = NULL;
    md_err rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    int src;
    sqlite3_bind_int64(st, 1, md_time_now() / 86400);
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW) {
        struct md_token_info t = {.id = sqlite3_column_int64(st, 0)};
        const unsigned char *v;
        if ((v = sqlite3_column_text(st, 6)))
            snprintf(t.unit, sizeof(t.unit), "%s", (const char *)v);
        if ((v = sqlite3_column_text(st, 7)))
            snprintf(t.officer, sizeof(t.officer), "%s", (const char *)v);
        if ((v = sqlite3_column_text(st, 8)))
            snprintf(t.scopes, sizeof(t.scopes), "%s", (const char *)v);
        t.quota_per_day = sqlite3_column_int64(st, 9);
        t.expires_at = sqlite3_column_int64(st, 10);
        t.used_today = sqlite3_column_int64(st, 11);
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
