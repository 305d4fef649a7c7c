/* lb-http-server-impl.h — what lb-http-server.c (listeners, connections,
 * their caps and timeouts) and lb-http-request.c (what happens to one
 * request) share. Not for callers of lb-http-server.h. */
#pragma once

#include "lb-api.h"
#include "lb-error.h"
#include "lb-http-server.h"
#include "lb-sse.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _LbHttpListener LbHttpListener;
typedef struct _LbHttpConn LbHttpConn;

typedef enum
{
  LB_HTTP_CONN_READING,   /* receiving a request: request_timeout_s */
  LB_HTTP_CONN_HANDLING,  /* writing its response: RESPONSE_TIMEOUT_S */
  LB_HTTP_CONN_STREAMING, /* an event stream: bounded by sse_max_queued_bytes instead */
  LB_HTTP_CONN_CLOSING,
} LbHttpConnState;

struct _LbHttpServer
{
  char *web_dir;
  LbApi *api;
  LbSse *sse; /* nullable: no /api/v1/events */
  SoupServer *soup;
  char *socket_path;
  char *token;
  LbHttpLimits limits;
  LbHttpListener *listeners[2]; /* unix, tcp (nullable) */
  GSocketAddress *unix_local;
  GList *deferred; /* requests whose answer comes later (lb-http-request.c) */
  GList *answered; /* their answers, handed to libsoup, until written */
};

/* ---- Connections (lb-http-server.c) ---- */

/* The connection @msg came on; NULL once libsoup has let go of it. */
LbHttpConn *lb_http_conn_for_msg (SoupServerMessage *msg);
/* Re-arms the connection's timer: @timeout_s 0 = none. */
void lb_http_conn_set_state (LbHttpConn *c, LbHttpConnState state, guint timeout_s);
GSocket *lb_http_conn_get_socket (LbHttpConn *c);
/* Came through the unix socket, whose file mode is its authentication. */
gboolean lb_http_conn_is_local (LbHttpConn *c);

/* ---- Requests (lb-http-request.c) ---- */

/* libsoup's handler of every request that got through its headers. */
void lb_http_request_handler (SoupServer *server, SoupServerMessage *msg, const char *path,
                              GHashTable *query, gpointer user_data);
/* Cancels the requests still waiting for their answer (shutdown). */
void lb_http_request_cancel_deferred (LbHttpServer *self);
/* Checks @msg's headers (auth, then length) before any body byte is read. */
void lb_http_request_watch_headers (LbHttpServer *self, SoupServerMessage *msg);
/* A whole HTTP/1.1 response carrying the JSON error of @code, for refusals
 * written to a socket without libsoup. @extra_headers: nullable, each line
 * ending in CRLF. */
GBytes *lb_http_error_response_bytes (LbErrorCode code, const char *message,
                                      const char *extra_headers);

G_END_DECLS
