/* ml-mdns-driver.c — runs lb-ml-mdns on a main loop for
 * tests/integration/test_ml_mdns.py:
 *
 *   ml-mdns-driver NAME PORT
 *
 * Prints "ready" on stdout once the main loop runs; on SIGTERM or SIGINT
 * frees the announcer, lets the main loop send the withdrawal, prints
 * "bye" and exits 0. Log lines go to stderr. */
#include "lb-ml-mdns.h"

#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>

static LbMlMdns *mdns;

static gboolean
quit_soon (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_signal (gpointer loop)
{
  g_clear_pointer (&mdns, lb_ml_mdns_free);
  /* A moment for the queued D-Bus calls to leave; the bus connection's
   * closing at exit withdraws the service anyway. */
  g_timeout_add (200, quit_soon, loop);
  return G_SOURCE_REMOVE;
}

static gboolean
say_ready (gpointer data)
{
  puts ("ready");
  fflush (stdout);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  if (argc != 3)
    {
      fprintf (stderr, "usage: ml-mdns-driver NAME PORT\n");
      return 2;
    }
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  mdns = lb_ml_mdns_new (argv[1], (guint16)atoi (argv[2]));
  g_unix_signal_add (SIGTERM, on_signal, loop);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_idle_add (say_ready, NULL);
  g_main_loop_run (loop);
  g_clear_pointer (&mdns, lb_ml_mdns_free);
  puts ("bye");
  return 0;
}
