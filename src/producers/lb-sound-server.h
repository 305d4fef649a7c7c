/* lb-sound-server.h — one PulseAudio sound server for one desktop lobby:
 * a null sink "lobby" the app plays into, whose monitor the lobby captures,
 * on a native-protocol socket in a 0700 directory of its own. One server per
 * lobby (not one shared server with a sink per lobby): an app can only list,
 * record or move the streams of its own server. */
#pragma once

#include <sys/types.h>
#include "lb-types.h"

G_BEGIN_DECLS

typedef struct _LbSoundServer LbSoundServer;

/* Called on the main loop at most once, when the server exits on its own
 * (never after lb_sound_server_stop()). */
typedef void (*LbSoundServerExitFunc) (const char *message, gpointer user_data);

/* Spawns @binary (a config value, never request text; searched in PATH when
 * it has no '/') with @env plus HOME/XDG_RUNTIME_DIR set to a fresh
 * /tmp/lobbyd-pulse-XXXXXX (0700, chowned to @owner) that holds its socket.
 * @setup runs between fork and exec (e.g. switches to the apps user). Does
 * not wait for the server: see lb_sound_server_wait_ready(). */
LbSoundServer *lb_sound_server_start (const char *binary, char **env, GSpawnChildSetupFunc setup,
                                      gpointer setup_data, uid_t owner,
                                      LbSoundServerExitFunc on_exit, gpointer user_data,
                                      GError **error);
/* Blocks until the server accepts connections on its socket (TRUE), or it
 * exited or @deadline_us (monotonic) passed (FALSE, with @error). */
gboolean lb_sound_server_wait_ready (LbSoundServer *server, gint64 deadline_us, GError **error);
/* "unix:/tmp/lobbyd-pulse-ab12CD/native": PULSE_SERVER, pulsesrc's server. */
const char *lb_sound_server_get_address (LbSoundServer *server);
/* "lobby": PULSE_SINK; its monitor "lobby.monitor" is what a lobby captures. */
const char *lb_sound_server_get_sink (LbSoundServer *server);
/* 0 once it has exited. */
GPid lb_sound_server_get_pid (LbSoundServer *server);
/* SIGTERM, SIGKILL after 2 s; never waits: the child watch reaps it, removes
 * its directory and frees @server. No callback runs once this is called. */
void lb_sound_server_stop (LbSoundServer *server);
/* Servers stopped but not reaped yet (lb_desktop_wait_all() waits for them). */
guint lb_sound_server_n_stopping (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbSoundServer, lb_sound_server_stop)

G_END_DECLS
