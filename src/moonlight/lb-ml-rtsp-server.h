/* lb-ml-rtsp-server.h — the Moonlight host's RTSP server (TCP 48010): a
 * GSocketService that reads one request per TCP connection (within
 * lb-ml-rtsp's byte caps and a read deadline), answers it and closes, as
 * moonlight-common-c's RtspConnection.c expects (it reads each reply until
 * EOF). Requests are parsed and answered with lb-ml-rtsp; which launch a
 * request belongs to comes from lb-ml-launches: OPTIONS, DESCRIBE and the
 * first SETUP by the TCP peer's address among unclaimed launches (the
 * first successful SETUP claims it), every other request by its Session
 * header (the launch id). Several clients launching at once each get
 * their own session.
 *
 * The glue decides ports, ping payloads, connect data and what to do with
 * ANNOUNCE and PLAY through the callbacks; a callback's error is the
 * request's refusal (lb_ml_rtsp_reply_for_error: an LB_ML_RTSP_ERROR code
 * gives its status, any other error 500).
 *
 * Threads: everything, callbacks included, runs on the GMainContext that
 * was thread-default when the server was created. */
#pragma once

#include "lb-ml-launches.h"
#include "lb-ml-rtsp.h"

#include <glib.h>

G_BEGIN_DECLS

/* How long one connection may take to send its request. */
#define LB_ML_RTSP_READ_TIMEOUT_MS 5000
/* Connections served at once; more are closed at accept. */
#define LB_ML_RTSP_MAX_CONNECTIONS 128

typedef struct _LbMlRtspServer LbMlRtspServer;

typedef struct
{
  /* SETUP @stream of launch @ml_id from @client_ip: return the server port
   * for it (1–65535) and optionally fill @ping_payload (audio/video: 16
   * printable chars + NUL, sent as X-SS-Ping-Payload; left "" = none) and
   * @connect_data (control: sent as X-SS-Connect-Data when not 0); FALSE +
   * error to refuse. */
  gboolean (*setup) (const char *ml_id, LbMlStream stream, const char *client_ip, guint16 *port,
                     char ping_payload[17], guint32 *connect_data, gpointer user_data,
                     GError **error);
  /* ANNOUNCE of launch @ml_id, parsed and range-checked. */
  gboolean (*announce) (const char *ml_id, const LbMlAnnounce *a, gpointer user_data,
                        GError **error);
  /* PLAY of launch @ml_id. */
  gboolean (*play) (const char *ml_id, gpointer user_data, GError **error);
} LbMlRtspCallbacks;

/* Serves RTSP on @bind_address (an IPv4 or IPv6 literal) port @port (0:
 * ephemeral, see lb_ml_rtsp_server_get_port) using @launches (borrowed;
 * the glue adds launches at /launch with non-NULL data and removes them).
 * @encryption_supported/@encryption_requested: DESCRIBE's LB_ML_ENC_* bits.
 * @cb is copied. NULL + error when the address is bad or the port busy. */
LbMlRtspServer *lb_ml_rtsp_server_new (const char *bind_address, guint16 port,
                                       LbMlLaunchTable *launches, guint32 encryption_supported,
                                       guint32 encryption_requested, const LbMlRtspCallbacks *cb,
                                       gpointer user_data, GError **error);
guint16 lb_ml_rtsp_server_get_port (LbMlRtspServer *s);
/* The read deadline of each connection (default LB_ML_RTSP_READ_TIMEOUT_MS). */
void lb_ml_rtsp_server_set_read_timeout (LbMlRtspServer *s, guint timeout_ms);
/* Stops listening and closes every connection; no callback runs afterwards. */
void lb_ml_rtsp_server_free (LbMlRtspServer *s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbMlRtspServer, lb_ml_rtsp_server_free)

G_END_DECLS
