/* lb-output-moonlight.h — the "moonlight" transport: one Moonlight viewer
 * on an encode's H.264 track. Its branch turns the encode into Annex-B
 * access units (SPS and PPS before each IDR) and hands each one to the
 * viewer's peer on the shared Moonlight sockets (moonlight/lb-ml-stream.h),
 * which packetizes, protects and sends it for this viewer. Internal: the
 * Moonlight host creates these sessions (lb_output_moonlight_spec_new); a
 * POST /api/v1/sessions cannot ask for one. Stats add a "moonlight" block. */
#pragma once

#include "lb-ml-stream.h"
#include "lb-output.h"

G_BEGIN_DECLS

/* The stream host the moonlight outputs send through (set once by the host glue, NULL = none). */
void lb_output_moonlight_set_stream_host (LbMlStreamHost *host);
/* A moonlight session's spec for launch @ml_id of @lobby with the profile
 * @width x @height @ @fps, @bitrate_kbps; its audio re-encoded in packets of
 * @audio_packet_ms (the client's x-nv-aqos.packetDuration: 5, 10 or 20;
 * 0: 5). */
LbSessionSpec *lb_output_moonlight_spec_new (const LbLobbySpec *lobby, const char *ml_id,
                                             guint width, guint height, guint fps,
                                             guint bitrate_kbps, guint audio_packet_ms,
                                             gboolean control);

G_END_DECLS
