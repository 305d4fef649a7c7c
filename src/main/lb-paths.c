/* lb-paths.c — installed or source-tree files, decided by the executable's path. */
#define G_LOG_DOMAIN "lobbyd"
#include "lb-paths.h"
#include "lb-build-config.h"

#include <string.h>

/* <root>@installed, where <root> is what is left of the executable's
 * directory before LB_BINDIR; NULL when it runs inside the build root. */
static char *
installed_path (const char *installed)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  if (exe != NULL && g_str_has_prefix (exe, LB_BUILD_ROOT "/"))
    return NULL;
  g_autofree char *dir = exe != NULL ? g_path_get_dirname (exe) : NULL;
  gsize root_len
      = dir != NULL && g_str_has_suffix (dir, LB_BINDIR) ? strlen (dir) - strlen (LB_BINDIR) : 0;
  g_autofree char *root = g_strndup (dir != NULL ? dir : "", root_len);
  return g_strconcat (root, installed, NULL);
}

char *
lb_paths_web_dir (void)
{
  g_autofree char *installed = installed_path (LB_DATADIR "/lobbyd/web");
  /* A binary copied out of its build dir still has its source tree. */
  if (installed == NULL
      || (!g_file_test (installed, G_FILE_TEST_IS_DIR)
          && g_file_test (LB_WEB_DIR, G_FILE_TEST_IS_DIR)))
    return g_strdup (LB_WEB_DIR);
  return g_steal_pointer (&installed);
}

char *
lb_paths_default_config (void)
{
  g_autofree char *path = installed_path (LB_SYSCONFDIR "/lobbyd/lobbyd.conf");
  return path != NULL && g_file_test (path, G_FILE_TEST_IS_REGULAR) ? g_steal_pointer (&path)
                                                                    : NULL;
}
