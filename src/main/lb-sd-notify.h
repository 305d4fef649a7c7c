/* lb-sd-notify.h — the systemd notify protocol (sd_notify(3)) spoken
 * directly over $NOTIFY_SOCKET: READY=1, STATUS=, WATCHDOG=1, STOPPING=1.
 *
 * Without NOTIFY_SOCKET (not started by systemd) every call is a no-op. The
 * environment variables are read once and removed, so Xvfb, the sound
 * servers and apps never speak for lobbyd. Sends never block: a gone
 * systemd costs a dropped datagram, not a stalled main loop. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _LbSdNotify LbSdNotify;

/* Reads (and unsets) NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID. */
LbSdNotify *lb_sd_notify_new (void);
void lb_sd_notify_free (LbSdNotify *self);

/* Whether a notify socket was given (systemd Type=notify). */
gboolean lb_sd_notify_enabled (const LbSdNotify *self);

/* READY=1 with the first STATUS=; then WATCHDOG=1 every WATCHDOG_USEC/2
 * from a timer on the thread-default main context, when systemd asked for a
 * watchdog for this process. A stalled main loop stops the pings. */
void lb_sd_notify_ready (LbSdNotify *self, const char *status);
/* STATUS=, sent only when it differs from the last one sent. */
void lb_sd_notify_status (LbSdNotify *self, const char *status);
/* STOPPING=1; stops the watchdog pings. */
void lb_sd_notify_stopping (LbSdNotify *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbSdNotify, lb_sd_notify_free)

G_END_DECLS
