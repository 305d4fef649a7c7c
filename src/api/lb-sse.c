/* lb-sse.c — the event stream of GET /api/v1/events (lb-sse.h): one
 * LbEvents listener per client, a keep-alive comment, and the bound on what
 * a client may leave unread (sse_max_queued_bytes). */
#define G_LOG_DOMAIN "lobbyd-http"
#include "lb-sse.h"
#include "lb-events.h"

#include <malloc.h>
#include <string.h>

#define SSE_KEEPALIVE_S 15

struct _LbSse
{
  LbEvents *events;
  gsize max_queued_bytes;
  GList *clients; /* SseClient */
};

typedef struct
{
  LbSse *sse;
  SoupServerMessage *msg;
  guint listener;
  guint keepalive;
  gsize queued; /* appended to the response, not yet written to the socket */
  gsize limit;
  GSource *hangup; /* the client closing its end */
} SseClient;

static void sse_drop (SseClient *c);

static void
sse_append (SseClient *c, const char *text)
{
  gsize len = strlen (text);

  soup_message_body_append (soup_server_message_get_response_body (c->msg), SOUP_MEMORY_COPY, text,
                            len);
  c->queued += len;
  soup_server_message_unpause (c->msg);
}

static void
sse_send_event (guint64 id, const char *type, const char *data, gpointer user_data)
{
  SseClient *c = user_data;
  g_autofree char *chunk
      = g_strdup_printf ("id: %" G_GUINT64_FORMAT "\nevent: %s\ndata: %s\n\n", id, type, data);
  sse_append (c, chunk);
}

static void
sse_live_event (guint64 id, const char *type, const char *data, gpointer user_data)
{
  SseClient *c = user_data;

  sse_send_event (id, type, data, c);
  if (c->queued > c->limit)
    sse_drop (c);
}

static gboolean
sse_keepalive (gpointer user_data)
{
  SseClient *c = user_data;

  sse_append (c, ": keepalive\n\n");
  if (c->queued > c->limit)
    {
      c->keepalive = 0;
      sse_drop (c);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
sse_wrote (SoupServerMessage *msg, guint n, gpointer user_data)
{
  SseClient *c = user_data;

  c->queued -= MIN (c->queued, n);
}

/* A dropped client's backlog is many small chunks scattered over the heap:
 * give the pages back to the system once they are freed. */
static gboolean
trim_heap (gpointer user_data)
{
  malloc_trim (0);
  return G_SOURCE_REMOVE;
}

static void
sse_client_free (SseClient *c)
{
  lb_events_remove_listener (c->sse->events, c->listener);
  g_clear_handle_id (&c->keepalive, g_source_remove);
  if (c->hangup != NULL)
    {
      g_source_destroy (c->hangup);
      g_clear_pointer (&c->hangup, g_source_unref);
    }
  if (c->queued > 65536)
    g_idle_add_full (G_PRIORITY_LOW, trim_heap, NULL, NULL);
  c->sse->clients = g_list_remove (c->sse->clients, c);
  g_free (c);
}

/* A client that falls sse_max_queued_bytes behind is cut off rather than
 * buffered without limit; it reconnects with Last-Event-ID and the ring
 * replays what it missed (or says events.gap). */
static void
sse_close (SseClient *c)
{
  SoupServerMessage *msg = c->msg;

  g_signal_handlers_disconnect_by_data (msg, c);
  sse_client_free (c);
  GIOStream *stream = soup_server_message_steal_connection (msg);
  if (stream != NULL)
    {
      g_io_stream_close (stream, NULL, NULL);
      g_object_unref (stream);
    }
}

static void
sse_drop (SseClient *c)
{
  g_message ("[HTTP] events client %zu bytes behind: dropped (it can resume with Last-Event-ID)",
             c->queued);
  sse_close (c);
}

/* An events client sends nothing after its request, so input is its end
 * closing. libsoup does not look while the stream waits for the next event
 * (up to SSE_KEEPALIVE_S): without this, a closed stream would hold its
 * connection, and its place under the listener's cap, until then. */
static gboolean
sse_hangup (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  SseClient *c = user_data;

  g_debug ("[HTTP] events client closed its connection");
  sse_close (c);
  return G_SOURCE_REMOVE;
}

static void
sse_finished (SoupServerMessage *msg, gpointer user_data)
{
  sse_client_free (user_data);
}

LbSse *
lb_sse_new (LbEvents *events, gsize max_queued_bytes)
{
  LbSse *sse = g_new0 (LbSse, 1);

  sse->events = events;
  sse->max_queued_bytes = max_queued_bytes;
  return sse;
}

void
lb_sse_free (LbSse *sse)
{
  if (sse == NULL)
    return;
  while (sse->clients != NULL)
    {
      SseClient *c = sse->clients->data;
      g_signal_handlers_disconnect_by_data (c->msg, c);
      sse_client_free (c);
    }
  g_free (sse);
}

void
lb_sse_start (LbSse *sse, SoupServerMessage *msg, GSocket *socket, const char *last_event_id)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  SseClient *c = g_new0 (SseClient, 1);

  c->sse = sse;
  c->msg = msg;
  soup_server_message_set_status (msg, 200, NULL);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  /* Written chunks are dropped, not kept for the life of the stream. */
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
  g_signal_connect (msg, "wrote-body-data", G_CALLBACK (sse_wrote), c);
  sse_append (c, "retry: 2000\n: lobbyd events\n\n");

  /* Resume: replay what the client missed, and say so if the ring dropped some. */
  if (last_event_id != NULL)
    {
      guint64 after = g_ascii_strtoull (last_event_id, NULL, 10);
      if (!lb_events_replay (sse->events, after, sse_send_event, c))
        sse_append (c, "event: events.gap\ndata: {\"type\":\"events.gap\"}\n\n");
    }
  /* The replay is bounded by the ring; the cap is on what comes after it. */
  c->limit = c->queued + sse->max_queued_bytes;
  c->listener = lb_events_add_listener (sse->events, sse_live_event, c);
  c->keepalive = g_timeout_add_seconds (SSE_KEEPALIVE_S, sse_keepalive, c);
  if (socket != NULL)
    {
      c->hangup = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
      g_source_set_callback (c->hangup, G_SOURCE_FUNC (sse_hangup), c, NULL);
      g_source_attach (c->hangup, NULL);
    }
  sse->clients = g_list_prepend (sse->clients, c);
  g_signal_connect (msg, "finished", G_CALLBACK (sse_finished), c);
}
