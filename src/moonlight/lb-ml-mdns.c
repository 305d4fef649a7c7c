/* lb-ml-mdns.c — `_nvstream._tcp` through Avahi's D-Bus API (see
 * lb-ml-mdns.h).
 *
 * Avahi's objects: org.freedesktop.Avahi.Server at "/" hands out entry
 * groups (EntryGroupNew); a group holds our one service (AddService) and
 * is announced on Commit; its StateChanged signal reports ESTABLISHED or
 * COLLISION. Avahi frees a client's groups when the client leaves the bus,
 * and forgets them all when it restarts, so the whole state is "the group
 * we have now, if any", rebuilt whenever Avahi (re)appears on the bus. */
#define G_LOG_DOMAIN "lobbyd-moonlight"

#include "lb-ml-mdns.h"

#include <gio/gio.h>
#include <string.h>

#define AVAHI_NAME "org.freedesktop.Avahi"
#define AVAHI_SERVER_IFACE "org.freedesktop.Avahi.Server"
#define AVAHI_GROUP_IFACE "org.freedesktop.Avahi.EntryGroup"
#define SERVICE_TYPE "_nvstream._tcp"

/* avahi-common/defs.h */
enum
{
  AVAHI_IF_UNSPEC = -1,
  AVAHI_PROTO_UNSPEC = -1,
  AVAHI_SERVER_RUNNING = 2,
  AVAHI_ENTRY_GROUP_ESTABLISHED = 2,
  AVAHI_ENTRY_GROUP_COLLISION = 3,
  AVAHI_ENTRY_GROUP_FAILURE = 4,
};

/* A DNS label holds 63 bytes; after that many renames something else is wrong. */
#define MAX_LABEL 63
#define MAX_RENAMES 32

struct _LbMlMdns
{
  char *name; /* the name we publish now (renamed on collision) */
  guint16 port;
  GCancellable *cancel; /* cancelled at free: callbacks then touch nothing */
  GDBusConnection *bus;
  guint watch_id;
  guint server_signal_id;
  guint group_signal_id;
  char *group_path; /* our entry group, or NULL */
  gboolean avahi_seen;
  gboolean absent_logged;
  guint renames;
  guint generation; /* bumped whenever the group is dropped: stale replies are ignored */
};

static void publish (LbMlMdns *m);

static void
log_absent (LbMlMdns *m)
{
  if (m->absent_logged)
    return;
  m->absent_logged = TRUE;
  g_message ("mDNS: Avahi not running; Moonlight clients must add this host by address");
}

/* A UTF-8 prefix of @s of at most MAX_LABEL bytes. */
static char *
clip_label (const char *s)
{
  if (strlen (s) <= MAX_LABEL)
    return g_strdup (s);
  const char *end = s + MAX_LABEL;
  while (end > s && (((guchar)*end) & 0xC0) == 0x80)
    end--;
  return g_strndup (s, end - s);
}

static void
group_call (LbMlMdns *m, const char *method, GVariant *params, GAsyncReadyCallback cb,
            gpointer data)
{
  g_dbus_connection_call (m->bus, AVAHI_NAME, m->group_path, AVAHI_GROUP_IFACE, method, params,
                          NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, cb ? m->cancel : NULL, cb,
                          data);
}

/* Forgets our group; with @tell_avahi also asks Avahi to free it (not
 * when Avahi went away: it has forgotten it already). */
static void
drop_group (LbMlMdns *m, gboolean tell_avahi)
{
  m->generation++;
  if (m->group_signal_id)
    {
      g_dbus_connection_signal_unsubscribe (m->bus, m->group_signal_id);
      m->group_signal_id = 0;
    }
  if (m->group_path && tell_avahi)
    group_call (m, "Free", NULL, NULL, NULL);
  g_clear_pointer (&m->group_path, g_free);
}

/* Replies of a step carry (m, generation): a reply for a group that has
 * been dropped since is ignored. */
typedef struct
{
  LbMlMdns *m;
  guint generation;
} Step;

static Step *
step_new (LbMlMdns *m)
{
  Step *s = g_new (Step, 1);
  s->m = m;
  s->generation = m->generation;
  return s;
}

/* The reply of @res, or NULL: cancelled (m freed: *out_m NULL), stale, or
 * failed (then *error set). */
static GVariant *
step_finish (Step *s, GObject *src, GAsyncResult *res, LbMlMdns **out_m, GError **error)
{
  g_autoptr (GError) local = NULL;
  GVariant *r = g_dbus_connection_call_finish (G_DBUS_CONNECTION (src), res, &local);
  *out_m = NULL;
  if (!r && g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_free (s);
      return NULL;
    }
  LbMlMdns *m = s->m;
  gboolean stale = s->generation != m->generation;
  g_free (s);
  if (stale)
    {
      g_clear_pointer (&r, g_variant_unref);
      return NULL;
    }
  *out_m = m;
  if (!r)
    g_propagate_error (error, g_steal_pointer (&local));
  return r;
}

static void rename_and_retry (LbMlMdns *m);

static void
on_commit (GObject *src, GAsyncResult *res, gpointer data)
{
  LbMlMdns *m;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) r = step_finish (data, src, res, &m, &error);
  if (m && error)
    g_warning ("mDNS: Avahi refused to announce \"%s\": %s", m->name, error->message);
}

static void
on_add_service (GObject *src, GAsyncResult *res, gpointer data)
{
  LbMlMdns *m;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) r = step_finish (data, src, res, &m, &error);
  if (!m)
    return;
  if (error)
    {
      g_autofree char *remote = g_dbus_error_get_remote_error (error);
      if (g_strcmp0 (remote, "org.freedesktop.Avahi.CollisionError") == 0)
        {
          /* Another service of this daemon has the name already. */
          rename_and_retry (m);
          return;
        }
      g_warning ("mDNS: Avahi refused the service \"%s\": %s", m->name, error->message);
      drop_group (m, TRUE);
      return;
    }
  group_call (m, "Commit", NULL, on_commit, step_new (m));
}

static void
add_service (LbMlMdns *m)
{
  GVariantBuilder txt;
  g_variant_builder_init (&txt, G_VARIANT_TYPE ("aay"));
  GVariant *params = g_variant_new ("(iiussssqaay)", AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, 0u,
                                    m->name, SERVICE_TYPE, "", "", m->port, &txt);
  group_call (m, "AddService", params, on_add_service, step_new (m));
}

static void
on_reset (GObject *src, GAsyncResult *res, gpointer data)
{
  LbMlMdns *m;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) r = step_finish (data, src, res, &m, &error);
  if (!m)
    return;
  if (error)
    {
      g_warning ("mDNS: Avahi: %s", error->message);
      drop_group (m, TRUE);
      return;
    }
  add_service (m);
}

static void
on_alternative_name (GObject *src, GAsyncResult *res, gpointer data)
{
  LbMlMdns *m;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) r = step_finish (data, src, res, &m, &error);
  if (!m)
    return;
  if (error)
    {
      g_warning ("mDNS: Avahi: %s", error->message);
      drop_group (m, TRUE);
      return;
    }
  const char *alt = NULL;
  g_variant_get (r, "(&s)", &alt);
  g_autofree char *old = g_steal_pointer (&m->name);
  m->name = clip_label (alt);
  g_message ("mDNS: the name \"%s\" is taken; announcing as \"%s\"", old, m->name);
  group_call (m, "Reset", NULL, on_reset, step_new (m));
}

static void
rename_and_retry (LbMlMdns *m)
{
  if (++m->renames > MAX_RENAMES)
    {
      g_warning ("mDNS: gave up after %u name collisions", MAX_RENAMES);
      drop_group (m, TRUE);
      return;
    }
  g_dbus_connection_call (m->bus, AVAHI_NAME, "/", AVAHI_SERVER_IFACE, "GetAlternativeServiceName",
                          g_variant_new ("(s)", m->name), G_VARIANT_TYPE ("(s)"),
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, m->cancel, on_alternative_name,
                          step_new (m));
}

static void
on_group_state (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                const char *signal, GVariant *params, gpointer data)
{
  LbMlMdns *m = data;
  if (!g_variant_is_of_type (params, G_VARIANT_TYPE ("(is)")))
    return;
  gint32 state;
  const char *err;
  g_variant_get (params, "(i&s)", &state, &err);
  if (state == AVAHI_ENTRY_GROUP_ESTABLISHED)
    g_message ("mDNS: announcing \"%s\" (%s) on port %u", m->name, SERVICE_TYPE, m->port);
  else if (state == AVAHI_ENTRY_GROUP_COLLISION)
    rename_and_retry (m);
  else if (state == AVAHI_ENTRY_GROUP_FAILURE)
    {
      g_warning ("mDNS: Avahi failed to announce \"%s\": %s", m->name, err);
      drop_group (m, TRUE);
    }
}

static void
on_group_new (GObject *src, GAsyncResult *res, gpointer data)
{
  LbMlMdns *m;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) r = step_finish (data, src, res, &m, &error);
  if (!m)
    return;
  if (error)
    {
      g_warning ("mDNS: Avahi refused an entry group: %s", error->message);
      return;
    }
  g_variant_get (r, "(o)", &m->group_path);
  /* Subscribed before AddService/Commit: the group's state changes only after Commit. */
  m->group_signal_id = g_dbus_connection_signal_subscribe (
      m->bus, AVAHI_NAME, AVAHI_GROUP_IFACE, "StateChanged", m->group_path, NULL,
      G_DBUS_SIGNAL_FLAGS_NONE, on_group_state, m, NULL);
  add_service (m);
}

static void
publish (LbMlMdns *m)
{
  if (m->group_path)
    return;
  m->generation++;
  g_dbus_connection_call (m->bus, AVAHI_NAME, "/", AVAHI_SERVER_IFACE, "EntryGroupNew", NULL,
                          G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, m->cancel,
                          on_group_new, step_new (m));
}

/* Avahi's server state: services can be added only while it is RUNNING;
 * when its host name collides or it re-registers, it drops all groups. */
static void
server_state (LbMlMdns *m, gint32 state)
{
  if (state == AVAHI_SERVER_RUNNING)
    publish (m);
  else
    drop_group (m, TRUE);
}

static void
on_server_state (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                 const char *signal, GVariant *params, gpointer data)
{
  if (g_variant_is_of_type (params, G_VARIANT_TYPE ("(is)")))
    {
      gint32 state;
      g_variant_get (params, "(is)", &state, NULL);
      server_state (data, state);
    }
}

static void
on_get_state (GObject *src, GAsyncResult *res, gpointer data)
{
  LbMlMdns *m;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) r = step_finish (data, src, res, &m, &error);
  if (!m)
    return;
  if (error)
    {
      g_warning ("mDNS: Avahi: %s", error->message);
      return;
    }
  gint32 state;
  g_variant_get (r, "(i)", &state);
  server_state (m, state);
}

static void
on_avahi_appeared (GDBusConnection *bus, const char *name, const char *owner, gpointer data)
{
  LbMlMdns *m = data;
  g_debug ("mDNS: Avahi is on the bus (%s)", owner);
  m->avahi_seen = TRUE;
  drop_group (m, FALSE);
  m->renames = 0;
  g_dbus_connection_call (m->bus, AVAHI_NAME, "/", AVAHI_SERVER_IFACE, "GetState", NULL,
                          G_VARIANT_TYPE ("(i)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, m->cancel,
                          on_get_state, step_new (m));
}

static void
on_avahi_vanished (GDBusConnection *bus, const char *name, gpointer data)
{
  LbMlMdns *m = data;
  /* Avahi forgot our group with its connection; re-published when it returns. */
  drop_group (m, FALSE);
  if (m->avahi_seen)
    g_message ("mDNS: Avahi stopped; announcing again when it returns");
  else
    log_absent (m);
}

static void
on_closed (GDBusConnection *bus, gboolean remote_peer_vanished, GError *error, gpointer data)
{
  LbMlMdns *m = data;
  drop_group (m, FALSE);
  g_message ("mDNS: the system bus went away; no more announcements");
}

static void
on_bus (GObject *src, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus = g_dbus_connection_new_for_address_finish (res, &error);
  if (!bus)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_debug ("mDNS: no system bus: %s", error->message);
          log_absent (data);
        }
      return;
    }
  LbMlMdns *m = data;
  m->bus = bus;
  /* Our own connection, not the shared one: a bus that goes away must
   * not end lobbyd (the shared connection exits the process on close). */
  g_dbus_connection_set_exit_on_close (bus, FALSE);
  g_signal_connect (bus, "closed", G_CALLBACK (on_closed), m);
  m->server_signal_id = g_dbus_connection_signal_subscribe (
      bus, AVAHI_NAME, AVAHI_SERVER_IFACE, "StateChanged", "/", NULL, G_DBUS_SIGNAL_FLAGS_NONE,
      on_server_state, m, NULL);
  /* No auto-start: announcing is not a reason to start Avahi. */
  m->watch_id = g_bus_watch_name_on_connection (bus, AVAHI_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                on_avahi_appeared, on_avahi_vanished, m, NULL);
}

LbMlMdns *
lb_ml_mdns_new (const char *name, guint16 http_port)
{
  g_return_val_if_fail (name != NULL, NULL);
  LbMlMdns *m = g_new0 (LbMlMdns, 1);
  m->name = clip_label (*name ? name : "lobbyd");
  m->port = http_port;
  m->cancel = g_cancellable_new ();
  /* Only reads DBUS_SYSTEM_BUS_ADDRESS or returns the well-known path. */
  g_autoptr (GError) error = NULL;
  g_autofree char *address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SYSTEM, NULL, &error);
  if (!address)
    {
      g_debug ("mDNS: no system bus address: %s", error->message);
      log_absent (m);
      return m;
    }
  /* Until the bus answers, @m may be freed: on_bus then sees CANCELLED and
   * never touches it. */
  g_dbus_connection_new_for_address (address,
                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                         | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                     NULL, m->cancel, on_bus, m);
  return m;
}

void
lb_ml_mdns_free (LbMlMdns *m)
{
  if (!m)
    return;
  g_cancellable_cancel (m->cancel);
  if (m->bus)
    {
      if (m->watch_id)
        g_bus_unwatch_name (m->watch_id);
      if (m->server_signal_id)
        g_dbus_connection_signal_unsubscribe (m->bus, m->server_signal_id);
      g_signal_handlers_disconnect_by_data (m->bus, m);
      drop_group (m, TRUE);
      /* Closing flushes the Free above; Avahi also frees the groups of a
       * client that leaves the bus. */
      g_dbus_connection_close (m->bus, NULL, NULL, NULL);
      g_object_unref (m->bus);
    }
  g_object_unref (m->cancel);
  g_free (m->name);
  g_free (m);
}
