/* lb-webrtc-host.h — the lite WebRTC send path's network side: ONE UDP
 * socket per local address shared by every lite viewer, demultiplexed per
 * RFC 7983 (STUN 0-3, DTLS 20-63, RTP/RTCP 128-191) and by ICE ufrag /
 * remote address; an ICE-lite agent (RFC 8445 §2.5: answers Binding
 * requests, the browser nominates), a DTLS-SRTP server per viewer
 * (lb-dtls-srtp.h), SRTCP in (PLI/FIR → a key-frame request), SRTP out.
 *
 * STUN, DTLS, RTCP and the liveness timers run on one host thread for the
 * whole process (a GSource on each socket, one timer per peer), so
 * handshakes never hold up the main loop; what a peer reports is handed to
 * the main loop. Media is protected and sent with sendto() on the caller's
 * thread (the encode's streaming thread). No thread, element or queue per
 * viewer. */
#pragma once

#include <gio/gio.h>
#include "lb-allow-list.h"

G_BEGIN_DECLS

typedef struct _LbWebrtcPeer LbWebrtcPeer;

/* What a peer reports, on the main loop (never after lb_webrtc_peer_close). */
typedef struct
{
  void (*connected) (gpointer user_data);
  /* PLI or FIR from the viewer. */
  void (*key_frame) (gpointer user_data);
  /* The viewer is gone: "connection_failed" (DTLS failed or closed),
   * "connect_timeout" or "peer_timeout". Nothing more is reported. */
  void (*ended) (const char *reason, gpointer user_data);
} LbWebrtcPeerFuncs;

typedef struct
{
  const char *remote_ufrag;       /* the offer's a=ice-ufrag */
  const char *remote_fingerprint; /* the offer's a=fingerprint value, nullable */
  LbAllowList *allowed;           /* remote addresses we answer (taken); NULL = all */
  gint64 peer_timeout_us;         /* 0: never ended for silence */
  gint64 connect_timeout_us;      /* 0: never ended for not connecting */
} LbWebrtcPeerOptions;

/* Opens the shared sockets on @addresses (IP literals; NULL or empty:
 * every non-loopback address of the host, else loopback) once per process,
 * and sets up DTLS. Later calls return the first result. */
gboolean lb_webrtc_host_start (const char *const *addresses, GError **error);
/* The host candidates ("candidate:…" values, without "a="), one per socket. */
const char *const *lb_webrtc_host_candidates (void);
/* The first socket's address and port (the answer's c= and m= lines). */
const char *lb_webrtc_host_address (guint *port);

/* A new viewer with fresh ICE credentials. @options is copied (its
 * allow-list taken). */
LbWebrtcPeer *lb_webrtc_peer_new (const LbWebrtcPeerOptions *options,
                                  const LbWebrtcPeerFuncs *funcs, gpointer user_data);
const char *lb_webrtc_peer_get_ufrag (LbWebrtcPeer *peer);
const char *lb_webrtc_peer_get_pwd (LbWebrtcPeer *peer);
/* RTCPeerConnectionState-like: "new", "connecting", "connected", "failed", "closed". */
const char *lb_webrtc_peer_get_state (LbWebrtcPeer *peer);
/* Any thread: protects the RTP packet in @packet (@len bytes; the buffer
 * has room for LB_WEBRTC_SRTP_ROOM more, and is overwritten) and sends it
 * to the viewer; dropped (FALSE) until DTLS is up. */
#define LB_WEBRTC_SRTP_ROOM 16
gboolean lb_webrtc_peer_send_rtp (LbWebrtcPeer *peer, guint8 *packet, gsize len);
/* Any thread: the same for an RTCP (compound) packet, e.g. a sender report,
 * as SRTCP; the buffer has room for LB_WEBRTC_SRTCP_ROOM more. */
#define LB_WEBRTC_SRTCP_ROOM 14
gboolean lb_webrtc_peer_send_rtcp (LbWebrtcPeer *peer, guint8 *packet, gsize len);
/* Main loop: no more callbacks, the peer leaves the socket's tables; then
 * one reference is dropped. */
void lb_webrtc_peer_close (LbWebrtcPeer *peer);
LbWebrtcPeer *lb_webrtc_peer_ref (LbWebrtcPeer *peer);
void lb_webrtc_peer_unref (LbWebrtcPeer *peer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbWebrtcPeer, lb_webrtc_peer_unref)
/* Lite peers alive in this process (closed ones still referenced count). */
guint lb_webrtc_host_live_peers (void);

/* RFC 7983 §7: what the first byte of a datagram on the shared socket is. */
typedef enum
{
  LB_RTC_PACKET_STUN,
  LB_RTC_PACKET_DTLS,
  LB_RTC_PACKET_RTP, /* RTP or RTCP (rtcp-mux) */
  LB_RTC_PACKET_OTHER,
} LbRtcPacketKind;
LbRtcPacketKind lb_webrtc_classify (const guint8 *data, gsize len);
/* RTP or RTCP (RFC 5761 §4: RTCP packet types 192-223 in the second byte). */
gboolean lb_webrtc_is_rtcp (const guint8 *data, gsize len);

G_END_DECLS
