/* event_filter.h - private to api/: what an event is about and whether a
 * subscriber's filter takes it - one rule for the live stream (events.c)
 * and the webhooks (webhooks.c).
 *
 * A filter has four parts, each empty = any: a report id, a district code,
 * a comma list of categories and a comma list of statuses; an event passes
 * when every given part matches its report (after the change).
 */
#ifndef MD_EVENT_FILTER_H
#define MD_EVENT_FILTER_H

#include <stdbool.h>
#include <stdint.h>

/* The fields a filter reads, taken from an event's payload once. */
struct md_event_about {
    int64_t report;
    char district[16], category[8], status[16];
};

struct md_event_filter {
    int64_t report; /* 0 = any */
    char district[16];
    char categories[256], statuses[160];
};

/* Read report.id/district/category/status of a payload (compact JSON text
 * from store/); missing members stay empty. */
void md__event_about(const char *payload, struct md_event_about *a);
/* True when the event passes the filter. */
bool md__event_matches(const struct md_event_filter *f, const struct md_event_about *a);

#endif
