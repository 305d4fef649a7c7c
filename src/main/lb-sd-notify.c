/* lb-sd-notify.c — sd_notify over a datagram socket, no libsystemd. */
#define G_LOG_DOMAIN "lobbyd-notify"
#include "lb-sd-notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct _LbSdNotify
{
  int fd; /* -1 = not under systemd: everything is a no-op */
  struct sockaddr_un addr;
  socklen_t addr_len;
  guint64 watchdog_usec; /* 0 = no watchdog for this process */
  guint watchdog_source;
  char *last_status;
};

static gboolean
parse_address (LbSdNotify *self, const char *path)
{
  gsize len = strlen (path);

  /* '@' names an abstract socket (its first byte NUL, no terminator). */
  if (len < 2 || len >= sizeof self->addr.sun_path || (path[0] != '/' && path[0] != '@'))
    return FALSE;
  memset (&self->addr, 0, sizeof self->addr);
  self->addr.sun_family = AF_UNIX;
  memcpy (self->addr.sun_path, path, len);
  if (path[0] == '@')
    {
      self->addr.sun_path[0] = '\0';
      self->addr_len = (socklen_t)(offsetof (struct sockaddr_un, sun_path) + len);
    }
  else
    self->addr_len = (socklen_t)(offsetof (struct sockaddr_un, sun_path) + len + 1);
  return TRUE;
}

/* systemd asks for a watchdog with WATCHDOG_USEC; WATCHDOG_PID, when set,
 * names the process meant (a child that inherited it is not). */
static guint64
parse_watchdog (void)
{
  const char *usec = g_getenv ("WATCHDOG_USEC");
  const char *pid = g_getenv ("WATCHDOG_PID");
  guint64 v = 0, p = 0;

  if (usec == NULL || !g_ascii_string_to_unsigned (usec, 10, 1, G_MAXUINT64, &v, NULL))
    return 0;
  if (pid != NULL
      && (!g_ascii_string_to_unsigned (pid, 10, 1, G_MAXINT32, &p, NULL) || (pid_t)p != getpid ()))
    return 0;
  return v;
}

LbSdNotify *
lb_sd_notify_new (void)
{
  LbSdNotify *self = g_new0 (LbSdNotify, 1);
  const char *path = g_getenv ("NOTIFY_SOCKET");

  self->fd = -1;
  if (path != NULL && parse_address (self, path))
    {
      self->fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (self->fd < 0)
        g_warning ("NOTIFY_SOCKET: socket: %s", g_strerror (errno));
      else
        self->watchdog_usec = parse_watchdog ();
    }
  else if (path != NULL)
    g_warning ("NOTIFY_SOCKET '%s' is not a socket path: not notifying", path);
  g_unsetenv ("NOTIFY_SOCKET");
  g_unsetenv ("WATCHDOG_USEC");
  g_unsetenv ("WATCHDOG_PID");
  return self;
}

gboolean
lb_sd_notify_enabled (const LbSdNotify *self)
{
  return self != NULL && self->fd >= 0;
}

static void
send_state (LbSdNotify *self, const char *state)
{
  if (!lb_sd_notify_enabled (self))
    return;
  /* One datagram, never blocking: a full or gone receiver drops it. */
  if (sendto (self->fd, state, strlen (state), MSG_NOSIGNAL | MSG_DONTWAIT,
              (const struct sockaddr *)&self->addr, self->addr_len)
      < 0)
    g_debug ("notify '%s': %s", state, g_strerror (errno));
}

static gboolean
on_watchdog (gpointer user_data)
{
  send_state (user_data, "WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

void
lb_sd_notify_ready (LbSdNotify *self, const char *status)
{
  if (!lb_sd_notify_enabled (self))
    return;
  g_autofree char *msg = g_strdup_printf ("READY=1\nMAINPID=%d\nSTATUS=%s", (int)getpid (), status);
  send_state (self, msg);
  g_free (self->last_status);
  self->last_status = g_strdup (status);
  if (self->watchdog_usec > 0 && self->watchdog_source == 0)
    {
      /* Half the timeout, as sd_watchdog_enabled(3) advises; from the main
       * loop itself, so a stall of it is what systemd sees. */
      guint ms = (guint)MAX (1, MIN (self->watchdog_usec / 2000, G_MAXUINT));
      self->watchdog_source = g_timeout_add (ms, on_watchdog, self);
      send_state (self, "WATCHDOG=1");
    }
}

void
lb_sd_notify_status (LbSdNotify *self, const char *status)
{
  if (!lb_sd_notify_enabled (self) || g_strcmp0 (self->last_status, status) == 0)
    return;
  g_autofree char *msg = g_strdup_printf ("STATUS=%s", status);
  send_state (self, msg);
  g_free (self->last_status);
  self->last_status = g_strdup (status);
}

void
lb_sd_notify_stopping (LbSdNotify *self)
{
  if (!lb_sd_notify_enabled (self))
    return;
  g_clear_handle_id (&self->watchdog_source, g_source_remove);
  send_state (self, "STOPPING=1\nSTATUS=stopping");
}

void
lb_sd_notify_free (LbSdNotify *self)
{
  if (self == NULL)
    return;
  g_clear_handle_id (&self->watchdog_source, g_source_remove);
  if (self->fd >= 0)
    close (self->fd);
  g_free (self->last_status);
  g_free (self);
}
