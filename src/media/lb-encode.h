/* lb-encode.h — one running encoder for (lobby, profile): a branch on a raw
 * track's tee that scales, converts and encodes (with the element and
 * properties of @settings' backend), ending in an encoded track that outputs
 * attach to. */
#pragma once

#include <gst/gst.h>
#include "lb-types.h"

G_BEGIN_DECLS

/* Opens an encode of @raw (a producer's raw track of @profile's kind). Raw
 * frames that reach it well behind live (a producer catching up after a
 * stall) are dropped before the encoder. @name
 * names the branch bin (bus errors come back with it). An encoder that
 * refuses to start fails with LB_ERROR_ENCODER_OPEN and the element's own
 * message, e.g. "Could not initialize supporting library." */
LbEncode *lb_encode_new (LbTrack *raw, const char *name, const LbProfile *profile,
                         const LbEncoderSettings *settings, GError **error);
/* Opens the lobby's one audio encode on @raw (a producer's raw audio
 * track): Opus, 48 kHz stereo, 20 ms frames, @bitrate_kbps; no encoder
 * slot. Its encoded track's profile has kind LB_MEDIA_AUDIO and codec
 * LB_CODEC_OPUS. */
LbEncode *lb_encode_new_audio (LbTrack *raw, const char *name, guint bitrate_kbps, GError **error);
/* Called on the main loop once a closed encode's encoder really stopped. */
typedef void (*LbEncodeClosedFunc) (gpointer user_data);
/* Detaches the encode without waiting (lb_branch_detach_async): the encoder
 * stops off the main loop, then @closed (nullable) runs on it. The caller
 * must not use @encode after this call. */
void lb_encode_close (LbEncode *encode, LbEncodeClosedFunc closed, gpointer user_data);
/* lb_encode_close() with nobody to tell. */
void lb_encode_free (LbEncode *encode);

/* The encoded output (borrowed, lives as long as the encode): outputs attach
 * to it (lb_track_attach) and move between encodes' tracks. */
LbTrack *lb_encode_get_track (LbEncode *encode);
/* The encoder's next frame is an IDR with SPS/PPS: for a viewer that joins.
 * Rate-limited on the encoded track (lb_track_new_encoded) to one per
 * [encoder] join_keyframe_min_interval_ms of @settings' config. */
void lb_encode_request_key_frame (LbEncode *encode);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbEncode, lb_encode_free)

G_END_DECLS
