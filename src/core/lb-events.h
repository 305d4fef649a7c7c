/* lb-events.h — the daemon's event log: lifecycle, fallback, upgrade,
 * learned limits, refusals. Kept in a ring for Server-Sent Events resume
 * (Last-Event-ID) and pushed to listeners as they happen. Main loop only. */
#pragma once

#include <json-glib/json-glib.h>
#include "lb-types.h"

G_BEGIN_DECLS

typedef struct _LbEvents LbEvents;

/* @data_json: {"type":..., "time":..., ...fields}. */
typedef void (*LbEventListener) (guint64 id, const char *type, const char *data_json,
                                 gpointer user_data);

LbEvents *lb_events_new (guint capacity);
void lb_events_free (LbEvents *events);

/* @fields: ownership is taken (may be NULL). Returns the event id (0 when
 * @events is NULL: a daemon part built without an event log). Ids grow
 * monotonically and start from the wall clock in µs, so they also keep
 * growing across daemon restarts. */
guint64 lb_events_emit (LbEvents *events, const char *type, JsonObject *fields);
/* Calls @func for every kept event with id > @after. FALSE when events after
 * @after were already dropped from the ring (the client missed some). */
gboolean lb_events_replay (LbEvents *events, guint64 after, LbEventListener func,
                           gpointer user_data);
/* An event's fields from (key, string value) pairs ended by NULL; a NULL
 * value leaves its key out. */
JsonObject *lb_event_fields (const char *first_key, ...) G_GNUC_NULL_TERMINATED;
guint lb_events_add_listener (LbEvents *events, LbEventListener func, gpointer user_data);
void lb_events_remove_listener (LbEvents *events, guint handle);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbEvents, lb_events_free)

G_END_DECLS
