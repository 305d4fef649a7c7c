/* lb-ml-stream.h — the Moonlight host's media sockets: ONE UDP socket for
 * video and one for audio, shared by every Moonlight viewer (like
 * webrtc/lb-webrtc-host), read on the host's own thread. A viewer's pings
 * (MOONLIGHT.md §3: its 16-char X-SS-Ping-Payload + BE32 sequence, or a
 * bare "PING" from older clients) tell where its video and audio go; each
 * viewer's access units are packetized with its own lb-ml-video packetizer
 * (frame index from 1, its packet size and FEC), AES-128-GCM encrypted when
 * it asked for that, and sent from the shared socket on the caller's
 * thread (the encode's streaming thread). docs/moonlight.md ("Video and
 * audio sockets") describes the behaviour.
 *
 * Threads: send_* from any thread (streaming threads); pings are read on
 * the host thread; add/remove/find and free on the thread whose
 * thread-default main context was current at lb_ml_stream_host_new, where
 * callbacks are delivered too. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _LbMlStreamHost LbMlStreamHost;
typedef struct _LbMlStreamPeer LbMlStreamPeer; /* refcounted, any thread */

#define LB_ML_STREAM_PING_PAYLOAD_LEN 16
/* The prefix of an encrypted video datagram: IV (12), LE32 frame index,
 * GCM tag (16); the datagram follows, encrypted. */
#define LB_ML_STREAM_VIDEO_ENC_PREFIX 32

typedef struct
{
  guint packet_size, fec_percentage, min_fec_packets; /* from ANNOUNCE */
  gboolean encrypt_video;                             /* AES-128-GCM, MOONLIGHT.md §3 */
  gboolean encrypt_audio;                             /* AES-128-CBC, §5 (lb-ml-audio's job) */
  guint8 rikey[16];
  guint32 rikeyid;       /* from /launch */
  guint audio_packet_ms; /* 5 or 10 */
} LbMlStreamParams;

typedef struct
{
  /* No ping for ping_timeout (a peer never pinged too, counted from
   * add_peer). Reported once per peer; the peer stops sending. */
  void (*peer_timeout) (const char *ml_id, gpointer user_data);
} LbMlStreamCallbacks;

typedef struct
{
  guint64 frames_sent;
  guint64 frames_dropped; /* not sent to a streaming peer: waiting for an IDR, errors */
  guint64 datagrams;      /* video and audio datagrams sent */
  guint64 bytes;
  guint64 video_pings, audio_pings;
} LbMlStreamStats;

/* Binds the video and audio sockets on @bind_address (an IP literal; 0 =
 * ephemeral ports) and starts the host thread. NULL + @error when a port
 * is busy or the address is bad. */
LbMlStreamHost *lb_ml_stream_host_new (const char *bind_address, guint16 video_port,
                                       guint16 audio_port, guint ping_timeout_ms,
                                       const LbMlStreamCallbacks *cb, gpointer user_data,
                                       GError **error);
/* Stops the thread and every callback; peers still referenced send nothing more. */
void lb_ml_stream_host_free (LbMlStreamHost *host);
guint16 lb_ml_stream_host_get_video_port (LbMlStreamHost *host);
guint16 lb_ml_stream_host_get_audio_port (LbMlStreamHost *host);
/* Datagrams read and ignored: garbage, truncated pings, unknown payloads,
 * pings from another address than the peer's client. */
guint64 lb_ml_stream_host_get_ignored (LbMlStreamHost *host);

/* At RTSP SETUP: the client's IP (text) and the 16-char X-SS-Ping-Payload
 * we handed it (NULL: none; a bare "PING" from that IP is accepted when
 * exactly one peer has it). A second peer with the same @ml_id replaces
 * the first. Returns a reference. */
LbMlStreamPeer *lb_ml_stream_host_add_peer (LbMlStreamHost *host, const char *ml_id,
                                            const char *client_ip, const char *ping_payload);
LbMlStreamPeer *lb_ml_stream_host_find_peer (LbMlStreamHost *host,
                                             const char *ml_id); /* ref or NULL */
/* The peer sends nothing more and reports nothing more. */
void lb_ml_stream_host_remove_peer (LbMlStreamHost *host, const char *ml_id);

LbMlStreamPeer *lb_ml_stream_peer_ref (LbMlStreamPeer *peer);
void lb_ml_stream_peer_unref (LbMlStreamPeer *peer);
const char *lb_ml_stream_peer_get_id (LbMlStreamPeer *peer);
/* At ANNOUNCE. New params start a new stream: the frame index restarts at
 * 1 with the next IDR. FALSE + @error on a bad packet size / FEC. */
gboolean lb_ml_stream_peer_set_params (LbMlStreamPeer *peer, const LbMlStreamParams *p,
                                       GError **error);
/* Any thread (the encode's streaming thread). Packetize with the peer's own
 * lb-ml-video packetizer, encrypt if asked, sendto the address the pings
 * came from. Returns FALSE (nothing sent) before params and the first ping,
 * and for P-frames before the peer's first IDR (a new viewer waits for one). */
gboolean lb_ml_stream_peer_send_video (LbMlStreamPeer *peer, const guint8 *au, gsize len,
                                       guint32 rtp_ts_90k, gboolean is_idr);
/* Raw audio datagrams (already packetized by lb-ml-audio) to the audio ping address. */
gboolean lb_ml_stream_peer_send_audio_datagram (LbMlStreamPeer *peer, const guint8 *d, gsize len);
/* Pinged on the video socket + params set, not timed out or removed. */
gboolean lb_ml_stream_peer_is_streaming (LbMlStreamPeer *peer);
/* The params set at ANNOUNCE into @out; FALSE (nothing written) before. */
gboolean lb_ml_stream_peer_get_params (LbMlStreamPeer *peer, LbMlStreamParams *out);
void lb_ml_stream_peer_get_stats (LbMlStreamPeer *peer, LbMlStreamStats *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbMlStreamPeer, lb_ml_stream_peer_unref)

G_END_DECLS
