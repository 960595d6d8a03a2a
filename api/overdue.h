/* overdue.h - private to api/: the thread that turns deadlines passing into
 * changes, so cached tiles never show a stale `overdue` (overdue.c). */
#ifndef MD_OVERDUE_H
#define MD_OVERDUE_H

#include "md_err.h"

struct md_overdue_timer;

/* Start following deadlines on its own connection to db_path; *out owned by
 * the caller (md__overdue_stop). */
md_err md__overdue_start(const char *db_path, struct md_overdue_timer **out,
                         struct md_ctx *ctx) MD_WUR;
/* Stop the thread (promptly) and free; accepts NULL. */
void md__overdue_stop(struct md_overdue_timer *t);

#endif
