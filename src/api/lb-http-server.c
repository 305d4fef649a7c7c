/* lb-http-server.c — the listening sockets and their connections: we
 * accept ourselves, hold each listener to its connection cap, time out
 * requests that are not sent or responses that are not taken, and hand each
 * connection to libsoup. What happens to a request is lb-http-request.c. */
#define G_LOG_DOMAIN "lobbyd-http"
#include "lb-http-server-impl.h"
#include "lb-build-config.h"

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/stat.h>

/* A response (other than an event stream) must be taken within this. */
#define RESPONSE_TIMEOUT_S 60
/* A connection we shut down must be gone within this, or its socket is closed. */
#define CLOSE_GRACE_S 5
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
struct _LbHttpListener
{
  LbHttpServer *server;
  ListenerKind kind;
  const char *name;
  GSocket *socket;
  GSource *watch; /* NULL while backing off after a failed accept() */
  guint retry;
  guint cap;
  GQueue conns;  /* LbHttpConn, oldest first */
  guint closing; /* how many of them are LB_HTTP_CONN_CLOSING */
  gint64 warned_us;
};

/* One accepted connection, alive until libsoup drops its GSocketConnection. */
struct _LbHttpConn
{
  LbHttpListener *listener;
  GList link;             /* in listener->conns */
  GObject *stream;        /* weak: the GSocketConnection given to libsoup */
  GSocket *socket;        /* shutdown() wakes libsoup up with EOF */
  GSocketAddress *remote; /* messages find their LbHttpConn through it */
  LbHttpConnState state;
  guint timer;
};

G_DEFINE_QUARK (lb - http - conn, conn)

/* ---- Connections: accept, caps, timeouts ---- */

static void conn_close (LbHttpConn *c);

LbHttpConn *
lb_http_conn_for_msg (SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);

  return remote != NULL ? g_object_get_qdata (G_OBJECT (remote), conn_quark ()) : NULL;
}

GSocket *
lb_http_conn_get_socket (LbHttpConn *c)
{
  return c->socket;
}

gboolean
lb_http_conn_is_local (LbHttpConn *c)
{
  return c->listener->kind == LISTENER_UNIX;
}

static gboolean
conn_expired (gpointer user_data)
{
  LbHttpConn *c = user_data;

  c->timer = 0;
  if (c->state == LB_HTTP_CONN_CLOSING)
    {
      /* libsoup did not notice the shutdown (a paused message): force it. */
      g_socket_close (c->socket, NULL);
      return G_SOURCE_REMOVE;
    }
  g_debug ("[HTTP] %s connection: %s in time, closing", c->listener->name,
           c->state == LB_HTTP_CONN_READING ? "no complete request" : "response not taken");
  conn_close (c);
  return G_SOURCE_REMOVE;
}

void
lb_http_conn_set_state (LbHttpConn *c, LbHttpConnState state, guint timeout_s)
{
  if (c->state == LB_HTTP_CONN_CLOSING)
    return;
  if (state == LB_HTTP_CONN_CLOSING)
    c->listener->closing++;
  c->state = state;
  g_clear_handle_id (&c->timer, g_source_remove);
  if (timeout_s > 0)
    c->timer = g_timeout_add_seconds (timeout_s, conn_expired, c);
}

/* Shut down, not closed: libsoup reads EOF (or fails its write), ends the
 * message and releases the descriptor itself. */
static void
conn_close (LbHttpConn *c)
{
  lb_http_conn_set_state (c, LB_HTTP_CONN_CLOSING, CLOSE_GRACE_S);
  g_socket_shutdown (c->socket, TRUE, TRUE, NULL);
}

static void
conn_free (LbHttpConn *c)
{
  LbHttpListener *l = c->listener;

  if (c->state == LB_HTTP_CONN_CLOSING)
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
listener_open (LbHttpListener *l)
{
  return l->conns.length - l->closing;
}

/* Makes room for a new connection by closing the oldest one that has not yet
 * sent a whole request: idle and slow clients cannot keep others out. */
static gboolean
listener_evict (LbHttpListener *l)
{
  for (GList *it = l->conns.head; it != NULL; it = it->next)
    {
      LbHttpConn *c = it->data;
      if (c->state == LB_HTTP_CONN_READING)
        {
          g_debug ("[HTTP] %s listener full (%u): closing its oldest idle connection", l->name,
                   l->cap);
          conn_close (c);
          return TRUE;
        }
    }
  return FALSE;
}

/* Every connection the listener holds is busy with a request or a stream:
 * answer 503 (best effort: a fresh socket's buffer takes it) and close. */
static void
refuse (GSocket *client)
{
  g_autoptr (GBytes) busy = lb_http_error_response_bytes (
      LB_ERROR_LIMIT_REACHED, "too many open connections", "Retry-After: 1\r\n");
  gsize len = 0;
  const char *data = g_bytes_get_data (busy, &len);

  g_socket_set_blocking (client, FALSE);
  g_socket_send (client, data, len, NULL, NULL);
  g_socket_close (client, NULL);
}

static void
listener_admit (LbHttpListener *l, GSocket *client)
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

  LbHttpConn *c = g_new0 (LbHttpConn, 1);
  c->listener = l;
  c->socket = g_object_ref (client);
  c->remote = g_object_ref (remote);
  c->link.data = c;
  g_queue_push_tail_link (&l->conns, &c->link);
  g_object_set_qdata (G_OBJECT (remote), conn_quark (), c);
  lb_http_conn_set_state (c, LB_HTTP_CONN_READING, self->limits.request_timeout_s);

  g_autoptr (GSocketConnection) stream = g_socket_connection_factory_create_connection (client);
  c->stream = G_OBJECT (stream);
  g_object_weak_ref (c->stream, conn_gone, c);
  soup_server_accept_iostream (self->soup, G_IO_STREAM (stream), local, remote, NULL);
}

static gboolean listener_ready (GSocket *socket, GIOCondition condition, gpointer user_data);

static void
listener_watch (LbHttpListener *l)
{
  l->watch = g_socket_create_source (l->socket, G_IO_IN, NULL);
  g_source_set_callback (l->watch, G_SOURCE_FUNC (listener_ready), l, NULL);
  g_source_attach (l->watch, NULL);
}

static gboolean
listener_retry (gpointer user_data)
{
  LbHttpListener *l = user_data;

  l->retry = 0;
  listener_watch (l);
  return G_SOURCE_REMOVE;
}

static gboolean
listener_ready (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  LbHttpListener *l = user_data;

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

static LbHttpListener *
listener_new (LbHttpServer *self, ListenerKind kind, GSocket *socket, guint cap)
{
  LbHttpListener *l = g_new0 (LbHttpListener, 1);

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
listener_free (LbHttpListener *l)
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
      LbHttpConn *c = l->conns.head->data;
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

static void
request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  LbHttpServer *self = user_data;
  LbHttpConn *c = lb_http_conn_for_msg (msg);

  if (c != NULL)
    lb_http_conn_set_state (c, LB_HTTP_CONN_READING, self->limits.request_timeout_s);
  lb_http_request_watch_headers (self, msg);
}

static void
request_read (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  LbHttpConn *c = lb_http_conn_for_msg (msg);

  if (c != NULL)
    lb_http_conn_set_state (c, LB_HTTP_CONN_HANDLING, RESPONSE_TIMEOUT_S);
  /* One request per connection: libsoup 3.2 never closes a kept-alive
   * connection that the client closes between requests (fixed upstream in
   * 3.3.0, "server: do not leak idle connections closed by the client"). */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
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
  soup_server_add_handler (self->soup, NULL, lb_http_request_handler, self, NULL);
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
  /* Their work (a WHEP join) is undone while the registry is still here. */
  lb_http_request_cancel_deferred (self);
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
