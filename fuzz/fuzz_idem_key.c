/* fuzz_idem_key.c - libFuzzer target for api/idem_key.c's Idempotency-Key
 * value parser. Input: the header's value (NULs cut it short, as in a
 * header). Checks: an accepted key is 1..255 characters of 0x20-0x7e; it
 * parses back to itself as an sf-string (quoted, \" and \\ escaped) and,
 * when it has no space, bare; surrounding whitespace changes nothing.
 */
#include "idem_key.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_key(const char *value, const char *want)
{
    char again[MD_IDEM_KEY_MAX];
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    if (md_idem_key_parse(value, again, &ctx) != MD_OK || strcmp(again, want) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value = malloc(size + 1);
    if (!value)
        abort();
    memcpy(value, data, size);
    value[size] = '\0';
    char key[MD_IDEM_KEY_MAX];
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    md_err rc = md_idem_key_parse(value, key, &ctx);
    free(value);
    if (rc != MD_OK) {
        if (rc != MD_EINVAL || !strstr(md_ctx_message(&ctx), "Idempotency-Key"))
            abort();
        return 0;
    }
    size_t n = strlen(key);
    if (n < 1 || n > MD_IDEM_KEY_MAX - 1)
        abort();
    bool space = false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e)
            abort();
        space = space || key[i] == ' ';
    }
    char quoted[2 * MD_IDEM_KEY_MAX + 8], padded[MD_IDEM_KEY_MAX + 8];
    size_t q = 0;
    quoted[q++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (key[i] == '"' || key[i] == '\\')
            quoted[q++] = '\\';
        quoted[q++] = key[i];
    }
    quoted[q++] = '"';
    quoted[q] = '\0';
    same_key(quoted, key);
    if (!space && key[0] != '"') {
        same_key(key, key);
        padded[0] = ' ';
        memcpy(padded + 1, key, n);
        padded[n + 1] = '\t';
        padded[n + 2] = '\0';
        same_key(padded, key);
    }
    return 0;
}
