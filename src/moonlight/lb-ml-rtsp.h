/* lb-ml-rtsp.h — the Moonlight host's RTSP layer (TCP 48010), text in and
 * text out: no sockets. Parses one request strictly and within fixed bounds,
 * builds replies in the exact shape moonlight-common-c's RtspParser.c reads
 * (status line, `Name: value` headers matched case-sensitively by the
 * client, the body after the blank line, read until EOF), and knows the
 * Moonlight sequence: OPTIONS, DESCRIBE, SETUP streamid=audio/0/0,
 * video/0/0, control/13/0, ANNOUNCE (the client's SDP, parsed into
 * LbMlAnnounce with range checks), PLAY /.
 *
 * Clients older than GFE 7.1.431 (RTSP over ENet, control/1/0, two PLAYs)
 * are not served: lobbyd reports appversion 7.1.431 (docs/moonlight.md). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Bounds on what a request may be: the request line and headers together,
 * the number of headers, the body (Content-length). The largest real
 * request is the ANNOUNCE, about 2 KiB of SDP. */
#define LB_ML_RTSP_MAX_HEAD 8192
#define LB_ML_RTSP_MAX_HEADERS 32
#define LB_ML_RTSP_MAX_BODY 16384

#define LB_ML_RTSP_ERROR (lb_ml_rtsp_error_quark ())
GQuark lb_ml_rtsp_error_quark (void);

/* Every refusal has a stable reason string (lb_ml_rtsp_error_reason) and the
 * RTSP status to reply with (lb_ml_rtsp_error_status). Append only. */
typedef enum
{
  LB_ML_RTSP_ERROR_INCOMPLETE,         /* more bytes needed (not at EOF) */
  LB_ML_RTSP_ERROR_NO_END_OF_HEADERS,  /* EOF before the blank line */
  LB_ML_RTSP_ERROR_HEAD_TOO_LARGE,     /* request line + headers > LB_ML_RTSP_MAX_HEAD */
  LB_ML_RTSP_ERROR_BAD_LINE_ENDING,    /* a bare CR or LF */
  LB_ML_RTSP_ERROR_NUL_BYTE,           /* a NUL in the head or the body */
  LB_ML_RTSP_ERROR_BAD_REQUEST_LINE,   /* not METHOD SP target SP version */
  LB_ML_RTSP_ERROR_BAD_VERSION,        /* not RTSP/1.0 */
  LB_ML_RTSP_ERROR_BAD_HEADER,         /* no colon, bad name, control bytes, folding */
  LB_ML_RTSP_ERROR_TOO_MANY_HEADERS,   /* > LB_ML_RTSP_MAX_HEADERS */
  LB_ML_RTSP_ERROR_BAD_CSEQ,           /* missing, duplicate, not a number */
  LB_ML_RTSP_ERROR_BAD_CONTENT_LENGTH, /* duplicate, negative, not a number */
  LB_ML_RTSP_ERROR_BODY_TOO_LARGE,     /* Content-length > LB_ML_RTSP_MAX_BODY */
  LB_ML_RTSP_ERROR_TRUNCATED_BODY,     /* EOF before Content-length bytes */
  LB_ML_RTSP_ERROR_TRAILING_DATA,      /* bytes after the body: one request per connection */
  LB_ML_RTSP_ERROR_UNKNOWN_METHOD,     /* a method the host does not serve */
  LB_ML_RTSP_ERROR_UNKNOWN_STREAM,     /* SETUP of something other than the three streams */
  LB_ML_RTSP_ERROR_BAD_TARGET,         /* PLAY/ANNOUNCE/DESCRIBE target not as expected */
  LB_ML_RTSP_ERROR_SESSION_MISMATCH,   /* missing or foreign Session header */
  LB_ML_RTSP_ERROR_BAD_SDP,            /* ANNOUNCE body not parseable */
  LB_ML_RTSP_ERROR_MISSING_FIELD,      /* ANNOUNCE lacks a required attribute */
  LB_ML_RTSP_ERROR_OUT_OF_RANGE,       /* ANNOUNCE value outside what lobbyd serves */
  LB_ML_RTSP_ERROR_UNSUPPORTED,        /* HEVC/AV1/HDR/YUV444 asked of an H.264-only host */
  LB_ML_RTSP_ERROR_BAD_REPLY,          /* a reply header/value we refuse to write */
  LB_ML_RTSP_ERROR_AMBIGUOUS_LAUNCH,   /* several unclaimed launches from one address */
} LbMlRtspError;

const char *lb_ml_rtsp_error_reason (LbMlRtspError code);
/* 400, 413, 454, 404, 501, 505, …; 400 for unknown codes. */
guint lb_ml_rtsp_error_status (LbMlRtspError code);

typedef enum
{
  LB_ML_RTSP_METHOD_UNKNOWN = 0,
  LB_ML_RTSP_METHOD_OPTIONS,
  LB_ML_RTSP_METHOD_DESCRIBE,
  LB_ML_RTSP_METHOD_SETUP,
  LB_ML_RTSP_METHOD_ANNOUNCE,
  LB_ML_RTSP_METHOD_PLAY,
  LB_ML_RTSP_METHOD_TEARDOWN,
} LbMlRtspMethod;

/* ------------------------------------------------------------------ requests */

typedef struct _LbMlRtspRequest LbMlRtspRequest;

/* Parses one request from @data (@len bytes, any bytes). With @at_eof FALSE
 * and a request that is not complete yet, fails with
 * LB_ML_RTSP_ERROR_INCOMPLETE (read more, up to the caps, then call again);
 * with @at_eof TRUE the bytes are all there is (truncation is an error).
 * Bytes after the body are LB_ML_RTSP_ERROR_TRAILING_DATA: the client sends
 * one request per connection. Never reads past @len. */
LbMlRtspRequest *lb_ml_rtsp_request_parse (const void *data, gsize len, gboolean at_eof,
                                           GError **error);
void lb_ml_rtsp_request_free (LbMlRtspRequest *req);

LbMlRtspMethod lb_ml_rtsp_request_get_method (const LbMlRtspRequest *req);
const char *lb_ml_rtsp_request_get_method_name (const LbMlRtspRequest *req);
const char *lb_ml_rtsp_request_get_target (const LbMlRtspRequest *req);
/* CSeq (0 … G_MAXINT32): every accepted request has one. */
gint32 lb_ml_rtsp_request_get_cseq (const LbMlRtspRequest *req);
/* Header value (leading/trailing blanks trimmed) by case-insensitive name,
 * or NULL. */
const char *lb_ml_rtsp_request_get_header (const LbMlRtspRequest *req, const char *name);
guint lb_ml_rtsp_request_get_n_headers (const LbMlRtspRequest *req);
/* The body (NUL-terminated for convenience; @len excludes it), "" if none. */
const char *lb_ml_rtsp_request_get_body (const LbMlRtspRequest *req, gsize *len);
/* The Session header's id (the part before any ';') must be @session_id. */
gboolean lb_ml_rtsp_request_check_session (const LbMlRtspRequest *req, const char *session_id,
                                           GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbMlRtspRequest, lb_ml_rtsp_request_free)

/* --------------------------------------------------------------------- replies */

typedef struct _LbMlRtspReply LbMlRtspReply;

/* A reply `RTSP/1.0 @status <reason phrase>` echoing @cseq (a request's
 * CSeq; < 0: none was readable, `CSeq: 0` is written, because the client's
 * parser needs at least one header). */
LbMlRtspReply *lb_ml_rtsp_reply_new (guint status, gint64 cseq);
/* Appends a header. Refuses (BAD_REPLY) a name that is not a token or a
 * value with CR, LF, NUL or other control bytes (header injection). */
gboolean lb_ml_rtsp_reply_add_header (LbMlRtspReply *reply, const char *name, const char *value,
                                      GError **error);
/* The body (copied); a Content-length header is written with it. */
void lb_ml_rtsp_reply_set_body (LbMlRtspReply *reply, const char *body, gsize len);
/* The reply's bytes (NUL-terminated; @len excludes the NUL). */
char *lb_ml_rtsp_reply_to_string (const LbMlRtspReply *reply, gsize *len);
void lb_ml_rtsp_reply_free (LbMlRtspReply *reply);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbMlRtspReply, lb_ml_rtsp_reply_free)

/* The refusal of @error (any domain): the status for its code, CSeq echoed,
 * and an `X-Lobbyd-Error: <reason>` header (the client shows only the
 * status code; the reason is for logs and tests). */
LbMlRtspReply *lb_ml_rtsp_reply_for_error (const GError *error, gint64 cseq);

/* ----------------------------------------------------------- Moonlight sequence */

/* SS_ENC_* bits of DESCRIBE's encryptionSupported/Requested and ANNOUNCE's
 * encryptionEnabled (moonlight-common-c Limelight-internal.h). */
#define LB_ML_ENC_CONTROL_V2 0x01u
#define LB_ML_ENC_VIDEO 0x02u
#define LB_ML_ENC_AUDIO 0x04u
/* x-nv-general.featureFlags bit: the client expects encrypted audio. */
#define LB_ML_NVFF_AUDIO_ENCRYPTION 0x20u

/* OPTIONS: 200 with CSeq and `Public`. */
LbMlRtspReply *lb_ml_rtsp_reply_options (gint32 cseq);

/* DESCRIBE's body: bare `a=` lines for an H.264-only host (no
 * `sprop-parameter-sets=AAAAAU`, no `AV1/90000`, no refPicInvalidation):
 * x-ss-general.featureFlags:0, encryptionSupported/Requested, and the Opus
 * surround-params for 6 and 8 channels (normal quality only, so clients
 * never ask for the high-quality layouts). */
char *lb_ml_rtsp_describe_body (guint32 encryption_supported, guint32 encryption_requested);
LbMlRtspReply *lb_ml_rtsp_reply_describe (gint32 cseq, guint32 encryption_supported,
                                          guint32 encryption_requested);

typedef enum
{
  LB_ML_STREAM_AUDIO,
  LB_ML_STREAM_VIDEO,
  LB_ML_STREAM_CONTROL,
} LbMlStream;

/* A SETUP target: exactly `streamid=audio/0/0`, `streamid=video/0/0` or
 * `streamid=control/13/0` (what clients ≥ 7.1.431 send). */
gboolean lb_ml_rtsp_parse_setup_target (const char *target, LbMlStream *stream, GError **error);
const char *lb_ml_stream_name (LbMlStream stream);

/* SETUP's reply: `Session: @session_id` (1–64 of [A-Za-z0-9_-]),
 * `Transport: server_port=@port`, and for audio/video an optional
 * `X-SS-Ping-Payload` (@ping_payload: exactly 16 printable, non-blank
 * chars, or NULL), for control an optional `X-SS-Connect-Data`
 * (@connect_data, when @has_connect_data). */
LbMlRtspReply *lb_ml_rtsp_reply_setup (gint32 cseq, LbMlStream stream, const char *session_id,
                                       guint16 port, const char *ping_payload,
                                       gboolean has_connect_data, guint32 connect_data,
                                       GError **error);

/* What the client announced (moonlight-common-c SdpGenerator.c names). */
typedef struct
{
  guint width, height;           /* x-nv-video[0].clientViewportWd/Ht */
  guint fps;                     /* x-nv-video[0].maxFPS */
  guint packet_size;             /* x-nv-video[0].packetSize (payload bytes per datagram) */
  guint max_bitrate_kbps;        /* x-nv-vqos[0].bw.maximumBitrateKbps (80% of configured) */
  guint configured_bitrate_kbps; /* x-ml-video.configuredBitrateKbps; 0: absent */
  guint bitstream_format;        /* x-nv-vqos[0].bitStreamFormat: 0 H.264 (only one served) */
  guint max_ref_frames;          /* x-nv-video[0].maxNumReferenceFrames; 0: any */
  guint encoder_csc_mode;        /* x-nv-video[0].encoderCscMode: colorspace<<1 | full range */
  guint min_fec_packets;         /* x-nv-vqos[0].fec.minRequiredFecPackets; 0 if absent */
  gint fec_percent;              /* x-nv-vqos[0].fec.repairPercent; -1: absent (host decides) */
  guint audio_packet_ms;         /* x-nv-aqos.packetDuration; 5 if absent */
  guint audio_channels;          /* x-nv-audio.surround.numChannels: 2, 6, 8; 2 if absent */
  guint audio_channel_mask;      /* x-nv-audio.surround.channelMask; 0 if absent */
  guint32 encryption_enabled;    /* x-ss-general.encryptionEnabled (LB_ML_ENC_*) */
  guint32 nv_feature_flags;      /* x-nv-general.featureFlags */
  guint32 ml_feature_flags;      /* x-ml-general.featureFlags */
} LbMlAnnounce;

/* Range limits of LbMlAnnounce (refused outside with OUT_OF_RANGE). */
#define LB_ML_MIN_DIM 64
#define LB_ML_MAX_WIDTH 7680
#define LB_ML_MAX_HEIGHT 4320
#define LB_ML_MAX_FPS 240
#define LB_ML_MIN_PACKET_SIZE 256
#define LB_ML_MAX_PACKET_SIZE 8960
#define LB_ML_MIN_BITRATE_KBPS 100
#define LB_ML_MAX_BITRATE_KBPS 500000

/* Parses an ANNOUNCE body (SDP lines `v=`, `o=`, `s=`, `a=name:value `,
 * `t=`, `m=`; CRLF or LF) into @out: required viewport, fps, packet size and
 * maximum bitrate; the others default as documented above. Refuses
 * malformed lines, duplicate attributes, non-decimal numbers, values
 * outside the limits, and HEVC/AV1/HDR/YUV444 (UNSUPPORTED). */
gboolean lb_ml_rtsp_announce_parse (const char *body, gsize len, LbMlAnnounce *out, GError **error);
/* Whether the client wants audio encrypted (encryptionEnabled's audio bit,
 * or the legacy featureFlags 0x20). */
gboolean lb_ml_announce_wants_audio_encryption (const LbMlAnnounce *a);

/* PLAY's target: `/` (clients ≥ 7.1.431 send one PLAY). */
gboolean lb_ml_rtsp_check_play_target (const char *target, GError **error);

/* A reply carrying only CSeq (ANNOUNCE, PLAY). */
LbMlRtspReply *lb_ml_rtsp_reply_ok (gint32 cseq);

G_END_DECLS
