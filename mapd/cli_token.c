/* cli_token.c - `mapd token add|list|revoke` (API tokens and app keys,
 * store/domain/tokens.h) and `mapd unit add|list` (units and officers,
 * store/domain/units.h). A new token is printed once, on stdout, alone on its line;
 * the database keeps only its SHA-256. */
#include "cli.h"
#include "md_text.h"
#include "md_time.h"
#include "store.h"
#include "tokens.h"
#include "units.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CITY_OFFSET_MIN 480

static void token_help(void)
{
    printf("usage: mapd token add --db FILE --role app|officer|centre|admin [--label TEXT]\n"
           "                      [--unit CODE --name NAME | --officer ID]   (officers)\n"
           "                      [--scopes S1,S2] [--quota N] [--expires ISO-DATE|Nd]\n"
           "       mapd token list --db FILE\n"
           "       mapd token revoke --db FILE ID\n"
           "  add     create a token and print it once (only its hash is stored)\n"
           "          --unit/--name: a new officer of unit CODE (see mapd unit) behind the token;\n"
           "          --officer: an existing officer; --scopes: limit the token to these of\n"
           "          report:create, report:transition, consultation:manage, admin:edit,\n"
           "          staff:read, webhook:manage; --quota: requests per UTC day (429 beyond);\n"
           "          --expires: a date/time or a number of days from now (401 after)\n"
           "  list    show tokens: id, role, hash prefix, created, revoked, label, unit,\n"
           "          officer, scopes, quota (used today), expires\n"
           "  revoke  make token ID stop working (it stays listed)\n");
}

static md_err print_token(const struct md_token_info *t, void *userdata)
{
    char created[MD_TIME_STR_MAX], revoked[MD_TIME_STR_MAX] = "-", expires[MD_TIME_STR_MAX] = "-";
    char quota[48] = "-";
    (void)userdata;
    md_time_format(t->created_at, CITY_OFFSET_MIN, created);
    if (t->revoked_at)
        md_time_format(t->revoked_at, CITY_OFFSET_MIN, revoked);
    if (t->expires_at)
        md_time_format(t->expires_at, CITY_OFFSET_MIN, expires);
    if (t->quota_per_day)
        snprintf(quota, sizeof(quota), "%lld/day (%lld today)", (long long)t->quota_per_day,
                 (long long)t->used_today);
    printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)t->id, t->role,
           t->hash_prefix, created, revoked, t->label, t->unit[0] ? t->unit : "-",
           t->officer[0] ? t->officer : "-", t->scopes[0] ? t->scopes : "-", quota, expires);
    return MD_OK;
}

struct add_opts {
    const char *role_name, *label, *unit, *name, *scopes, *expires;
    int64_t officer_id, quota;
};

/* --expires: "30d" (days from now) or an ISO 8601 date/time (city time). */
static md_err parse_expiry(const char *text, int64_t *out, struct md_ctx *ctx)
{
    size_t n = strlen(text);
    if (n > 1 && text[n - 1] == 'd') {
        char days[24];
        int64_t d;
        snprintf(days, sizeof(days), "%.*s", (int)(n - 1), text);
        md_err rc = md_parse_int64(days, "--expires days", 1, 36500, &d, ctx);
        if (!rc)
            *out = md_time_now() + d * 86400;
        return rc;
    }
    md_err rc = md_time_parse(text, CITY_OFFSET_MIN, out, ctx);
    if (!rc && *out <= md_time_now())
        rc = md_fail(ctx, MD_EINVAL, "--expires %s is in the past", text);
    return rc;
}

static int token_add(const char *db, const struct add_opts *o)
{
    enum md_role role;
    char token[MD_TOKEN_TEXT_MAX];
    int64_t id = 0, expires = 0;
    unsigned bits;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    if (!o->role_name)
        return md_cli_usage_error("token", "add needs --role app|officer|centre|admin");
    if (md_role_parse(o->role_name, &role, &ctx) || md_scopes_parse(o->scopes, &bits, &ctx) ||
        (o->expires && parse_expiry(o->expires, &expires, &ctx)))
        return md_cli_usage_error("token", "%s", md_ctx_message(&ctx));
    if (o->label && strlen(o->label) > 120)
        return md_cli_usage_error("token", "--label is longer than 120 bytes");
    if ((o->unit || o->name || o->officer_id) && role != MD_ROLE_OFFICER)
        return md_cli_usage_error("token", "--unit, --name and --officer are for --role officer");
    if ((o->unit != NULL) != (o->name != NULL))
        return md_cli_usage_error("token", "--unit and --name go together (a new officer)");
    if (o->unit && o->officer_id)
        return md_cli_usage_error("token", "give --unit/--name (new officer) or --officer ID");
    struct md_store *s = NULL;
    struct md_token_policy p = {.officer_id = o->officer_id,
                                .scopes = o->scopes,
                                .quota_per_day = o->quota,
                                .expires_at = expires};
    char unit[MD_UNIT_CODE_MAX] = "";
    md_err rc = md_store_open(db, MD_STORE_READWRITE, &s, &ctx);
    if (!rc)
        rc = md_store_begin(s, &ctx);
    if (!rc && o->unit)
        rc = md_officer_add(s, o->unit, o->name, &p.officer_id, &ctx);
    if (!rc && p.officer_id)
        rc = md_officer_unit(s, p.officer_id, unit, &ctx);
    if (!rc)
        rc = md_token_create(s, role, o->label, token, &id, &ctx);
    if (!rc && (p.officer_id || p.scopes || p.quota_per_day || p.expires_at))
        rc = md_token_set_policy(s, id, &p, &ctx);
    if (!rc)
        rc = md_store_commit(s, &ctx);
    else if (s)
        md_store_rollback(s);
    int status = 0;
    if (rc) {
        status = md_cli_fail("token", &ctx);
    } else {
        printf("%s\n", token);
        if (p.officer_id)
            fprintf(stderr,
                    "token %lld (officer %lld of unit %s) created; it is shown only this once\n",
                    (long long)id, (long long)p.officer_id, unit);
        else
            fprintf(stderr, "token %lld (%s) created; it is shown only this once\n", (long long)id,
                    o->role_name);
    }
    md_store_close(s);
    return status;
}

int md_cli_token(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"role", required_argument, NULL, 'r'},
                                         {"label", required_argument, NULL, 'l'},
                                         {"unit", required_argument, NULL, 'u'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"officer", required_argument, NULL, 'o'},
                                         {"scopes", required_argument, NULL, 's'},
                                         {"quota", required_argument, NULL, 'q'},
                                         {"expires", required_argument, NULL, 'e'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL;
    struct add_opts o = {0};
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        token_help();
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1];
    int c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "+d:r:l:u:n:o:s:q:e:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'r':
            o.role_name = optarg;
            break;
        case 'l':
            o.label = optarg;
            break;
        case 'u':
            o.unit = optarg;
            break;
        case 'n':
            o.name = optarg;
            break;
        case 's':
            o.scopes = optarg;
            break;
        case 'e':
            o.expires = optarg;
            break;
        case 'o':
            if (md_parse_int64(optarg, "--officer", 1, INT64_MAX, &o.officer_id, &ctx))
                return md_cli_usage_error("token", "%s", md_ctx_message(&ctx));
            break;
        case 'q':
            if (md_parse_int64(optarg, "--quota", 1, INT64_MAX, &o.quota, &ctx))
                return md_cli_usage_error("token", "%s", md_ctx_message(&ctx));
            break;
        case 'h':
            token_help();
            return 0;
        default:
            return md_cli_usage_error("token", "bad option");
        }
    }
    const char *arg = optind < argc - 1 ? argv[optind + 1] : NULL;
    if (!db)
        return md_cli_usage_error("token", "--db FILE is required");
    struct md_store *s = NULL;
    int status = 0;
    if (strcmp(action, "add") == 0) {
        return token_add(db, &o);
    } else if (strcmp(action, "list") == 0) {
        if (md_store_open(db, MD_STORE_READONLY, &s, &ctx) ||
            md_token_list(s, print_token, NULL, &ctx))
            status = md_cli_fail("token", &ctx);
    } else if (strcmp(action, "revoke") == 0) {
        int64_t id;
        if (!arg)
            return md_cli_usage_error("token", "revoke needs the token ID (see mapd token list)");
        if (md_parse_int64(arg, "ID", 1, INT64_MAX, &id, &ctx))
            return md_cli_usage_error("token", "%s", md_ctx_message(&ctx));
        if (md_store_open(db, MD_STORE_READWRITE, &s, &ctx) || md_token_revoke(s, id, &ctx))
            status = md_cli_fail("token", &ctx);
        else
            printf("token %lld revoked\n", (long long)id);
    } else {
        return md_cli_usage_error("token", "unknown action '%s' (add, list or revoke)", action);
    }
    md_store_close(s);
    return status;
}

static void unit_help(void)
{
    printf("usage: mapd unit add --db FILE --code CODE --name NAME [--type UNIT_TYPE] [--district "
           "CODE]\n"
           "       mapd unit list --db FILE\n"
           "  add   a unit cases are dispatched to (责任单位); CODE: 1-32 of A-Z a-z 0-9 - _;\n"
           "        UNIT_TYPE as in the categories' unit_type (sanitation, urban_management, ...)\n"
           "  list  units and their officers (officers are added with mapd token add --role\n"
           "        officer --unit CODE --name NAME)\n");
}

int md_cli_unit(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"code", required_argument, NULL, 'c'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"type", required_argument, NULL, 't'},
                                         {"district", required_argument, NULL, 'D'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *code = NULL, *name = NULL, *type = NULL, *district = NULL;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        unit_help();
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1];
    int c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "+d:c:n:t:D:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'c':
            code = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 't':
            type = optarg;
            break;
        case 'D':
            district = optarg;
            break;
        case 'h':
            unit_help();
            return 0;
        default:
            return md_cli_usage_error("unit", "bad option");
        }
    }
    if (!db)
        return md_cli_usage_error("unit", "--db FILE is required");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *s = NULL;
    int status = 0;
    if (strcmp(action, "add") == 0) {
        if (!code || !name)
            return md_cli_usage_error("unit", "add needs --code and --name");
        if (md_store_open(db, MD_STORE_READWRITE, &s, &ctx) ||
            md_unit_add(s, code, name, type, district, &ctx))
            status = md_cli_fail("unit", &ctx);
        else
            printf("unit %s added\n", code);
    } else if (strcmp(action, "list") == 0) {
        json_t *units = NULL;
        if (md_store_open(db, MD_STORE_READONLY, &s, &ctx) || md_units_json(s, &units, &ctx)) {
            status = md_cli_fail("unit", &ctx);
        } else {
            size_t i, j;
            json_t *u, *o;
            json_array_foreach(units, i, u)
            {
                printf("%s\t%s\t%s\t%s\n", json_string_value(json_object_get(u, "code")),
                       json_string_value(json_object_get(u, "name")),
                       json_is_string(json_object_get(u, "unit_type"))
                           ? json_string_value(json_object_get(u, "unit_type"))
                           : "-",
                       json_is_string(json_object_get(u, "district"))
                           ? json_string_value(json_object_get(u, "district"))
                           : "-");
                json_array_foreach(json_object_get(u, "officers"), j, o) printf(
                    "  officer %lld\t%s\n", (long long)json_integer_value(json_object_get(o, "id")),
                    json_string_value(json_object_get(o, "name")));
            }
        }
        json_decref(units);
    } else {
        return md_cli_usage_error("unit", "unknown action '%s' (add or list)", action);
    }
    md_store_close(s);
    return status;
}
