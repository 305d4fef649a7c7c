/* lb-output.c — what every output does the same way: the transport table,
 * attach/move on an encode's track, packet counting, stats, close. */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-output-impl.h"
#include "lb-error.h"
#include "lb-media-branch.h"
#include "lb-track.h"

#include <gst/video/video.h>

/* Transport name → implementation. A new transport is one line here. */
static const LbOutputClass *const transports[] = {
  &lb_output_rtp_class,
  &lb_output_webrtc_class,
};

const LbOutputClass *
lb_output_class_lookup (const char *transport, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (transports); i++)
    if (g_strcmp0 (transports[i]->transport, transport) == 0)
      return transports[i];
  g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "no output for transport %s", transport);
  return NULL;
}

gpointer
lb_output_alloc (gsize size, const LbOutputClass *klass, const char *name)
{
  g_assert (size >= sizeof (LbOutput));
  LbOutput *self = g_malloc0 (size);
  self->klass = klass;
  self->name = g_strdup (name);
  return self;
}

static GstPadProbeReturn
count_packets (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  LbOutput *self = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);

  /* 64-bit counters, one writer: relaxed atomics keep readers tear-free. */
  __atomic_fetch_add (&self->packets, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add (&self->bytes, gst_buffer_get_size (buf), __ATOMIC_RELAXED);
  return GST_PAD_PROBE_OK;
}

void
lb_output_count_packets (LbOutput *self, GstPad *pad)
{
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_packets, self, NULL);
}

gboolean
lb_output_attach (LbOutput *self, LbTrack *track, GstElement **elements, GError **error)
{
  g_return_val_if_fail (self->branch == NULL, FALSE);
  self->branch = lb_track_attach (track, self->name, elements, error);
  return self->branch != NULL;
}

LbBranch *
lb_output_get_branch (const LbOutput *self)
{
  return self->branch;
}

const LbOutputClass *
lb_output_get_class (const LbOutput *self)
{
  return self->klass;
}

const char *
lb_output_get_name (const LbOutput *self)
{
  return self->name;
}

gboolean
lb_output_move (LbOutput *self, LbTrack *track, GError **error)
{
  if (!lb_branch_move (self->branch, lb_track_get_tee (track), error))
    return FALSE;
  /* The new encoder's first IDR may have left before this output arrived. */
  lb_track_request_key_frame (track);
  return TRUE;
}

void
lb_output_request_key_frame (LbOutput *self)
{
  if (self->branch == NULL)
    return;
  g_autoptr (GstPad) sink = gst_element_get_static_pad (lb_branch_get_bin (self->branch), "sink");
  gst_pad_push_event (sink,
                      gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
}

const char *
lb_output_get_answer (const LbOutput *self)
{
  return self->answer;
}

char *
lb_output_get_sdp (LbOutput *self)
{
  return self->klass->get_sdp != NULL ? self->klass->get_sdp (self) : NULL;
}

guint64
lb_output_get_packets (const LbOutput *self)
{
  return __atomic_load_n (&self->packets, __ATOMIC_RELAXED);
}

guint64
lb_output_get_bytes (const LbOutput *self)
{
  return __atomic_load_n (&self->bytes, __ATOMIC_RELAXED);
}

JsonObject *
lb_output_stats_to_json (LbOutput *self)
{
  JsonObject *stats = json_object_new ();
  json_object_set_int_member (stats, "packets_sent", (gint64)lb_output_get_packets (self));
  if (self->klass->stats_to_json != NULL)
    self->klass->stats_to_json (self, stats);
  return stats;
}

void
lb_output_close (LbOutput *self)
{
  if (self == NULL)
    return;
  /* Callbacks stop first: nothing may reach a session that is going. The
   * probes (which point at self) go with the branch, before the free. */
  self->klass->close (self);
  lb_branch_detach (self->branch);
  g_free (self->answer);
  g_free (self->name);
  g_free (self);
}
