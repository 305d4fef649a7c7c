/* lb-desktop.h — a headless X server (Xvfb) on a free display with one
 * application from the config's catalogue, for x11-app lobbies. */
#pragma once

#include "lb-types.h"

G_BEGIN_DECLS

typedef struct _LbDesktop LbDesktop;

/* Called on the main loop once, when the app or the X server is gone. */
typedef void (*LbDesktopExitFunc) (const char *message, gpointer user_data);

/* @argv: the catalogue's command line for the app (never request text).
 * When lobbyd runs as root, the app and its X server run as @user (uid 0 only
 * with @allow_root, else LB_ERROR_CONFIG); otherwise as lobbyd's own user.
 * With @audio, a sound server (@sound_binary, lb-sound-server.h) runs as the
 * same user, started alongside Xvfb, and the app gets PULSE_SERVER and
 * PULSE_SINK. A sound server that does not start (or not within
 * @sound_timeout_ms) or dies later is no desktop failure: the desktop runs on
 * without sound, lb_desktop_get_audio_error() says why, and a later death
 * calls @on_audio_exit (once, on the main loop). */
LbDesktop *lb_desktop_start (guint width, guint height, const char *const *argv, const char *user,
                             gboolean allow_root, gboolean audio, const char *sound_binary,
                             guint sound_timeout_ms, LbDesktopExitFunc on_exit,
                             LbDesktopExitFunc on_audio_exit, gpointer user_data, GError **error);
/* ":99" */
const char *lb_desktop_get_display (LbDesktop *desktop);
/* The sound server's address ("unix:/tmp/lobbyd-pulse-…/native"), or NULL:
 * no audio, or it failed. */
const char *lb_desktop_get_sound_server (LbDesktop *desktop);
/* Its pid, 0 when there is none (or it has exited). */
GPid lb_desktop_get_sound_server_pid (LbDesktop *desktop);
/* Why the desktop has no sound although it was asked for, else NULL. */
const char *lb_desktop_get_audio_error (LbDesktop *desktop);
/* Queues one input event from a viewer (copied): a key by keysym, pointer
 * motion (absolute positions scaled from the stream's picture to the
 * screen), a button (1-5), wheel steps as buttons 4-7, text typed key by
 * key. Never blocks: the desktop's input thread looks the keycodes up and
 * injects it (XTest); events X would refuse, and events beyond 256 the X
 * server has not taken yet, are dropped. */
void lb_desktop_input (LbDesktop *desktop, const LbInputEvent *event);
/* Stops the desktop without waiting: the X server is killed at once, the
 * app's process group gets SIGTERM (+SIGCONT) and SIGKILL after a grace
 * period, the input thread is woken to exit; child watches reap the children,
 * the main loop joins the thread, and the desktop is freed after that. No
 * callback runs once this is called. */
void lb_desktop_stop (LbDesktop *desktop);
/* At exit, after the last lb_desktop_stop(): runs the main context until every
 * stopped desktop's children are reaped (at most the grace period + 1 s). */
void lb_desktop_wait_all (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbDesktop, lb_desktop_stop)

G_END_DECLS
