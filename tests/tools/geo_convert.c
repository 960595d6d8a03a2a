/* geo_convert - convert points between WGS84, GCJ-02 and BD-09 with mapd's
 * coords.c, for tests that compare it with other implementations.
 *
 * stdin: one "FROM TO LON LAT" per line (FROM, TO as md_crs_parse() takes
 * them, e.g. "wgs84 gcj02 116.391 39.907"); stdout: "LON LAT" with %.12f,
 * one line per input line, or "error: MESSAGE" for a bad line. Exit status 1
 * if any line was bad. */
#include "coords.h"
#include "md_text.h"

#include <stdio.h>
#include <string.h>

static md_err convert_line(const char *line, struct md_ctx *ctx)
{
    char from_name[16], to_name[16], lon_text[64], lat_text[64], extra;
    int n = sscanf(line, "%15s %15s %63s %63s %c", from_name, to_name, lon_text, lat_text, &extra);
    if (n != 4)
        return md_fail(ctx, MD_EINVAL, "expected FROM TO LON LAT");
    enum md_crs from, to;
    double lon, lat, olon, olat;
    md_err rc = md_crs_parse(from_name, &from, ctx);
    if (rc == MD_OK)
        rc = md_crs_parse(to_name, &to, ctx);
    if (rc == MD_OK)
        rc = md_parse_double(lon_text, "lon", &lon, ctx);
    if (rc == MD_OK)
        rc = md_parse_double(lat_text, "lat", &lat, ctx);
    if (rc == MD_OK)
        rc = md_check_lonlat(lon, lat, ctx);
    if (rc != MD_OK)
        return rc;
    md_crs_convert(from, to, lon, lat, &olon, &olat);
    printf("%.12f %.12f\n", olon, olat);
    return MD_OK;
}

int main(void)
{
    char line[512];
    int status = 0;
    while (fgets(line, sizeof(line), stdin)) {
        struct md_ctx ctx;
        md_ctx_init(&ctx);
        if (!strchr(line, '\n') && !feof(stdin)) {
            printf("error: line longer than %zu bytes\n", sizeof(line) - 2);
            return 1;
        }
        if (convert_line(line, &ctx) != MD_OK) {
            printf("error: %s\n", md_ctx_message(&ctx));
            status = 1;
        }
    }
    return status;
}
