/* lb-ml-rtsp-server.c — see lb-ml-rtsp-server.h. What the client sends and
 * needs back: moonlight-common-c @874ac95 RtspConnection.c (one request per
 * TCP connection, read to EOF; Session from the audio SETUP on; Transport
 * server_port; X-SS-Ping-Payload only when exactly 16 chars;
 * X-SS-Connect-Data parsed with strtoul base 0, 0 = none). */
#define G_LOG_DOMAIN "lobbyd-moonlight"

#include "lb-ml-rtsp-server.h"

#include <gio/gio.h>
#include <string.h>

/* A whole request fits: the head cap, the body cap, and one byte more so
 * that anything beyond is seen (as trailing data or a too large head). */
#define BUF_CAP (LB_ML_RTSP_MAX_HEAD + LB_ML_RTSP_MAX_BODY + 1)
#define READ_CHUNK 4096

typedef struct _Conn Conn;

struct _LbMlRtspServer
{
  GSocketService *service;
  gulong incoming_id;
  guint16 port;
  LbMlLaunchTable *launches;
  guint32 enc_supported, enc_requested;
  LbMlRtspCallbacks cb;
  gpointer user_data;
  guint timeout_ms;
  GHashTable *conns; /* Conn* set */
  GMainContext *context;
};

struct _Conn
{
  LbMlRtspServer *server; /* NULL once the server is gone */
  GMainContext *context;  /* the server's: where every completion runs */
  GSocketConnection *conn;
  GCancellable *cancel;
  GSource *deadline;
  char *peer;
  guint8 *buf;
  gsize len;
  char *reply;
  gsize reply_len;
  gboolean draining; /* reply sent, reading to EOF before closing */
  gsize drained;
};

static void conn_read (Conn *c);
static gboolean on_deadline (gpointer data);

/* How long a replied connection is read (and discarded) for while waiting
 * for the client's EOF. */
#define DRAIN_TIMEOUT_MS 2000

static void
conn_arm_deadline (Conn *c, guint ms)
{
  if (c->deadline)
    {
      g_source_destroy (c->deadline);
      g_source_unref (c->deadline);
    }
  c->deadline = g_timeout_source_new (ms);
  g_source_set_callback (c->deadline, on_deadline, c, NULL);
  g_source_attach (c->deadline, c->context);
}

static void
conn_free (Conn *c)
{
  if (c->deadline)
    {
      g_source_destroy (c->deadline);
      g_source_unref (c->deadline);
    }
  if (c->server)
    g_hash_table_remove (c->server->conns, c);
  /* Closing drops the connection now even if a reply is still unread. */
  g_io_stream_close (G_IO_STREAM (c->conn), NULL, NULL);
  g_object_unref (c->conn);
  g_object_unref (c->cancel);
  g_main_context_unref (c->context);
  g_free (c->peer);
  g_free (c->buf);
  g_free (c->reply);
  g_free (c);
}

/* The peer's address as text, IPv4-mapped IPv6 written as IPv4 (the form
 * the HTTP side keyed the launch with on a dual-stack socket). */
static char *
peer_address (GSocketConnection *conn)
{
  g_autoptr (GSocketAddress) sa = g_socket_connection_get_remote_address (conn, NULL);
  if (sa == NULL || !G_IS_INET_SOCKET_ADDRESS (sa))
    return NULL;
  GInetAddress *ia = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (sa));
  if (g_inet_address_get_family (ia) == G_SOCKET_FAMILY_IPV6)
    {
      const guint8 *b = g_inet_address_to_bytes (ia);
      static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
      if (memcmp (b, mapped, 12) == 0)
        return g_strdup_printf ("%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
    }
  return g_inet_address_to_string (ia);
}

/* ------------------------------------------------------------- the requests */

/* The launch a request belongs to: by its Session header when it has one,
 * else (OPTIONS, DESCRIBE, the first SETUP) by the peer's address among
 * unclaimed launches. Returns the launch id (a copy). */
static char *
resolve_launch (LbMlRtspServer *s, const LbMlRtspRequest *req, const char *peer, GError **error)
{
  const char *session = lb_ml_rtsp_request_get_header (req, "Session");
  if (session != NULL)
    {
      g_autofree char *id = g_strndup (session, strcspn (session, ";"));
      g_strstrip (id);
      if (lb_ml_launch_table_lookup (s->launches, id) == NULL)
        {
          g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_SESSION_MISMATCH,
                       "Session names no launch");
          return NULL;
        }
      return g_steal_pointer (&id);
    }
  switch (lb_ml_rtsp_request_get_method (req))
    {
    case LB_ML_RTSP_METHOD_OPTIONS:
    case LB_ML_RTSP_METHOD_DESCRIBE:
    case LB_ML_RTSP_METHOD_SETUP:
      {
        const char *id = NULL;
        if (peer == NULL
            || lb_ml_launch_table_match_address (s->launches, peer, FALSE, &id, error) == NULL)
          {
            if (error && *error == NULL)
              g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_SESSION_MISMATCH,
                           "no launch from this address");
            return NULL;
          }
        return g_strdup (id);
      }
    default:
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_SESSION_MISMATCH, "no Session header");
      return NULL;
    }
}

static LbMlRtspReply *
handle_setup (LbMlRtspServer *s, const LbMlRtspRequest *req, const char *peer, GError **error)
{
  LbMlStream stream;
  /* The target first: a SETUP of something else claims nothing. */
  if (!lb_ml_rtsp_parse_setup_target (lb_ml_rtsp_request_get_target (req), &stream, error))
    return NULL;
  gboolean by_address = lb_ml_rtsp_request_get_header (req, "Session") == NULL;
  g_autofree char *id = resolve_launch (s, req, peer, error);
  if (id == NULL)
    return NULL;
  guint16 port = 0;
  char ping[17] = { 0 };
  guint32 connect_data = 0;
  if (s->cb.setup
      && !s->cb.setup (id, stream, peer, &port, ping, &connect_data, s->user_data, error))
    return NULL;
  ping[16] = 0;
  gboolean has_ping = stream != LB_ML_STREAM_CONTROL && ping[0] != 0;
  gboolean has_cd = stream == LB_ML_STREAM_CONTROL && connect_data != 0;
  LbMlRtspReply *r = lb_ml_rtsp_reply_setup (lb_ml_rtsp_request_get_cseq (req), stream, id, port,
                                             has_ping ? ping : NULL, has_cd, connect_data, error);
  if (r != NULL && by_address)
    {
      /* Only a SETUP that succeeded claims its launch: from now on the
       * client names it by Session and the address is free for another. */
      g_autoptr (GError) e = NULL;
      if (lb_ml_launch_table_match_address (s->launches, peer, TRUE, NULL, &e) == NULL)
        g_debug ("rtsp: claiming %s: %s", id, e->message);
    }
  return r;
}

static LbMlRtspReply *
handle_request (LbMlRtspServer *s, const LbMlRtspRequest *req, const char *peer, GError **error)
{
  gint32 cseq = lb_ml_rtsp_request_get_cseq (req);
  LbMlRtspMethod method = lb_ml_rtsp_request_get_method (req);
  const char *target = lb_ml_rtsp_request_get_target (req);
  if (method == LB_ML_RTSP_METHOD_UNKNOWN)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_UNKNOWN_METHOD,
                   "method %s is not served", lb_ml_rtsp_request_get_method_name (req));
      return NULL;
    }
  if (method == LB_ML_RTSP_METHOD_SETUP)
    return handle_setup (s, req, peer, error);

  g_autofree char *id = resolve_launch (s, req, peer, error);
  if (id == NULL)
    return NULL;
  switch (method)
    {
    case LB_ML_RTSP_METHOD_OPTIONS:
      return lb_ml_rtsp_reply_options (cseq);
    case LB_ML_RTSP_METHOD_DESCRIBE:
      return lb_ml_rtsp_reply_describe (cseq, s->enc_supported, s->enc_requested);
    case LB_ML_RTSP_METHOD_ANNOUNCE:
      {
        /* Clients ≥ 7.1.431 announce on the control stream's id. */
        if (g_strcmp0 (target, "streamid=control/13/0") != 0)
          {
            g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_TARGET,
                         "ANNOUNCE target is not streamid=control/13/0");
            return NULL;
          }
        gsize blen = 0;
        const char *body = lb_ml_rtsp_request_get_body (req, &blen);
        LbMlAnnounce a;
        if (!lb_ml_rtsp_announce_parse (body, blen, &a, error))
          return NULL;
        if (s->cb.announce && !s->cb.announce (id, &a, s->user_data, error))
          return NULL;
        return lb_ml_rtsp_reply_ok (cseq);
      }
    case LB_ML_RTSP_METHOD_PLAY:
      if (!lb_ml_rtsp_check_play_target (target, error))
        return NULL;
      if (s->cb.play && !s->cb.play (id, s->user_data, error))
        return NULL;
      return lb_ml_rtsp_reply_ok (cseq);
    case LB_ML_RTSP_METHOD_TEARDOWN:
      /* The session ends through /cancel, the control stream or the ping
       * timeout (the glue's business); acknowledge only. */
      g_debug ("rtsp: TEARDOWN of %s", id);
      return lb_ml_rtsp_reply_ok (cseq);
    default:
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_UNKNOWN_METHOD, "method not served");
      return NULL;
    }
}

/* ------------------------------------------------------------ the connection */

static void
on_written (GObject *src, GAsyncResult *res, gpointer data)
{
  Conn *c = data;
  g_autoptr (GError) error = NULL;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (src), res, NULL, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_debug ("rtsp: writing the reply to %s: %s", c->peer, error->message);
  if (error != NULL || c->server == NULL)
    {
      conn_free (c);
      return;
    }
  /* Closing with unread bytes in the receive buffer (a refused request the
   * client was still sending) would reset the connection and could destroy
   * the reply before the client reads it: send FIN, read to the client's
   * EOF, then close. */
  g_socket_shutdown (g_socket_connection_get_socket (c->conn), FALSE, TRUE, NULL);
  c->draining = TRUE;
  c->len = 0;
  conn_arm_deadline (c, MIN (c->server->timeout_ms, DRAIN_TIMEOUT_MS));
  conn_read (c);
}

static void
conn_reply (Conn *c, LbMlRtspReply *reply)
{
  c->reply = lb_ml_rtsp_reply_to_string (reply, &c->reply_len);
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (c->conn));
  g_main_context_push_thread_default (c->context);
  g_output_stream_write_all_async (out, c->reply, c->reply_len, G_PRIORITY_DEFAULT, c->cancel,
                                   on_written, c);
  g_main_context_pop_thread_default (c->context);
}

/* Parses what has arrived; returns FALSE when more bytes are needed. */
static gboolean
conn_try (Conn *c, gboolean at_eof)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LbMlRtspRequest) req = lb_ml_rtsp_request_parse (c->buf, c->len, at_eof, &error);
  if (req == NULL && g_error_matches (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_INCOMPLETE)
      && c->len < BUF_CAP)
    return FALSE;
  /* A request is complete (or refused): a fresh deadline for the reply. */
  conn_arm_deadline (c, c->server->timeout_ms);
  g_autoptr (LbMlRtspReply) reply = NULL;
  gint64 cseq = -1;
  if (req != NULL)
    {
      cseq = lb_ml_rtsp_request_get_cseq (req);
      reply = handle_request (c->server, req, c->peer, &error);
      if (reply == NULL)
        g_debug ("rtsp: %s %s from %s refused: %s", lb_ml_rtsp_request_get_method_name (req),
                 lb_ml_rtsp_request_get_target (req), c->peer, error ? error->message : "?");
      else
        g_debug ("rtsp: %s %s from %s", lb_ml_rtsp_request_get_method_name (req),
                 lb_ml_rtsp_request_get_target (req), c->peer);
    }
  else
    g_debug ("rtsp: malformed request from %s: %s", c->peer, error ? error->message : "?");
  if (reply == NULL)
    reply = lb_ml_rtsp_reply_for_error (error, cseq);
  conn_reply (c, reply);
  return TRUE;
}

static void
on_read (GObject *src, GAsyncResult *res, gpointer data)
{
  Conn *c = data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (src), res, &error);
  if (c->server == NULL || n < 0)
    {
      if (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("rtsp: reading from %s: %s", c->peer, error->message);
      conn_free (c);
      return;
    }
  if (c->draining)
    {
      c->drained += (gsize)n;
      if (n == 0 || c->drained > 4 * BUF_CAP)
        conn_free (c);
      else
        conn_read (c);
      return;
    }
  if (n == 0)
    {
      if (c->len == 0)
        conn_free (c); /* connected and left */
      else
        conn_try (c, TRUE);
      return;
    }
  c->len += (gsize)n;
  if (!conn_try (c, FALSE))
    conn_read (c);
}

static void
conn_read (Conn *c)
{
  if (c->buf == NULL)
    c->buf = g_malloc (BUF_CAP);
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (c->conn));
  g_main_context_push_thread_default (c->context);
  g_input_stream_read_async (in, c->buf + c->len, MIN ((gsize)READ_CHUNK, BUF_CAP - c->len),
                             G_PRIORITY_DEFAULT, c->cancel, on_read, c);
  g_main_context_pop_thread_default (c->context);
}

static gboolean
on_deadline (gpointer data)
{
  Conn *c = data;
  if (c->draining)
    g_debug ("rtsp: %s did not close after the reply, closing", c->peer);
  else
    g_debug ("rtsp: %s sent no complete request in time (%" G_GSIZE_FORMAT " bytes), closing",
             c->peer, c->len);
  g_clear_pointer (&c->deadline, g_source_unref);
  /* The pending read finishes with CANCELLED and frees the connection. */
  g_cancellable_cancel (c->cancel);
  return G_SOURCE_REMOVE;
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source, gpointer data)
{
  LbMlRtspServer *s = data;
  if (g_hash_table_size (s->conns) >= LB_ML_RTSP_MAX_CONNECTIONS)
    {
      g_debug ("rtsp: %u connections open, closing a new one", g_hash_table_size (s->conns));
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return TRUE;
    }
  Conn *c = g_new0 (Conn, 1);
  c->server = s;
  c->context = g_main_context_ref (s->context);
  c->conn = g_object_ref (connection);
  c->cancel = g_cancellable_new ();
  c->peer = peer_address (connection);
  if (c->peer == NULL)
    c->peer = g_strdup ("?");
  conn_arm_deadline (c, s->timeout_ms);
  g_hash_table_add (s->conns, c);
  conn_read (c);
  return TRUE;
}

/* ------------------------------------------------------------------- server */

LbMlRtspServer *
lb_ml_rtsp_server_new (const char *bind_address, guint16 port, LbMlLaunchTable *launches,
                       guint32 encryption_supported, guint32 encryption_requested,
                       const LbMlRtspCallbacks *cb, gpointer user_data, GError **error)
{
  g_return_val_if_fail (launches != NULL, NULL);
  g_autoptr (GInetAddress) ia = g_inet_address_new_from_string (bind_address ? bind_address : "");
  if (ia == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "RTSP bind address '%s' is not an IP address", bind_address ? bind_address : "");
      return NULL;
    }
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (ia, port);
  GSocketService *service = g_socket_service_new ();
  g_autoptr (GSocketAddress) effective = NULL;
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (service), sa, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, NULL, &effective, error))
    {
      g_prefix_error (error, "RTSP on %s port %u: ", bind_address, port);
      g_object_unref (service);
      return NULL;
    }
  LbMlRtspServer *s = g_new0 (LbMlRtspServer, 1);
  s->service = service;
  s->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  s->launches = launches;
  s->enc_supported = encryption_supported;
  s->enc_requested = encryption_requested;
  if (cb)
    s->cb = *cb;
  s->user_data = user_data;
  s->timeout_ms = LB_ML_RTSP_READ_TIMEOUT_MS;
  s->conns = g_hash_table_new (NULL, NULL);
  s->context = g_main_context_ref_thread_default ();
  s->incoming_id = g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), s);
  g_socket_service_start (service);
  g_debug ("rtsp: listening on %s port %u", bind_address, s->port);
  return s;
}

guint16
lb_ml_rtsp_server_get_port (LbMlRtspServer *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->port;
}

void
lb_ml_rtsp_server_set_read_timeout (LbMlRtspServer *s, guint timeout_ms)
{
  g_return_if_fail (s != NULL);
  s->timeout_ms = MAX (timeout_ms, 1u);
}

void
lb_ml_rtsp_server_free (LbMlRtspServer *s)
{
  if (s == NULL)
    return;
  g_socket_service_stop (s->service);
  g_signal_handler_disconnect (s->service, s->incoming_id);
  g_socket_listener_close (G_SOCKET_LISTENER (s->service));
  g_object_unref (s->service);
  /* Each connection has an operation in flight: cancel it and let its
   * completion free the connection, which no longer refers to us. */
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, s->conns);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      Conn *c = key;
      c->server = NULL;
      if (c->deadline)
        {
          g_source_destroy (c->deadline);
          g_clear_pointer (&c->deadline, g_source_unref);
        }
      g_cancellable_cancel (c->cancel);
    }
  g_hash_table_destroy (s->conns);
  g_main_context_unref (s->context);
  g_free (s);
}
