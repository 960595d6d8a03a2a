/* cli_token.c - `mapd token add|list|revoke`: API tokens (store/tokens.h).
 * A new token is printed once, on stdout, alone on its line; the database
 * keeps only its SHA-256. */
#include "cli.h"
#include "md_text.h"
#include "md_time.h"
#include "store.h"
#include "tokens.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void token_help(void)
{
    printf("usage: mapd token add --db FILE --role app|officer|centre|admin [--label TEXT]\n"
           "       mapd token list --db FILE\n"
           "       mapd token revoke --db FILE ID\n"
           "  add     create a token and print it once (only its hash is stored)\n"
           "  list    show tokens: id, role, label, hash prefix, created, revoked\n"
           "  revoke  make token ID stop working (it stays listed)\n");
}

static md_err print_token(const struct md_token_info *t, void *userdata)
{
    char created[MD_TIME_STR_MAX], revoked[MD_TIME_STR_MAX] = "-";
    (void)userdata;
    md_time_format(t->created_at, 480, created);
    if (t->revoked_at)
        md_time_format(t->revoked_at, 480, revoked);
    printf("%lld\t%s\t%s\t%s\t%s\t%s\n", (long long)t->id, t->role, t->hash_prefix, created,
           revoked, t->label);
    return MD_OK;
}

int md_cli_token(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"role", required_argument, NULL, 'r'},
                                         {"label", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL, *role_name = NULL, *label = NULL;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        token_help();
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1];
    int c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "+d:r:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'r': role_name = optarg; break;
        case 'l': label = optarg; break;
        case 'h': token_help(); return 0;
        default: return md_cli_usage_error("token", "bad option");
        }
    }
    const char *arg = optind < argc - 1 ? argv[optind + 1] : NULL;
    if (!db)
        return md_cli_usage_error("token", "--db FILE is required");
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *s = NULL;
    int status = 0;
    if (strcmp(action, "add") == 0) {
        enum md_role role;
        char token[MD_TOKEN_TEXT_MAX];
        int64_t id = 0;
        if (!role_name)
            return md_cli_usage_error("token", "add needs --role app|officer|centre|admin");
        if (md_role_parse(role_name, &role, &ctx))
            return md_cli_usage_error("token", "%s", md_ctx_message(&ctx));
        if (label && strlen(label) > 120)
            return md_cli_usage_error("token", "--label is longer than 120 bytes");
        if (md_store_open(db, MD_STORE_READWRITE, &s, &ctx) ||
            md_token_create(s, role, label, token, &id, &ctx))
            status = md_cli_fail("token", &ctx);
        else {
            printf("%s\n", token);
            fprintf(stderr, "token %lld (%s) created; it is shown only this once\n",
                    (long long)id, role_name);
        }
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
