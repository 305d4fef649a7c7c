/* lb-registry.c — lobby/session bookkeeping over the store and the media layer. */
#define G_LOG_DOMAIN "lobbyd-registry"
#include "lb-registry.h"
#include "lb-allow-list.h"
#include "lb-config.h"
#include "lb-error.h"
#include "lb-json.h"
#include "lb-events.h"
#include "lb-lobby.h"
#include "lb-pools.h"
#include "lb-session.h"
#include "lb-spec.h"
#include "lb-store.h"

#include <string.h>

struct _LbRegistry
{
  const LbConfig *config;
  LbStore *store;
  LbPools *pools;
  LbEvents *events;
  LbRegistryCounters counters;
  guint upgrade_source;
  gboolean closing; /* lb_registry_free: no events, no upgrades */
  LbAllowList *allow;
  GPtrArray *lobbies;        /* LbLobby, owned, creation order */
  GPtrArray *sessions;       /* LbSession, owned, creation order */
  GHashTable *lobby_by_id;   /* id → LbLobby */
  GHashTable *lobby_by_key;  /* session_key → LbLobby */
  GHashTable *session_by_id; /* id → LbSession */
};

LbRegistry *
lb_registry_new (const LbConfig *config, LbStore *store, LbPools *pools, LbEvents *events,
                 GError **error)
{
  g_autoptr (LbAllowList) allow
      = lb_allow_list_new ((const char *const *)config->allowed_destinations, error);
  if (allow == NULL)
    return NULL;

  LbRegistry *self = g_new0 (LbRegistry, 1);
  self->config = config;
  self->store = store;
  self->pools = pools;
  self->events = events;
  self->allow = g_steal_pointer (&allow);
  self->lobbies = g_ptr_array_new ();
  self->sessions = g_ptr_array_new ();
  self->lobby_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->lobby_by_key = g_hash_table_new (g_str_hash, g_str_equal);
  self->session_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  return self;
}

static JsonObject *
fields (const char *first, ...)
{
  JsonObject *obj = json_object_new ();
  va_list args;
  va_start (args, first);
  for (const char *key = first; key != NULL; key = va_arg (args, const char *))
    {
      const char *value = va_arg (args, const char *);
      if (value != NULL)
        json_object_set_string_member (obj, key, value);
    }
  va_end (args);
  return obj;
}

static void
emit (LbRegistry *self, const char *type, JsonObject *obj)
{
  if (self->events != NULL && !self->closing)
    lb_events_emit (self->events, type, obj);
  else
    json_object_unref (obj);
}

static void schedule_upgrade (LbRegistry *self);

/* Gives the session's encoder slot back to its pool. */
static void
release_slot (LbRegistry *self, LbSession *session)
{
  int pool = lb_session_get_pool (session);
  if (pool < 0)
    return;
  lb_pools_release (self->pools, (guint)pool, lb_session_get_pixel_rate (session));
  if (lb_pools_get (self->pools, (guint)pool)->backend != LB_BACKEND_SOFTWARE)
    schedule_upgrade (self);
  lb_session_set_pool (session, -1, NULL, NULL, FALSE, FALSE);
}

/* Moves the session's slot to @pool (releasing the one it held, if any). */
static void
take_slot (LbRegistry *self, LbSession *session, guint pool_index, gboolean fallback)
{
  LbPool *pool = lb_pools_get (self->pools, pool_index);
  release_slot (self, session);
  lb_pools_acquire (self->pools, pool_index, lb_session_get_pixel_rate (session));
  lb_session_set_pool (session, (int)pool_index, pool->name, pool->factory,
                       pool->backend != LB_BACKEND_SOFTWARE, fallback);
}

/* A hardware encoder refused to open on @pool_index: learn its real limit. */
static void
learn_limit (LbRegistry *self, guint pool_index, const char *message)
{
  LbPool *pool = lb_pools_get (self->pools, pool_index);
  if (!lb_pools_learn_from_failure (self->pools, pool_index, message))
    return;
  JsonObject *obj = fields ("pool", pool->name, "limit_source", "learned", "error", message, NULL);
  json_object_set_int_member (obj, "limit", pool->limit);
  emit (self, "pool.limit_learned", obj);
}

/* The session stops (its slot is freed) but stays listed as failed. */
static void
fail_session (LbRegistry *self, LbSession *session, const char *message)
{
  release_slot (self, session);
  lb_session_set_failed (session, message);
  emit (self, "session.failed",
        fields ("session_id", lb_session_get_id (session), "lobby_id",
                lb_lobby_get_id (lb_session_get_lobby (session)), "error", message, NULL));
}

static void
forget_session (LbRegistry *self, LbSession *session)
{
  release_slot (self, session);
  g_ptr_array_remove (lb_lobby_get_sessions (lb_session_get_lobby (session)), session);
  g_hash_table_remove (self->session_by_id, lb_session_get_id (session));
  g_ptr_array_remove (self->sessions, session);
  lb_session_free (session);
}

static void
forget_lobby (LbRegistry *self, LbLobby *lobby)
{
  GPtrArray *sessions = lb_lobby_get_sessions (lobby);
  while (sessions->len > 0)
    forget_session (self, g_ptr_array_index (sessions, sessions->len - 1));

  const LbLobbySpec *spec = lb_lobby_get_spec (lobby);
  if (spec->session_key != NULL)
    g_hash_table_remove (self->lobby_by_key, spec->session_key);
  g_hash_table_remove (self->lobby_by_id, lb_lobby_get_id (lobby));
  g_ptr_array_remove (self->lobbies, lobby);
  lb_lobby_free (lobby);
}

void
lb_registry_free (LbRegistry *self)
{
  if (self == NULL)
    return;
  self->closing = TRUE; /* the shutdown itself emits nothing and upgrades nothing */
  while (self->lobbies->len > 0)
    forget_lobby (self, g_ptr_array_index (self->lobbies, self->lobbies->len - 1));
  g_hash_table_unref (self->session_by_id);
  g_hash_table_unref (self->lobby_by_key);
  g_hash_table_unref (self->lobby_by_id);
  g_ptr_array_unref (self->sessions);
  g_ptr_array_unref (self->lobbies);
  lb_allow_list_free (self->allow);
  if (self->upgrade_source != 0)
    g_source_remove (self->upgrade_source);
  g_free (self);
}

static void migrate_session (LbRegistry *self, LbSession *session, const char *message);

/* A media error names the branch it came from. An encoder failing mid-stream
 * moves its session to another pool; an output failing ends that session
 * alone; a producer error fails the lobby and its sessions. */
static void
on_media_error (const char *branch, const GError *error, gpointer user_data)
{
  LbLobby *lobby = user_data;
  LbRegistry *self = lb_lobby_get_owner (lobby);
  g_autoptr (GPtrArray) sessions = g_ptr_array_copy (lb_lobby_get_sessions (lobby), NULL, NULL);

  for (guint i = 0; i < sessions->len; i++)
    {
      LbSession *session = g_ptr_array_index (sessions, i);
      if (branch != NULL && lb_session_owns_encode_branch (session, branch))
        migrate_session (self, session, error->message);
      else if (branch == NULL || lb_session_owns_branch (session, branch))
        fail_session (self, session, error->message);
    }
  if (branch == NULL)
    {
      lb_lobby_set_failed (lobby, error->message);
      emit (self, "lobby.failed",
            fields ("lobby_id", lb_lobby_get_id (lobby), "error", error->message, NULL));
    }
}

static LbLobby *
add_lobby (LbRegistry *self, const char *id, const LbLobbySpec *spec, gint64 created_at)
{
  LbLobby *lobby = lb_lobby_new (id, spec, created_at, self);
  g_ptr_array_add (self->lobbies, lobby);
  g_hash_table_insert (self->lobby_by_id, (gpointer)lb_lobby_get_id (lobby), lobby);
  if (lb_lobby_get_spec (lobby)->session_key != NULL)
    g_hash_table_insert (self->lobby_by_key, lb_lobby_get_spec (lobby)->session_key, lobby);
  return lobby;
}

static LbSession *
add_session (LbRegistry *self, const char *id, LbLobby *lobby, LbSessionSpec *spec,
             gint64 created_at)
{
  LbSession *session = lb_session_new (id, lobby, spec, created_at);
  g_ptr_array_add (self->sessions, session);
  g_ptr_array_add (lb_lobby_get_sessions (lobby), session);
  g_hash_table_insert (self->session_by_id, (gpointer)lb_session_get_id (session), session);
  return session;
}

static void
emit_refusal (LbRegistry *self, LbSession *session, LbRefusal refusal)
{
  JsonObject *obj = fields ("lobby_id", lb_lobby_get_id (lb_session_get_lobby (session)), "reason",
                            lb_refusal_name (refusal), NULL);
  json_object_set_member (obj, "pools", lb_pools_to_json (self->pools));
  emit (self, "admission.refused", obj);
}

/* Admission (DESIGN.md): ask the scheduler for a pool, open the encode there;
 * a hardware pool whose driver refuses teaches its real limit and is
 * excluded, and the scheduler is asked again within the same call. With
 * @switching the session's running output moves onto the new encode. */
static gboolean
admit (LbRegistry *self, LbSession *session, gboolean switching, gboolean *excluded, GError **error)
{
  const LbSessionSpec *spec = lb_session_get_spec (session);
  guint64 px = lb_session_get_pixel_rate (session);

  for (;;)
    {
      LbDecision d
          = lb_pools_decide (self->pools, spec->encoder, spec->require_hardware, px, excluded);
      if (d.pool < 0)
        {
          self->counters.refusals++;
          emit_refusal (self, session, d.refusal);
          g_set_error (error, LB_ERROR, LB_ERROR_CAPACITY, "no encoder can take this session (%s)",
                       lb_refusal_name (d.refusal));
          return FALSE;
        }
      LbPool *pool = lb_pools_get (self->pools, (guint)d.pool);
      LbEncoderSettings settings = lb_pools_settings (self->pools, (guint)d.pool);
      g_autoptr (GError) local_error = NULL;
      gboolean ok = switching ? lb_session_switch_encode (session, &settings, &local_error)
                              : lb_session_start (session, &settings, &local_error);
      if (ok)
        {
          take_slot (self, session, (guint)d.pool, d.fallback);
          if (d.fallback)
            {
              self->counters.fallbacks++;
              emit (self, "encoder.fallback",
                    fields ("session_id", lb_session_get_id (session), "lobby_id",
                            lb_lobby_get_id (lb_session_get_lobby (session)), "pool", pool->name,
                            "reason", "no hardware encoder slot available", NULL));
            }
          return TRUE;
        }
      if (!g_error_matches (local_error, LB_ERROR, LB_ERROR_ENCODER_OPEN)
          || pool->backend == LB_BACKEND_SOFTWARE)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      learn_limit (self, (guint)d.pool, local_error->message);
      excluded[d.pool] = TRUE;
    }
}

/* An encoder failed mid-stream: move the session to another pool without the
 * client re-joining (the output, with its SSRC and sequence, stays). */
static void
migrate_session (LbRegistry *self, LbSession *session, const char *message)
{
  int failed = lb_session_get_pool (session);
  g_autofree gboolean *excluded = g_new0 (gboolean, lb_pools_get_n (self->pools));
  g_autoptr (GError) error = NULL;

  self->counters.encode_errors++;
  if (failed >= 0)
    {
      LbPool *pool = lb_pools_get (self->pools, (guint)failed);
      pool->runtime_errors++;
      /* Moving encodes straight back onto an encoder that just failed would
       * flap; upgrades wait. New joins may still try it (and fall back). */
      pool->upgrade_holdoff_until
          = g_get_monotonic_time () + (gint64)self->config->upgrade_holdoff_s * G_USEC_PER_SEC;
      g_free (pool->last_error);
      pool->last_error = g_strdup (message);
      excluded[failed] = TRUE;
      emit (self, "encode.error",
            fields ("session_id", lb_session_get_id (session), "pool", pool->name, "error", message,
                    NULL));
    }
  if (!lb_session_is_running (session) || !admit (self, session, TRUE, excluded, &error))
    {
      fail_session (self, session, error ? error->message : message);
      return;
    }
  g_info ("session %s: encoder failed (%s); moved to %s", lb_session_get_id (session), message,
          lb_pools_get (self->pools, (guint)lb_session_get_pool (session))->name);
}

/* A hardware slot freed: move fallback encodes back to hardware, oldest
 * session first, while slots last. */
static gboolean
run_upgrades (gpointer user_data)
{
  LbRegistry *self = user_data;
  guint n_pools = lb_pools_get_n (self->pools);
  g_autofree gboolean *held_off = g_new0 (gboolean, n_pools);
  gint64 now = g_get_monotonic_time ();

  self->upgrade_source = 0;
  for (guint p = 0; p < n_pools; p++)
    held_off[p] = lb_pools_get (self->pools, p)->upgrade_holdoff_until > now;
  for (guint i = 0; i < self->sessions->len; i++)
    {
      LbSession *session = g_ptr_array_index (self->sessions, i);
      if (!lb_session_is_fallback (session) || !lb_session_is_running (session))
        continue;
      int hw = lb_pools_pick_hardware (self->pools, held_off);
      if (hw < 0)
        break;
      LbPool *pool = lb_pools_get (self->pools, (guint)hw);
      LbEncoderSettings settings = lb_pools_settings (self->pools, (guint)hw);
      g_autoptr (GError) error = NULL;
      g_autofree char *from
          = g_strdup (lb_pools_get (self->pools, (guint)lb_session_get_pool (session))->name);
      if (!lb_session_switch_encode (session, &settings, &error))
        {
          if (g_error_matches (error, LB_ERROR, LB_ERROR_ENCODER_OPEN))
            learn_limit (self, (guint)hw, error->message);
          g_warning ("session %s: upgrade to %s failed: %s", lb_session_get_id (session),
                     pool->name, error->message);
          break;
        }
      take_slot (self, session, (guint)hw, FALSE);
      self->counters.upgrades++;
      emit (
          self, "encoder.upgrade",
          fields ("session_id", lb_session_get_id (session), "from", from, "to", pool->name, NULL));
    }
  return G_SOURCE_REMOVE;
}

static void
schedule_upgrade (LbRegistry *self)
{
  /* Idle: the request that freed the slot answers first. */
  if (self->config->upgrade && self->upgrade_source == 0 && !self->closing)
    self->upgrade_source = g_idle_add (run_upgrades, self);
}

static gboolean
start_session (LbRegistry *self, LbSession *session, GError **error)
{
  g_autofree gboolean *excluded = g_new0 (gboolean, lb_pools_get_n (self->pools));
  return admit (self, session, FALSE, excluded, error);
}

const LbRegistryCounters *
lb_registry_get_counters (LbRegistry *self)
{
  return &self->counters;
}

LbPools *
lb_registry_get_pools (LbRegistry *self)
{
  return self->pools;
}

LbLobby *
lb_registry_create_lobby (LbRegistry *self, const LbLobbySpec *spec, gboolean *created,
                          GError **error)
{
  *created = FALSE;
  if (spec->session_key != NULL)
    {
      /* Main-loop only, so look-up and insert cannot interleave: concurrent
       * creates with one key all land here and all but the first find it. */
      LbLobby *existing = g_hash_table_lookup (self->lobby_by_key, spec->session_key);
      if (existing != NULL)
        return existing;
    }
  if (self->lobbies->len >= self->config->max_lobbies)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_LIMIT_REACHED, "lobby limit (%u) reached",
                   self->config->max_lobbies);
      return NULL;
    }

  g_autofree char *id = g_uuid_string_random ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  LbLobby *lobby = add_lobby (self, id, spec, now);
  if (!lb_lobby_start (lobby, on_media_error, lobby, error))
    {
      forget_lobby (self, lobby);
      return NULL;
    }

  g_autoptr (JsonNode) node = lb_lobby_spec_to_json (spec);
  g_autofree char *json = lb_json_to_string (node);
  if (!lb_store_insert_lobby (self->store, id, spec->session_key, json, now, error))
    {
      forget_lobby (self, lobby);
      return NULL;
    }
  g_info ("lobby %s created (key %s)", id, spec->session_key ? spec->session_key : "none");
  emit (self, "lobby.created", fields ("lobby_id", id, "session_key", spec->session_key, NULL));
  *created = TRUE;
  return lobby;
}

gboolean
lb_registry_delete_lobby (LbRegistry *self, const char *id, GError **error)
{
  LbLobby *lobby = g_hash_table_lookup (self->lobby_by_id, id);

  if (lobby == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_NOT_FOUND, "lobby %s not found", id);
      return FALSE;
    }
  if (!lb_store_delete_lobby (self->store, id, error))
    return FALSE;
  forget_lobby (self, lobby);
  g_info ("lobby %s deleted", id);
  emit (self, "lobby.deleted", fields ("lobby_id", id, NULL));
  return TRUE;
}

LbLobby *
lb_registry_find_lobby (LbRegistry *self, const char *id)
{
  return g_hash_table_lookup (self->lobby_by_id, id);
}

LbLobby *
lb_registry_find_lobby_by_key (LbRegistry *self, const char *session_key)
{
  return g_hash_table_lookup (self->lobby_by_key, session_key);
}

GPtrArray *
lb_registry_get_lobbies (LbRegistry *self)
{
  return self->lobbies;
}

LbSession *
lb_registry_join (LbRegistry *self, LbLobby *lobby, LbSessionSpec *spec, GError **error)
{
  g_autoptr (LbSessionSpec) owned = spec;

  if (!lb_allow_list_contains (self->allow, spec->host))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_DESTINATION_NOT_ALLOWED,
                   "destination %s is not in [rtp] allowed_destinations", spec->host);
      return NULL;
    }
  if (self->sessions->len >= self->config->max_sessions)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_LIMIT_REACHED, "session limit (%u) reached",
                   self->config->max_sessions);
      return NULL;
    }

  g_autofree char *id = g_uuid_string_random ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr (JsonNode) node = lb_session_spec_to_json (spec);
  g_autofree char *json = lb_json_to_string (node);
  LbSession *session = add_session (self, id, lobby, g_steal_pointer (&owned), now);

  if (!start_session (self, session, error))
    {
      forget_session (self, session);
      return NULL;
    }
  if (!lb_store_insert_session (self->store, id, lb_lobby_get_id (lobby), json, now, error))
    {
      forget_session (self, session);
      return NULL;
    }
  g_info ("session %s joined lobby %s (rtp %s:%u)", id, lb_lobby_get_id (lobby),
          lb_session_get_spec (session)->host, lb_session_get_spec (session)->port);
  emit (self, "session.created",
        fields ("session_id", id, "lobby_id", lb_lobby_get_id (lobby), "pool",
                lb_pools_get (self->pools, (guint)lb_session_get_pool (session))->name, NULL));
  return session;
}

gboolean
lb_registry_leave (LbRegistry *self, const char *session_id, GError **error)
{
  LbSession *session = g_hash_table_lookup (self->session_by_id, session_id);

  if (session == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_NOT_FOUND, "session %s not found", session_id);
      return FALSE;
    }
  if (!lb_store_delete_session (self->store, session_id, error))
    return FALSE;
  forget_session (self, session);
  g_info ("session %s left", session_id);
  emit (self, "session.ended", fields ("session_id", session_id, NULL));
  return TRUE;
}

LbSession *
lb_registry_find_session (LbRegistry *self, const char *id)
{
  return g_hash_table_lookup (self->session_by_id, id);
}

GPtrArray *
lb_registry_get_sessions (LbRegistry *self)
{
  return self->sessions;
}

guint
lb_registry_count_running_sessions (LbRegistry *self)
{
  guint n = 0;
  for (guint i = 0; i < self->sessions->len; i++)
    n += lb_session_is_running (g_ptr_array_index (self->sessions, i));
  return n;
}

guint
lb_registry_count_fallback_sessions (LbRegistry *self)
{
  guint n = 0;
  for (guint i = 0; i < self->sessions->len; i++)
    {
      LbSession *s = g_ptr_array_index (self->sessions, i);
      n += lb_session_is_running (s) && lb_session_is_fallback (s);
    }
  return n;
}

typedef struct
{
  LbRegistry *self;
  guint failed;
} RestoreState;

static void
restore_lobby (const char *id, const char *session_key, const char *spec_json, gint64 created_at,
               gpointer user_data)
{
  RestoreState *st = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = lb_json_parse_object (spec_json, strlen (spec_json), &error);
  g_autoptr (LbLobbySpec) spec
      = node ? lb_lobby_spec_from_json (json_node_get_object (node), &error) : NULL;
  if (spec == NULL)
    {
      g_warning ("lobby %s: stored spec is invalid, not restored: %s", id, error->message);
      st->failed++;
      return;
    }
  LbLobby *lobby = add_lobby (st->self, id, spec, created_at);
  if (!lb_lobby_start (lobby, on_media_error, lobby, &error))
    {
      g_warning ("lobby %s: failed to restart: %s", id, error->message);
      st->failed++;
    }
}

static void
restore_session (const char *id, const char *lobby_id, const char *spec_json, gint64 created_at,
                 gpointer user_data)
{
  RestoreState *st = user_data;
  g_autoptr (GError) error = NULL;
  LbLobby *lobby = g_hash_table_lookup (st->self->lobby_by_id, lobby_id);
  if (lobby == NULL)
    {
      g_warning ("session %s: lobby %s was not restored", id, lobby_id);
      st->failed++;
      return;
    }
  g_autoptr (JsonNode) node = lb_json_parse_object (spec_json, strlen (spec_json), &error);
  LbSessionSpec *spec = node ? lb_session_spec_from_json (json_node_get_object (node),
                                                          lb_lobby_get_spec (lobby), &error)
                             : NULL;
  if (spec == NULL)
    {
      g_warning ("session %s: stored spec is invalid, not restored: %s", id, error->message);
      st->failed++;
      return;
    }
  LbSession *session = add_session (st->self, id, lobby, spec, created_at);
  if (!start_session (st->self, session, &error))
    {
      g_warning ("session %s: failed to restart: %s", id, error->message);
      st->failed++;
    }
}

gboolean
lb_registry_restore (LbRegistry *self, GError **error)
{
  RestoreState st = { self, 0 };

  if (!lb_store_foreach_lobby (self->store, restore_lobby, &st, error)
      || !lb_store_foreach_session (self->store, restore_session, &st, error))
    return FALSE;
  g_info ("restored %u lobbies and %u sessions (%u failed)", self->lobbies->len,
          self->sessions->len, st.failed);
  return TRUE;
}
