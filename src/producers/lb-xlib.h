/* lb-xlib.h — process-wide Xlib policy: a lost X connection never ends lobbyd.
 *
 * Xlib's default fatal-IO-error path calls exit(). lobbyd talks to X servers it
 * does not control the life of (an app's Xvfb can be killed at any time), from
 * the main loop (viewer input) and from ximagesrc's streaming threads, so a
 * dead X server must cost only its own lobby. */
#pragma once

#include "lb-types.h"

G_BEGIN_DECLS

/* Call first in main(), before any other Xlib or GStreamer call: installs an
 * IO error handler that logs and returns, and ignores SIGPIPE. Every
 * Display opened afterwards, by lobbyd or by a GStreamer element, gets an IO
 * error exit handler that returns instead of exiting. */
void lb_xlib_init (void);

G_END_DECLS
