/* fuzz_open311_lang.c - libFuzzer target for api/open311_lang.c: the
 * `locale` and Accept-Language parsers, the Chinese error texts and the
 * bilingual halves. Input: four lines - a locale, an Accept-Language value,
 * an English message, a bilingual text. Checks: every output is
 * NUL-terminated inside its buffer, valid UTF-8 when the input was, and a
 * successful parse gives one of the three languages.
 */
#include "md_text.h"
#include "open311_lang.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *take_line(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    const uint8_t *stop = nl ? nl : end;
    size_t n = (size_t)(stop - *p);
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, *p, n);
    s[n] = '\0';
    *p = nl ? nl + 1 : end;
    return s;
}

static void check_lang(md_err rc, enum md_o311_lang l)
{
    if (rc == MD_OK && l != MD_O311_DEFAULT && l != MD_O311_ZH && l != MD_O311_EN)
        abort();
    if (rc != MD_OK && rc != MD_EINVAL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char *locale = take_line(&p, end), *accept = take_line(&p, end);
    char *message = take_line(&p, end), *text = take_line(&p, end);
    struct md_ctx ctx;
    enum md_o311_lang l = MD_O311_DEFAULT;
    md_ctx_init(&ctx);
    check_lang(md_o311_locale(locale, &l, &ctx), l);
    md_ctx_init(&ctx);
    check_lang(md_o311_accept_language(accept, &l, &ctx), l);
    static const size_t sizes[] = {1, 7, 64, 512};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char *out = malloc(sizes[i]);
        if (!out)
            abort();
        if (md_o311_translate_zh(message, out, sizes[i])) {
            if (!memchr(out, '\0', sizes[i]))
                abort();
            if (md_utf8_valid(message, strlen(message)) && !md_utf8_valid(out, strlen(out)))
                abort();
        }
        for (int lang = MD_O311_DEFAULT; lang <= MD_O311_EN; lang++) {
            md_o311_half(text, (enum md_o311_lang)lang, out, sizes[i]);
            if (!memchr(out, '\0', sizes[i]) || strlen(out) > strlen(text))
                abort();
            if (md_utf8_valid(text, strlen(text)) && !md_utf8_valid(out, strlen(out)))
                abort();
        }
        free(out);
    }
    free(locale);
    free(accept);
    free(message);
    free(text);
    return 0;
}
