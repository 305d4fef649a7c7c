/* test-util.h — helpers shared by the unit tests. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include "lb-store.h"

/* Runs the default main context for @ms (its timers and idles fire) while
 * streaming threads go on. */
static inline void
test_spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)ms * 1000;
  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
}

/* Removes an SQLite database at @db_path with its WAL and shared-memory
 * files, then the (now empty) temporary directory that held it. */
static inline void
test_remove_db_dir (const char *db_path)
{
  const char *suffixes[] = { "", "-wal", "-shm", "-pending" };
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (db_path, suffixes[i], NULL);
      g_unlink (p);
    }
  g_autofree char *dir = g_path_get_dirname (db_path);
  g_rmdir (dir);
}

static inline void
test_count_row (const char *a, const char *b, const char *c, gint64 d, gpointer data)
{
  (*(guint *)data)++;
}

/* Rows in the store's sessions table. */
static inline guint
test_stored_sessions (LbStore *store)
{
  guint n = 0;
  lb_store_foreach_session (store, test_count_row, &n, NULL);
  return n;
}

/* Rows in the store's lobbies table. */
static inline guint
test_stored_lobbies (LbStore *store)
{
  guint n = 0;
  lb_store_foreach_lobby (store, test_count_row, &n, NULL);
  return n;
}

/* A live 64x48@30 test pattern into a tee named "t" that may run unlinked,
 * PLAYING; *@tee gets a reference to the tee. */
static inline GstElement *
test_live_tee_pipeline (GstElement **tee)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch ("videotestsrc is-live=true ! video/x-raw,width=64,"
                                           "height=48,framerate=30/1 ! tee name=t "
                                           "allow-not-linked=true",
                                           &error);
  g_assert_no_error (error);
  *tee = gst_bin_get_by_name (GST_BIN (pipeline), "t");
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  gst_element_get_state (pipeline, NULL, NULL, 5 * GST_SECOND);
  return pipeline;
}
