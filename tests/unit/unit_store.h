/* unit_store.h - for unit tests that need a real store: a fresh database
 * with the schema and categories under /tmp, dropped with its WAL files.
 * Include after <cmocka.h>. */
#ifndef MD_UNIT_STORE_H
#define MD_UNIT_STORE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store.h"
#include "store_int.h"

/* A new database /tmp/mapd-unit-<pid>-<name>.sqlite with the schema and the
 * categories of the source tree's sample-data/. */
static inline struct md_store *unit_store_fresh(const char *name)
{
    char path[256], categories[512];
    snprintf(path, sizeof(path), "/tmp/mapd-unit-%d-%s.sqlite", (int)getpid(), name);
    snprintf(categories, sizeof(categories), "%s/sample-data/categories.json",
             getenv("MAPD_SOURCE_DIR") ? getenv("MAPD_SOURCE_DIR") : ".");
    unlink(path);
    struct md_ctx ctx;
    md_ctx_init(&ctx);
    struct md_store *s = NULL;
    assert_int_equal(md_store_open(path, MD_STORE_CREATE, &s, &ctx), MD_OK);
    if (md_store_init(s, categories, &ctx))
        fail_msg("init: %s", md_ctx_message(&ctx));
    return s;
}

/* Close the store and delete its files. */
static inline void unit_store_drop(struct md_store *s)
{
    char path[256], side[300];
    snprintf(path, sizeof(path), "%s", md_store_path(s));
    md_store_close(s);
    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}

static inline void unit_exec(struct md_store *s, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(md_store_db(s), sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
}

/* A reported problem (category 200102, district 110101) at lon/lat. */
static inline void unit_insert_report(struct md_store *s, double lon, double lat)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO reports(kind, service_code, district_code, status, channel, created_at,"
             " updated_at, lon, lat, geom) VALUES ('problem', '200102', '110101', 'reported',"
             " 'app', 0, 0, %.7f, %.7f, MakePoint(%.7f, %.7f, 4326))",
             lon, lat, lon, lat);
    unit_exec(s, sql);
}

#endif
