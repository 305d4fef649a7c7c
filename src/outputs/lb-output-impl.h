/* lb-output-impl.h — for output implementations only: the shared part
 * that each output embeds first in its private struct. */
#pragma once

#include "lb-output.h"
#include "lb-rtcp.h"

G_BEGIN_DECLS

typedef struct _LbBranch LbBranch;

/* The streams an output writes its own RTCP sender reports for. */
typedef enum
{
  LB_OUTPUT_SR_VIDEO,
  LB_OUTPUT_SR_AUDIO,
  LB_OUTPUT_SR_STREAMS,
} LbOutputSrStream;

/* Sends @stream's SR (@packet, @len bytes; LB_OUTPUT_SR_ROOM more bytes
 * past it may be written, e.g. an SRTCP trailer). TRUE when it went out:
 * the next is due a second later; FALSE tries again at the next tick. Main
 * loop. */
typedef gboolean (*LbOutputSrSendFunc) (LbOutput *output, LbOutputSrStream stream, guint8 *packet,
                                        gsize len);
#define LB_OUTPUT_SR_ROOM 32

struct _LbOutput
{
  const LbOutputClass *klass;
  char *name;
  LbBranch *branch;       /* NULL until attached */
  LbBranch *audio_branch; /* on the lobby's audio track; NULL: no sound */
  guint detaching;        /* branches still stopping after close */
  char *answer;           /* negotiated transports: the SDP answer */
  guint64 packets;        /* atomically updated from the streaming thread */
  guint64 bytes;
  guint64 audio_packets; /* the audio branch's, the same way */
  guint64 audio_bytes;
  GstPad *audio_pad;  /* the audio payloader's src (counted); NULL: none */
  guint ready_source; /* lb_output_ready_soon, until it runs */
  LbOutputReadyFunc ready_func;
  gpointer ready_data;
  /* lb_output_sr_*: the senders live as long as the struct (the streaming
   * threads feed them until the branches are detached). */
  LbRtcpSender *sr[LB_OUTPUT_SR_STREAMS];
  gint64 sr_last_us[LB_OUTPUT_SR_STREAMS]; /* monotonic; 0: none sent yet */
  guint sr_timer;
  LbOutputSrSendFunc sr_send;
  guint64 sr_sent;
};

/* Allocates @size bytes (the implementation's struct, LbOutput first). */
gpointer lb_output_alloc (gsize size, const LbOutputClass *klass, const char *name);
/* Counts packets and bytes leaving @pad (the payloader's src). */
void lb_output_count_packets (LbOutput *output, GstPad *pad);
/* Adds @elements (NULL-terminated chain) as this output's branch on @track's tee. */
gboolean lb_output_attach (LbOutput *output, LbTrack *track, GstElement **elements, GError **error);
LbBranch *lb_output_get_branch (const LbOutput *output);
/* Adds @elements as this output's audio branch ("<name>-audio") on @audio
 * (the setup's encoded audio track). It stays there when the video branch
 * moves to another encode, and is detached with it at close. */
gboolean lb_output_attach_audio (LbOutput *output, LbTrack *audio, GstElement **elements,
                                 GError **error);
LbBranch *lb_output_get_audio_branch (const LbOutput *output);
/* Counts packets and bytes leaving @pad (the audio payloader's src) as
 * the output's audio; its caps give the stats' "audio" ssrc and
 * payload_type. */
void lb_output_count_audio_packets (LbOutput *output, GstPad *pad);
/* The wall clock time (g_get_real_time µs) at which @buf, leaving @pad,
 * was at its running time on the pipeline clock: for a live producer, when
 * its media was captured. Audio and video buffers of one lobby map through
 * the same clock, so receivers can line them up (RTCP SR). 0 if unknown
 * (no segment, clock or timestamp yet). Any thread. */
gint64 lb_output_capture_time_us (GstPad *pad, GstBuffer *buf);
/* Adds "rtp_clock" to @stats: how @payloader's RTP timestamps map to wall
 * clock (its timestamp-offset, and when running time 0 was), for
 * glass-to-glass estimates. Nothing before the payloader has caps. */
void lb_output_rtp_clock_to_json (LbOutput *output, GstElement *payloader, JsonObject *stats);
/* RTCP sender reports (RFC 3550 §6.4.1) for outputs that send RTP
 * themselves (webrtcbin has its own rtpbin). Without them a receiver
 * cannot line audio up with video: ffmpeg starts each stream at its own
 * first packet, browsers do not lip-sync. */
/* @stream's sender (@clock_rate Hz), made on the first call; feed it each
 * packet sent with lb_output_sr_feed. */
LbRtcpSender *lb_output_sr_stream (LbOutput *output, LbOutputSrStream stream, guint32 clock_rate);
/* From a probe on the payloader's src (any streaming thread): @buf's RTP
 * bytes (@rtp, @len, as they are before any protection) with its capture
 * time (lb_output_capture_time_us). */
void lb_output_sr_feed (LbRtcpSender *sender, GstPad *pad, GstBuffer *buf, const guint8 *rtp,
                        gsize len);
/* A probe on @pad that feeds @stream's sender every buffer leaving it. */
void lb_output_sr_probe (LbOutput *output, LbOutputSrStream stream, GstPad *pad,
                         guint32 clock_rate);
/* Starts a main-loop timer (stopped at close) that hands each stream's SR
 * to @send: the first within 250 ms of the stream's first packet, then
 * every second. */
void lb_output_sr_start (LbOutput *output, LbOutputSrSendFunc send);
/* SRs @send reported sent, all streams. */
guint64 lb_output_sr_sent (const LbOutput *output);
/* For a negotiated class whose output answered within open: reports it
 * ready to @setup's on_ready from the main loop (never from within open);
 * closing the output first cancels it. */
void lb_output_ready_soon (LbOutput *output, const LbOutputSetup *setup);

extern const LbOutputClass lb_output_rtp_class;
extern const LbOutputClass lb_output_webrtc_class;
extern const LbOutputClass lb_output_moonlight_class;

G_END_DECLS
