/* lb-track.h — one tee of one media kind in a lobby's pipeline, and what a
 * consumer of it needs to know: a producer's raw track (raw video: its frame
 * rate) or an encode's encoded track (encoded video: its profile).
 *
 * Encodes are opened on a raw track, outputs attach to an encoded one; neither
 * needs to know what made the track. LbMediaKind and lb_media_kind_name() are
 * plain data (lb-types.h, lb-spec.h) because the share key carries the kind. */
#pragma once

#include <gst/gst.h>
#include "lb-types.h"

G_BEGIN_DECLS

/* @pipeline and @tee are referenced; @tee must be in @pipeline. */
LbTrack *lb_track_new_raw_video (GstElement *pipeline, GstElement *tee, guint fps);
/* A producer's raw audio (S16LE, 48 kHz, stereo): audio encodes open on it. */
LbTrack *lb_track_new_raw_audio (GstElement *pipeline, GstElement *tee);
/* @profile is copied. Encoded audio (profile->kind LB_MEDIA_AUDIO) has no
 * key frames and no limiter (@key_frame_min_interval_ms is ignored). Every key-frame request that
 * reaches the encoder through @tee — lb_track_request_key_frame(), an output's upstream request, a
 * viewer's RTCP PLI/FIR — passes one limiter: the first request after
 * @key_frame_min_interval_ms is served at once, the ones within it are
 * coalesced into one key frame at the interval's end (0: no limit). */
LbTrack *lb_track_new_encoded (GstElement *pipeline, GstElement *tee, const LbProfile *profile,
                               guint key_frame_min_interval_ms);
/* Drops the references; the tee stays wherever its owner keeps it. */
void lb_track_free (LbTrack *track);

LbMediaKind lb_track_get_kind (const LbTrack *track);
/* TRUE for an encode's output, FALSE for a producer's raw track. */
gboolean lb_track_is_encoded (const LbTrack *track);
GstElement *lb_track_get_pipeline (const LbTrack *track);
GstElement *lb_track_get_tee (const LbTrack *track);
/* Raw video: the producer's frame rate (encodes cannot ask for more);
 * encoded video: the profile's. */
guint lb_track_get_fps (const LbTrack *track);
/* Encoded tracks: the profile the encode runs at; NULL for a raw track. */
const LbProfile *lb_track_get_profile (const LbTrack *track);

/* Chains @elements (NULL-terminated, floating refs sunk) into a bin named
 * @name and adds it behind the track's tee, ending there: how a viewer's
 * output joins an encoded track. */
LbBranch *lb_track_attach (LbTrack *track, const char *name, GstElement **elements, GError **error);
/* Encoded video: asks the encoder upstream of the tee for a key frame (its
 * next frame, or the first after the limiter's interval, is an IDR with
 * SPS/PPS). Safe from any thread. */
void lb_track_request_key_frame (LbTrack *track);
/* Encoded video: the requests the limiter let through at once, those it
 * coalesced into a later key frame, and the later key frames it sent. */
void lb_track_get_key_frame_stats (LbTrack *track, guint64 *passed, guint64 *coalesced,
                                   guint64 *deferred);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbTrack, lb_track_free)

G_END_DECLS
