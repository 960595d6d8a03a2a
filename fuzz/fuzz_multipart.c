/* fuzz_multipart.c - libFuzzer target for the multipart/form-data parser
 * (md_multipart_boundary + md_multipart_parse, photo uploads). Input: a
 * Content-Type line, then the body. Checks that every part lies inside the
 * body, that names are NUL-terminated and that error messages are UTF-8.
 */
#include "md_multipart.h"
#include "md_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size < 200 ? size : 200);
    if (!nl)
        return 0;
    char ct[201];
    size_t ctlen = (size_t)(nl - data);
    memcpy(ct, data, ctlen);
    ct[ctlen] = '\0';
    const uint8_t *body = nl + 1;
    size_t len = size - ctlen - 1;
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    char boundary[72];
    struct md_multipart *m = malloc(sizeof(*m));
    if (!m)
        return 0;
    if (md_multipart_boundary(ct, boundary, &ctx) == MD_OK &&
        md_multipart_parse(body, len, boundary, m, &ctx) == MD_OK) {
        if (m->nparts > MD_MULTIPART_MAX_PARTS)
            __builtin_trap();
        for (size_t i = 0; i < m->nparts; i++) {
            const struct md_part *p = &m->parts[i];
            if (p->data < body || p->data + p->len > body + len || !p->name[0] ||
                strlen(p->name) >= sizeof(p->name) || strlen(p->filename) >= sizeof(p->filename))
                __builtin_trap();
            if (md_multipart_get(m, p->name) == NULL)
                __builtin_trap();
        }
    }
    if (!md_utf8_valid(ctx.msg, strlen(ctx.msg)))
        __builtin_trap();
    free(m);
    return 0;
}
