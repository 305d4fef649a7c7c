/* ml-stream-driver.c — a real lobby's video path for
 * tests/integration/test_ml_stream.py until the Moonlight host glue exists:
 * a live test pattern, lobbyd's x264 encode (key frames only on request),
 * the "moonlight" output on its track and the shared Moonlight sockets
 * (lb-ml-stream) on 127.0.0.1. Prints one JSON line {video_port,
 * audio_port, ping_payload, ml_id} once frames flow, then on each stdin
 * line "stats" the output's stats as JSON; exits at stdin EOF.
 *
 * ml-stream-driver WIDTH HEIGHT FPS PACKET_SIZE FEC_PCT MIN_FEC [KEY_HEX] */
#include "lb-config.h"
#include "lb-encode.h"
#include "lb-encoder-backend.h"
#include "lb-media-branch.h"
#include "lb-ml-stream.h"
#include "lb-output-moonlight.h"
#include "lb-output.h"
#include "lb-spec.h"
#include "lb-track.h"

#include <gio/gunixinputstream.h>
#include <stdio.h>
#include <stdlib.h>

#define ML_ID "0123456789abcdef0123456789abcdef"
#define PAYLOAD "lobbydPingTest01"

static GMainLoop *loop;
static LbOutput *output;

static void
on_timeout (const char *ml_id, gpointer user_data)
{
  printf ("{\"timeout\": \"%s\"}\n", ml_id);
  fflush (stdout);
}

static gboolean
on_stdin (GIOChannel *ch, GIOCondition cond, gpointer data)
{
  g_autofree char *line = NULL;
  if (g_io_channel_read_line (ch, &line, NULL, NULL, NULL) != G_IO_STATUS_NORMAL)
    {
      g_main_loop_quit (loop);
      return G_SOURCE_REMOVE;
    }
  if (g_str_has_prefix (line, "stats"))
    {
      g_autoptr (JsonObject) stats = lb_output_stats_to_json (output);
      g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), stats);
      g_autofree char *text = json_to_string (node, FALSE);
      printf ("%s\n", text);
      fflush (stdout);
    }
  return G_SOURCE_CONTINUE;
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

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  gst_init (&argc, &argv);
  if (argc < 7)
    {
      fprintf (stderr, "usage: %s W H FPS PACKET_SIZE FEC_PCT MIN_FEC [KEY_HEX]\n", argv[0]);
      return 2;
    }
  guint w = atoi (argv[1]), h = atoi (argv[2]), fps = atoi (argv[3]);
  LbMlStreamParams params = { .packet_size = atoi (argv[4]),
                              .fec_percentage = atoi (argv[5]),
                              .min_fec_packets = atoi (argv[6]),
                              .audio_packet_ms = 5 };
  if (argc > 7)
    {
      params.encrypt_video = TRUE;
      for (guint i = 0; i < 16; i++)
        sscanf (argv[7] + 2 * i, "%2hhx", &params.rikey[i]);
    }
  loop = g_main_loop_new (NULL, FALSE);
  static const LbMlStreamCallbacks cb = { on_timeout };
  LbMlStreamHost *host = lb_ml_stream_host_new ("127.0.0.1", 0, 0, 10000, &cb, NULL, &error);
  g_assert_no_error (error);
  lb_output_moonlight_set_stream_host (host);
  LbMlStreamPeer *peer = lb_ml_stream_host_add_peer (host, ML_ID, "127.0.0.1", PAYLOAD);
  if (!lb_ml_stream_peer_set_params (peer, &params, &error))
    g_error ("params: %s", error->message);

  g_autofree char *desc = g_strdup_printf ("videotestsrc is-live=true pattern=ball ! "
                                           "video/x-raw,width=%u,height=%u,framerate=%u/1 ! "
                                           "tee name=t allow-not-linked=true",
                                           w, h, fps);
  GstElement *pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  GstElement *tee = gst_bin_get_by_name (GST_BIN (pipeline), "t");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  LbTrack *raw = lb_track_new_raw_video (pipeline, tee, fps);
  LbConfig *config = lb_config_new_default ();
  /* Natural key frames ten minutes apart: the viewer's IDR must come from
   * the output's request. */
  const LbEncoderSettings settings = { software (), "x264enc", -1, 600000, config };
  LbProfile profile = { LB_CODEC_H264, LB_H264_ANY, w, h, fps, 1500 };
  LbEncode *encode = lb_encode_new (raw, "enc", &profile, &settings, &error);
  g_assert_no_error (error);

  g_autoptr (LbLobbySpec) lobby = lb_lobby_spec_new_default ();
  g_autoptr (LbSessionSpec) spec
      = lb_output_moonlight_spec_new (lobby, ML_ID, w, h, fps, 1500, 0, FALSE);
  const LbOutputClass *klass = lb_output_class_lookup ("moonlight", &error);
  g_assert_no_error (error);
  g_assert_true (klass->check (spec, config, &error));
  LbOutputSetup setup = { .name = "viewer", .config = config };
  output = klass->open (lb_encode_get_track (encode), spec, &setup, &error);
  g_assert_no_error (error);

  /* The encoder's own first IDR goes by before the viewer pings. */
  gint64 end = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (5000);
  printf ("{\"video_port\": %u, \"audio_port\": %u, \"ping_payload\": \"%s\", \"ml_id\": \"%s\"}\n",
          lb_ml_stream_host_get_video_port (host), lb_ml_stream_host_get_audio_port (host), PAYLOAD,
          ML_ID);
  fflush (stdout);

  GIOChannel *in = g_io_channel_unix_new (0);
  g_io_add_watch (in, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, NULL);
  g_main_loop_run (loop);

  lb_output_close (output);
  lb_encode_free (encode);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  lb_branch_wait_detaches (5000);
  lb_track_free (raw);
  gst_object_unref (tee);
  gst_object_unref (pipeline);
  lb_ml_stream_peer_unref (peer);
  lb_output_moonlight_set_stream_host (NULL);
  lb_ml_stream_host_free (host);
  lb_config_free (config);
  g_io_channel_unref (in);
  g_main_loop_unref (loop);
  return 0;
}
