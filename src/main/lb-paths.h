/* lb-paths.h — where lobbyd's own files are: the install prefix's when it
 * runs installed, the source tree's when it runs from its meson build dir.
 *
 * No environment variables: the executable's path (/proc/self/exe) decides.
 * Inside the build root (LB_BUILD_ROOT) → <source>/web and no config file
 * (the embedded defaults). Otherwise <root>LB_DATADIR/lobbyd/web and
 * <root>LB_SYSCONFDIR/lobbyd/lobbyd.conf, where <root> is what is left of
 * the executable's directory before LB_BINDIR: "" when installed, the
 * DESTDIR of a staged install (`meson install --destdir`). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The web UI's folder. */
char *lb_paths_web_dir (void);
/* The installed lobbyd.conf, or NULL (run from the build dir, or none installed). */
char *lb_paths_default_config (void);

G_END_DECLS
