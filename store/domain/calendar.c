/* calendar.c - adding working time (see calendar.h). Walks day by day: a
 * deadline of 5 days crosses at most a few weeks, so the loop is short. */
#include "calendar.h"
#include "store_int.h"
#include "pg_city.h"
#include "md_time.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void md_calendar_default(struct md_calendar *c)
{
    memset(c, 0, sizeof(*c));
    c->offset_min = 480;
    c->day_start_min = 540;
    c->day_end_min = 1020;
    c->weekdays = 0x1f;
}

void md_calendar_free(struct md_calendar *c)
{
    if (!c)
        return;
    free(c->holidays);
    free(c->workdays);
    c->holidays = c->workdays = NULL;
    c->nholidays = c->nworkdays = 0;
}

static bool in_sorted(const int64_t *v, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid] == x)
            return true;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool md_calendar_is_workday(const struct md_calendar *c, int64_t day)
{
    if (in_sorted(c->holidays, c->nholidays, day))
        return false;
    if (in_sorted(c->workdays, c->nworkdays, day))
        return true;
    int weekday = (int)(((day % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday (3) */
    return (c->weekdays >> weekday) & 1;
}

static md_err push_day(int64_t **v, size_t *n, int64_t day)
{
    int64_t *p = realloc(*v, (*n + 1) * sizeof(**v));
    if (!p)
        return MD_ENOMEM;
    p[(*n)++] = day;
    *v = p;
    return MD_OK;
}

/* One calendar_days row into c. */
static md_err add_day(const char *day, const char *kind, void *userdata, struct md_ctx *ctx)
{
    struct md_calendar *c = userdata;
    int64_t t;
    md_err rc = md_time_parse(day, 0, &t, ctx);
    if (rc)
        return rc;
    if (strcmp(kind, "holiday") == 0)
        rc = push_day(&c->holidays, &c->nholidays, t / 86400);
    else
        rc = push_day(&c->workdays, &c->nworkdays, t / 86400);
    return rc ? md_fail(ctx, rc, "calendar") : MD_OK;
}

md_err md_calendar_load(struct md_store *s, struct md_calendar *c, struct md_ctx *ctx)
{
    static const char sql[] = "SELECT day, kind FROM calendar_days ORDER BY day";
    md_calendar_default(c);
    md_err rc = MD_OK;
    if (s->backend == MD_BACKEND_PG) {
        rc = md__pg_calendar_days(s->pg, add_day, c, ctx);
        if (rc)
            md_calendar_free(c);
        return rc;
    }
    sqlite3_stmt *st = NULL;
    rc = md_store_stmt(s, sql, &st, ctx);
    if (rc)
        return rc;
    int src = SQLITE_DONE;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW)
        rc = add_day((const char *)sqlite3_column_text(st, 0),
                     (const char *)sqlite3_column_text(st, 1), c, ctx);
    sqlite3_reset(st);
    if (!rc && src != SQLITE_DONE)
        rc = md_store_fail(s, src, "reading the calendar", ctx);
    if (rc)
        md_calendar_free(c);
    return rc;
}

/* Local day number and minute of day of UTC seconds t (seconds dropped). */
static void local_day_minute(const struct md_calendar *c, int64_t t, int64_t *day, int64_t *minute)
{
    int64_t local = t + (int64_t)c->offset_min * 60;
    *day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    *minute = (local - *day * 86400) / 60;
}

static md_err check_working_time(const struct md_calendar *c, struct md_ctx *ctx)
{
    if (c->day_end_min - c->day_start_min <= 0 || c->weekdays == 0)
        return md_fail(ctx, MD_EINVAL, "calendar has no working time");
    return MD_OK;
}

md_err md_calendar_add_minutes(const struct md_calendar *c, int64_t start, int64_t minutes,
                               int64_t *out, struct md_ctx *ctx)
{
    md_err rc = check_working_time(c, ctx);
    if (rc)
        return rc;
    if (minutes < 0)
        return md_fail(ctx, MD_EINVAL, "working minutes must not be negative");
    int64_t day, minute;
    local_day_minute(c, start, &day, &minute);
    for (int64_t guard = 0; guard <= 3660; guard++, day++, minute = 0) {
        if (md_calendar_is_workday(c, day) && minute < c->day_end_min) {
            int64_t from = minute > c->day_start_min ? minute : c->day_start_min;
            int64_t avail = c->day_end_min - from;
            if (minutes <= avail) {
                *out = day * 86400 + (from + minutes) * 60 - (int64_t)c->offset_min * 60;
                return MD_OK;
            }
            minutes -= avail;
        }
    }
    return md_fail(ctx, MD_EINVAL, "no working time within ten years");
}

md_err md_calendar_working_minutes(const struct md_calendar *c, int64_t from, int64_t to,
                                   int64_t *out, struct md_ctx *ctx)
{
    md_err rc = check_working_time(c, ctx);
    *out = 0;
    if (rc || to <= from)
        return rc;
    int64_t day, minute, end_day, end_minute;
    local_day_minute(c, from, &day, &minute);
    local_day_minute(c, to, &end_day, &end_minute);
    if (end_day - day > 3660)
        return md_fail(ctx, MD_EINVAL, "more than ten years of working time");
    for (; day <= end_day; day++, minute = 0) {
        if (!md_calendar_is_workday(c, day))
            continue;
        int64_t lo = minute > c->day_start_min ? minute : c->day_start_min;
        int64_t hi = day == end_day && end_minute < c->day_end_min ? end_minute : c->day_end_min;
        if (hi > lo)
            *out += hi - lo;
    }
    return MD_OK;
}

md_err md_calendar_deadline(const struct md_calendar *c, int64_t start, int64_t value,
                            const char *unit, int64_t *out, struct md_ctx *ctx)
{
    int64_t per_day = c->day_end_min - c->day_start_min;
    if (value < 0 || value > 10000)
        return md_fail(ctx, MD_EINVAL, "deadline value %lld is out of range", (long long)value);
    if (unit && strcmp(unit, "hours") == 0)
        return md_calendar_add_minutes(c, start, value * 60, out, ctx);
    if (unit && strcmp(unit, "days") == 0)
        return md_calendar_add_minutes(c, start, value * per_day, out, ctx);
    return md_fail(ctx, MD_EINVAL, "deadline unit must be hours or days");
}

md_err md_calendar_import(struct md_store *s, const char *json_path, struct md_ctx *ctx)
{
    static const char sql[] = "INSERT OR REPLACE INTO calendar_days(day, kind, note) VALUES (?, ?, ?)";
    json_error_t jerr;
    json_t *root = json_load_file(json_path, 0, &jerr);
    if (!root)
        return md_fail(ctx, MD_EINVAL, "%s:%d: %s", json_path, jerr.line, jerr.text);
    md_err rc = MD_OK;
    json_t *days = json_object_get(root, "days");
    if (!json_is_array(days))
        rc = md_fail(ctx, MD_EINVAL, "%s: needs an array \"days\"", json_path);
    size_t i;
    json_t *d;
    json_array_foreach(days, i, d)
    {
        if (rc)
            break;
        const char *day = json_string_value(json_object_get(d, "day"));
        const char *kind = json_string_value(json_object_get(d, "kind"));
        const char *note = json_string_value(json_object_get(d, "note"));
        int64_t t;
        if (!day || strlen(day) != 10 || !kind ||
            (strcmp(kind, "holiday") != 0 && strcmp(kind, "workday") != 0)) {
            rc = md_fail(ctx, MD_EINVAL, "%s: days[%zu] needs day YYYY-MM-DD and kind holiday|workday",
                         json_path, i);
            break;
        }
        rc = md_time_parse(day, 0, &t, ctx);
        sqlite3_stmt *st = NULL;
        if (!rc)
            rc = md_store_stmt(s, sql, &st, ctx);
        if (rc)
            break;
        sqlite3_bind_text(st, 1, day, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, note ? note : "", -1, SQLITE_STATIC);
        int src = sqlite3_step(st);
        sqlite3_reset(st);
        if (src != SQLITE_DONE)
            rc = md_store_fail(s, src, "calendar day", ctx);
    }
    json_decref(root);
    return rc;
}
