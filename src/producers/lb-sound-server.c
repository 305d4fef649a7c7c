/* lb-sound-server.c — a PulseAudio child: spawn, readiness, exit watch, stop.
 *
 * The flags are fixed here (argv, never a shell line): no default script
 * (-n), one null sink and one native-protocol socket, no exit or module
 * loading by clients (an app cannot unload the sink or load a network
 * module), never exits when idle, no shared memory and no realtime/high
 * priority (those need rtkit on the system bus and only spam errors). */
#define G_LOG_DOMAIN "lobbyd-desktop"
#include "lb-sound-server.h"
#include "lb-error.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define SINK_NAME "lobby"
#define STOP_GRACE_MS 2000

struct _LbSoundServer
{
  char *dir;     /* /tmp/lobbyd-pulse-XXXXXX */
  char *socket;  /* <dir>/native */
  char *address; /* unix:<socket> */
  GPid pid;
  guint watch, kill_timer;
  gboolean stopping;
  LbSoundServerExitFunc on_exit;
  gpointer user_data;
};

static guint n_stopping;

static int
remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)ftw;
  if ((flag == FTW_DP ? rmdir (path) : unlink (path)) != 0 && errno != ENOENT)
    g_debug ("cannot remove %s: %s", path, g_strerror (errno));
  return 0;
}

/* The directory belongs to the apps user, who may have put anything in it:
 * FTW_PHYS never follows a symlink, FTW_MOUNT never leaves the file system. */
static void
remove_dir (const char *dir)
{
  if (dir != NULL)
    nftw (dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void
server_free (LbSoundServer *self)
{
  remove_dir (self->dir);
  g_free (self->dir);
  g_free (self->socket);
  g_free (self->address);
  g_free (self);
}

/* Frees a stopped server once it is reaped and its grace timer is gone. */
static void
maybe_free (LbSoundServer *self)
{
  if (!self->stopping || self->pid != 0 || self->kill_timer != 0)
    return;
  n_stopping--;
  server_free (self);
}

static void
on_server_exit (GPid pid, int status, gpointer user_data)
{
  LbSoundServer *self = user_data;

  self->watch = 0;
  self->pid = 0;
  g_spawn_close_pid (pid);
  if (self->stopping)
    {
      g_clear_handle_id (&self->kill_timer, g_source_remove);
      maybe_free (self);
      return;
    }
  g_autofree char *message
      = WIFSIGNALED (status)
            ? g_strdup_printf ("the sound server was killed (signal %d)", WTERMSIG (status))
            : g_strdup_printf ("the sound server exited (status %d)",
                               WIFEXITED (status) ? WEXITSTATUS (status) : -1);
  g_warning ("%s: %s", self->address, message);
  if (self->on_exit != NULL)
    self->on_exit (message, self->user_data);
}

LbSoundServer *
lb_sound_server_start (const char *binary, char **env, GSpawnChildSetupFunc setup,
                       gpointer setup_data, uid_t owner, LbSoundServerExitFunc on_exit,
                       gpointer user_data, GError **error)
{
  LbSoundServer *self = g_new0 (LbSoundServer, 1);
  g_autofree char *tmpl = g_strdup ("/tmp/lobbyd-pulse-XXXXXX");

  self->on_exit = on_exit;
  self->user_data = user_data;
  /* mkdtemp: a new 0700 directory no one else can have prepared. */
  if (mkdtemp (tmpl) == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_MEDIA,
                   "cannot create the sound server's directory: %s", g_strerror (errno));
      server_free (self);
      return NULL;
    }
  self->dir = g_steal_pointer (&tmpl);
  if (owner != geteuid () && chown (self->dir, owner, (gid_t)-1) != 0)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "cannot hand %s to uid %u: %s", self->dir,
                   (guint)owner, g_strerror (errno));
      server_free (self);
      return NULL;
    }
  self->socket = g_build_filename (self->dir, "native", NULL);
  self->address = g_strdup_printf ("unix:%s", self->socket);

  /* Its cookie, runtime files and state go into its own directory, not the
   * apps user's home (which may not exist) or lobbyd's. */
  g_auto (GStrv) child_env = g_strdupv (env);
  child_env = g_environ_setenv (child_env, "HOME", self->dir, TRUE);
  child_env = g_environ_setenv (child_env, "XDG_RUNTIME_DIR", self->dir, TRUE);
  child_env = g_environ_unsetenv (child_env, "DBUS_SESSION_BUS_ADDRESS");
  child_env = g_environ_unsetenv (child_env, "PULSE_SERVER");
  g_autofree char *sink_arg
      = g_strdup_printf ("module-null-sink sink_name=%s rate=48000 channels=2", SINK_NAME);
  g_autofree char *socket_arg
      = g_strdup_printf ("module-native-protocol-unix socket=%s auth-anonymous=1", self->socket);
  const char *argv[] = {
    binary,
    "--daemonize=no",
    "-n",
    "--exit-idle-time=-1",
    "--disable-shm=yes",
    "--use-pid-file=no",
    "--realtime=no",
    "--high-priority=no",
    "--disallow-exit=yes",
    "--disallow-module-loading=yes",
    "--log-target=stderr",
    "--log-level=error",
    "-L",
    sink_arg,
    "-L",
    socket_arg,
    NULL,
  };
  GSpawnFlags flags = G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL;
  if (strchr (binary, '/') == NULL)
    flags |= G_SPAWN_SEARCH_PATH;
  if (!g_spawn_async (self->dir, (char **)argv, child_env, flags, setup, setup_data, &self->pid,
                      error))
    {
      server_free (self);
      return NULL;
    }
  self->watch = g_child_watch_add (self->pid, on_server_exit, self);
  g_debug ("sound server %d started on %s", (int)self->pid, self->address);
  return self;
}

/* Whether something accepts connections on @path (a listening unix socket
 * accepts into its backlog at once: this never waits for the server). */
static gboolean
socket_answers (const char *path)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof sa.sun_path)
    return FALSE;
  strcpy (sa.sun_path, path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  gboolean ok = connect (fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  close (fd);
  return ok;
}

gboolean
lb_sound_server_wait_ready (LbSoundServer *self, gint64 deadline_us, GError **error)
{
  for (;;)
    {
      siginfo_t info = { 0 };
      if (self->pid == 0 || waitid (P_PID, (id_t)self->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0
          || info.si_pid != 0)
        {
          g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "the sound server exited at start");
          return FALSE;
        }
      if (socket_answers (self->socket))
        return TRUE;
      if (g_get_monotonic_time () > deadline_us)
        {
          g_set_error (error, LB_ERROR, LB_ERROR_MEDIA,
                       "the sound server did not open its socket in time");
          return FALSE;
        }
      g_usleep (5000);
    }
}

const char *
lb_sound_server_get_address (LbSoundServer *self)
{
  return self->address;
}

const char *
lb_sound_server_get_sink (LbSoundServer *self)
{
  (void)self;
  return SINK_NAME;
}

GPid
lb_sound_server_get_pid (LbSoundServer *self)
{
  return self->pid;
}

static gboolean
on_grace_over (gpointer user_data)
{
  LbSoundServer *self = user_data;
  self->kill_timer = 0;
  if (self->pid != 0)
    {
      g_info ("sound server %d did not exit on SIGTERM, killed", (int)self->pid);
      kill (self->pid, SIGKILL);
    }
  maybe_free (self);
  return G_SOURCE_REMOVE;
}

void
lb_sound_server_stop (LbSoundServer *self)
{
  if (self == NULL || self->stopping)
    return;
  self->stopping = TRUE;
  n_stopping++;
  if (self->pid != 0)
    {
      kill (self->pid, SIGTERM);
      self->kill_timer = g_timeout_add (STOP_GRACE_MS, on_grace_over, self);
    }
  maybe_free (self);
}

guint
lb_sound_server_n_stopping (void)
{
  return n_stopping;
}
