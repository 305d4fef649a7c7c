/* test-util.h — helpers shared by the unit tests. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

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
