/* ml-control-driver — lb-ml-control on a GLib main loop for
 * tests/integration/test_ml_control.py: one launch in a fixed lookup table
 * (the connect data, ml_id and rikey on the command line), every callback
 * printed as a line on stdout; commands on stdin:
 *   terminate ML_ID REASON | stats | quit
 *
 *   ml-control-driver CONNECT_DATA ML_ID RIKEY_HEX
 * prints "port N" first. */
#include "lb-ml-control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static guint32 want_connect_data;
static const char *want_ml_id;
static guint8 want_key[16];
static GMainLoop *loop;
static LbMlControl *control;

static gboolean
on_lookup (guint32 connect_data, const char *client_ip, char **ml_id, guint8 rikey[16],
           gpointer user_data)
{
  printf ("lookup 0x%08x %s\n", connect_data, client_ip);
  fflush (stdout);
  if (connect_data != want_connect_data)
    return FALSE;
  *ml_id = g_strdup (want_ml_id);
  memcpy (rikey, want_key, 16);
  return TRUE;
}

static void
on_idr (const char *ml_id, gpointer user_data)
{
  printf ("idr %s\n", ml_id);
  fflush (stdout);
}

static void
on_input (const char *ml_id, const LbInputEvent *ev, gpointer user_data)
{
  g_autofree char *s = lb_input_event_to_string (ev);
  printf ("input %s %s\n", ml_id, s);
  fflush (stdout);
}

static void
on_disconnected (const char *ml_id, const char *reason, gpointer user_data)
{
  printf ("disconnected %s %s\n", ml_id, reason);
  fflush (stdout);
}

static gboolean
on_stdin (GIOChannel *ch, GIOCondition cond, gpointer user_data)
{
  g_autofree char *line = NULL;
  if (g_io_channel_read_line (ch, &line, NULL, NULL, NULL) != G_IO_STATUS_NORMAL)
    {
      g_main_loop_quit (loop);
      return G_SOURCE_REMOVE;
    }
  g_strstrip (line);
  g_auto (GStrv) w = g_strsplit (line, " ", -1);
  if (!strcmp (w[0], "terminate") && g_strv_length (w) == 3)
    lb_ml_control_terminate (control, w[1], (guint32)strtoul (w[2], NULL, 0));
  else if (!strcmp (w[0], "stats"))
    {
      LbMlControlStats s;
      lb_ml_control_get_stats (control, &s);
      printf ("stats connects=%" G_GUINT64_FORMAT " refused=%" G_GUINT64_FORMAT
              " messages=%" G_GUINT64_FORMAT " idr_requests=%" G_GUINT64_FORMAT
              " pings=%" G_GUINT64_FORMAT " loss_reports=%" G_GUINT64_FORMAT
              " input_events=%" G_GUINT64_FORMAT " input_errors=%" G_GUINT64_FORMAT
              " unknown=%" G_GUINT64_FORMAT " dropped_malformed=%" G_GUINT64_FORMAT
              " dropped_auth=%" G_GUINT64_FORMAT " dropped_replay=%" G_GUINT64_FORMAT
              " disconnects=%" G_GUINT64_FORMAT "\n",
              s.connects, s.refused, s.messages, s.idr_requests, s.pings, s.loss_reports,
              s.input_events, s.input_errors, s.unknown, s.dropped_malformed, s.dropped_auth,
              s.dropped_replay, s.disconnects);
    }
  else if (!strcmp (w[0], "quit"))
    g_main_loop_quit (loop);
  else
    printf ("error bad command\n");
  fflush (stdout);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  if (argc != 4 || strlen (argv[3]) != 32)
    {
      fprintf (stderr, "usage: %s CONNECT_DATA ML_ID RIKEY_HEX\n", argv[0]);
      return 2;
    }
  want_connect_data = (guint32)strtoul (argv[1], NULL, 0);
  want_ml_id = argv[2];
  for (int i = 0; i < 16; i++)
    want_key[i] = (guint8)(g_ascii_xdigit_value (argv[3][2 * i]) << 4
                           | g_ascii_xdigit_value (argv[3][2 * i + 1]));
  const LbMlControlCallbacks cb = { on_lookup, on_idr, on_input, on_disconnected };
  g_autoptr (GError) error = NULL;
  loop = g_main_loop_new (NULL, FALSE);
  control = lb_ml_control_new ("127.0.0.1", 0, &cb, NULL, &error);
  if (!control)
    {
      fprintf (stderr, "ml-control-driver: %s\n", error->message);
      return 1;
    }
  printf ("port %u\n", lb_ml_control_get_port (control));
  fflush (stdout);
  GIOChannel *ch = g_io_channel_unix_new (0);
  g_io_add_watch (ch, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, NULL);
  g_main_loop_run (loop);
  lb_ml_control_free (control);
  g_io_channel_unref (ch);
  g_main_loop_unref (loop);
  return 0;
}
