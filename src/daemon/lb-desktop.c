/* lb-desktop.c — Xvfb + one app, with child watches. */
#define G_LOG_DOMAIN "lobbyd-desktop"
#include "lb-desktop.h"
#include "lb-error.h"

#include <X11/Xlib.h>
#include <X11/extensions/XTest.h>
#include <X11/keysym.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIRST_DISPLAY 90
#define LAST_DISPLAY 189
#define XVFB_START_TIMEOUT_US (5 * G_USEC_PER_SEC)

struct _LbDesktop
{
  char *display;
  GPid xvfb, app;
  guint xvfb_watch, app_watch;
  LbDesktopExitFunc on_exit;
  gpointer user_data;
  gboolean stopping, reported;
  guint width, height;
  Display *x; /* input connection, opened on first use */
};

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

static void
on_app_exit (GPid pid, int status, gpointer user_data)
{
  LbDesktop *self = user_data;
  self->app_watch = 0;
  self->app = 0;
  g_spawn_close_pid (pid);
  g_autofree char *m = g_strdup_printf ("the application exited (status %d)",
                                        WIFEXITED (status) ? WEXITSTATUS (status) : -1);
  report (self, m);
}

static void
on_xvfb_exit (GPid pid, int status, gpointer user_data)
{
  LbDesktop *self = user_data;
  self->xvfb_watch = 0;
  self->xvfb = 0;
  g_spawn_close_pid (pid);
  report (self, "the X server (Xvfb) exited");
}

LbDesktop *
lb_desktop_start (guint width, guint height, const char *const *argv, LbDesktopExitFunc on_exit,
                  gpointer user_data, GError **error)
{
  g_autoptr (LbDesktop) self = g_new0 (LbDesktop, 1);
  int n;

  self->on_exit = on_exit;
  self->user_data = user_data;
  self->width = width;
  self->height = height;
  /* A display is free when neither its lock file nor its socket exists. */
  for (n = FIRST_DISPLAY; n <= LAST_DISPLAY; n++)
    {
      g_autofree char *lock = g_strdup_printf ("/tmp/.X%d-lock", n);
      g_autofree char *sock = g_strdup_printf ("/tmp/.X11-unix/X%d", n);
      if (!g_file_test (lock, G_FILE_TEST_EXISTS) && !g_file_test (sock, G_FILE_TEST_EXISTS))
        break;
    }
  if (n > LAST_DISPLAY)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "no free X display between :%d and :%d",
                   FIRST_DISPLAY, LAST_DISPLAY);
      return NULL;
    }
  self->display = g_strdup_printf (":%d", n);
  g_autofree char *screen = g_strdup_printf ("%ux%ux24", width, height);
  const char *xvfb_argv[]
      = { "Xvfb", self->display, "-screen", "0", screen, "-nolisten", "tcp", "-noreset", NULL };
  if (!g_spawn_async (NULL, (char **)xvfb_argv, NULL,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL
                          | G_SPAWN_STDERR_TO_DEV_NULL,
                      NULL, NULL, &self->xvfb, error))
    return NULL;
  self->xvfb_watch = g_child_watch_add (self->xvfb, on_xvfb_exit, self);

  g_autofree char *sock = g_strdup_printf ("/tmp/.X11-unix/X%d", n);
  gint64 deadline = g_get_monotonic_time () + XVFB_START_TIMEOUT_US;
  while (!g_file_test (sock, G_FILE_TEST_EXISTS))
    {
      if (g_get_monotonic_time () > deadline || kill (self->xvfb, 0) != 0)
        {
          g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "Xvfb did not start on %s", self->display);
          return NULL;
        }
      g_usleep (10000);
    }

  g_auto (GStrv) env = g_environ_setenv (g_get_environ (), "DISPLAY", self->display, TRUE);
  if (!g_spawn_async (NULL, (char **)argv, env,
                      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, &self->app, error))
    return NULL;
  self->app_watch = g_child_watch_add (self->app, on_app_exit, self);
  g_info ("desktop %s: %s started", self->display, argv[0]);
  return g_steal_pointer (&self);
}

/* KeyboardEvent.key names that are not X keysym names. */
static KeySym
keysym_for (const char *key)
{
  static const struct
  {
    const char *web;
    KeySym sym;
  } names[] = {
    { "Enter", XK_Return },      { "Backspace", XK_BackSpace }, { "Tab", XK_Tab },
    { "Escape", XK_Escape },     { "ArrowLeft", XK_Left },      { "ArrowRight", XK_Right },
    { "ArrowUp", XK_Up },        { "ArrowDown", XK_Down },      { "Shift", XK_Shift_L },
    { "Control", XK_Control_L }, { "Alt", XK_Alt_L },           { " ", XK_space },
    { "Delete", XK_Delete },     { "Home", XK_Home },           { "End", XK_End },
  };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (key, names[i].web))
      return names[i].sym;
  if (g_utf8_strlen (key, -1) == 1)
    {
      KeySym sym = XStringToKeysym (key);
      if (sym != NoSymbol)
        return sym;
      /* Unicode keysyms for the rest (X11 keysym 0x01000000 + code point). */
      return 0x01000000 | g_utf8_get_char (key);
    }
  return XStringToKeysym (key);
}

void
lb_desktop_input (LbDesktop *self, const char *text)
{
  g_autoptr (JsonNode) node = json_from_string (text, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return;
  JsonObject *o = json_node_get_object (node);
  const char *t = json_object_get_string_member_with_default (o, "t", "");

  if (self->x == NULL && (self->x = XOpenDisplay (self->display)) == NULL)
    {
      g_warning ("desktop %s: cannot open the display for input", self->display);
      return;
    }
  if (g_str_equal (t, "move"))
    {
      double x = CLAMP (json_object_get_double_member_with_default (o, "x", 0), 0.0, 1.0);
      double y = CLAMP (json_object_get_double_member_with_default (o, "y", 0), 0.0, 1.0);
      XTestFakeMotionEvent (self->x, -1, (int)(x * (self->width - 1)),
                            (int)(y * (self->height - 1)), CurrentTime);
    }
  else if (g_str_equal (t, "down") || g_str_equal (t, "up"))
    {
      gint64 b = json_object_get_int_member_with_default (o, "b", 1);
      if (b >= 1 && b <= 5)
        XTestFakeButtonEvent (self->x, (unsigned)b, g_str_equal (t, "down"), CurrentTime);
    }
  else if (g_str_equal (t, "key"))
    {
      const char *key = json_object_get_string_member_with_default (o, "k", "");
      KeyCode code = *key ? XKeysymToKeycode (self->x, keysym_for (key)) : 0;
      if (code != 0)
        XTestFakeKeyEvent (self->x, code,
                           json_object_get_boolean_member_with_default (o, "down", TRUE),
                           CurrentTime);
    }
  XFlush (self->x);
}

const char *
lb_desktop_get_display (LbDesktop *self)
{
  return self->display;
}

static void
terminate (GPid *pid, guint *watch)
{
  if (*watch != 0)
    g_source_remove (*watch);
  *watch = 0;
  if (*pid != 0)
    {
      kill (*pid, SIGTERM);
      /* Reap it so no zombie and no stale X lock stay behind. */
      waitpid (*pid, NULL, 0);
      g_spawn_close_pid (*pid);
    }
  *pid = 0;
}

void
lb_desktop_stop (LbDesktop *self)
{
  if (self == NULL)
    return;
  self->stopping = TRUE;
  if (self->x != NULL)
    XCloseDisplay (self->x);
  terminate (&self->app, &self->app_watch);
  terminate (&self->xvfb, &self->xvfb_watch);
  g_free (self->display);
  g_free (self);
}
