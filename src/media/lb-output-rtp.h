/* lb-output-rtp.h — one viewer's RTP/UDP output (RFC 6184 H.264 payload) on
 * an encode's tee: its own payloader state (SSRC, sequence numbers), its own
 * destination and counters. */
#pragma once

#include <gst/gst.h>
#include "lb-types.h"

G_BEGIN_DECLS

/* @host must already be validated (an allowed IP literal). The caller asks
 * the encode for a key frame (rate-limited when it is shared). */
LbOutputRtp *lb_output_rtp_new (LbEncode *encode, const char *name, const char *host, guint port,
                                GError **error);
void lb_output_rtp_free (LbOutputRtp *output);
/* Switches the output to another encode of the same lobby: same SSRC and
 * sequence numbers, a key frame from the new encoder first. */
gboolean lb_output_rtp_move (LbOutputRtp *output, LbEncode *encode, GError **error);

/* An SDP (RFC 4566) describing the stream, from the payloader's negotiated
 * caps when it has them (sprop-parameter-sets, profile-level-id). */
char *lb_output_rtp_get_sdp (LbOutputRtp *output);
guint64 lb_output_rtp_get_packets (LbOutputRtp *output);
guint64 lb_output_rtp_get_bytes (LbOutputRtp *output);
guint32 lb_output_rtp_get_ssrc (LbOutputRtp *output);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbOutputRtp, lb_output_rtp_free)

G_END_DECLS
