/* lb-track.c — a tee of one media kind and what its consumers need to know. */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-track.h"
#include "lb-media-branch.h"
#include "lb-spec.h"

#include <gst/video/video.h>

/* Key-frame requests of one encoded track. Requests come from the main loop
 * (joins, moves) and from streaming threads (webrtcbin's connection state,
 * RTCP PLI/FIR turned into upstream events by rtpbin), so the state is behind
 * a mutex and shared by reference with the tee's probe and the timer of a
 * deferred key frame, which may outlive the track by a moment. */
typedef struct
{
  gint refs;
  GMutex lock;
  gint64 interval_us;
  gint64 last_us;  /* when the last request went through; 0: never */
  GSource *timer;  /* a deferred key frame is due, on the main context */
  gboolean closed; /* the track is gone */
  GstPad *sink;    /* the tee's sink pad: upstream of it is the encoder */
  guint64 passed, coalesced, deferred;
} KeyLimiter;

/* Marks the deferred key frame's own event, which the probe lets through. */
#define LIMITED_FIELD "lb-key-frame-limited"

struct _LbTrack
{
  LbMediaKind kind;
  gboolean encoded;
  GstElement *pipeline;
  GstElement *tee;
  guint fps;         /* raw video */
  LbProfile profile; /* encoded */
  KeyLimiter *limiter;
  gulong limiter_probe;
};

static KeyLimiter *
limiter_ref (KeyLimiter *self)
{
  g_atomic_int_inc (&self->refs);
  return self;
}

static void
limiter_unref (gpointer data)
{
  KeyLimiter *self = data;
  if (!g_atomic_int_dec_and_test (&self->refs))
    return;
  g_mutex_clear (&self->lock);
  gst_object_unref (self->sink);
  g_free (self);
}

static GstEvent *
force_key_unit (gboolean limited)
{
  /* all-headers: SPS/PPS come with the IDR. */
  GstEvent *event = gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0);
  if (limited)
    gst_structure_set (gst_event_writable_structure (event), LIMITED_FIELD, G_TYPE_BOOLEAN, TRUE,
                       NULL);
  return event;
}

/* On the main loop, at the end of the interval: one key frame for every
 * request coalesced meanwhile. */
static gboolean
send_deferred (gpointer data)
{
  KeyLimiter *self = data;
  gboolean send;

  g_mutex_lock (&self->lock);
  send = !self->closed;
  g_clear_pointer (&self->timer, g_source_unref);
  if (send)
    {
      self->last_us = g_get_monotonic_time ();
      self->deferred++;
    }
  g_mutex_unlock (&self->lock);
  if (send)
    gst_pad_push_event (self->sink, force_key_unit (TRUE));
  return G_SOURCE_REMOVE;
}

/* Whether a request may go to the encoder now; if not, one key frame is
 * (or already was) scheduled for the end of the interval. Any thread. */
static gboolean
limiter_admit (KeyLimiter *self)
{
  gboolean pass = FALSE;
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&self->lock);
  if (self->closed)
    ;
  else if (self->timer != NULL)
    self->coalesced++; /* one is coming: this request's viewer decodes from it too */
  else if (self->last_us == 0 || now - self->last_us >= self->interval_us)
    {
      self->last_us = now;
      self->passed++;
      pass = TRUE;
    }
  else
    {
      /* The encoder's next frames may have left before this viewer's
       * request: it needs a key frame of its own, but one per interval. */
      self->coalesced++;
      self->timer
          = g_timeout_source_new ((guint)((self->last_us + self->interval_us - now) / 1000) + 1);
      g_source_set_callback (self->timer, send_deferred, limiter_ref (self), limiter_unref);
      g_source_attach (self->timer, NULL);
    }
  g_mutex_unlock (&self->lock);
  return pass;
}

/* Every upstream request of a key frame leaves the tee through its sink
 * pad, on whatever thread sent it. */
static GstPadProbeReturn
limit_key_frames (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  if (!gst_video_event_is_force_key_unit (event))
    return GST_PAD_PROBE_OK;
  if (gst_structure_has_field (gst_event_get_structure (event), LIMITED_FIELD))
    return GST_PAD_PROBE_OK;
  return limiter_admit (user_data) ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

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
lb_track_new_raw_audio (GstElement *pipeline, GstElement *tee)
{
  return track_new (LB_MEDIA_AUDIO, FALSE, pipeline, tee);
}

LbTrack *
lb_track_new_encoded (GstElement *pipeline, GstElement *tee, const LbProfile *profile,
                      guint key_frame_min_interval_ms)
{
  LbTrack *self = track_new (profile->kind, TRUE, pipeline, tee);
  self->profile = *profile;
  self->fps = profile->fps;
  if (profile->kind == LB_MEDIA_AUDIO)
    return self;
  self->limiter = g_new0 (KeyLimiter, 1);
  self->limiter->refs = 1;
  g_mutex_init (&self->limiter->lock);
  self->limiter->interval_us = (gint64)key_frame_min_interval_ms * 1000;
  self->limiter->sink = gst_element_get_static_pad (tee, "sink");
  self->limiter_probe
      = gst_pad_add_probe (self->limiter->sink, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, limit_key_frames,
                           limiter_ref (self->limiter), limiter_unref);
  return self;
}

void
lb_track_free (LbTrack *self)
{
  if (self == NULL)
    return;
  if (self->limiter != NULL)
    {
      KeyLimiter *limiter = self->limiter;
      g_mutex_lock (&limiter->lock);
      limiter->closed = TRUE;
      if (limiter->timer != NULL)
        g_source_destroy (limiter->timer);
      g_clear_pointer (&limiter->timer, g_source_unref);
      g_mutex_unlock (&limiter->lock);
      /* A request in flight on a streaming thread keeps its own reference. */
      gst_pad_remove_probe (limiter->sink, self->limiter_probe);
      limiter_unref (limiter);
    }
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
  g_return_if_fail (self->encoded);
  /* Opus frames are all independent: nothing to ask for. */
  if (self->kind == LB_MEDIA_AUDIO)
    return;
  /* Upstream from the tee's sink pad into the encoder, through the limiter's
   * probe like any other request. */
  gst_pad_push_event (self->limiter->sink, force_key_unit (FALSE));
}

void
lb_track_get_key_frame_stats (LbTrack *self, guint64 *passed, guint64 *coalesced, guint64 *deferred)
{
  g_return_if_fail (self->limiter != NULL);
  g_mutex_lock (&self->limiter->lock);
  *passed = self->limiter->passed;
  *coalesced = self->limiter->coalesced;
  *deferred = self->limiter->deferred;
  g_mutex_unlock (&self->limiter->lock);
}
