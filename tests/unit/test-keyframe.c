/* test-keyframe.c — one key-frame limiter per encoded track: every request
 * (lb_track_request_key_frame, an output's upstream event, from any thread)
 * goes through it; the first in an interval at once, the rest coalesced
 * into one key frame at the interval's end. A real x264 encode on a live
 * test pattern. */
#include "lb-config.h"
#include "lb-encode.h"
#include "lb-encoder-backend.h"
#include "lb-media-branch.h"
#include "lb-spec.h"
#include "lb-track.h"
#include "test-util.h"

#include <gst/video/video.h>

#define INTERVAL_MS 1000

typedef struct
{
  GstElement *pipeline;
  GstElement *raw_tee;
  LbTrack *raw;
  LbEncode *encode;
  LbConfig *config;
  gint key_frames;  /* atomic: IDRs out of the encoder */
  GstElement *sink; /* a fakesink branch on the encoded track */
} Fixture;

static GstPadProbeReturn
count_key_frames (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Fixture *f = user_data;
  if (!GST_BUFFER_FLAG_IS_SET (GST_PAD_PROBE_INFO_BUFFER (info), GST_BUFFER_FLAG_DELTA_UNIT))
    g_atomic_int_inc (&f->key_frames);
  return GST_PAD_PROBE_OK;
}

static const LbEncoderBackend *
software (void)
{
  guint n = 0;
  const LbEncoderBackend *const *all = lb_encoder_backends_get (&n);
  for (guint i = 0; i < n; i++)
    if (!all[i]->hardware)
      return all[i];
  return NULL;
}

static gboolean
fixture_setup (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElementFactory) factory = gst_element_factory_find ("x264enc");
  if (software () == NULL || factory == NULL)
    return FALSE;
  f->pipeline = test_live_tee_pipeline (&f->raw_tee);
  f->raw = lb_track_new_raw_video (f->pipeline, f->raw_tee, 30);
  f->config = lb_config_new_default ();
  f->config->join_keyframe_min_interval_ms = INTERVAL_MS;
  /* Natural key frames far apart: the ones counted come from requests. */
  const LbEncoderSettings settings = { software (), "x264enc", -1, 60000, f->config };
  LbProfile profile = { LB_CODEC_H264, LB_H264_ANY, 64, 48, 30, 300 };
  f->encode = lb_encode_new (f->raw, "enc", &profile, &settings, &error);
  g_assert_no_error (error);
  LbTrack *encoded = lb_encode_get_track (f->encode);
  g_autoptr (GstPad) sink = gst_element_get_static_pad (lb_track_get_tee (encoded), "sink");
  gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER, count_key_frames, f, NULL);
  f->sink = gst_element_factory_make ("fakesink", NULL);
  g_object_set (f->sink, "async", FALSE, NULL);
  GstElement *chain[] = { f->sink, NULL };
  g_assert_nonnull (lb_track_attach (encoded, "viewer", chain, &error));
  g_assert_no_error (error);
  /* The encoder's first frame is an IDR; wait it out. */
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_atomic_int_get (&f->key_frames) == 0 && g_get_monotonic_time () < end)
    test_spin (20);
  g_assert_cmpint (g_atomic_int_get (&f->key_frames), >=, 1);
  test_spin (INTERVAL_MS + 100);
  g_atomic_int_set (&f->key_frames, 0);
  return TRUE;
}

static void
fixture_teardown (Fixture *f)
{
  lb_encode_free (f->encode);
  test_spin (200);
  gst_element_set_state (f->pipeline, GST_STATE_NULL);
  lb_branch_wait_detaches (5000);
  lb_track_free (f->raw);
  gst_object_unref (f->raw_tee);
  gst_object_unref (f->pipeline);
  lb_config_free (f->config);
}

/* What an output or webrtcbin (a PLI) sends: an upstream event from the
 * viewer's side of the tee. */
static gpointer
request_from_viewer (gpointer data)
{
  Fixture *f = data;
  g_autoptr (GstPad) pad = gst_element_get_static_pad (f->sink, "sink");
  for (int i = 0; i < 5; i++)
    gst_pad_push_event (pad,
                        gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
  return NULL;
}

static gpointer
request_on_track (gpointer data)
{
  Fixture *f = data;
  for (int i = 0; i < 5; i++)
    lb_track_request_key_frame (lb_encode_get_track (f->encode));
  return NULL;
}

static void
test_burst_is_coalesced (void)
{
  Fixture f = { 0 };
  if (!fixture_setup (&f))
    {
      g_test_skip ("no x264enc");
      return;
    }
  LbTrack *track = lb_encode_get_track (f.encode);
  guint64 passed0, coalesced0, deferred0, passed, coalesced, deferred;
  lb_track_get_key_frame_stats (track, &passed0, &coalesced0, &deferred0);

  /* 20 requests from 4 threads at once (streaming threads, the main loop). */
  GThread *threads[4];
  for (int i = 0; i < 4; i++)
    threads[i] = g_thread_new ("req", i % 2 ? request_from_viewer : request_on_track, &f);
  for (int i = 0; i < 4; i++)
    g_thread_join (threads[i]);

  lb_track_get_key_frame_stats (track, &passed, &coalesced, &deferred);
  g_assert_cmpuint (passed - passed0, ==, 1);
  g_assert_cmpuint (coalesced - coalesced0, ==, 19);
  g_assert_cmpuint (deferred - deferred0, ==, 0);

  /* The coalesced ones: one more key frame, at the interval's end; no more. */
  gint64 end = g_get_monotonic_time () + (INTERVAL_MS + 3000) * 1000;
  while (g_atomic_int_get (&f.key_frames) < 2 && g_get_monotonic_time () < end)
    test_spin (20);
  test_spin (300);
  lb_track_get_key_frame_stats (track, &passed, &coalesced, &deferred);
  g_assert_cmpuint (deferred - deferred0, ==, 1);
  g_assert_cmpint (g_atomic_int_get (&f.key_frames), ==, 2);

  /* An interval later, a request is served at once again. */
  test_spin (INTERVAL_MS);
  request_on_track (&f);
  test_spin (300);
  lb_track_get_key_frame_stats (track, &passed, &coalesced, &deferred);
  g_assert_cmpuint (passed - passed0, ==, 2);
  g_assert_cmpint (g_atomic_int_get (&f.key_frames), >=, 3);
  fixture_teardown (&f);
}

/* An encode closed while a coalesced key frame is due: the timer finds the
 * track gone and does nothing. */
static void
test_close_with_key_frame_due (void)
{
  Fixture f = { 0 };
  if (!fixture_setup (&f))
    {
      g_test_skip ("no x264enc");
      return;
    }
  request_on_track (&f);
  request_from_viewer (&f);
  lb_encode_free (f.encode);
  f.encode = NULL;
  test_spin (INTERVAL_MS + 200);
  gst_element_set_state (f.pipeline, GST_STATE_NULL);
  lb_branch_wait_detaches (5000);
  lb_track_free (f.raw);
  gst_object_unref (f.raw_tee);
  gst_object_unref (f.pipeline);
  lb_config_free (f.config);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/keyframe/burst-is-coalesced", test_burst_is_coalesced);
  g_test_add_func ("/keyframe/close-with-key-frame-due", test_close_with_key_frame_due);
  return g_test_run ();
}
