/* lb-producer.c — a lobby's video producer: a test pattern (videotestsrc ! caps !
 * clockoverlay ! tee) or a desktop's X display (ximagesrc ! … ! caps ! tee). */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-producer.h"
#include "lb-error.h"
#include "lb-media-branch.h"
#include "lb-spec.h"
#include "lb-track.h"

struct _LbProducer
{
  char *lobby_id;
  GstElement *pipeline;
  LbTrack *video; /* the raw-video tee */
  guint bus_watch;
  LbMediaErrorFunc on_error;
  gpointer user_data;
};

static gboolean
on_bus_message (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  LbProducer *self = user_data;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    {
      g_autoptr (GError) err = NULL;
      g_autofree char *debug = NULL;
      gst_message_parse_error (msg, &err, &debug);
      GstElement *top = lb_media_top_child (self->pipeline, GST_MESSAGE_SRC (msg));
      const char *name = top != NULL ? GST_ELEMENT_NAME (top) : "?";
      gboolean in_branch = top != NULL && GST_IS_BIN (top);

      g_warning ("lobby %s: error from %s: %s (%s)", self->lobby_id, name, err->message,
                 debug ? debug : "");
      if (self->on_error != NULL)
        self->on_error (in_branch ? name : NULL, err, self->user_data);
    }
  return G_SOURCE_CONTINUE;
}

LbProducer *
lb_producer_new (const char *lobby_id, const LbLobbySpec *spec, const char *display,
                 LbMediaErrorFunc on_error, gpointer user_data, GError **error)
{
  g_autoptr (LbProducer) self = g_new0 (LbProducer, 1);
  g_autofree char *pipeline_name = g_strdup_printf ("lobby-%s", lobby_id);
  GstElement *src, *caps, *tee;

  self->lobby_id = g_strdup (lobby_id);
  self->on_error = on_error;
  self->user_data = user_data;
  self->pipeline = gst_pipeline_new (pipeline_name);
  gst_object_ref_sink (self->pipeline);
  lb_media_track_pipeline (self->pipeline);

  /* A desktop is captured from its X display; a test pattern gets a clock
   * drawn on it. Either way the raw tee sees I420 at the lobby's size/rate. */
  static const LbElementSpec test_specs[] = {
    { "videotestsrc", "source" },
    { "capsfilter", "source-caps" },
    { "clockoverlay", "clock" },
    { "tee", "raw-tee" },
  };
  static const LbElementSpec x11_specs[] = {
    { "ximagesrc", "source" }, { "videoconvert", NULL },        { "videoscale", NULL },
    { "videorate", NULL },     { "capsfilter", "source-caps" }, { "tee", "raw-tee" },
  };
  const LbElementSpec *specs = display ? x11_specs : test_specs;
  guint n = display ? G_N_ELEMENTS (x11_specs) : G_N_ELEMENTS (test_specs);
  GstElement *e[G_N_ELEMENTS (x11_specs)] = { NULL };
  if (!lb_media_make_all (specs, n, e, error))
    return NULL;
  src = e[0];
  caps = display ? e[4] : e[1];
  tee = e[n - 1];

  g_autoptr (GstCaps) raw = gst_caps_new_simple (
      "video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT, (int)spec->width,
      "height", G_TYPE_INT, (int)spec->height, "framerate", GST_TYPE_FRACTION, (int)spec->fps, 1,
      "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL);
  g_object_set (caps, "caps", raw, NULL);
  if (display != NULL)
    /* use-damage=false: whole frames, so every frame is complete for the encoder. */
    g_object_set (src, "display-name", display, "use-damage", FALSE, "show-pointer", TRUE, NULL);
  else
    {
      /* is-live: frames are produced at the lobby's rate in real time, like a
       * desktop, not as fast as the CPU allows. The pattern is an enumeration
       * value checked by lb-spec, never request text. */
      g_object_set (src, "is-live", TRUE, NULL);
      gst_util_set_object_arg (G_OBJECT (src), "pattern", spec->pattern);
      g_object_set (e[2], "time-format", "%H:%M:%S", "shaded-background", TRUE, "font-desc",
                    "Sans 36", NULL);
    }
  /* With no viewer the source must keep running, not stall on not-linked. */
  g_object_set (tee, "allow-not-linked", TRUE, NULL);

  for (guint i = 0; i < n; i++)
    gst_bin_add (GST_BIN (self->pipeline), e[i]);
  for (guint i = 0; i + 1 < n; i++)
    if (!gst_element_link (e[i], e[i + 1]))
      {
        g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "lobby %s: cannot link the producer",
                     lobby_id);
        return NULL;
      }
  self->video = lb_track_new_raw_video (self->pipeline, tee, spec->fps);

  g_autoptr (GstBus) bus = gst_pipeline_get_bus (GST_PIPELINE (self->pipeline));
  self->bus_watch = gst_bus_add_watch (bus, on_bus_message, self);

  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "lobby %s: producer failed to start", lobby_id);
      return NULL;
    }
  g_debug ("lobby %s: producer %ux%u@%u (%s) started", lobby_id, spec->width, spec->height,
           spec->fps, display ? display : spec->pattern);
  return g_steal_pointer (&self);
}

void
lb_producer_free (LbProducer *self)
{
  if (self == NULL)
    return;
  if (self->bus_watch != 0)
    g_source_remove (self->bus_watch);
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
  g_clear_pointer (&self->video, lb_track_free);
  gst_object_unref (self->pipeline);
  g_free (self->lobby_id);
  g_free (self);
}

GstElement *
lb_producer_get_pipeline (LbProducer *self)
{
  return self->pipeline;
}

LbTrack *
lb_producer_get_track (LbProducer *self, LbMediaKind kind)
{
  return kind == LB_MEDIA_VIDEO ? self->video : NULL;
}
