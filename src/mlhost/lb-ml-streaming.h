/* lb-ml-streaming.h — the streaming side of Moonlight launches: the RTSP
 * server, the shared video/audio sockets (lb-ml-stream) and the ENet
 * control stream (lb-ml-control), and for each launch the lobbyd session
 * it streams from.
 *
 * A launch is checked against its lobby at once (a dry run of the
 * admission with the launch URL's mode: an encode to share or room for a
 * new one), so a refusal reaches the client in /launch's reply; the
 * session joins for real with the ANNOUNCE's viewport, fps and bitrate
 * (shared encode, slot, software fallback or refusal). The RTSP SETUPs hand out the ports,
 * a ping payload and the control connect data; ANNOUNCE sets the stream's
 * packet size, FEC and encryption. The launch ends — its session left,
 * its peer removed, the client told (control 0x0109) where it still
 * listens — on /cancel, when the client stops pinging or its control
 * stream goes, and when its session ends on lobbyd's side (lobby deleted,
 * encoder failure without fallback). Main loop only. */
#pragma once
#include "lb-ml-launches.h"
#include "lb-types.h"
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _LbMlStreaming LbMlStreaming;

typedef struct
{
  /* The launch ended by itself (not through lb_ml_streaming_stop): the
   * host forgets it (currentgame goes back to 0). */
  void (*ended) (const char *ml_id, const char *reason, gpointer user_data);
} LbMlStreamingCallbacks;

/* Binds RTSP, video, audio and control on [moonlight] address and ports.
 * @launches: the host's table (borrowed; its data are the host's). NULL +
 * @error when a port is busy. */
LbMlStreaming *lb_ml_streaming_new (const LbConfig *config, LbRegistry *registry,
                                    LbMlLaunchTable *launches, const LbMlStreamingCallbacks *cb,
                                    gpointer user_data, GError **error);
void lb_ml_streaming_free (LbMlStreaming *s);
guint16 lb_ml_streaming_get_rtsp_port (LbMlStreaming *s);

/* What /launch asked for. */
typedef struct
{
  const char *lobby_id;
  const char *client_name;
  const char *client_address;
  guint width, height, fps; /* the URL's mode (fps 0: unknown) */
  const guint8 *rikey;      /* 16 bytes */
  guint32 rikeyid;
  gboolean control; /* the client may send input to the lobby's desktop */
} LbMlLaunchInfo;

/* Checks launch @ml_id against its lobby's admission and keeps it until
 * its ANNOUNCE joins. FALSE + @error (a message for the client's screen,
 * e.g. the encoder capacity) when it would be refused. */
gboolean lb_ml_streaming_start (LbMlStreaming *s, const char *ml_id, const LbMlLaunchInfo *info,
                                GError **error);
/* Ends launch @ml_id (cancel, unpair, a replaced launch): leaves its
 * session, tells the client with 0x0109 if its control stream is up. No
 * `ended` callback. */
void lb_ml_streaming_stop (LbMlStreaming *s, const char *ml_id, const char *reason);
/* The lobbyd session of launch @ml_id, or NULL. */
const char *lb_ml_streaming_get_session_id (LbMlStreaming *s, const char *ml_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbMlStreaming, lb_ml_streaming_free)

G_END_DECLS
