/* lb-track.c — a tee of one media kind and what its consumers need to know. */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-track.h"
#include "lb-media-branch.h"
#include "lb-spec.h"

#include <gst/video/video.h>

struct _LbTrack
{
  LbMediaKind kind;
  gboolean encoded;
  GstElement *pipeline;
  GstElement *tee;
  guint fps;         /* raw video */
  LbProfile profile; /* encoded */
};

static LbTrack *
track_new (LbMediaKind kind, gboolean encoded, GstElement *pipeline, GstElement *tee)
{
  LbTrack *self = g_new0 (LbTrack, 1);
  self->kind = kind;
  self->encoded = encoded;
  self->pipeline = gst_object_ref (pipeline);
  self->tee = gst_object_ref (tee);
  return self;
}

LbTrack *
lb_track_new_raw_video (GstElement *pipeline, GstElement *tee, guint fps)
{
  LbTrack *self = track_new (LB_MEDIA_VIDEO, FALSE, pipeline, tee);
  self->fps = fps;
  return self;
}

LbTrack *
lb_track_new_encoded (GstElement *pipeline, GstElement *tee, const LbProfile *profile)
{
  LbTrack *self = track_new (profile->kind, TRUE, pipeline, tee);
  self->profile = *profile;
  self->fps = profile->fps;
  return self;
}

void
lb_track_free (LbTrack *self)
{
  if (self == NULL)
    return;
  gst_object_unref (self->tee);
  gst_object_unref (self->pipeline);
  g_free (self);
}

LbMediaKind
lb_track_get_kind (const LbTrack *self)
{
  return self->kind;
}

gboolean
lb_track_is_encoded (const LbTrack *self)
{
  return self->encoded;
}

GstElement *
lb_track_get_pipeline (const LbTrack *self)
{
  return self->pipeline;
}

GstElement *
lb_track_get_tee (const LbTrack *self)
{
  return self->tee;
}

guint
lb_track_get_fps (const LbTrack *self)
{
  return self->fps;
}

const LbProfile *
lb_track_get_profile (const LbTrack *self)
{
  return self->encoded ? &self->profile : NULL;
}

LbBranch *
lb_track_attach (LbTrack *self, const char *name, GstElement **elements, GError **error)
{
  GstElement *bin = lb_media_chain_bin (name, elements, error);
  if (bin == NULL)
    return NULL;
  return lb_branch_attach (self->pipeline, self->tee, bin, NULL, error);
}

void
lb_track_request_key_frame (LbTrack *self)
{
  g_return_if_fail (self->encoded && self->kind == LB_MEDIA_VIDEO);
  /* Upstream from the tee's sink pad into the encoder (all-headers: SPS/PPS
   * come with the IDR). */
  g_autoptr (GstPad) sink = gst_element_get_static_pad (self->tee, "sink");
  gst_pad_push_event (sink,
                      gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
}
