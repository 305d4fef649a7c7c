/* lb-desktop.c — Xvfb + one app, with child watches, and viewer input on a
 * thread of its own.
 *
 * Viewer input never makes an X call on the main loop: opening the display,
 * XKeysymToKeycode (a round trip for the keyboard map) and every flush can
 * block for as long as the X server does not read, and a stopped or slow
 * Xvfb would stall the whole daemon. Events go through a bounded queue to an
 * input thread that owns its own Display (each thread its own Display: no
 * Xlib object is shared between threads). The thread is started on the first
 * event and joined from the main loop once it has exited, so the desktop,
 * which the thread uses, is freed only after that. */
#define G_LOG_DOMAIN "lobbyd-desktop"
#include "lb-desktop.h"
#include "lb-error.h"
#include "lb-input-event.h"
#include "lb-sound-server.h"

#include <X11/XKBlib.h>
#include <X11/Xlib.h>
#include <X11/extensions/XTest.h>
#include <X11/keysym.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIRST_DISPLAY 90
#define LAST_DISPLAY 189
#define XVFB_START_TIMEOUT_US (5 * G_USEC_PER_SEC)
/* How long an app has between SIGTERM and SIGKILL when its lobby goes. */
#define APP_GRACE_MS 2000
/* Input events waiting for the X server; more are dropped (and counted). At
 * the per-viewer rate limit this is about a second of input. */
#define INPUT_QUEUE_MAX 256
/* Scroll steps per event: more is no wheel, and each step is two X requests. */
#define INPUT_SCROLL_MAX 100
/* Relative motion per event, in pixels: beyond any screen. */
#define INPUT_RELATIVE_MAX 65535

/* Who the app and its X server run as; resolved in the parent because only
 * async-signal-safe calls may run between fork and exec. */
typedef struct
{
  gboolean switch_user;
  uid_t uid;
  gid_t gid;
  gid_t groups[64];
  int n_groups;
} ChildSetup;

/* Shared between the main loop and the input thread, under @lock. */
typedef struct
{
  GMutex lock;
  GCond cond;
  LbInputEvent queue[INPUT_QUEUE_MAX]; /* keycodes are looked up on the input thread */
  guint head, len;
  gboolean quit;
  /* The thread's X connection while it is open, else -1: the main loop shuts
   * it down to wake the thread from a blocked Xlib call. The thread sets it
   * back to -1 under the lock before it closes the fd, so the main loop never
   * touches an fd number that may have been reused. */
  int fd;
  guint64 dropped;
} InputQueue;

struct _LbDesktop
{
  char *display;
  int number;
  GPid xvfb, app;
  pid_t app_group; /* the app's process group (its pid), kept after it is reaped */
  guint xvfb_watch, app_watch;
  guint kill_timer;
  LbDesktopExitFunc on_exit;
  LbDesktopExitFunc on_audio_exit;
  gpointer user_data;
  gboolean stopping, reported;
  /* The lobby's own sound server (NULL: no audio, or it failed to start);
   * its failure is the lobby's audio failure only (@audio_error). */
  LbSoundServer *sound;
  char *audio_error;
  guint width, height;
  /* Started on the first input event; main loop only. After stop, the
   * desktop is freed once the thread is joined (on_input_thread_exit). */
  GThread *input_thread;
  InputQueue input;
};

/* Stopped desktops whose children are not reaped (or input thread not joined)
 * yet. Main thread only. */
static GPtrArray *stopping_desktops;

static void
desktop_free (LbDesktop *self)
{
  g_mutex_clear (&self->input.lock);
  g_cond_clear (&self->input.cond);
  g_free (self->audio_error);
  g_free (self->display);
  g_free (self);
}

static void
maybe_free (LbDesktop *self)
{
  if (!self->stopping || self->xvfb != 0 || self->app != 0 || self->kill_timer != 0
      || self->input_thread != NULL)
    return;
  g_ptr_array_remove_fast (stopping_desktops, self);
  desktop_free (self);
}

static void
report (LbDesktop *self, const char *message)
{
  if (self->stopping || self->reported)
    return;
  self->reported = TRUE;
  g_warning ("desktop %s: %s", self->display, message);
  if (self->on_exit)
    self->on_exit (message, self->user_data);
}

static char *
lock_path (int n)
{
  return g_strdup_printf ("/tmp/.X%d-lock", n);
}

static char *
socket_path (int n)
{
  return g_strdup_printf ("/tmp/.X11-unix/X%d", n);
}

/* The pid in an X server's lock file, or 0. */
static pid_t
lock_owner (int n)
{
  g_autofree char *lock = lock_path (n);
  g_autofree char *text = NULL;
  guint64 pid = 0;

  if (!g_file_get_contents (lock, &text, NULL, NULL))
    return 0;
  g_strstrip (text);
  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXINT32, &pid, NULL))
    return 0;
  return (pid_t)pid;
}

/* A server killed with SIGKILL leaves its lock and socket behind, which would
 * keep its display number from ever being used again. Only files of @pid go. */
static void
remove_server_files (int n, pid_t pid)
{
  g_autofree char *lock = lock_path (n);
  g_autofree char *sock = socket_path (n);

  if (lock_owner (n) != pid)
    return;
  unlink (sock);
  unlink (lock);
}

/* A display is free when nothing holds its lock, or when the process named in
 * the lock is gone (its files are then stale and removed here). */
static gboolean
display_is_free (int n)
{
  g_autofree char *lock = lock_path (n);
  g_autofree char *sock = socket_path (n);

  if (g_file_test (lock, G_FILE_TEST_EXISTS))
    {
      pid_t pid = lock_owner (n);
      if (pid == 0 || kill (pid, 0) == 0 || errno != ESRCH)
        return FALSE;
      g_info ("display :%d: removing the stale lock of dead process %d", n, (int)pid);
      remove_server_files (n, pid);
      return !g_file_test (lock, G_FILE_TEST_EXISTS) && !g_file_test (sock, G_FILE_TEST_EXISTS);
    }
  return !g_file_test (sock, G_FILE_TEST_EXISTS);
}

/* Whether @pid is a process on its way out: the kernel flags it
 * (PF_EXITING) as soon as it starts dying, before it closes its sockets,
 * and it becomes waitable only after that. */
static gboolean
process_is_exiting (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return TRUE;                          /* gone */
  const char *rest = strrchr (text, ')'); /* the name may hold spaces and ')' */
  char state = 0;
  unsigned long flags = 0;
  if (rest == NULL || sscanf (rest + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
    return FALSE;
  return state == 'Z' || state == 'X' || (flags & 0x4 /* PF_EXITING */) != 0;
}

/* Whether our X server has died or is dying, its watch not yet run. When it
 * is killed its app usually exits at once on the broken connection, and
 * either watch may run first: the cause is the X server. The app can even be
 * reaped before the X server is: a killed process closes its sockets before
 * it becomes waitable, hence the /proc check. WNOWAIT leaves the reaping to
 * the watch; ECHILD means GLib has reaped it already. */
static gboolean
xvfb_has_exited (LbDesktop *self)
{
  siginfo_t info = { 0 };

  if (self->xvfb == 0)
    return FALSE;
  if (waitid (P_PID, (id_t)self->xvfb, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    return errno == ECHILD;
  return info.si_pid == self->xvfb || process_is_exiting (self->xvfb);
}

static void
on_app_exit (GPid pid, int status, gpointer user_data)
{
  LbDesktop *self = user_data;
  self->app_watch = 0;
  self->app = 0;
  g_spawn_close_pid (pid);
  g_autofree char *m = g_strdup_printf ("the application exited (status %d)",
                                        WIFEXITED (status) ? WEXITSTATUS (status) : -1);
  report (self, xvfb_has_exited (self) ? "the X server (Xvfb) exited" : m);
  /* Nothing left in its group: no need to wait for the grace period. */
  if (self->stopping && self->kill_timer != 0 && kill (-self->app_group, 0) != 0)
    g_clear_handle_id (&self->kill_timer, g_source_remove);
  maybe_free (self);
}

static void
on_xvfb_exit (GPid pid, int status, gpointer user_data)
{
  LbDesktop *self = user_data;
  self->xvfb_watch = 0;
  self->xvfb = 0;
  g_spawn_close_pid (pid);
  remove_server_files (self->number, pid);
  report (self, "the X server (Xvfb) exited");
  maybe_free (self);
}

/* The sound server went away: the desktop keeps running without sound. */
static void
on_sound_exit (const char *message, gpointer user_data)
{
  LbDesktop *self = user_data;
  if (self->stopping || self->audio_error != NULL)
    return;
  self->audio_error = g_strdup (message);
  if (self->on_audio_exit != NULL)
    self->on_audio_exit (message, self->user_data);
}

/* Between fork and exec: async-signal-safe calls only. Its own process group
 * lets lobbyd signal the app with everything it started. */
static void
child_setup (gpointer user_data)
{
  const ChildSetup *cs = user_data;

  setpgid (0, 0);
  if (!cs->switch_user)
    return;
  if (setgroups ((size_t)cs->n_groups, cs->groups) != 0 || setgid (cs->gid) != 0
      || setuid (cs->uid) != 0)
    _exit (127);
}

/* Resolves [apps] user into @cs and the child's environment. Root runs apps as
 * that user (never as uid 0 unless allowed); anyone else as themselves. */
static gboolean
resolve_user (const char *user, gboolean allow_root, ChildSetup *cs, GStrv *env, GError **error)
{
  struct passwd *pw;

  if (geteuid () != 0)
    pw = getpwuid (geteuid ());
  else
    {
      pw = getpwnam (user);
      if (pw == NULL)
        {
          g_set_error (error, LB_ERROR, LB_ERROR_CONFIG,
                       "[apps] user '%s' does not exist (scripts/deps.sh creates lobbyd-app)",
                       user);
          return FALSE;
        }
      if (pw->pw_uid == 0 && !allow_root)
        {
          g_set_error (error, LB_ERROR, LB_ERROR_CONFIG,
                       "refusing to run apps as root ([apps] user=%s); set [apps] allow_root=true "
                       "to allow it",
                       user);
          return FALSE;
        }
      cs->switch_user = TRUE;
      cs->uid = pw->pw_uid;
      cs->gid = pw->pw_gid;
      cs->n_groups = G_N_ELEMENTS (cs->groups);
      if (getgrouplist (pw->pw_name, pw->pw_gid, cs->groups, &cs->n_groups) < 0)
        {
          cs->groups[0] = pw->pw_gid;
          cs->n_groups = 1;
        }
    }
  if (pw == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "cannot look up user %u", (guint)geteuid ());
      return FALSE;
    }
  /* Only what an app needs from lobbyd's environment: the rest (tokens,
   * credentials) is not for a shell a viewer may control. */
  static const char *const keep[] = { "PATH", "LANG", "LANGUAGE", "LC_ALL", "TZ", "TERM", NULL };
  g_auto (GStrv) parent = g_get_environ ();
  GStrv e = NULL;
  for (const char *const *k = keep; *k != NULL; k++)
    if (g_environ_getenv (parent, *k) != NULL)
      e = g_environ_setenv (e, *k, g_environ_getenv (parent, *k), TRUE);
  if (g_environ_getenv (e, "PATH") == NULL)
    e = g_environ_setenv (e, "PATH", "/usr/local/bin:/usr/bin:/bin", TRUE);
  e = g_environ_setenv (e, "HOME", pw->pw_dir, TRUE);
  e = g_environ_setenv (e, "USER", pw->pw_name, TRUE);
  e = g_environ_setenv (e, "LOGNAME", pw->pw_name, TRUE);
  if (pw->pw_shell != NULL && *pw->pw_shell != '\0')
    e = g_environ_setenv (e, "SHELL", pw->pw_shell, TRUE);
  *env = e;
  return TRUE;
}

LbDesktop *
lb_desktop_start (guint width, guint height, const char *const *argv, const char *user,
                  gboolean allow_root, gboolean audio, const char *sound_binary,
                  guint sound_timeout_ms, LbDesktopExitFunc on_exit,
                  LbDesktopExitFunc on_audio_exit, gpointer user_data, GError **error)
{
  g_autoptr (LbDesktop) self = g_new0 (LbDesktop, 1);
  g_auto (GStrv) env = NULL;
  ChildSetup cs = { 0 };
  int n;

  self->on_exit = on_exit;
  self->on_audio_exit = on_audio_exit;
  self->user_data = user_data;
  self->width = width;
  self->height = height;
  g_mutex_init (&self->input.lock);
  g_cond_init (&self->input.cond);
  self->input.fd = -1;
  if (!resolve_user (user, allow_root, &cs, &env, error))
    return NULL;
  /* An X server that is not root cannot create the socket directory with
   * the owner and sticky bit X expects. */
  if (geteuid () == 0 && mkdir ("/tmp/.X11-unix", 01777) == 0)
    chmod ("/tmp/.X11-unix", 01777); /* despite the umask */
  for (n = FIRST_DISPLAY; n <= LAST_DISPLAY; n++)
    if (display_is_free (n))
      break;
  if (n > LAST_DISPLAY)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "no free X display between :%d and :%d",
                   FIRST_DISPLAY, LAST_DISPLAY);
      return NULL;
    }
  self->number = n;
  self->display = g_strdup_printf (":%d", n);
  const char *workdir = g_file_test (g_environ_getenv (env, "HOME"), G_FILE_TEST_IS_DIR)
                            ? g_environ_getenv (env, "HOME")
                            : "/";
  /* The sound server starts first and comes up while Xvfb does; it has a
   * deadline of its own, and missing it only costs the lobby its sound. */
  gint64 sound_deadline = g_get_monotonic_time () + (gint64)sound_timeout_ms * 1000;
  if (audio)
    {
      g_autoptr (GError) sound_error = NULL;
      self->sound = lb_sound_server_start (sound_binary, env, child_setup, &cs,
                                           cs.switch_user ? cs.uid : geteuid (), on_sound_exit,
                                           self, &sound_error);
      if (self->sound == NULL)
        self->audio_error
            = g_strdup_printf ("the sound server did not start: %s", sound_error->message);
    }
  g_autofree char *screen = g_strdup_printf ("%ux%ux24", width, height);
  const char *xvfb_argv[]
      = { "Xvfb", self->display, "-screen", "0", screen, "-nolisten", "tcp", "-noreset", NULL };
  if (!g_spawn_async (workdir, (char **)xvfb_argv, env,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL
                          | G_SPAWN_STDERR_TO_DEV_NULL,
                      child_setup, &cs, &self->xvfb, error))
    return NULL;
  self->xvfb_watch = g_child_watch_add (self->xvfb, on_xvfb_exit, self);

  g_autofree char *sock = socket_path (n);
  gint64 deadline = g_get_monotonic_time () + XVFB_START_TIMEOUT_US;
  while (!g_file_test (sock, G_FILE_TEST_EXISTS))
    {
      siginfo_t info = { 0 };
      /* WNOWAIT: the child watch reaps it. */
      if (g_get_monotonic_time () > deadline
          || waitid (P_PID, (id_t)self->xvfb, &info, WEXITED | WNOHANG | WNOWAIT) != 0
          || info.si_pid != 0)
        {
          g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "Xvfb did not start on %s", self->display);
          return NULL;
        }
      g_usleep (10000);
    }

  if (self->sound != NULL)
    {
      g_autoptr (GError) sound_error = NULL;
      gint64 t0 = g_get_monotonic_time ();
      if (lb_sound_server_wait_ready (self->sound, sound_deadline, &sound_error))
        {
          env = g_environ_setenv (env, "PULSE_SERVER", lb_sound_server_get_address (self->sound),
                                  TRUE);
          env = g_environ_setenv (env, "PULSE_SINK", lb_sound_server_get_sink (self->sound), TRUE);
          g_debug ("desktop %s: sound server %s ready (%.1f ms after Xvfb)", self->display,
                   lb_sound_server_get_address (self->sound), (g_get_monotonic_time () - t0) / 1e3);
        }
      else
        {
          g_warning ("desktop %s: no sound: %s", self->display, sound_error->message);
          self->audio_error = g_strdup (sound_error->message);
          g_clear_pointer (&self->sound, lb_sound_server_stop);
        }
    }
  else if (audio)
    g_warning ("desktop %s: no sound: %s", self->display, self->audio_error);

  env = g_environ_setenv (env, "DISPLAY", self->display, TRUE);
  if (!g_spawn_async (workdir, (char **)argv, env,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                      child_setup, &cs, &self->app, error))
    return NULL;
  self->app_group = self->app;
  self->app_watch = g_child_watch_add (self->app, on_app_exit, self);
  g_info ("desktop %s: %s started as uid %u", self->display, argv[0],
          (guint)(cs.switch_user ? cs.uid : geteuid ()));
  return g_steal_pointer (&self);
}

/* The keysym for one character of a text event: Latin-1 keysyms are their
 * code points, the rest X11's Unicode keysyms (0x01000000 + code point). */
static KeySym
keysym_for_char (gunichar c)
{
  if ((c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff))
    return c;
  return 0x01000000 | c;
}

static void
fake_key (Display *x, KeySym sym, gboolean pressed)
{
  KeyCode code = XKeysymToKeycode (x, sym);
  if (code != 0)
    XTestFakeKeyEvent (x, code, pressed, CurrentTime);
}

/* One character of a text event: its key, with Shift where the character
 * is the key's second level (the keymap's, US on Xvfb). A character the
 * keymap has no key for is skipped. */
static void
fake_char (Display *x, KeySym sym)
{
  KeyCode code = XKeysymToKeycode (x, sym);
  if (code == 0)
    return;
  KeyCode shift
      = XkbKeycodeToKeysym (x, code, 0, 0) != sym && XkbKeycodeToKeysym (x, code, 0, 1) == sym
            ? XKeysymToKeycode (x, XK_Shift_L)
            : 0;
  if (shift != 0)
    XTestFakeKeyEvent (x, shift, True, CurrentTime);
  XTestFakeKeyEvent (x, code, True, CurrentTime);
  XTestFakeKeyEvent (x, code, False, CurrentTime);
  if (shift != 0)
    XTestFakeKeyEvent (x, shift, False, CurrentTime);
}

/* Clicks of X's wheel buttons (4 up, 5 down, 6 left, 7 right), one per
 * step. A button the pointer lacks would be a BadValue error, which Xlib's
 * default handler makes fatal: such steps are skipped. */
static void
fake_wheel (Display *x, int steps, guint negative, guint positive)
{
  guint button = steps < 0 ? negative : positive;
  unsigned char map[1];
  if (steps == 0 || (guint)XGetPointerMapping (x, map, 0) < button)
    return;
  for (int i = 0; i < ABS (steps); i++)
    {
      XTestFakeButtonEvent (x, button, True, CurrentTime);
      XTestFakeButtonEvent (x, button, False, CurrentTime);
    }
}

static void
apply_event (LbDesktop *self, Display *x, const LbInputEvent *ev)
{
  switch (ev->type)
    {
    case LB_INPUT_MOTION:
      {
        int px, py;
        lb_input_event_scale_motion (ev, self->width, self->height, &px, &py);
        XTestFakeMotionEvent (x, -1, px, py, CurrentTime);
        break;
      }
    case LB_INPUT_MOTION_RELATIVE:
      XTestFakeRelativeMotionEvent (x, ev->relative.dx, ev->relative.dy, CurrentTime);
      break;
    case LB_INPUT_BUTTON:
      XTestFakeButtonEvent (x, ev->button.button, ev->button.pressed, CurrentTime);
      break;
    case LB_INPUT_SCROLL:
      fake_wheel (x, ev->scroll.dy, 4, 5);
      fake_wheel (x, ev->scroll.dx, 6, 7);
      break;
    case LB_INPUT_KEY:
      fake_key (x, ev->key.keysym, ev->key.pressed);
      break;
    case LB_INPUT_TEXT:
      for (const char *p = ev->text.utf8; *p != '\0'; p = g_utf8_next_char (p))
        fake_char (x, keysym_for_char (g_utf8_get_char (p)));
      break;
    }
  XFlush (x);
}

/* Joins the input thread that has just exited (it queued this as its last
 * act), then lets the desktop go if nothing else holds it. */
static gboolean
on_input_thread_exit (gpointer user_data)
{
  LbDesktop *self = user_data;
  g_thread_join (g_steal_pointer (&self->input_thread));
  maybe_free (self);
  return G_SOURCE_REMOVE;
}

static gpointer
input_thread (gpointer user_data)
{
  LbDesktop *self = user_data;
  InputQueue *q = &self->input;
  Display *x = NULL;
  gint64 retry_at = 0;
  gboolean warned = FALSE;

  for (;;)
    {
      LbInputEvent ev;

      g_mutex_lock (&q->lock);
      while (q->len == 0 && !q->quit)
        g_cond_wait (&q->cond, &q->lock);
      if (q->quit)
        {
          /* From here on the fd is closed, and may be reused: stop must not
           * shut it down any more. */
          q->fd = -1;
          g_mutex_unlock (&q->lock);
          break;
        }
      ev = q->queue[q->head];
      q->head = (q->head + 1) % INPUT_QUEUE_MAX;
      q->len--;
      g_mutex_unlock (&q->lock);

      if (x == NULL && g_get_monotonic_time () >= retry_at)
        {
          /* Blocks until the server answers; a stopped server is SIGKILLed by
           * lb_desktop_stop(), which ends the wait. */
          x = XOpenDisplay (self->display);
          if (x == NULL)
            {
              /* Events meanwhile are dropped, not each a new attempt. */
              retry_at = g_get_monotonic_time () + G_USEC_PER_SEC;
              g_mutex_lock (&q->lock);
              if (!warned && !q->quit) /* not when the stop killed the server */
                g_warning ("desktop %s: cannot open the display for input", self->display);
              g_mutex_unlock (&q->lock);
              warned = TRUE;
            }
          else
            {
              g_mutex_lock (&q->lock);
              q->fd = ConnectionNumber (x);
              /* Stopped while XOpenDisplay ran: what follows must not wait. */
              if (q->quit)
                shutdown (q->fd, SHUT_RDWR);
              g_mutex_unlock (&q->lock);
            }
        }
      /* After an IO error (server gone, or the connection shut down by stop)
       * Xlib calls on the Display return at once. */
      if (x != NULL)
        apply_event (self, x, &ev);
    }

  if (x != NULL)
    {
      /* Nothing queued matters any more: with the socket shut down,
       * XCloseDisplay cannot wait for a server that does not read. */
      shutdown (ConnectionNumber (x), SHUT_RDWR);
      XCloseDisplay (x);
    }
  /* The last use of @self here: the main loop joins this thread before it
   * can free the desktop. */
  g_idle_add (on_input_thread_exit, self);
  return NULL;
}

/* Main loop: queues @ev for the input thread (started on first use); drops
 * it when the X server is too far behind. */
static void
queue_event (LbDesktop *self, const LbInputEvent *ev)
{
  InputQueue *q = &self->input;
  gboolean dropped = FALSE;
  guint64 n_dropped = 0;

  if (self->input_thread == NULL)
    {
      g_autoptr (GError) error = NULL;
      self->input_thread = g_thread_try_new ("lb-xinput", input_thread, self, &error);
      if (self->input_thread == NULL)
        {
          g_warning ("desktop %s: no input thread: %s", self->display, error->message);
          return;
        }
    }
  g_mutex_lock (&q->lock);
  if (q->len < INPUT_QUEUE_MAX)
    {
      q->queue[(q->head + q->len) % INPUT_QUEUE_MAX] = *ev;
      q->len++;
      g_cond_signal (&q->cond);
    }
  else
    {
      dropped = TRUE;
      n_dropped = ++q->dropped;
    }
  g_mutex_unlock (&q->lock);
  /* The first drop, then every 1,000th. */
  if (dropped && n_dropped % 1000 == 1)
    g_warning ("desktop %s: the X server is not taking input, %" G_GUINT64_FORMAT " events dropped",
               self->display, n_dropped);
}

/* -max..max, without ABS () of INT_MIN. */
static gboolean
within (int v, int max)
{
  return v >= -max && v <= max;
}

/* What X would refuse with an error (which Xlib's default handler makes
 * fatal) or what would flood it; events come from any output. */
static gboolean
event_is_sane (const LbInputEvent *ev)
{
  switch (ev->type)
    {
    case LB_INPUT_KEY:
    case LB_INPUT_MOTION:
      return TRUE;
    case LB_INPUT_MOTION_RELATIVE:
      return within (ev->relative.dx, INPUT_RELATIVE_MAX)
             && within (ev->relative.dy, INPUT_RELATIVE_MAX);
    case LB_INPUT_BUTTON:
      return ev->button.button >= 1 && ev->button.button <= 5;
    case LB_INPUT_SCROLL:
      return within (ev->scroll.dx, INPUT_SCROLL_MAX) && within (ev->scroll.dy, INPUT_SCROLL_MAX);
    case LB_INPUT_TEXT:
      return memchr (ev->text.utf8, '\0', sizeof ev->text.utf8) != NULL
             && g_utf8_validate (ev->text.utf8, -1, NULL);
    }
  return FALSE;
}

void
lb_desktop_input (LbDesktop *self, const LbInputEvent *event)
{
  if (self->reported || self->stopping)
    return; /* the X server or the app is gone */
  if (!event_is_sane (event))
    {
      g_autofree char *text = lb_input_event_to_string (event);
      g_debug ("desktop %s: input event dropped: %s", self->display, text);
      return;
    }
  queue_event (self, event);
}

const char *
lb_desktop_get_display (LbDesktop *self)
{
  return self->display;
}

const char *
lb_desktop_get_sound_server (LbDesktop *self)
{
  return self->sound != NULL && self->audio_error == NULL
             ? lb_sound_server_get_address (self->sound)
             : NULL;
}

GPid
lb_desktop_get_sound_server_pid (LbDesktop *self)
{
  return self->sound != NULL ? lb_sound_server_get_pid (self->sound) : 0;
}

const char *
lb_desktop_get_audio_error (LbDesktop *self)
{
  return self->audio_error;
}

static gboolean
on_grace_over (gpointer user_data)
{
  LbDesktop *self = user_data;
  self->kill_timer = 0;
  if (self->app_group != 0 && kill (-self->app_group, SIGKILL) == 0)
    g_info ("desktop %s: the app did not exit on SIGTERM, killed", self->display);
  maybe_free (self);
  return G_SOURCE_REMOVE;
}

/* Nothing here waits for a child: a stopped app or X server must not stall
 * the main loop. The child watches reap them; the desktop frees itself then. */
void
lb_desktop_stop (LbDesktop *self)
{
  if (self == NULL || self->stopping)
    return;
  self->stopping = TRUE;
  /* The X server goes first and at once (it keeps no state): ximagesrc may be
   * blocked on it, and the capture pipeline can only stop once it is gone. */
  if (self->xvfb != 0)
    kill (self->xvfb, SIGKILL);
  if (self->input_thread != NULL)
    {
      /* Never joined here: the thread may be blocked inside Xlib on a server
       * that does not read. Shutting its socket down makes that call fail at
       * once (an IO error that lb-xlib.c turns into a return); the thread
       * then exits and the main loop joins it (on_input_thread_exit). Before
       * the connection is open, the SIGKILL above ends XOpenDisplay's wait. */
      g_mutex_lock (&self->input.lock);
      self->input.quit = TRUE;
      if (self->input.fd >= 0)
        shutdown (self->input.fd, SHUT_RDWR);
      if (self->input.dropped > 0)
        g_info ("desktop %s: %" G_GUINT64_FORMAT " input events were dropped", self->display,
                self->input.dropped);
      g_cond_signal (&self->input.cond);
      g_mutex_unlock (&self->input.lock);
    }
  if (self->app_group != 0)
    {
      /* SIGCONT so that a stopped app can act on SIGTERM. */
      kill (-self->app_group, SIGTERM);
      kill (-self->app_group, SIGCONT);
      self->kill_timer = g_timeout_add (APP_GRACE_MS, on_grace_over, self);
    }
  /* Last: the app may still be playing into it. It reaps and frees itself. */
  g_clear_pointer (&self->sound, lb_sound_server_stop);
  if (stopping_desktops == NULL)
    stopping_desktops = g_ptr_array_new ();
  g_ptr_array_add (stopping_desktops, self);
  maybe_free (self);
}

static gboolean
on_wait_timeout (gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

void
lb_desktop_wait_all (void)
{
  gboolean timed_out = FALSE;
  guint timeout;

  if (stopping_desktops == NULL)
    return;
  timeout = g_timeout_add (APP_GRACE_MS + 1000, on_wait_timeout, &timed_out);
  while ((stopping_desktops->len > 0 || lb_sound_server_n_stopping () > 0) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout);
  for (guint i = 0; i < stopping_desktops->len; i++)
    {
      LbDesktop *self = g_ptr_array_index (stopping_desktops, i);
      g_warning ("desktop %s: children or input thread still running at exit", self->display);
    }
  g_clear_pointer (&stopping_desktops, g_ptr_array_unref);
}
