/* events.h - private to api/: the live event hub behind GET /api/v1/events.
 *
 * Events are rows of table `events`, written by store/ in the same
 * transaction as the change they describe. The hub's thread reads new rows
 * with its own connection (when told a commit happened, and every second
 * for writers in other processes) into a ring of ready SSE frames, and wakes
 * every subscriber; a subscriber copies the frames after its last id. A
 * reconnecting client sends Last-Event-ID and first gets the rows after it
 * from the database, so nothing is lost across restarts. Frames carry only
 * the public payload store/ built.
 */
#ifndef MD_EVENTS_H
#define MD_EVENTS_H

#include "api_int.h"

struct md_events_hub;

/* Start the hub over db_path. Caller frees with md__events_hub_free(). */
md_err md__events_hub_new(const char *db_path, int max_subscribers, int heartbeat_s,
                          struct md_events_hub **out, struct md_ctx *ctx) MD_WUR;
/* End every stream, stop the thread; accepts NULL. */
void md__events_hub_free(struct md_events_hub *hub);
/* "Something was committed": wake the hub thread (any thread; arg is the hub). */
void md__events_hub_notify(void *hub);
/* GET /api/v1/events: a text/event-stream response over the hub. */
md_err md__events_subscribe(struct md_events_hub *hub, struct md_call *call) MD_WUR;

#endif
