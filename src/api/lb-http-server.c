/* lb-http-server.c — listeners, authentication and body limits around lb-api. */
#define G_LOG_DOMAIN "lobbyd-http"
#include "lb-http-server.h"
#include "lb-api.h"
#include "lb-build-config.h"
#include "lb-error.h"
#include "lb-events.h"

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/stat.h>

#define SSE_KEEPALIVE_S 15

struct _LbHttpServer
{
  char *web_dir;
  LbApi *api;
  LbEvents *events;
  GList *sse_clients; /* SseClient */
  SoupServer *soup;
  char *socket_path;
  char *token;
  guint max_body_bytes;
};

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

/* Requests over TCP must carry the token; the unix socket is guarded by its
 * file mode instead. */
static gboolean
is_authorized (LbHttpServer *self, SoupServerMessage *msg)
{
  GSocketAddress *local = soup_server_message_get_local_address (msg);
  if (!G_IS_INET_SOCKET_ADDRESS (local))
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

/* Runs after the headers, before the body is read: rejecting here means an
 * oversized or unauthenticated body is never buffered. */
static void
early_handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
               gpointer user_data)
{
  LbHttpServer *self = user_data;
  SoupMessageHeaders *req_headers = soup_server_message_get_request_headers (msg);

  if (!is_authorized (self, msg))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Bearer realm=\"lobbyd\"");
      send_error (msg, LB_ERROR_UNAUTHORIZED, "missing or invalid bearer token");
      return;
    }
  if (soup_message_headers_get_encoding (req_headers) == SOUP_ENCODING_CONTENT_LENGTH
      && soup_message_headers_get_content_length (req_headers) > self->max_body_bytes)
    {
      g_autofree char *m = g_strdup_printf ("request body exceeds %u bytes", self->max_body_bytes);
      send_error (msg, LB_ERROR_PAYLOAD_TOO_LARGE, m);
    }
}

/* ---- Server-Sent Events: GET /api/v1/events ---- */

typedef struct
{
  LbHttpServer *server;
  SoupServerMessage *msg;
  guint listener;
  guint keepalive;
} SseClient;

static void
sse_append (SseClient *c, const char *text)
{
  soup_message_body_append (soup_server_message_get_response_body (c->msg), SOUP_MEMORY_COPY, text,
                            strlen (text));
  soup_server_message_unpause (c->msg);
}

static void
sse_send_event (guint64 id, const char *type, const char *data, gpointer user_data)
{
  g_autofree char *chunk
      = g_strdup_printf ("id: %" G_GUINT64_FORMAT "\nevent: %s\ndata: %s\n\n", id, type, data);
  sse_append (user_data, chunk);
}

static gboolean
sse_keepalive (gpointer user_data)
{
  sse_append (user_data, ": keepalive\n\n");
  return G_SOURCE_CONTINUE;
}

static void
sse_client_free (SseClient *c)
{
  if (c->server->events != NULL)
    lb_events_remove_listener (c->server->events, c->listener);
  g_source_remove (c->keepalive);
  c->server->sse_clients = g_list_remove (c->server->sse_clients, c);
  g_free (c);
}

static void
sse_finished (SoupServerMessage *msg, gpointer user_data)
{
  sse_client_free (user_data);
}

static void
sse_start (LbHttpServer *self, SoupServerMessage *msg, GHashTable *query)
{
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  const char *last = soup_message_headers_get_one (req, "Last-Event-ID");
  SseClient *c = g_new0 (SseClient, 1);

  if (last == NULL && query != NULL)
    last = g_hash_table_lookup (query, "last_event_id");
  c->server = self;
  c->msg = msg;
  soup_server_message_set_status (msg, 200, NULL);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  sse_append (c, "retry: 2000\n: lobbyd events\n\n");

  /* Resume: replay what the client missed, and say so if the ring dropped some. */
  if (last != NULL)
    {
      guint64 after = g_ascii_strtoull (last, NULL, 10);
      if (!lb_events_replay (self->events, after, sse_send_event, c))
        sse_append (c, "event: events.gap\ndata: {\"type\":\"events.gap\"}\n\n");
    }
  c->listener = lb_events_add_listener (self->events, sse_send_event, c);
  c->keepalive = g_timeout_add_seconds (SSE_KEEPALIVE_S, sse_keepalive, c);
  self->sse_clients = g_list_prepend (self->sse_clients, c);
  g_signal_connect (msg, "finished", G_CALLBACK (sse_finished), c);
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer user_data)
{
  LbHttpServer *self = user_data;

  /* The early handler already answered. */
  if (soup_server_message_get_status (msg) != 0)
    return;
  const char *file = static_file (path);
  if (file != NULL && self->web_dir != NULL
      && g_str_equal (soup_server_message_get_method (msg), "GET"))
    {
      serve_static (self, msg, file);
      return;
    }
  if (g_str_equal (path, "/api/v1/events") && self->events != NULL)
    {
      if (g_str_equal (soup_server_message_get_method (msg), "GET"))
        sse_start (self, msg, query);
      else
        {
          soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                        "GET");
          send_error (msg, LB_ERROR_METHOD_NOT_ALLOWED, "only GET is allowed on /api/v1/events");
        }
      return;
    }

  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  if (body->length > self->max_body_bytes)
    {
      g_autofree char *m = g_strdup_printf ("request body exceeds %u bytes", self->max_body_bytes);
      send_error (msg, LB_ERROR_PAYLOAD_TOO_LARGE, m);
      return;
    }
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  const char *content_type
      = soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);
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

static gboolean
listen_unix (LbHttpServer *self, const char *path, GError **error)
{
  if (!clear_stale_socket (path, error))
    return FALSE;

  g_autoptr (GSocket) sock
      = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (path);
  if (sock == NULL)
    return FALSE;
  /* Orchestrators burst: the default backlog of 10 refuses concurrent connects. */
  g_socket_set_listen_backlog (sock, 256);
  if (!g_socket_bind (sock, addr, TRUE, error) || !g_socket_listen (sock, error))
    return FALSE;
  if (g_chmod (path, 0660) != 0)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "chmod %s: %s", path, g_strerror (errno));
      return FALSE;
    }
  return soup_server_listen_socket (self->soup, sock, 0, error);
}

LbHttpServer *
lb_http_server_new (LbApi *api, LbEvents *events, const char *web_dir, const char *socket_path,
                    const char *tcp_host, guint16 tcp_port, const char *token, guint max_body_bytes,
                    GError **error)
{
  g_autoptr (LbHttpServer) self = g_new0 (LbHttpServer, 1);

  self->api = api;
  self->events = events;
  self->web_dir = g_strdup (web_dir);
  self->token = g_strdup (token);
  self->max_body_bytes = max_body_bytes;
  self->soup = soup_server_new ("server-header", "lobbyd/" LB_VERSION, NULL);
  soup_server_add_early_handler (self->soup, NULL, early_handler, self, NULL);
  soup_server_add_handler (self->soup, NULL, handler, self, NULL);

  if (!listen_unix (self, socket_path, error))
    return NULL;
  self->socket_path = g_strdup (socket_path);

  if (tcp_host != NULL)
    {
      g_return_val_if_fail (token != NULL, NULL);
      g_autoptr (GSocketAddress) addr = g_inet_socket_address_new_from_string (tcp_host, tcp_port);
      if (addr == NULL || !soup_server_listen (self->soup, addr, 0, error))
        {
          if (addr == NULL)
            g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "invalid listen address %s", tcp_host);
          return NULL;
        }
    }
  return g_steal_pointer (&self);
}

void
lb_http_server_free (LbHttpServer *self)
{
  if (self == NULL)
    return;
  while (self->sse_clients != NULL)
    {
      SseClient *c = self->sse_clients->data;
      g_signal_handlers_disconnect_by_data (c->msg, c);
      sse_client_free (c);
    }
  if (self->soup != NULL)
    {
      soup_server_disconnect (self->soup);
      g_object_unref (self->soup);
    }
  if (self->socket_path != NULL)
    g_unlink (self->socket_path);
  g_free (self->socket_path);
  g_free (self->web_dir);
  g_free (self->token);
  g_free (self);
}
