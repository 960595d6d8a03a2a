/* health.c - GET /health (liveness + database facts) and GET /metrics. */
#include "api_int.h"
#include "md_time.h"
#include "pg_changefeed.h"
#include "reports_int.h"

#include <stdio.h>

const struct md_route md__core_routes[] = {
    {"GET", "/health", false, md__handle_health, "health", NULL},
    {"GET", "/metrics", false, md__handle_metrics, "metrics", NULL},
};
const size_t md__core_routes_count = sizeof(md__core_routes) / sizeof(md__core_routes[0]);

md_err md__handle_health(struct md_call *call)
{
    struct md_store *s = call->w->store;
    struct md_buf *b = &call->res->body;
    int version = 0;
    md_err rc = md_store_schema_version(s, &version, call->ctx);
    if (rc)
        return rc;
    rc = md_buf_printf(b, "{\"status\":\"ok\",\"version\":\"%s\",\"schema_version\":%d,"
                          "\"uptime_s\":%lld,\"layers\":{",
                       MAPD_VERSION, version, (long long)(md_time_now() - call->api->started_at));
    for (int l = 0; !rc && l < MD_LAYER__COUNT; l++) {
        struct md_layer_info info;
        rc = md_store_layer_info(s, (enum md_layer)l, &info, call->ctx);
        if (!rc)
            rc = md_buf_printf(b, "%s\"%s\":{\"rows\":%lld,\"version\":%lld}", l ? "," : "",
                               md_layer_name((enum md_layer)l), (long long)info.row_count,
                               (long long)info.version);
    }
    if (!rc)
        rc = md_buf_puts(b, "}}\n");
    return rc == MD_ETOOBIG ? md_fail(call->ctx, rc, "health response too large") : rc;
}

md_err md__handle_metrics(struct md_call *call)
{
    struct md_buf *b = &call->res->body;
    call->res->content_type = "text/plain; version=0.0.4; charset=utf-8";
    md_err rc = md_metrics_render(call->api->metrics, b);
    struct md_status_count counts[16];
    int n = 0;
    if (!rc)
        rc = md_store_report_status_counts(call->w->store, counts, 16, &n, call->ctx);
    if (!rc)
        rc = md_buf_puts(b, "# HELP mapd_reports Reports by workflow status.\n"
                            "# TYPE mapd_reports gauge\n");
    for (int i = 0; !rc && i < n; i++)
        rc = md_buf_printf(b, "mapd_reports{status=\"%s\"} %lld\n", counts[i].status,
                           (long long)counts[i].count);
    const struct md_reports_state *rs = call->api->reports;
    if (!rc && rs && rs->feed) {
        struct md_pg_changefeed_stats fs;
        md_pg_changefeed_stats(rs->feed, &fs);
        rc = md_buf_printf(
            b,
            "# HELP mapd_changefeed_connected Whether the LISTEN connection to PostgreSQL is up.\n"
            "# TYPE mapd_changefeed_connected gauge\n"
            "mapd_changefeed_connected %d\n"
            "# HELP mapd_changefeed_watermark The newest change the feed has read.\n"
            "# TYPE mapd_changefeed_watermark gauge\n"
            "mapd_changefeed_watermark %lld\n"
            "# HELP mapd_changefeed_notifications_total NOTIFYs received on mapd_changes.\n"
            "# TYPE mapd_changefeed_notifications_total counter\n"
            "mapd_changefeed_notifications_total %llu\n"
            "# HELP mapd_changefeed_reconnects_total LISTEN connections made again.\n"
            "# TYPE mapd_changefeed_reconnects_total counter\n"
            "mapd_changefeed_reconnects_total %llu\n",
            md_pg_changefeed_connected(rs->feed) ? 1 : 0,
            (long long)md_pg_changefeed_watermark(rs->feed),
            (unsigned long long)fs.notifications, (unsigned long long)fs.reconnects);
    }
    if (!rc && call->api->features) {
        struct md_feature_cache_stats fs;
        md_feature_cache_stats(call->api->features, &fs);
        rc = md_buf_printf(b,
                           "# HELP mapd_feature_cache_hits_total Query features copied from the cache.\n"
                           "# TYPE mapd_feature_cache_hits_total counter\n"
                           "mapd_feature_cache_hits_total %lld\n"
                           "# HELP mapd_feature_cache_misses_total Query features read from the database.\n"
                           "# TYPE mapd_feature_cache_misses_total counter\n"
                           "mapd_feature_cache_misses_total %lld\n"
                           "# HELP mapd_feature_cache_invalidated_total Cached features dropped by changes.\n"
                           "# TYPE mapd_feature_cache_invalidated_total counter\n"
                           "mapd_feature_cache_invalidated_total %lld\n"
                           "# HELP mapd_feature_cache_entries Features in the cache.\n"
                           "# TYPE mapd_feature_cache_entries gauge\n"
                           "mapd_feature_cache_entries %lld\n"
                           "# HELP mapd_feature_cache_bytes Memory held by cached features.\n"
                           "# TYPE mapd_feature_cache_bytes gauge\n"
                           "mapd_feature_cache_bytes %lld\n",
                           (long long)fs.hits, (long long)fs.misses, (long long)fs.invalidated,
                           (long long)fs.entries, (long long)fs.bytes);
    }
    return rc;
}
