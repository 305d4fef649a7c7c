/* lb-paths.c — installed or source-tree files, decided by the executable's path. */
#define G_LOG_DOMAIN "lobbyd"
#include "lb-paths.h"
#include "lb-build-config.h"

#include <string.h>

typedef struct
{
  gboolean in_build_root;
  char *root; /* prefix of the install paths: "" or a DESTDIR */
} Location;

static void
locate (Location *loc)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = exe != NULL ? g_path_get_dirname (exe) : NULL;

  loc->in_build_root = exe != NULL && g_str_has_prefix (exe, LB_BUILD_ROOT "/");
  loc->root = g_strdup ("");
  if (dir != NULL && g_str_has_suffix (dir, LB_BINDIR))
    {
      g_free (loc->root);
      loc->root = g_strndup (dir, strlen (dir) - strlen (LB_BINDIR));
    }
}

char *
lb_paths_web_dir (void)
{
  Location loc;
  locate (&loc);
  g_autofree char *root = loc.root;
  if (loc.in_build_root)
    return g_strdup (LB_WEB_DIR);
  char *installed = g_strconcat (root, LB_DATADIR, "/lobbyd/web", NULL);
  /* A binary copied out of its build dir still has its source tree. */
  if (!g_file_test (installed, G_FILE_TEST_IS_DIR) && g_file_test (LB_WEB_DIR, G_FILE_TEST_IS_DIR))
    {
      g_free (installed);
      return g_strdup (LB_WEB_DIR);
    }
  return installed;
}

char *
lb_paths_default_config (void)
{
  Location loc;
  locate (&loc);
  g_autofree char *root = loc.root;
  if (loc.in_build_root)
    return NULL;
  g_autofree char *path = g_strconcat (root, LB_SYSCONFDIR, "/lobbyd/lobbyd.conf", NULL);
  return g_file_test (path, G_FILE_TEST_IS_REGULAR) ? g_steal_pointer (&path) : NULL;
}
