/* ml-rtsp-driver.c — lobbyd's Moonlight RTSP server on a main loop, driven
 * from tests/integration/test_ml_rtsp.py:
 *
 *   ml-rtsp-driver [--address A] [--timeout-ms N] [--refuse-play] LAUNCH...
 *       LAUNCH = CLIENT_IP,RIKEYID: added to the launch table.
 *       Prints "port N", then "launch CLIENT_IP ML_ID" per launch, then one
 *       line per callback: "setup ML_ID STREAM CLIENT_IP",
 *       "announce ML_ID WxH@FPS packet=N bitrate=N audio_ms=N channels=N
 *       enc=N", "play ML_ID". Ports: audio 48000, video 47998,
 *       control 47999; ping payload = the stream's name padded with
 *       ML_ID's first chars to 16; connect data 0x1234abcd. Runs until
 *       stdin closes. */
#include "lb-ml-rtsp-server.h"

#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gboolean refuse_play;

static gboolean
on_setup (const char *ml_id, LbMlStream stream, const char *client_ip, guint16 *port,
          char ping_payload[17], guint32 *connect_data, gpointer user_data, GError **error)
{
  printf ("setup %s %s %s\n", ml_id, lb_ml_stream_name (stream), client_ip);
  fflush (stdout);
  switch (stream)
    {
    case LB_ML_STREAM_AUDIO:
      *port = 48000;
      break;
    case LB_ML_STREAM_VIDEO:
      *port = 47998;
      break;
    case LB_ML_STREAM_CONTROL:
      *port = 47999;
      *connect_data = 0x1234abcd;
      return TRUE;
    }
  g_autofree char *p = g_strdup_printf ("%s%s", lb_ml_stream_name (stream), ml_id);
  memcpy (ping_payload, p, 16);
  ping_payload[16] = 0;
  return TRUE;
}

static gboolean
on_announce (const char *ml_id, const LbMlAnnounce *a, gpointer user_data, GError **error)
{
  printf ("announce %s %ux%u@%u packet=%u bitrate=%u audio_ms=%u channels=%u enc=%u\n", ml_id,
          a->width, a->height, a->fps, a->packet_size, a->max_bitrate_kbps, a->audio_packet_ms,
          a->audio_channels, a->encryption_enabled);
  fflush (stdout);
  return TRUE;
}

static gboolean
on_play (const char *ml_id, gpointer user_data, GError **error)
{
  printf ("play %s\n", ml_id);
  fflush (stdout);
  if (refuse_play)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_AMBIGUOUS_LAUNCH,
                   "refused by the test");
      return FALSE;
    }
  return TRUE;
}

static gboolean
on_stdin (GIOChannel *ch, GIOCondition cond, gpointer loop)
{
  char buf[256];
  gssize n = read (g_io_channel_unix_get_fd (ch), buf, sizeof buf);
  if (n <= 0)
    {
      g_main_loop_quit (loop);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  const char *address = "127.0.0.1";
  guint timeout_ms = 0;
  int i = 1;
  for (; i < argc && g_str_has_prefix (argv[i], "--"); i++)
    {
      if (strcmp (argv[i], "--address") == 0 && i + 1 < argc)
        address = argv[++i];
      else if (strcmp (argv[i], "--timeout-ms") == 0 && i + 1 < argc)
        timeout_ms = (guint)atoi (argv[++i]);
      else if (strcmp (argv[i], "--refuse-play") == 0)
        refuse_play = TRUE;
      else
        return 2;
    }
  g_autoptr (LbMlLaunchTable) launches = lb_ml_launch_table_new (g_free);
  static const LbMlRtspCallbacks cb = { on_setup, on_announce, on_play };
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  LbMlRtspServer *s = lb_ml_rtsp_server_new (address, 0, launches, 1, 1, &cb, NULL, &error);
  if (s == NULL)
    {
      fprintf (stderr, "server: %s\n", error->message);
      return 1;
    }
  if (timeout_ms)
    lb_ml_rtsp_server_set_read_timeout (s, timeout_ms);
  printf ("port %u\n", lb_ml_rtsp_server_get_port (s));
  for (; i < argc; i++)
    {
      g_auto (GStrv) parts = g_strsplit (argv[i], ",", 2);
      if (g_strv_length (parts) != 2)
        return 2;
      const char *id
          = lb_ml_launch_table_add (launches, parts[0], (guint32)strtoll (parts[1], NULL, 10),
                                    g_strdup (parts[0]), g_get_monotonic_time ());
      if (id == NULL)
        return 2;
      printf ("launch %s %s\n", parts[0], id);
    }
  fflush (stdout);
  GIOChannel *ch = g_io_channel_unix_new (0);
  g_io_add_watch (ch, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, loop);
  g_main_loop_run (loop);
  g_io_channel_unref (ch);
  lb_ml_rtsp_server_free (s);
  /* Let the cancelled connections finish (and free themselves). */
  for (int k = 0; k < 100 && g_main_context_iteration (NULL, FALSE); k++)
    ;
  return 0;
}
