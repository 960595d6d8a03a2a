/* event_filter.c - one rule for filtering report events (event_filter.h). */
#include "event_filter.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

void md__event_about(const char *payload, struct md_event_about *a)
{
    memset(a, 0, sizeof(*a));
    json_t *j = json_loads(payload, 0, NULL);
    json_t *r = json_object_get(j, "report");
    const char *v;
    a->report = json_integer_value(json_object_get(r, "id"));
    if ((v = json_string_value(json_object_get(r, "district"))))
        snprintf(a->district, sizeof(a->district), "%s", v);
    if ((v = json_string_value(json_object_get(r, "category"))))
        snprintf(a->category, sizeof(a->category), "%s", v);
    if ((v = json_string_value(json_object_get(r, "status"))))
        snprintf(a->status, sizeof(a->status), "%s", v);
    json_decref(j);
}

/* True when `v` is one item of the comma list `list` (empty: any). */
static bool listed(const char *list, const char *v)
{
    if (!list[0])
        return true;
    size_t n = strlen(v);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, v, n) == 0)
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

bool md__event_matches(const struct md_event_filter *f, const struct md_event_about *a)
{
    return (!f->report || f->report == a->report) &&
           (!f->district[0] || strcmp(f->district, a->district) == 0) &&
           listed(f->categories, a->category) && listed(f->statuses, a->status);
}
