/* lb-rtcp.h — RTCP sender reports (RFC 3550 §6.4.1) with an SDES CNAME
 * (§6.5) for one RTP stream we send, in bytes (no GStreamer, no socket).
 *
 * Receivers (ffmpeg, browsers) line up audio and video only through the
 * SRs' (NTP, RTP) pairs. Ours map each stream's RTP timestamps to the wall
 * clock time its media was captured (the buffer's running time on the
 * pipeline clock), not the time it was sent, so two streams encoded with
 * different delays still line up. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _LbRtcpSender LbRtcpSender;

/* Room for an SR without report blocks plus an SDES with a CNAME of up to
 * 255 bytes. */
#define LB_RTCP_MAX_SR_SIZE (28 + 8 + 2 + 255 + 4)

/* One sent stream: @ssrc, @clock_rate Hz (48000 Opus, 90000 video). */
LbRtcpSender *lb_rtcp_sender_new (guint32 ssrc, guint32 clock_rate);
/* Every RTP packet sent (@rtp: its bytes, header included), with the wall
 * clock time (g_get_real_time µs) its media was captured, 0 if unknown (the
 * last known mapping is kept, counts go on). Any thread; a mutex inside.
 * The SSRC of the packet wins over the one given at creation (a payloader
 * picks its own). */
void lb_rtcp_sender_on_rtp (LbRtcpSender *sender, const guint8 *rtp, gsize len,
                            gint64 capture_real_us);
/* Writes SR + SDES CNAME @cname into @out: NTP time of @now_real_us, RTP
 * time extrapolated from the last packet's (timestamp, capture time) to
 * @now_real_us, packet and octet (payload) counts. Returns its length, or 0
 * when nothing is known yet (no packet with a capture time) or @room is too
 * small. Any thread. */
gsize lb_rtcp_sender_write_sr (LbRtcpSender *sender, gint64 now_real_us, const char *cname,
                               guint8 *out, gsize room);
/* Packets seen so far, and SRs written. */
guint64 lb_rtcp_sender_get_packets (LbRtcpSender *sender);
guint64 lb_rtcp_sender_get_reports (LbRtcpSender *sender);
guint32 lb_rtcp_sender_get_ssrc (LbRtcpSender *sender);
void lb_rtcp_sender_free (LbRtcpSender *sender);

/* µs since the Unix epoch → 64-bit NTP timestamp (seconds since 1900 in the
 * high word, fraction in the low one). */
guint64 lb_rtcp_ntp_from_unix_us (gint64 unix_us);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbRtcpSender, lb_rtcp_sender_free)

G_END_DECLS
