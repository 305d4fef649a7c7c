/* lb-sse.h — GET /api/v1/events as Server-Sent Events: each client gets the
 * events of an LbEvents as they happen, resumes after a reconnect with
 * Last-Event-ID, and is cut off when it falls too far behind, so a slow
 * client never makes the daemon buffer without limit. lb-http-server routes
 * the request here; connections and their caps stay there. */
#pragma once

#include "lb-types.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _LbSse LbSse;

/* @events is borrowed. A client more than @max_queued_bytes behind (beyond
 * what its resume replayed) is dropped. */
LbSse *lb_sse_new (LbEvents *events, gsize max_queued_bytes);
/* Forgets the clients still streaming; their messages end with the server. */
void lb_sse_free (LbSse *sse);

/* Answers @msg with the event stream. @socket (nullable): the client's
 * connection, watched so that a client that hangs up leaves at once.
 * @last_event_id (nullable): the last event the client has seen. */
void lb_sse_start (LbSse *sse, SoupServerMessage *msg, GSocket *socket, const char *last_event_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbSse, lb_sse_free)

G_END_DECLS
