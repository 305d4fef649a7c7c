/* lb-xlib.c — keeps a dead X server from exiting the daemon.
 *
 * libX11 (>= 1.7) _XIOError runs, for a broken connection:
 *     exit_handler = dpy->exit_handler;        (copied first)
 *     (*_XIOErrorFunction) (dpy);              (the global handler)
 *     exit_handler (dpy, exit_handler_data);   (default: exit (1))
 *     return 1;
 * so the global handler must return, and each Display's exit handler must be
 * replaced before the error happens: setting it from the global handler is
 * too late. ximagesrc opens its own Display inside the plugin, with no hook to
 * reach it, so lobbyd interposes XOpenDisplay (exported from the executable,
 * see src/meson.build) and installs the exit handler on every Display as it
 * is opened. After the error the Display is marked broken; Xlib calls on it
 * return at once and XCloseDisplay frees it.
 *
 * With Xlib threads on (some library in the process calls XInitThreads),
 * _XIOError also takes the Display's user lock for the failing thread, since
 * it expects the process to exit, and never releases it: the next call on
 * that Display from another thread (ximagesrc's stop on the main thread, after
 * its streaming thread saw the error) would wait forever. The exit handler,
 * which runs on the failing thread, releases it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define G_LOG_DOMAIN "lobbyd-desktop"
#include "lb-xlib.h"

#include <X11/Xlib.h>
#include <dlfcn.h>
#include <signal.h>

static int
on_io_error (Display *dpy)
{
  g_info ("X connection to %s lost", DisplayString (dpy));
  return 0;
}

static void
on_io_error_exit (Display *dpy, void *user_data)
{
  /* Return into Xlib: the call that found the broken connection fails and the
   * owner of the Display (the lobby's desktop or its capture) tears it down. */
  XUnlockDisplay (dpy);
}

void
lb_xlib_init (void)
{
  XSetIOErrorHandler (on_io_error);
  /* Xlib writes with writev(): a write to a server that is gone, or to a
   * connection lobbyd shut down to wake a blocked input thread, must fail
   * with EPIPE (an IO error, handled above), not kill the process. GIO
   * ignores SIGPIPE too, but only once its first socket is made. */
  signal (SIGPIPE, SIG_IGN);
}

typedef Display *(*OpenDisplayFunc) (const char *name);

Display *XOpenDisplay (const char *name);

Display *
XOpenDisplay (const char *name)
{
  static gsize real;

  if (g_once_init_enter (&real))
    {
      gpointer f = dlsym (RTLD_NEXT, "XOpenDisplay");
      if (f == NULL)
        g_error ("XOpenDisplay not found in libX11: %s", dlerror ());
      g_once_init_leave (&real, (gsize)f);
    }
  Display *dpy = ((OpenDisplayFunc)real) (name);
  if (dpy != NULL)
    XSetIOErrorExitHandler (dpy, on_io_error_exit, NULL);
  return dpy;
}
