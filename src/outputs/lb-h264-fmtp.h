/* lb-h264-fmtp.h — which H.264 format of an SDP offer lobbyd can send to
 * (RFC 6184 §8.1/§8.2.2): the a=fmtp parameters parsed in any order and
 * case, missing ones at their defaults (profile-level-id 42000a,
 * packetization-mode 0, level-asymmetry-allowed 0), profile-level-id read as
 * a profile (profile_idc + constraint flags) and a level. Pure text: no
 * GStreamer, no SDP library; the caller hands over each offered payload
 * type's rtpmap and fmtp values. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What lobbyd sends: constrained-baseline H.264 in FU-A/STAP-A packets. A
 * format is usable when its profile's decoders decode that (constrained
 * baseline, baseline, main) and its packetization-mode is 1. */
typedef enum
{
  LB_H264_PROFILE_UNUSABLE = 0, /* high, extended, unknown: refused */
  LB_H264_PROFILE_MAIN,
  LB_H264_PROFILE_BASELINE,
  LB_H264_PROFILE_CONSTRAINED_BASELINE,
} LbH264ProfileClass;

typedef struct
{
  guint8 profile_idc;
  guint8 profile_iop; /* constraint_set0..5 flags */
  guint8 level_idc;
  guint packetization_mode;
  gboolean level_asymmetry_allowed;
} LbH264Fmtp;

/* Parses an a=fmtp line's parameters (what follows "<pt> "; NULL or empty:
 * every default). Unknown parameters are skipped; a malformed or repeated
 * profile-level-id, packetization-mode or level-asymmetry-allowed is an
 * error (LB_ERROR_INVALID_SDP). */
gboolean lb_h264_fmtp_parse (const char *params, LbH264Fmtp *fmtp, GError **error);

LbH264ProfileClass lb_h264_fmtp_profile_class (const LbH264Fmtp *fmtp);

/* The level in an order that places 1b (level_idc 9, or 11 with
 * constraint_set3 in baseline/main/extended) between 1.0 and 1.1: twice
 * level_idc (3.1 = 62), 1b = 21. */
guint lb_h264_fmtp_level_order (const LbH264Fmtp *fmtp);

/* The smallest level_idc (H.264 Table A-1: frame size and macroblock rate)
 * a width x height @ fps stream needs; 0 beyond level 5.2. */
guint lb_h264_level_for (guint width, guint height, guint fps);

/* Whether @pt is a dynamic RTP payload type an H.264 format may use: 96-127
 * (RFC 3551) or 35-63, the range RFC 5761 §4 adds for offers that run out
 * (newer Chromium puts some H.264 formats there). 64-95 are refused: under
 * rtcp-mux their marker-bit forms read as RTCP packet types 192-223. */
gboolean lb_rtp_payload_type_is_dynamic (int pt);

/* One payload type of an offer's video m-line: its number and the values of
 * its a=rtpmap ("H264/90000") and a=fmtp (NULL when absent) lines after
 * "<pt> ". */
typedef struct
{
  int pt;
  const char *rtpmap;
  const char *fmtp;
} LbH264Offered;

/* The payload type to send on, or -1 (LB_ERROR_INVALID_SDP, naming what
 * was offered). Among usable formats: one whose level covers @level_idc
 * (0: any) first, then constrained baseline over baseline over main, then
 * level-asymmetry-allowed=1 (our level then binds only our direction, RFC
 * 6184 §8.2.2), then the offerer's order. A level below @level_idc never
 * refuses a format: browsers decode above the level they signal. */
int lb_h264_fmtp_choose (const LbH264Offered *offered, guint n_offered, guint level_idc,
                         GError **error);

G_END_DECLS
