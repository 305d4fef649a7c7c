/* lb-http-server.c — listeners, authentication and body limits around lb-api. */
#define G_LOG_DOMAIN "lobbyd-http"
#include "lb-http-server.h"
#include "lb-api.h"
#include "lb-build-config.h"
#include "lb-error.h"
#include "lb-sse.h"

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

/* A response (other than an event stream) must be taken within this. */
#define RESPONSE_TIMEOUT_S 60
/* A connection we shut down must be gone within this, or its socket is closed. */
#define CLOSE_GRACE_S 5
/* After refusing a request on its headers, what the client still sends is
 * read and dropped for this long, so that closing does not reset the
 * connection before the client has read the refusal. */
#define LINGER_MS 2000
#define ACCEPT_BATCH 16
#define ACCEPT_RETRY_MS 250
/* Descriptors kept for everything but HTTP clients: pipelines, X servers,
 * WebRTC sockets, the store. */
#define FD_RESERVE 128

typedef enum
{
  LISTENER_UNIX,
  LISTENER_TCP,
} ListenerKind;

/* One listening socket. We accept ourselves (not libsoup's listener, which
 * stops accepting for good on the first failed accept(), e.g. EMFILE or
 * ECONNABORTED) so that each listener has its own connection cap and TCP
 * clients can never take the unix socket's share. */
typedef struct
{
  LbHttpServer *server;
  ListenerKind kind;
  const char *name;
  GSocket *socket;
  GSource *watch; /* NULL while backing off after a failed accept() */
  guint retry;
  guint cap;
  GQueue conns;  /* Conn, oldest first */
  guint closing; /* how many of them are CONN_CLOSING */
  gint64 warned_us;
} Listener;

typedef enum
{
  CONN_READING,   /* receiving a request: request_timeout_s */
  CONN_HANDLING,  /* writing its response: RESPONSE_TIMEOUT_S */
  CONN_STREAMING, /* an event stream: bounded by sse_max_queued_bytes instead */
  CONN_CLOSING,
} ConnState;

/* One accepted connection, alive until libsoup drops its GSocketConnection. */
typedef struct
{
  Listener *listener;
  GList link;             /* in listener->conns */
  GObject *stream;        /* weak: the GSocketConnection given to libsoup */
  GSocket *socket;        /* shutdown() wakes libsoup up with EOF */
  GSocketAddress *remote; /* messages find their Conn through it */
  ConnState state;
  guint timer;
} Conn;

struct _LbHttpServer
{
  char *web_dir;
  LbApi *api;
  LbSse *sse; /* nullable: no /api/v1/events */
  SoupServer *soup;
  char *socket_path;
  char *token;
  LbHttpLimits limits;
  Listener *listeners[2]; /* unix, tcp (nullable) */
  GSocketAddress *unix_local;
};

G_DEFINE_QUARK (lb - http - conn, conn)

gboolean
lb_http_token_equal (const char *expected, const char *given)
{
  gsize n = strlen (expected);
  gsize m = strlen (given);
  guint8 diff = n != m;

  /* Always walk the expected token's length; read past @given's end never. */
  for (gsize i = 0; i < n; i++)
    diff |= (guint8)expected[i] ^ (guint8)(i < m ? given[i] : 0);
  return diff == 0;
}

char *
lb_http_load_or_create_token (const char *path, GError **error)
{
  g_autofree char *data = NULL;

  if (g_file_get_contents (path, &data, NULL, NULL))
    {
      g_strstrip (data);
      if (strlen (data) >= 16)
        return g_steal_pointer (&data);
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "%s: token is shorter than 16 characters",
                   path);
      return NULL;
    }

  guint8 raw[32];
  g_autoptr (GFile) urandom = g_file_new_for_path ("/dev/urandom");
  g_autoptr (GFileInputStream) in = g_file_read (urandom, NULL, error);
  gsize got = 0;
  if (in == NULL
      || !g_input_stream_read_all (G_INPUT_STREAM (in), raw, sizeof raw, &got, NULL, error))
    return NULL;
  g_assert (got == sizeof raw);
  GString *hex = g_string_new (NULL);
  for (guint i = 0; i < sizeof raw; i++)
    g_string_append_printf (hex, "%02x", raw[i]);

  g_autofree char *contents = g_strconcat (hex->str, "\n", NULL);
  if (!g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    {
      g_string_free (hex, TRUE);
      return NULL;
    }
  return g_string_free (hex, FALSE);
}

static void
send_response (SoupServerMessage *msg, LbApiResponse *resp)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  soup_server_message_set_status (msg, resp->status, NULL);
  if (resp->allow != NULL)
    soup_message_headers_replace (headers, "Allow", resp->allow);
  if (resp->location != NULL)
    soup_message_headers_replace (headers, "Location", resp->location);
  if (resp->retry_after_s > 0)
    {
      g_autofree char *s = g_strdup_printf ("%u", resp->retry_after_s);
      soup_message_headers_replace (headers, "Retry-After", s);
    }
  if (resp->body != NULL)
    soup_server_message_set_response (msg, resp->content_type, SOUP_MEMORY_COPY, resp->body,
                                      strlen (resp->body));
}

static void
send_error (SoupServerMessage *msg, LbErrorCode code, const char *message)
{
  LbApiResponse resp = { 0 };
  g_autoptr (GError) error = g_error_new_literal (LB_ERROR, code, message);

  lb_api_response_set_error (&resp, error);
  send_response (msg, &resp);
  lb_api_response_clear (&resp);
}

/* The web UI's pages and scripts hold no data: a browser loads them without
 * a token, then calls the API with the token the user typed in. */
static const char *
static_file (const char *path)
{
  if (g_str_equal (path, "/"))
    return "dashboard.html";
  if (g_str_has_prefix (path, "/view/") && strchr (path + 6, '/') == NULL && path[6] != '\0')
    return "viewer.html";
  if (g_str_has_prefix (path, "/static/"))
    {
      const char *name = path + 8;
      /* Only plain names from the web folder: no separators, no dot-dot. */
      if (*name == '\0' || *name == '.'
          || strspn (name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen (name))
        return NULL;
      return name;
    }
  return NULL;
}

static void
serve_static (LbHttpServer *self, SoupServerMessage *msg, const char *name)
{
  g_autofree char *file = g_build_filename (self->web_dir, name, NULL);
  g_autofree char *data = NULL;
  gsize len = 0;
  const char *type = g_str_has_suffix (name, ".html")  ? "text/html; charset=utf-8"
                     : g_str_has_suffix (name, ".js")  ? "text/javascript; charset=utf-8"
                     : g_str_has_suffix (name, ".css") ? "text/css; charset=utf-8"
                                                       : "application/octet-stream";
  if (!g_file_get_contents (file, &data, &len, NULL))
    {
      send_error (msg, LB_ERROR_NOT_FOUND, "no such file");
      return;
    }
  soup_server_message_set_status (msg, 200, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control",
                                "no-cache");
  soup_server_message_set_response (msg, type, SOUP_MEMORY_TAKE, g_steal_pointer (&data), len);
}

/* ---- Connections: accept, caps, timeouts ---- */

static void conn_close (Conn *c);

static Conn *
conn_for_msg (SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);

  return remote != NULL ? g_object_get_qdata (G_OBJECT (remote), conn_quark ()) : NULL;
}

static gboolean
conn_expired (gpointer user_data)
{
  Conn *c = user_data;

  c->timer = 0;
  if (c->state == CONN_CLOSING)
    {
      /* libsoup did not notice the shutdown (a paused message): force it. */
      g_socket_close (c->socket, NULL);
      return G_SOURCE_REMOVE;
    }
  g_debug ("[HTTP] %s connection: %s in time, closing", c->listener->name,
           c->state == CONN_READING ? "no complete request" : "response not taken");
  conn_close (c);
  return G_SOURCE_REMOVE;
}

static void
conn_set_state (Conn *c, ConnState state, guint timeout_s)
{
  if (c->state == CONN_CLOSING)
    return;
  if (state == CONN_CLOSING)
    c->listener->closing++;
  c->state = state;
  g_clear_handle_id (&c->timer, g_source_remove);
  if (timeout_s > 0)
    c->timer = g_timeout_add_seconds (timeout_s, conn_expired, c);
}

/* Shut down, not closed: libsoup reads EOF (or fails its write), ends the
 * message and releases the descriptor itself. */
static void
conn_close (Conn *c)
{
  conn_set_state (c, CONN_CLOSING, CLOSE_GRACE_S);
  g_socket_shutdown (c->socket, TRUE, TRUE, NULL);
}

static void
conn_free (Conn *c)
{
  Listener *l = c->listener;

  if (c->state == CONN_CLOSING)
    l->closing--;
  g_queue_unlink (&l->conns, &c->link);
  g_clear_handle_id (&c->timer, g_source_remove);
  g_object_set_qdata (G_OBJECT (c->remote), conn_quark (), NULL);
  g_object_unref (c->remote);
  g_object_unref (c->socket);
  g_free (c);
}

static void
conn_gone (gpointer data, GObject *where_the_object_was)
{
  conn_free (data);
}

static guint
listener_open (Listener *l)
{
  return l->conns.length - l->closing;
}

/* Makes room for a new connection by closing the oldest one that has not yet
 * sent a whole request: idle and slow clients cannot keep others out. */
static gboolean
listener_evict (Listener *l)
{
  for (GList *it = l->conns.head; it != NULL; it = it->next)
    {
      Conn *c = it->data;
      if (c->state == CONN_READING)
        {
          g_debug ("[HTTP] %s listener full (%u): closing its oldest idle connection", l->name,
                   l->cap);
          conn_close (c);
          return TRUE;
        }
    }
  return FALSE;
}

/* The whole response of a request refused before libsoup saw it (or after it
 * gave up the connection): status line, headers, JSON error body. */
static GBytes *
error_response_bytes (LbErrorCode code, const char *message, const char *extra_headers)
{
  LbApiResponse resp = { 0 };
  g_autoptr (GError) error = g_error_new_literal (LB_ERROR, code, message);

  lb_api_response_set_error (&resp, error);
  g_autofree char *text
      = g_strdup_printf ("HTTP/1.1 %u %s\r\n"
                         "Server: lobbyd/" LB_VERSION "\r\n"
                         "Content-Type: %s\r\n"
                         "Content-Length: %zu\r\n"
                         "Connection: close\r\n"
                         "%s"
                         "\r\n%s",
                         resp.status, soup_status_get_phrase (resp.status), resp.content_type,
                         strlen (resp.body), extra_headers ? extra_headers : "", resp.body);
  lb_api_response_clear (&resp);
  gsize len = strlen (text);
  return g_bytes_new_take (g_steal_pointer (&text), len);
}

/* Every connection the listener holds is busy with a request or a stream:
 * answer 503 (best effort: a fresh socket's buffer takes it) and close. */
static void
refuse (GSocket *client)
{
  g_autoptr (GBytes) busy = error_response_bytes (
      LB_ERROR_LIMIT_REACHED, "too many open connections", "Retry-After: 1\r\n");
  gsize len = 0;
  const char *data = g_bytes_get_data (busy, &len);

  g_socket_set_blocking (client, FALSE);
  g_socket_send (client, data, len, NULL, NULL);
  g_socket_close (client, NULL);
}

static void
listener_admit (Listener *l, GSocket *client)
{
  LbHttpServer *self = l->server;
  g_autoptr (GSocketAddress) local = NULL;
  g_autoptr (GSocketAddress) remote = NULL;

  if (listener_open (l) >= l->cap && !listener_evict (l))
    {
      g_debug ("[HTTP] %s listener full (%u) of busy connections: 503", l->name, l->cap);
      refuse (client);
      return;
    }
  if (l->kind == LISTENER_UNIX)
    {
      /* Without a Host header, libsoup 3.2 builds an HTTP/1.0 request's URI
       * from the local address, which it takes for a GInetSocketAddress
       * (soup-server-message-io-http1.c, parse_headers): give it one. Trust
       * comes from the listener (is_authorized), never from this address. */
      local = g_object_ref (self->unix_local);
      remote = g_unix_socket_address_new_with_type ("", 0, G_UNIX_SOCKET_ADDRESS_ANONYMOUS);
    }
  else
    {
      local = g_socket_get_local_address (client, NULL);
      remote = g_socket_get_remote_address (client, NULL);
      g_socket_set_option (client, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
    }
  if (local == NULL || remote == NULL)
    {
      g_socket_close (client, NULL); /* the client is gone already */
      return;
    }

  Conn *c = g_new0 (Conn, 1);
  c->listener = l;
  c->socket = g_object_ref (client);
  c->remote = g_object_ref (remote);
  c->link.data = c;
  g_queue_push_tail_link (&l->conns, &c->link);
  g_object_set_qdata (G_OBJECT (remote), conn_quark (), c);
  conn_set_state (c, CONN_READING, self->limits.request_timeout_s);

  g_autoptr (GSocketConnection) stream = g_socket_connection_factory_create_connection (client);
  c->stream = G_OBJECT (stream);
  g_object_weak_ref (c->stream, conn_gone, c);
  soup_server_accept_iostream (self->soup, G_IO_STREAM (stream), local, remote, NULL);
}

static gboolean listener_ready (GSocket *socket, GIOCondition condition, gpointer user_data);

static void
listener_watch (Listener *l)
{
  l->watch = g_socket_create_source (l->socket, G_IO_IN, NULL);
  g_source_set_callback (l->watch, G_SOURCE_FUNC (listener_ready), l, NULL);
  g_source_attach (l->watch, NULL);
}

static gboolean
listener_retry (gpointer user_data)
{
  Listener *l = user_data;

  l->retry = 0;
  listener_watch (l);
  return G_SOURCE_REMOVE;
}

static gboolean
listener_ready (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Listener *l = user_data;

  for (guint i = 0; i < ACCEPT_BATCH; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocket) client = g_socket_accept (l->socket, NULL, &error);

      if (client != NULL)
        {
          listener_admit (l, client);
          continue;
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;

      /* Out of descriptors (or another failure): the pending connection stays
       * in the backlog; try again shortly instead of spinning. */
      gint64 now = g_get_monotonic_time ();
      if (now - l->warned_us > 10 * G_USEC_PER_SEC)
        {
          g_warning ("[HTTP] %s listener: accept failed: %s (retrying every %u ms)", l->name,
                     error->message, ACCEPT_RETRY_MS);
          l->warned_us = now;
        }
      g_clear_pointer (&l->watch, g_source_unref);
      l->retry = g_timeout_add (ACCEPT_RETRY_MS, listener_retry, l);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static Listener *
listener_new (LbHttpServer *self, ListenerKind kind, GSocket *socket, guint cap)
{
  Listener *l = g_new0 (Listener, 1);

  l->server = self;
  l->kind = kind;
  l->name = kind == LISTENER_UNIX ? "unix" : "tcp";
  l->socket = g_object_ref (socket);
  l->cap = cap;
  g_queue_init (&l->conns);
  g_socket_set_blocking (socket, FALSE);
  listener_watch (l);
  return l;
}

static void
listener_free (Listener *l)
{
  if (l == NULL)
    return;
  if (l->watch != NULL)
    {
      g_source_destroy (l->watch);
      g_source_unref (l->watch);
    }
  g_clear_handle_id (&l->retry, g_source_remove);
  while (l->conns.head != NULL)
    {
      Conn *c = l->conns.head->data;
      g_object_weak_unref (c->stream, conn_gone, c);
      conn_free (c);
    }
  g_socket_close (l->socket, NULL);
  g_object_unref (l->socket);
  g_free (l);
}

/* Caps that fit the descriptor limit: a full TCP listener must never leave
 * the daemon (or the unix socket) without descriptors. */
static void
fit_caps_to_fd_limit (const LbHttpLimits *limits, guint *unix_cap, guint *tcp_cap)
{
  struct rlimit rl;

  *unix_cap = limits->max_connections_unix;
  *tcp_cap = limits->max_connections_tcp;
  if (getrlimit (RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return;

  guint64 nofile = rl.rlim_cur;
  guint64 spare = FD_RESERVE + 2 * ACCEPT_BATCH;
  guint64 budget = nofile > spare + 16 ? nofile - spare : 16;
  *unix_cap = MIN (*unix_cap, MAX (4, budget / 4));
  *tcp_cap = MIN (*tcp_cap, MAX (4, budget - *unix_cap));
  if (*unix_cap < limits->max_connections_unix || *tcp_cap < limits->max_connections_tcp)
    g_message ("[HTTP] RLIMIT_NOFILE is %" G_GUINT64_FORMAT
               ": at most %u unix and %u TCP connections",
               nofile, *unix_cap, *tcp_cap);
}

/* ---- Requests refused on their headers ---- */

/* A refused request's connection, taken from libsoup: the refusal is written,
 * then whatever the client still sends is read and dropped (never kept) until
 * it stops or LINGER_MS passes, then the connection is closed. */
typedef struct
{
  GIOStream *stream;
  GSocket *socket; /* nullable */
  GBytes *response;
  GCancellable *cancel;
  guint timer;
  guint8 buf[16384];
} Linger;

static void
linger_finish (Linger *lg)
{
  g_clear_handle_id (&lg->timer, g_source_remove);
  g_io_stream_close (lg->stream, NULL, NULL);
  if (lg->socket != NULL)
    g_socket_close (lg->socket, NULL);
  g_clear_object (&lg->socket);
  g_object_unref (lg->stream);
  g_bytes_unref (lg->response);
  g_object_unref (lg->cancel);
  g_free (lg);
}

static void linger_read (Linger *lg);

static void
linger_got (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Linger *lg = user_data;

  if (g_input_stream_read_finish (G_INPUT_STREAM (source), res, NULL) > 0)
    linger_read (lg);
  else
    linger_finish (lg);
}

static void
linger_read (Linger *lg)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (lg->stream), lg->buf, sizeof lg->buf,
                             G_PRIORITY_LOW, lg->cancel, linger_got, lg);
}

static void
linger_wrote (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Linger *lg = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, NULL))
    {
      linger_finish (lg);
      return;
    }
  if (lg->socket != NULL)
    g_socket_shutdown (lg->socket, FALSE, TRUE, NULL);
  linger_read (lg);
}

static gboolean
linger_timeout (gpointer user_data)
{
  Linger *lg = user_data;

  lg->timer = 0;
  g_cancellable_cancel (lg->cancel); /* the pending read or write ends, then linger_finish */
  return G_SOURCE_REMOVE;
}

/* Answers @msg with an error and closes its connection without reading its
 * body: libsoup would otherwise read (and keep) the whole body before
 * answering, or wait for a body that never comes. */
static void
reject_and_close (LbHttpServer *self, SoupServerMessage *msg, LbErrorCode code, const char *message)
{
  Conn *c = conn_for_msg (msg);
  GBytes *response = error_response_bytes (
      code, message,
      code == LB_ERROR_UNAUTHORIZED ? "WWW-Authenticate: Bearer realm=\"lobbyd\"\r\n" : NULL);

  g_debug ("[HTTP] %s %s refused on its headers: %s", soup_server_message_get_method (msg),
           g_uri_get_path (soup_server_message_get_uri (msg)), message);
  GIOStream *stream = soup_server_message_steal_connection (msg);
  if (stream == NULL)
    {
      g_bytes_unref (response);
      return;
    }
  Linger *lg = g_new0 (Linger, 1);
  lg->stream = stream;
  lg->response = response;
  lg->cancel = g_cancellable_new ();
  if (c != NULL)
    {
      lg->socket = g_object_ref (c->socket);
      conn_set_state (c, CONN_CLOSING, 0);
    }
  lg->timer = g_timeout_add (LINGER_MS, linger_timeout, lg);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (stream),
                                   g_bytes_get_data (response, NULL), g_bytes_get_size (response),
                                   G_PRIORITY_DEFAULT, lg->cancel, linger_wrote, lg);
}

/* Requests over TCP must carry the token; the unix socket is guarded by its
 * file mode instead. */
static gboolean
is_authorized (LbHttpServer *self, SoupServerMessage *msg)
{
  Conn *c = conn_for_msg (msg);
  if (c != NULL && c->listener->kind == LISTENER_UNIX)
    return TRUE;
  if (g_str_equal (soup_server_message_get_method (msg), "GET")
      && static_file (g_uri_get_path (soup_server_message_get_uri (msg))) != NULL)
    return TRUE;

  const char *auth = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                   "Authorization");
  if (auth == NULL || g_ascii_strncasecmp (auth, "Bearer ", 7) != 0)
    return FALSE;
  return lb_http_token_equal (self->token, auth + 7);
}

static void
got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  LbHttpServer *self = user_data;

  /* A chunked body is counted as it arrives, never read past the limit. */
  if (soup_server_message_get_request_body (msg)->length > self->limits.max_body_bytes)
    {
      g_autofree char *m
          = g_strdup_printf ("request body exceeds %u bytes", self->limits.max_body_bytes);
      reject_and_close (self, msg, LB_ERROR_PAYLOAD_TOO_LARGE, m);
    }
}

/* Runs after libsoup's own got-headers handler, before any body byte is
 * read: authentication first, then the declared length. */
static void
got_headers (SoupServerMessage *msg, gpointer user_data)
{
  LbHttpServer *self = user_data;
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  SoupEncoding encoding = soup_message_headers_get_encoding (req);
  goffset length = encoding == SOUP_ENCODING_CONTENT_LENGTH
                       ? soup_message_headers_get_content_length (req)
                       : 0;
  gboolean has_body = encoding == SOUP_ENCODING_CHUNKED || length > 0;

  if (soup_server_message_get_status (msg) != 0)
    {
      /* libsoup refused it (e.g. a path with "..") but would still read the body. */
      if (has_body)
        reject_and_close (self, msg, LB_ERROR_INVALID_FIELD, "malformed request");
      return;
    }
  if (!is_authorized (self, msg))
    {
      reject_and_close (self, msg, LB_ERROR_UNAUTHORIZED, "missing or invalid bearer token");
      return;
    }
  if (length > self->limits.max_body_bytes)
    {
      g_autofree char *m
          = g_strdup_printf ("request body exceeds %u bytes", self->limits.max_body_bytes);
      reject_and_close (self, msg, LB_ERROR_PAYLOAD_TOO_LARGE, m);
      return;
    }
  if (encoding == SOUP_ENCODING_CHUNKED)
    g_signal_connect (msg, "got-chunk", G_CALLBACK (got_chunk), self);
}

static void
request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  LbHttpServer *self = user_data;
  Conn *c = conn_for_msg (msg);

  if (c != NULL)
    conn_set_state (c, CONN_READING, self->limits.request_timeout_s);
  /* Connected after libsoup's handler, which decodes the path first. */
  g_signal_connect (msg, "got-headers", G_CALLBACK (got_headers), self);
}

static void
request_read (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  Conn *c = conn_for_msg (msg);

  if (c != NULL)
    conn_set_state (c, CONN_HANDLING, RESPONSE_TIMEOUT_S);
  /* One request per connection: libsoup 3.2 never closes a kept-alive
   * connection that the client closes between requests (fixed upstream in
   * 3.3.0, "server: do not leak idle connections closed by the client"). */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
}

/* An event stream holds its connection for as long as the client listens:
 * its bound is sse_max_queued_bytes (lb-sse), not the response timeout. */
static void
start_events (LbHttpServer *self, SoupServerMessage *msg, GHashTable *query)
{
  const char *last = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                   "Last-Event-ID");
  Conn *conn = conn_for_msg (msg);

  if (last == NULL && query != NULL)
    last = g_hash_table_lookup (query, "last_event_id");
  if (conn != NULL)
    conn_set_state (conn, CONN_STREAMING, 0);
  lb_sse_start (self->sse, msg, conn != NULL ? conn->socket : NULL, last);
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer user_data)
{
  LbHttpServer *self = user_data;

  if (soup_server_message_get_status (msg) != 0)
    return;
  const char *file = static_file (path);
  if (file != NULL && self->web_dir != NULL
      && g_str_equal (soup_server_message_get_method (msg), "GET"))
    {
      serve_static (self, msg, file);
      return;
    }
  if (g_str_equal (path, "/api/v1/events") && self->sse != NULL)
    {
      if (g_str_equal (soup_server_message_get_method (msg), "GET"))
        start_events (self, msg, query);
      else
        {
          soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                        "GET");
          send_error (msg, LB_ERROR_METHOD_NOT_ALLOWED, "only GET is allowed on /api/v1/events");
        }
      return;
    }

  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  if (body->length > self->limits.max_body_bytes)
    {
      g_autofree char *m
          = g_strdup_printf ("request body exceeds %u bytes", self->limits.max_body_bytes);
      send_error (msg, LB_ERROR_PAYLOAD_TOO_LARGE, m);
      return;
    }
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  /* The raw header, not libsoup's parse: that drops a malformed value
   * ("application/json garbage") as if none had been sent. Repeated headers
   * come joined with ", " and match nothing. */
  const char *content_type = soup_message_headers_get_list (
      soup_server_message_get_request_headers (msg), "Content-Type");
  /* libsoup hands over the path percent-decoded. */
  const char *raw_path = g_uri_get_path (soup_server_message_get_uri (msg));
  LbApiResponse resp = { 0 };

  lb_api_handle (self->api, soup_server_message_get_method (msg), raw_path, content_type, data, len,
                 &resp);
  g_debug ("%s %s -> %u", soup_server_message_get_method (msg), raw_path, resp.status);
  send_response (msg, &resp);
  lb_api_response_clear (&resp);
}

/* A socket file that nobody accepts on is left over from a crash: remove it.
 * One that answers belongs to a running daemon: refuse to steal it. */
static gboolean
clear_stale_socket (const char *path, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;

  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (path);
  g_autoptr (GSocketConnection) conn
      = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (addr), NULL, NULL);
  if (conn != NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "%s: another lobbyd is listening there", path);
      return FALSE;
    }
  if (g_unlink (path) != 0)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "%s: cannot remove stale socket: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

static GSocket *
listen_unix (const char *path, GError **error)
{
  if (!clear_stale_socket (path, error))
    return NULL;

  g_autoptr (GSocket) sock
      = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (path);
  if (sock == NULL)
    return NULL;
  /* Orchestrators burst: the default backlog of 10 refuses concurrent connects. */
  g_socket_set_listen_backlog (sock, 256);
  if (!g_socket_bind (sock, addr, TRUE, error) || !g_socket_listen (sock, error))
    return NULL;
  if (g_chmod (path, 0660) != 0)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "chmod %s: %s", path, g_strerror (errno));
      return NULL;
    }
  return g_steal_pointer (&sock);
}

static GSocket *
listen_tcp (const char *host, guint16 port, GError **error)
{
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new_from_string (host, port);
  if (addr == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "invalid listen address %s", host);
      return NULL;
    }
  g_autoptr (GSocket) sock = g_socket_new (g_socket_address_get_family (addr), G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_TCP, error);
  if (sock == NULL)
    return NULL;
  g_socket_set_listen_backlog (sock, 256);
  if (!g_socket_bind (sock, addr, TRUE, error) || !g_socket_listen (sock, error))
    return NULL;
  return g_steal_pointer (&sock);
}

LbHttpServer *
lb_http_server_new (LbApi *api, LbEvents *events, const char *web_dir, const char *socket_path,
                    const char *tcp_host, guint16 tcp_port, const char *token,
                    const LbHttpLimits *limits, GError **error)
{
  g_autoptr (LbHttpServer) self = g_new0 (LbHttpServer, 1);
  guint unix_cap, tcp_cap;

  self->api = api;
  if (events != NULL)
    self->sse = lb_sse_new (events, limits->sse_max_queued_bytes);
  self->web_dir = g_strdup (web_dir);
  self->token = g_strdup (token);
  self->limits = *limits;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  self->unix_local = g_inet_socket_address_new (loopback, 0);
  self->soup = soup_server_new ("server-header", "lobbyd/" LB_VERSION, NULL);
  soup_server_add_handler (self->soup, NULL, handler, self, NULL);
  g_signal_connect (self->soup, "request-started", G_CALLBACK (request_started), self);
  g_signal_connect (self->soup, "request-read", G_CALLBACK (request_read), self);
  fit_caps_to_fd_limit (limits, &unix_cap, &tcp_cap);

  g_autoptr (GSocket) unix_sock = listen_unix (socket_path, error);
  if (unix_sock == NULL)
    return NULL;
  self->socket_path = g_strdup (socket_path);
  self->listeners[LISTENER_UNIX] = listener_new (self, LISTENER_UNIX, unix_sock, unix_cap);

  if (tcp_host != NULL)
    {
      g_return_val_if_fail (token != NULL, NULL);
      g_autoptr (GSocket) tcp_sock = listen_tcp (tcp_host, tcp_port, error);
      if (tcp_sock == NULL)
        return NULL;
      self->listeners[LISTENER_TCP] = listener_new (self, LISTENER_TCP, tcp_sock, tcp_cap);
    }
  return g_steal_pointer (&self);
}

void
lb_http_server_free (LbHttpServer *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->sse, lb_sse_free);
  for (guint i = 0; i < G_N_ELEMENTS (self->listeners); i++)
    if (self->listeners[i] != NULL && self->listeners[i]->watch != NULL)
      {
        g_source_destroy (self->listeners[i]->watch);
        g_clear_pointer (&self->listeners[i]->watch, g_source_unref);
      }
  if (self->soup != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->soup, self);
      soup_server_disconnect (self->soup);
      g_object_unref (self->soup);
    }
  for (guint i = 0; i < G_N_ELEMENTS (self->listeners); i++)
    g_clear_pointer (&self->listeners[i], listener_free);
  if (self->socket_path != NULL)
    g_unlink (self->socket_path);
  g_clear_object (&self->unix_local);
  g_free (self->socket_path);
  g_free (self->web_dir);
  g_free (self->token);
  g_free (self);
}
