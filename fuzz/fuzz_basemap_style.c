/* fuzz_basemap_style.c - libFuzzer target for api/basemap_style.c: an
 * external base map's style (--basemap-style) read from a file, checked,
 * and composed into a small served style. Checks: a style that loads
 * always composes, and the result serializes.
 */
#include "basemap_style.h"
#include "md_err.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/mapd-fuzz-style-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    if (write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    char *text = NULL;
    if (md_basemap_style_load(path, &text, &ctx) == MD_OK) {
        json_t *style = json_pack("{s:i s:{} s:[{s:s s:s}]}", "version", 8, "sources", "layers",
                                  "id", "background", "type", "background");
        if (!style || md_basemap_style_compose(style, text, 1, &ctx) != MD_OK)
            abort(); /* a checked style always composes (memory aside) */
        char *out = json_dumps(style, JSON_COMPACT);
        if (!out)
            abort();
        free(out);
        json_decref(style);
    }
    free(text);
    md_ctx_clear(&ctx);
    unlink(path);
    return 0;
}
