/* lb-http-request.c — what happens to one request once libsoup has parsed
 * it: authentication (bearer token over TCP), refusal on the headers before
 * any body byte is read, then routing to the web UI's files, the event
 * stream (lb-sse) or the API (lb-api), and the answer written back. */
#define G_LOG_DOMAIN "lobbyd-http"
#include "lb-build-config.h"
#include "lb-http-server-impl.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/* After refusing a request on its headers, what the client still sends is
 * read and dropped for this long, so that closing does not reset the
 * connection before the client has read the refusal. */
#define LINGER_MS 2000

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
send_response (SoupServerMessage *msg, const LbApiResponse *resp)
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

/* The whole response of a request refused before libsoup saw it (or after it
 * gave up the connection): status line, headers, JSON error body. */
GBytes *
lb_http_error_response_bytes (LbErrorCode code, const char *message, const char *extra_headers)
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

/* ---- Requests refused on their headers ---- */

/* One wording for a body over max_body_bytes, whichever check finds it: the
 * declared length, a chunked body as it arrives, or the body read. */
static char *
body_too_large (LbHttpServer *self)
{
  return g_strdup_printf ("request body exceeds %u bytes", self->limits.max_body_bytes);
}

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
  LbHttpConn *c = lb_http_conn_for_msg (msg);
  GBytes *response = lb_http_error_response_bytes (
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
      lg->socket = g_object_ref (lb_http_conn_get_socket (c));
      lb_http_conn_set_state (c, LB_HTTP_CONN_CLOSING, 0);
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
  LbHttpConn *c = lb_http_conn_for_msg (msg);
  if (c != NULL && lb_http_conn_is_local (c))
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
      g_autofree char *m = body_too_large (self);
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
      g_autofree char *m = body_too_large (self);
      reject_and_close (self, msg, LB_ERROR_PAYLOAD_TOO_LARGE, m);
      return;
    }
  if (encoding == SOUP_ENCODING_CHUNKED)
    g_signal_connect (msg, "got-chunk", G_CALLBACK (got_chunk), self);
}

/* An event stream holds its connection for as long as the client listens:
 * its bound is sse_max_queued_bytes (lb-sse), not the response timeout. */
static void
start_events (LbHttpServer *self, SoupServerMessage *msg, GHashTable *query)
{
  const char *last = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                   "Last-Event-ID");
  LbHttpConn *conn = lb_http_conn_for_msg (msg);

  if (last == NULL && query != NULL)
    last = g_hash_table_lookup (query, "last_event_id");
  if (conn != NULL)
    lb_http_conn_set_state (conn, LB_HTTP_CONN_STREAMING, 0);
  lb_sse_start (self->sse, msg, conn != NULL ? lb_http_conn_get_socket (conn) : NULL, last);
}

/* ---- Answers that come later ---- */

/* A request whose answer the API gives later (a WHEP offer being
 * negotiated): its message is paused meanwhile, so the main loop serves
 * other requests. Its connection stays LB_HTTP_CONN_HANDLING: busy, never
 * evicted as idle, bounded by the response timeout. A client that closes its
 * end meanwhile cancels the work (the session goes, with its slot). */
typedef struct
{
  LbHttpServer *server;
  SoupServerMessage *msg;
  LbApiPending *pending;
  GSocket *socket;
  GSource *hangup; /* NULL without a socket, or once the client sent more */
} Deferred;

static void
deferred_free (Deferred *d)
{
  if (d->hangup != NULL)
    {
      g_source_destroy (d->hangup);
      g_clear_pointer (&d->hangup, g_source_unref);
    }
  g_signal_handlers_disconnect_by_data (d->msg, d);
  d->server->deferred = g_list_remove (d->server->deferred, d);
  g_clear_object (&d->socket);
  g_object_unref (d->msg);
  g_free (d);
}

/* The client closed its end (or the socket failed). A client sends nothing
 * after its request, but one may pipeline another: that is no hang-up (the
 * watch ends, and the answer is written as usual unless the connection's
 * state says the client closed it since). */
/* Whether the client closed its end (FIN) or reset the connection. On TCP
 * the connection's state says so even behind bytes it sent after its
 * request (a pipelined one, or junk), which a peek would return instead
 * of the end of the stream. */
static gboolean
peer_closed (GSocket *socket)
{
  int fd = g_socket_get_fd (socket);
  struct tcp_info info;
  socklen_t len = sizeof info;
  char byte;

  if (g_socket_get_family (socket) != G_SOCKET_FAMILY_UNIX
      && getsockopt (fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0)
    return info.tcpi_state == TCP_CLOSE_WAIT || info.tcpi_state == TCP_CLOSE
           || info.tcpi_state == TCP_LAST_ACK;
  ssize_t n = recv (fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static gboolean
client_left (Deferred *d)
{
  return d->socket != NULL && peer_closed (d->socket);
}

/* An answer handed to libsoup, until its body is written. libsoup writes
 * it a main-loop iteration or more after the unpause: a client that closes
 * its end meanwhile, or whose connection fails under the write, never
 * gets the answer, so nobody will ever connect to what it made (a WHEP
 * session: its ICE credentials are in the answer). The handler's work is
 * undone then, as for a client that left before the answer. A client that
 * read its whole answer and then closed the connection is an ordinary
 * WHEP client: its session waits for ICE, bounded by the output's connect
 * timeout. */
typedef struct
{
  LbHttpServer *server;
  SoupServerMessage *msg;
  GSocket *socket; /* NULL when the connection's socket is unknown */
  LbApiUndo *undo;
} Answered;

static void
answered_free (Answered *a, gboolean delivered)
{
  g_signal_handlers_disconnect_by_data (a->msg, a);
  a->server->answered = g_list_remove (a->server->answered, a);
  LbApiUndo *undo = g_steal_pointer (&a->undo);
  g_clear_object (&a->socket);
  g_object_unref (a->msg);
  g_free (a);
  if (delivered)
    lb_api_undo_free (undo);
  else
    lb_api_undo_run (undo);
}

/* Headers out, body not yet: the client's FIN (or reset) arrived before
 * any of it could be read, so it never reads the body either. */
static void
answered_wrote_headers (SoupServerMessage *msg, gpointer user_data)
{
  Answered *a = user_data;
  if (a->socket != NULL && peer_closed (a->socket))
    {
      g_debug ("[HTTP] %s %s: the client left while its answer was written",
               soup_server_message_get_method (msg),
               g_uri_get_path (soup_server_message_get_uri (msg)));
      answered_free (a, FALSE);
    }
}

static void
answered_wrote_body (SoupServerMessage *msg, gpointer user_data)
{
  answered_free (user_data, TRUE);
}

/* Ended before the whole body was written: the connection failed. */
static void
answered_finished (SoupServerMessage *msg, gpointer user_data)
{
  g_debug ("[HTTP] %s %s: the connection ended before the answer was written",
           soup_server_message_get_method (msg),
           g_uri_get_path (soup_server_message_get_uri (msg)));
  answered_free (user_data, FALSE);
}

static void
watch_answer (LbHttpServer *self, SoupServerMessage *msg, GSocket *socket, LbApiUndo *undo)
{
  Answered *a = g_new0 (Answered, 1);
  a->server = self;
  a->msg = g_object_ref (msg);
  a->socket = socket != NULL ? g_object_ref (socket) : NULL;
  a->undo = undo;
  g_signal_connect (msg, "wrote-headers", G_CALLBACK (answered_wrote_headers), a);
  g_signal_connect (msg, "wrote-body", G_CALLBACK (answered_wrote_body), a);
  g_signal_connect (msg, "finished", G_CALLBACK (answered_finished), a);
  self->answered = g_list_prepend (self->answered, a);
}

static void
close_connection (SoupServerMessage *msg)
{
  GIOStream *stream = soup_server_message_steal_connection (msg);
  if (stream != NULL)
    {
      g_io_stream_close (stream, NULL, NULL);
      g_object_unref (stream);
    }
}

static gboolean
deferred_hangup (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Deferred *d = user_data;
  SoupServerMessage *msg = g_object_ref (d->msg);

  if (!(condition & (G_IO_HUP | G_IO_ERR)) && !client_left (d))
    {
      g_clear_pointer (&d->hangup, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  g_debug ("[HTTP] %s %s: the client left before its answer", soup_server_message_get_method (msg),
           g_uri_get_path (soup_server_message_get_uri (msg)));
  LbApiPending *pending = d->pending;
  deferred_free (d);
  lb_api_pending_cancel (pending);
  close_connection (msg);
  g_object_unref (msg);
  return G_SOURCE_REMOVE;
}

/* libsoup ended the message without us (the server shuts down, or the
 * connection was closed under it). */
static void
deferred_finished (SoupServerMessage *msg, gpointer user_data)
{
  Deferred *d = user_data;
  LbApiPending *pending = d->pending;

  deferred_free (d);
  lb_api_pending_cancel (pending);
}

static gboolean
deferred_answer (const LbApiResponse *resp, gpointer user_data)
{
  Deferred *d = user_data;
  LbHttpServer *self = d->server;
  SoupServerMessage *msg = g_object_ref (d->msg);
  g_autoptr (GSocket) socket = d->socket != NULL ? g_object_ref (d->socket) : NULL;
  gboolean left = client_left (d);

  if (!left)
    watch_answer (self, msg, socket, lb_api_pending_take_undo (d->pending));
  deferred_free (d);
  g_debug ("%s %s -> %u%s", soup_server_message_get_method (msg),
           g_uri_get_path (soup_server_message_get_uri (msg)), resp->status,
           left ? " (the client left)" : "");
  if (left)
    close_connection (msg);
  else
    {
      send_response (msg, resp);
      soup_server_message_unpause (msg);
    }
  g_object_unref (msg);
  return !left;
}

static void
defer (LbHttpServer *self, SoupServerMessage *msg, LbApiPending *pending)
{
  Deferred *d = g_new0 (Deferred, 1);
  LbHttpConn *conn = lb_http_conn_for_msg (msg);

  d->server = self;
  d->msg = g_object_ref (msg);
  d->pending = pending;
  soup_server_message_pause (msg);
  if (conn != NULL)
    {
      d->socket = g_object_ref (lb_http_conn_get_socket (conn));
      d->hangup = g_socket_create_source (d->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
      g_source_set_callback (d->hangup, G_SOURCE_FUNC (deferred_hangup), d, NULL);
      g_source_attach (d->hangup, NULL);
    }
  g_signal_connect (msg, "finished", G_CALLBACK (deferred_finished), d);
  self->deferred = g_list_prepend (self->deferred, d);
  lb_api_pending_set_answer_func (pending, deferred_answer, d);
}

void
lb_http_request_cancel_deferred (LbHttpServer *self)
{
  while (self->deferred != NULL)
    {
      Deferred *d = self->deferred->data;
      LbApiPending *pending = d->pending;
      deferred_free (d);
      lb_api_pending_cancel (pending);
    }
  /* Answers already handed over stay as they are: the daemon stops. */
  while (self->answered != NULL)
    answered_free (self->answered->data, TRUE);
}

void
lb_http_request_handler (SoupServer *server, SoupServerMessage *msg, const char *path,
                         GHashTable *query, gpointer user_data)
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
      g_autofree char *m = body_too_large (self);
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
  if (resp.pending != NULL)
    {
      defer (self, msg, resp.pending);
      return;
    }
  g_debug ("%s %s -> %u", soup_server_message_get_method (msg), raw_path, resp.status);
  send_response (msg, &resp);
  lb_api_response_clear (&resp);
}

void
lb_http_request_watch_headers (LbHttpServer *self, SoupServerMessage *msg)
{
  /* Connected after libsoup's handler, which decodes the path first. */
  g_signal_connect (msg, "got-headers", G_CALLBACK (got_headers), self);
}
