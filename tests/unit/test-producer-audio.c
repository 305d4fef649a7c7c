/* Unit tests for the test pattern's audio (issue 12): a beep in the first
 * 100 ms of every second of running time and, in the same 100 ms, a white
 * band at the bottom of the picture; both keyed on buffer PTS. */
#include "lb-error.h"
#include "lb-producer.h"
#include "lb-spec.h"

#include <gst/video/video.h>

#define W 160
#define H 120

typedef struct
{
  GMutex lock;
  guint loud_in, loud_out, quiet_in;   /* audio buffers' 5 ms windows */
  guint flash_in, flash_out, plain_in; /* video frames */
} Counts;

static GstPadProbeReturn
on_audio (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Counts *c = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;
  g_assert_true (GST_BUFFER_PTS_IS_VALID (buf));
  gst_buffer_map (buf, &map, GST_MAP_READ);
  const gint16 *s = (const gint16 *)map.data;
  gsize frames = map.size / 4;
  /* 240-sample (5 ms) windows: loud if any sample is far from 0. */
  for (gsize w = 0; w + 240 <= frames; w += 240)
    {
      GstClockTime t = GST_BUFFER_PTS (buf) + gst_util_uint64_scale_int (w, GST_SECOND, 48000);
      guint64 ms = (t % GST_SECOND) / GST_MSECOND;
      gboolean loud = FALSE;
      for (gsize i = w; i < w + 240; i++)
        loud |= ABS (s[2 * i]) > 1000;
      /* Stay clear of the edges (a window may straddle them). */
      g_mutex_lock (&c->lock);
      if (ms >= 5 && ms < 95)
        loud ? c->loud_in++ : c->quiet_in++;
      else if (ms >= 100 && ms < 995)
        c->loud_out += loud;
      g_mutex_unlock (&c->lock);
    }
  gst_buffer_unmap (buf, &map);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
on_video (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Counts *c = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstVideoInfo vi;
  GstVideoFrame f;
  gst_video_info_set_format (&vi, GST_VIDEO_FORMAT_I420, W, H);
  g_assert_true (gst_video_frame_map (&f, &vi, buf, GST_MAP_READ));
  /* The bottom row's luma and chroma: the band is Y 235, U = V = 128. */
  const guint8 *y
      = GST_VIDEO_FRAME_COMP_DATA (&f, 0) + (gsize)(H - 1) * GST_VIDEO_FRAME_COMP_STRIDE (&f, 0);
  gboolean white = TRUE;
  for (guint x = 0; x < W; x++)
    white &= y[x] == 235;
  gst_video_frame_unmap (&f);
  gboolean in = GST_BUFFER_PTS (buf) % GST_SECOND < 100 * GST_MSECOND;
  g_mutex_lock (&c->lock);
  if (in)
    white ? c->flash_in++ : c->plain_in++;
  else
    c->flash_out += white;
  g_mutex_unlock (&c->lock);
  return GST_PAD_PROBE_OK;
}

static gboolean
quit (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
probe_sink_pad (GstElement *pipeline, const char *tee, GstPadProbeCallback cb, Counts *c)
{
  g_autoptr (GstElement) e = gst_bin_get_by_name (GST_BIN (pipeline), tee);
  g_assert_nonnull (e);
  g_autoptr (GstPad) pad = gst_element_get_static_pad (e, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, cb, c, NULL);
}

static void
test_beep_and_flash (void)
{
  g_autoptr (LbLobbySpec) spec = lb_lobby_spec_new_default ();
  spec->width = W;
  spec->height = H;
  spec->fps = 30;
  spec->pattern = "black"; /* nothing white at the bottom but the flash */
  Counts c = { 0 };
  g_mutex_init (&c.lock);
  g_autoptr (GError) error = NULL;
  g_autoptr (LbProducer) p = lb_producer_new ("t", spec, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  GstElement *pipeline = lb_producer_get_pipeline (p);
  probe_sink_pad (pipeline, "audio-tee", on_audio, &c);
  probe_sink_pad (pipeline, "raw-tee", on_video, &c);
  /* The pipeline runs on the system clock whatever its sources offer. */
  g_autoptr (GstClock) clock = gst_element_get_clock (pipeline);
  g_autoptr (GstClock) system = gst_system_clock_obtain ();
  g_assert_true (clock == system);

  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_timeout_add (2300, quit, loop);
  g_main_loop_run (loop);

  g_mutex_lock (&c.lock);
  g_test_message ("audio windows: loud in beep %u, quiet in beep %u, loud outside %u; "
                  "frames: flash in %u, plain in %u, flash outside %u",
                  c.loud_in, c.quiet_in, c.loud_out, c.flash_in, c.plain_in, c.flash_out);
  g_assert_cmpuint (c.loud_in, >=, 18); /* two beeps of 18 windows each, at least one whole */
  g_assert_cmpuint (c.quiet_in, ==, 0);
  g_assert_cmpuint (c.loud_out, ==, 0);
  g_assert_cmpuint (c.flash_in, >=, 3); /* 3 frames per beep at 30 fps */
  g_assert_cmpuint (c.plain_in, ==, 0);
  g_assert_cmpuint (c.flash_out, ==, 0);
  g_mutex_unlock (&c.lock);
  g_mutex_clear (&c.lock);
}

/* "audio": false: no tone, no flash. */
static void
test_off (void)
{
  g_autoptr (LbLobbySpec) spec = lb_lobby_spec_new_default ();
  spec->width = W;
  spec->height = H;
  spec->pattern = "black";
  spec->audio = FALSE;
  Counts c = { 0 };
  g_mutex_init (&c.lock);
  g_autoptr (GError) error = NULL;
  g_autoptr (LbProducer) p = lb_producer_new ("t", spec, NULL, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (lb_producer_get_track (p, LB_MEDIA_AUDIO));
  g_autoptr (GstElement) tee
      = gst_bin_get_by_name (GST_BIN (lb_producer_get_pipeline (p)), "audio-tee");
  g_assert_null (tee);
  probe_sink_pad (lb_producer_get_pipeline (p), "raw-tee", on_video, &c);
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_timeout_add (1200, quit, loop);
  g_main_loop_run (loop);
  g_mutex_lock (&c.lock);
  g_assert_cmpuint (c.flash_in + c.flash_out, ==, 0);
  g_assert_cmpuint (c.plain_in, >=, 1);
  g_mutex_unlock (&c.lock);
  g_mutex_clear (&c.lock);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/producer-audio/beep-and-flash", test_beep_and_flash);
  g_test_add_func ("/producer-audio/off", test_off);
  return g_test_run ();
}
