/* calendar.h - the working-time calendar behind case deadlines (处置时限).
 *
 * Working time is Mon-Fri (configurable mask) between day_start and day_end
 * local minutes, in the city's UTC offset, minus holidays, plus make-up
 * workdays (调休) - both from the calendar_days table. A deadline of N hours
 * is N working hours after the start; N days is N x (day_end - day_start)
 * working minutes, the usual 工作日 = 8 working hours.
 */
#ifndef MD_CALENDAR_H
#define MD_CALENDAR_H

#include "store.h"

struct md_calendar {
    int offset_min;    /* city's UTC offset, minutes east (480 = UTC+8) */
    int day_start_min; /* 540 = 09:00 */
    int day_end_min;   /* 1020 = 17:00 */
    unsigned weekdays; /* bit d set = weekday d works (0 = Monday) */
    int64_t *holidays; /* sorted local day numbers; owned */
    size_t nholidays;
    int64_t *workdays; /* sorted make-up workdays on weekends; owned */
    size_t nworkdays;
};

/* Load holidays and make-up workdays from a JSON file
 * {"days": [{"day": "YYYY-MM-DD", "kind": "holiday"|"workday", "note": "..."}]}
 * (see sample-data/calendar.json) into table calendar_days, replacing days
 * already there. Runs in the caller's transaction, if any. */
md_err md_calendar_import(struct md_store *s, const char *json_path, struct md_ctx *ctx) MD_WUR;
/* Defaults: UTC+8, 09:00-17:00, Monday-Friday, no holidays. */
void md_calendar_default(struct md_calendar *c);
/* Defaults plus the holidays and make-up days in the store's calendar_days. */
md_err md_calendar_load(struct md_store *s, struct md_calendar *c, struct md_ctx *ctx) MD_WUR;
void md_calendar_free(struct md_calendar *c);
/* True when local day number `day` (days since 1970-01-01 local) is a working day. */
bool md_calendar_is_workday(const struct md_calendar *c, int64_t day);
/* Deadline: `start` (UTC seconds) plus `value` working hours or days
 * (`unit` "hours" or "days"); MD_EINVAL for another unit or value < 0. */
md_err md_calendar_deadline(const struct md_calendar *c, int64_t start, int64_t value,
                            const char *unit, int64_t *out, struct md_ctx *ctx) MD_WUR;
/* `start` plus `minutes` working minutes (the deadline arithmetic). */
md_err md_calendar_add_minutes(const struct md_calendar *c, int64_t start, int64_t minutes,
                               int64_t *out, struct md_ctx *ctx) MD_WUR;
/* Working minutes between UTC seconds from and to (0 when to <= from): how
 * long a parked case's clock stood still. */
md_err md_calendar_working_minutes(const struct md_calendar *c, int64_t from, int64_t to,
                                   int64_t *out, struct md_ctx *ctx) MD_WUR;

#endif
