/* lb-http-server.h — libsoup-3 server for the API: a unix socket (mode 0660,
 * trusted by file permissions) and an optional TCP listener that requires
 * `Authorization: Bearer <token>`. Listeners and connections are
 * lb-http-server.c; authentication and routing of a request (the token
 * functions below included) are lb-http-request.c. */
#pragma once

#include "lb-types.h"

G_BEGIN_DECLS

typedef struct _LbApi LbApi;
typedef struct _LbEvents LbEvents;

/* What clients may hold: see docs/configuration.md ([daemon]). Each listener
 * has its own connection cap; a new connection to a full one evicts its
 * oldest connection that is still reading a request. */
typedef struct
{
  guint max_body_bytes;
  guint max_connections_unix;
  guint max_connections_tcp;
  guint request_timeout_s;    /* to receive a whole request (headers and body) */
  guint sse_max_queued_bytes; /* event bytes not yet taken by a slow SSE client */
} LbHttpLimits;

/* @api and @events (nullable: no /api/v1/events) are borrowed. @tcp_host NULL = no TCP listener.
 * @token is required when TCP is on. */
/* @web_dir: the web UI's files (nullable: no UI). */
LbHttpServer *lb_http_server_new (LbApi *api, LbEvents *events, const char *web_dir,
                                  const char *socket_path, const char *tcp_host, guint16 tcp_port,
                                  const char *token, const LbHttpLimits *limits, GError **error);
/* Stops listening and removes the socket file. */
void lb_http_server_free (LbHttpServer *server);

/* Reads the token from @path, or creates it there (mode 0600) if absent. */
char *lb_http_load_or_create_token (const char *path, GError **error);
/* Constant-time comparison, so response timing does not leak the token. */
gboolean lb_http_token_equal (const char *expected, const char *given);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbHttpServer, lb_http_server_free)

G_END_DECLS
