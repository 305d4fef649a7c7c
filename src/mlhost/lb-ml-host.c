/* lb-ml-host.c — the Moonlight host glue: identity, paired clients, lobbies
 * as apps, launches, and the nvhttp servers' backend. */
#define G_LOG_DOMAIN "lobbyd-ml-host"
#include "lb-ml-host.h"
#include "lb-config.h"
#include "lb-error.h"
#include "lb-events.h"
#include "lb-lobby.h"
#include "lb-ml-identity.h"
#include "lb-ml-mdns.h"
#include "lb-ml-streaming.h"
#include "lb-ml-nvhttp.h"
#include "lb-registry.h"
#include "lb-spec.h"
#include "lb-store.h"

#include <string.h>

typedef struct
{
  char *id;
  char *name;
  char *cert_pem;
  GBytes *der; /* what HTTPS peers are compared with */
  gint64 paired_at;
} MlClient;

/* One launch's data in the launch table. */
typedef struct
{
  char *client_id;
  guint32 app_id;
  char *lobby_id;
  char *address;
  guint width, height, fps;
  guint8 rikey[16];
  guint32 rikeyid;
} MlLaunch;

struct _LbMlHost
{
  const LbConfig *config;
  LbRegistry *registry;
  LbStore *store;
  LbEvents *events;
  LbMlIdentity *identity;
  GPtrArray *clients; /* MlClient */
  LbMlLaunchTable *launches;
  GPtrArray *launch_ids; /* char*: ids added to the table (pruned when the table dropped them) */
  LbMlNvhttp *nv;
  LbMlStreaming *streaming;
  LbMlMdns *mdns;
};

static void
ml_client_free (MlClient *c)
{
  g_free (c->id);
  g_free (c->name);
  g_free (c->cert_pem);
  g_clear_pointer (&c->der, g_bytes_unref);
  g_free (c);
}

static void
ml_launch_free (gpointer data)
{
  MlLaunch *l = data;
  g_free (l->client_id);
  g_free (l->lobby_id);
  g_free (l->address);
  g_free (l);
}

static GBytes *
pem_to_der (const char *pem)
{
  g_autoptr (GTlsCertificate) cert = g_tls_certificate_new_from_pem (pem, -1, NULL);
  if (cert == NULL)
    return NULL;
  g_autoptr (GByteArray) der = NULL;
  g_object_get (cert, "certificate", &der, NULL);
  return der != NULL ? g_bytes_new (der->data, der->len) : NULL;
}

static void
add_client (LbMlHost *host, const char *id, const char *name, const char *cert_pem,
            gint64 paired_at)
{
  MlClient *c = g_new0 (MlClient, 1);
  c->id = g_strdup (id);
  c->name = g_strdup (name);
  c->cert_pem = g_strdup (cert_pem);
  c->der = pem_to_der (cert_pem);
  c->paired_at = paired_at;
  if (c->der == NULL)
    g_warning ("paired client %s: its stored certificate does not parse; it must pair again", id);
  g_ptr_array_add (host->clients, c);
}

static void
load_client (const char *id, const char *name, const char *cert_pem, gint64 paired_at,
             gpointer user_data)
{
  add_client (user_data, id, name, cert_pem, paired_at);
}

static MlClient *
find_client (LbMlHost *host, const char *id)
{
  for (guint i = 0; i < host->clients->len; i++)
    {
      MlClient *c = g_ptr_array_index (host->clients, i);
      if (g_str_equal (c->id, id))
        return c;
    }
  return NULL;
}

static void
emit (LbMlHost *host, const char *type, JsonObject *fields)
{
  if (host->events != NULL)
    lb_events_emit (host->events, type, fields);
  else
    json_object_unref (fields);
}

/* ---- Launches ---- */

/* The launches still in the table, pruning ids it replaced or expired. */
static void
prune_launch_ids (LbMlHost *host)
{
  for (guint i = host->launch_ids->len; i-- > 0;)
    if (lb_ml_launch_table_lookup (host->launches, g_ptr_array_index (host->launch_ids, i)) == NULL)
      g_ptr_array_remove_index (host->launch_ids, i);
}

static MlLaunch *
client_launch (LbMlHost *host, const char *client_id, const char **ml_id)
{
  prune_launch_ids (host);
  for (guint i = 0; i < host->launch_ids->len; i++)
    {
      const char *id = g_ptr_array_index (host->launch_ids, i);
      MlLaunch *l = lb_ml_launch_table_lookup (host->launches, id);
      if (g_str_equal (l->client_id, client_id))
        {
          if (ml_id != NULL)
            *ml_id = id;
          return l;
        }
    }
  return NULL;
}

/* Whether a launch of @lobby_id may send input: the lobby's
 * moonlight_control, else [moonlight] default_control. */
static gboolean
lobby_control (LbMlHost *host, const char *lobby_id)
{
  LbLobby *lobby = lb_registry_find_lobby (host->registry, lobby_id);
  LbMoonlightControl c
      = lobby != NULL ? lb_lobby_get_spec (lobby)->moonlight_control : LB_MOONLIGHT_CONTROL_DEFAULT;
  return c == LB_MOONLIGHT_CONTROL_DEFAULT ? host->config->ml_default_control
                                           : c == LB_MOONLIGHT_CONTROL_ON;
}

gboolean
lb_ml_host_start_launch (LbMlHost *host, const char *ml_id, GError **error)
{
  MlLaunch *l = lb_ml_launch_table_lookup (host->launches, ml_id);
  if (l == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_NOT_FOUND, "launch %s is gone", ml_id);
      return FALSE;
    }
  MlClient *c = find_client (host, l->client_id);
  const LbMlLaunchInfo info = {
    .lobby_id = l->lobby_id,
    .client_name = c != NULL ? c->name : l->client_id,
    .client_address = l->address,
    .width = l->width,
    .height = l->height,
    .fps = l->fps,
    .rikey = l->rikey,
    .rikeyid = l->rikeyid,
    .control = lobby_control (host, l->lobby_id),
  };
  return lb_ml_streaming_start (host->streaming, ml_id, &info, error);
}

/* Forgets launch @ml_id (its stream has already ended). */
static void
forget_launch (LbMlHost *host, const char *ml_id)
{
  g_autofree char *id = g_strdup (ml_id);
  for (guint i = 0; i < host->launch_ids->len; i++)
    if (g_str_equal (g_ptr_array_index (host->launch_ids, i), id))
      {
        g_ptr_array_remove_index (host->launch_ids, i);
        break;
      }
  lb_ml_launch_table_remove (host->launches, id);
}

static void
on_stream_ended (const char *ml_id, const char *reason, gpointer user_data)
{
  forget_launch (user_data, ml_id);
}

guint
lb_ml_host_cancel (LbMlHost *host, const char *client_id)
{
  guint n = 0;
  const char *ml_id;
  while (client_launch (host, client_id, &ml_id) != NULL)
    {
      g_message ("launch %s cancelled", ml_id);
      lb_ml_streaming_stop (host->streaming, ml_id, "cancelled");
      forget_launch (host, ml_id);
      n++;
    }
  return n;
}

/* Its row is already gone from the store (or replaced): ends its launch. */
static void
forget_client (LbMlHost *host, MlClient *c)
{
  g_autofree char *id = g_strdup (c->id);
  g_autofree char *name = g_strdup (c->name);
  lb_ml_host_cancel (host, id);
  g_ptr_array_remove (host->clients, c);
  emit (host, "moonlight.unpaired", lb_event_fields ("client_id", id, "client_name", name, NULL));
}

LbMlLaunchTable *
lb_ml_host_get_launches (LbMlHost *host)
{
  return host->launches;
}

/* ---- Apps ---- */

static const char *
lobby_of_app (LbMlHost *host, guint32 app_id)
{
  GPtrArray *lobbies = lb_registry_get_lobbies (host->registry);
  for (guint i = 0; i < lobbies->len; i++)
    {
      const char *id = lb_lobby_get_id (g_ptr_array_index (lobbies, i));
      guint32 app;
      if (lb_store_ml_app_id (host->store, id, &app, NULL) && app == app_id)
        return id;
    }
  return NULL;
}

static void
app_clear (gpointer data)
{
  g_free ((char *)((LbMlApp *)data)->title);
}

static GArray *
backend_apps (gpointer user_data)
{
  LbMlHost *host = user_data;
  GArray *apps = g_array_new (FALSE, FALSE, sizeof (LbMlApp));
  g_array_set_clear_func (apps, app_clear);
  GPtrArray *lobbies = lb_registry_get_lobbies (host->registry);
  for (guint i = 0; i < lobbies->len; i++)
    {
      LbLobby *lobby = g_ptr_array_index (lobbies, i);
      g_autoptr (GError) error = NULL;
      LbMlApp app = { 0 };
      if (!lb_store_ml_app_id (host->store, lb_lobby_get_id (lobby), &app.id, &error))
        {
          g_warning ("lobby %s has no Moonlight app id: %s", lb_lobby_get_id (lobby),
                     error->message);
          continue;
        }
      const char *name = lb_lobby_get_spec (lobby)->name;
      app.title = g_strdup (name != NULL && *name ? name : lb_lobby_get_id (lobby));
      g_array_append_val (apps, app);
    }
  return apps;
}

/* ---- nvhttp backend ---- */

static char *
backend_client_for_cert (const guint8 *der, gsize len, gpointer user_data)
{
  LbMlHost *host = user_data;
  for (guint i = 0; i < host->clients->len; i++)
    {
      MlClient *c = g_ptr_array_index (host->clients, i);
      gsize n;
      const guint8 *d = c->der != NULL ? g_bytes_get_data (c->der, &n) : NULL;
      if (d != NULL && n == len && memcmp (d, der, len) == 0)
        return g_strdup (c->id);
    }
  return NULL;
}

static guint32
backend_current_game (const char *client_id, gpointer user_data)
{
  MlLaunch *l = client_launch (user_data, client_id, NULL);
  return l != NULL ? l->app_id : 0;
}

static gboolean
backend_paired (const char *name, const char *cert_pem, gpointer user_data, GError **error)
{
  LbMlHost *host = user_data;
  g_autoptr (GBytes) der = pem_to_der (cert_pem);
  g_autofree char *old = NULL;
  /* The same certificate pairing again (the client forgot us) replaces its row. */
  if (der != NULL)
    old = backend_client_for_cert (g_bytes_get_data (der, NULL), g_bytes_get_size (der), host);
  g_autofree char *id = g_uuid_string_random ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  if (old != NULL ? !lb_store_replace_ml_client (host->store, old, id, name, cert_pem, now, error)
                  : !lb_store_insert_ml_client (host->store, id, name, cert_pem, now, error))
    return FALSE;
  if (old != NULL)
    forget_client (host, find_client (host, old));
  add_client (host, id, name, cert_pem, now);
  emit (host, "moonlight.paired", lb_event_fields ("client_id", id, "client_name", name, NULL));
  return TRUE;
}

static void
backend_unpair (const char *client_id, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  if (!lb_ml_host_remove_client (user_data, client_id, &error))
    g_warning ("unpair %s: %s", client_id, error->message);
}

static gboolean
backend_launch (const LbMlLaunchRequest *req, gpointer user_data, GError **error)
{
  LbMlHost *host = user_data;
  MlLaunch *running = client_launch (host, req->client_id, NULL);
  MlLaunch *l = g_new0 (MlLaunch, 1);
  l->client_id = g_strdup (req->client_id);
  l->app_id = req->app_id;
  l->width = req->resume && running ? running->width : req->width;
  l->height = req->resume && running ? running->height : req->height;
  l->fps = req->resume && running ? running->fps : req->fps;
  memcpy (l->rikey, req->rikey, 16);
  l->rikeyid = req->rikeyid;
  l->address = g_strdup (req->address);
  const char *lobby = lobby_of_app (host, req->app_id);
  if (lobby == NULL)
    {
      ml_launch_free (l);
      g_set_error (error, LB_ERROR, LB_ERROR_NOT_FOUND, "app %u is gone", req->app_id);
      return FALSE;
    }
  l->lobby_id = g_strdup (lobby);
  /* A client runs one game: a new launch (or resume with new keys) replaces the last. */
  lb_ml_host_cancel (host, req->client_id);
  const char *id = lb_ml_launch_table_add (host->launches, req->address, req->rikeyid, l,
                                           g_get_monotonic_time ());
  if (id == NULL)
    {
      ml_launch_free (l);
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "bad client address");
      return FALSE;
    }
  g_autofree char *ml_id = g_strdup (id);
  g_ptr_array_add (host->launch_ids, g_strdup (ml_id));
  if (!lb_ml_host_start_launch (host, ml_id, error))
    {
      g_ptr_array_remove_index (host->launch_ids, host->launch_ids->len - 1);
      lb_ml_launch_table_remove (host->launches, ml_id);
      return FALSE;
    }
  return TRUE;
}

static guint
backend_cancel (const char *client_id, gpointer user_data)
{
  return lb_ml_host_cancel (user_data, client_id);
}

static void
backend_pair_pending (gboolean pending, const char *name, const char *address, gpointer user_data)
{
  emit (user_data, pending ? "moonlight.pair_pending" : "moonlight.pair_ended",
        lb_event_fields ("client_name", name, "address", address, NULL));
}

/* ---- Life ---- */

LbMlHost *
lb_ml_host_new (const LbConfig *config, LbRegistry *registry, LbStore *store, const char *state_dir,
                GError **error)
{
  g_autofree char *dir = g_build_filename (state_dir, "moonlight", NULL);
  g_autoptr (LbMlIdentity) identity = lb_ml_identity_load (dir, error);
  if (identity == NULL)
    return NULL;

  LbMlHost *host = g_new0 (LbMlHost, 1);
  host->config = config;
  host->registry = registry;
  host->store = store;
  host->identity = lb_ml_identity_ref (identity);
  host->clients = g_ptr_array_new_with_free_func ((GDestroyNotify)ml_client_free);
  host->launches = lb_ml_launch_table_new (ml_launch_free);
  host->launch_ids = g_ptr_array_new_with_free_func (g_free);
  if (!lb_store_foreach_ml_client (store, load_client, host, error))
    {
      lb_ml_host_free (host);
      return NULL;
    }

  static const LbMlNvhttpBackend backend = {
    .client_for_cert = backend_client_for_cert,
    .current_game = backend_current_game,
    .paired = backend_paired,
    .unpair = backend_unpair,
    .apps = backend_apps,
    .launch = backend_launch,
    .cancel = backend_cancel,
    .pair_pending = backend_pair_pending,
  };
  static const LbMlStreamingCallbacks streaming_cb = { .ended = on_stream_ended };
  host->streaming
      = lb_ml_streaming_new (config, registry, host->launches, &streaming_cb, host, error);
  if (host->streaming == NULL)
    {
      lb_ml_host_free (host);
      return NULL;
    }
  const LbMlNvhttpConfig nvc = {
    .bind_address = config->ml_address,
    .http_port = (guint16)config->ml_http_port,
    .https_port = (guint16)config->ml_https_port,
    .rtsp_port = lb_ml_streaming_get_rtsp_port (host->streaming),
    .hostname = *config->ml_hostname ? config->ml_hostname : g_get_host_name (),
    .pair_timeout_s = config->ml_pair_timeout_s,
  };
  host->nv = lb_ml_nvhttp_new (&nvc, identity, &backend, host, error);
  if (host->nv == NULL)
    {
      lb_ml_host_free (host);
      return NULL;
    }
  g_message ("Moonlight host on %s: HTTP %u, HTTPS %u, RTSP %u, %u paired client(s)",
             config->ml_address, lb_ml_nvhttp_get_http_port (host->nv),
             lb_ml_nvhttp_get_https_port (host->nv),
             lb_ml_streaming_get_rtsp_port (host->streaming), host->clients->len);
  host->mdns = lb_ml_mdns_new (nvc.hostname, lb_ml_nvhttp_get_http_port (host->nv));
  return host;
}

void
lb_ml_host_free (LbMlHost *host)
{
  if (host == NULL)
    return;
  g_clear_pointer (&host->mdns, lb_ml_mdns_free);
  g_clear_pointer (&host->nv, lb_ml_nvhttp_free);
  g_clear_pointer (&host->streaming, lb_ml_streaming_free);
  g_clear_pointer (&host->launch_ids, g_ptr_array_unref);
  g_clear_pointer (&host->launches, lb_ml_launch_table_free);
  g_clear_pointer (&host->clients, g_ptr_array_unref);
  g_clear_pointer (&host->identity, lb_ml_identity_unref);
  g_free (host);
}

void
lb_ml_host_set_events (LbMlHost *host, LbEvents *events)
{
  host->events = events;
}

gboolean
lb_ml_host_submit_pin (LbMlHost *host, const char *pin, GError **error)
{
  return lb_ml_nvhttp_submit_pin (host->nv, pin, error);
}

JsonNode *
lb_ml_host_clients_to_json (LbMlHost *host)
{
  JsonArray *arr = json_array_new ();
  for (guint i = 0; i < host->clients->len; i++)
    {
      MlClient *c = g_ptr_array_index (host->clients, i);
      JsonObject *o = json_object_new ();
      json_object_set_string_member (o, "id", c->id);
      json_object_set_string_member (o, "name", c->name);
      json_object_set_int_member (o, "paired_at", c->paired_at);
      if (c->der != NULL)
        {
          g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, c->der);
          json_object_set_string_member (o, "cert_sha256", sum);
        }
      else
        json_object_set_null_member (o, "cert_sha256");
      json_object_set_boolean_member (o, "streaming", client_launch (host, c->id, NULL) != NULL);
      json_array_add_object_element (arr, o);
    }
  JsonObject *root = json_object_new ();
  json_object_set_array_member (root, "clients", arr);
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, root);
  return node;
}

gboolean
lb_ml_host_remove_client (LbMlHost *host, const char *client_id, GError **error)
{
  MlClient *c = find_client (host, client_id);
  if (c == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_NOT_FOUND, "moonlight client %s not found", client_id);
      return FALSE;
    }
  if (!lb_store_delete_ml_client (host->store, client_id, error))
    return FALSE;
  forget_client (host, c);
  return TRUE;
}

JsonNode *
lb_ml_host_status_to_json (LbMlHost *host, const LbConfig *config)
{
  JsonObject *o = json_object_new ();
  const char *name = NULL, *address = NULL;
  gboolean pending = host != NULL && lb_ml_nvhttp_get_pending (host->nv, &name, &address);
  json_object_set_boolean_member (o, "enabled", config->ml_enabled);
  json_object_set_boolean_member (o, "running", host != NULL);
  json_object_set_string_member (o, "address", config->ml_address);
  json_object_set_int_member (
      o, "http_port", host != NULL ? lb_ml_nvhttp_get_http_port (host->nv) : config->ml_http_port);
  json_object_set_int_member (o, "https_port",
                              host != NULL ? lb_ml_nvhttp_get_https_port (host->nv)
                                           : config->ml_https_port);
  json_object_set_int_member (o, "rtsp_port",
                              host != NULL ? lb_ml_streaming_get_rtsp_port (host->streaming)
                                           : config->ml_rtsp_port);
  json_object_set_boolean_member (o, "pairing_pending", pending);
  if (pending)
    {
      JsonObject *c = json_object_new ();
      json_object_set_string_member (c, "name", name);
      json_object_set_string_member (c, "address", address);
      json_object_set_object_member (o, "pending_client", c);
    }
  else
    json_object_set_null_member (o, "pending_client");
  json_object_set_int_member (o, "paired_clients", host != NULL ? host->clients->len : 0);
  if (host != NULL)
    prune_launch_ids (host);
  json_object_set_int_member (o, "launches", host != NULL ? host->launch_ids->len : 0);
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, o);
  return node;
}

guint16
lb_ml_host_get_http_port (LbMlHost *host)
{
  return lb_ml_nvhttp_get_http_port (host->nv);
}

guint16
lb_ml_host_get_https_port (LbMlHost *host)
{
  return lb_ml_nvhttp_get_https_port (host->nv);
}
