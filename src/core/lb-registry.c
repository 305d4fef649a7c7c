/* lb-registry.c — lobby/session bookkeeping over the store and the media layer. */
#define G_LOG_DOMAIN "lobbyd-registry"
#include "lb-registry.h"
#include "lb-allow-list.h"
#include "lb-config.h"
#include "lb-error.h"
#include "lb-json.h"
#include "lb-events.h"
#include "lb-lobby.h"
#include "lb-media-branch.h"
#include "lb-output-webrtc.h" /* LbWebrtcOptions */
#include "lb-output.h"
#include "lb-pools.h"
#include "lb-session.h"
#include "lb-shared-encode.h"
#include "lb-spec.h"
#include "lb-store.h"

#include <string.h>

/* How long shutdown waits for encoders and outputs still stopping. */
#define SHUTDOWN_DETACH_WAIT_MS 10000

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
  LbAllowList *allowed_candidates; /* [webrtc]; NULL when it allows every address */
  LbWebrtcOptions webrtc;
  GPtrArray *lobbies;          /* LbLobby, owned, creation order */
  GPtrArray *sessions;         /* LbSession, owned, creation order */
  GPtrArray *encodes;          /* LbSharedEncode, owned, creation order */
  GHashTable *lobby_by_id;     /* id → LbLobby */
  GHashTable *lobby_by_key;    /* session_key → LbLobby */
  GHashTable *session_by_id;   /* id → LbSession */
  GPtrArray *closing_encoders; /* SlotRelease: hardware encoders still closing */
};

/* A hardware slot given back once its encoder has really closed. */
typedef struct
{
  LbRegistry *registry; /* NULL once the registry is gone */
  guint pool;
  guint64 pixel_rate;
} SlotRelease;

LbRegistry *
lb_registry_new (const LbConfig *config, LbStore *store, LbPools *pools, LbEvents *events,
                 GError **error)
{
  g_autoptr (LbAllowList) allow
      = lb_allow_list_new ((const char *const *)config->allowed_destinations, error);
  if (allow == NULL)
    return NULL;
  g_autoptr (LbAllowList) candidates
      = lb_allow_list_new ((const char *const *)config->allowed_candidates, error);
  if (candidates == NULL)
    {
      g_prefix_error (error, "[webrtc] allowed_candidates: ");
      return NULL;
    }
  if (lb_allow_list_allows_all (candidates))
    g_clear_pointer (&candidates, lb_allow_list_free);

  LbRegistry *self = g_new0 (LbRegistry, 1);
  self->config = config;
  self->store = store;
  self->pools = pools;
  self->events = events;
  self->allow = g_steal_pointer (&allow);
  self->allowed_candidates = g_steal_pointer (&candidates);
  self->webrtc.stun_server = config->stun_server;
  self->webrtc.ice_addresses = (const char *const *)config->ice_addresses;
  self->webrtc.allowed_candidates = self->allowed_candidates;
  self->webrtc.peer_timeout_s = config->peer_timeout_s;
  self->lobbies = g_ptr_array_new ();
  self->sessions = g_ptr_array_new ();
  self->encodes = g_ptr_array_new ();
  self->lobby_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->lobby_by_key = g_hash_table_new (g_str_hash, g_str_equal);
  self->session_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->closing_encoders = g_ptr_array_new ();
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

static void
release_pool_slot (LbRegistry *self, guint pool, guint64 pixel_rate)
{
  lb_pools_release (self->pools, pool, pixel_rate);
  if (lb_pool_is_hardware (lb_pools_get (self->pools, pool)))
    schedule_upgrade (self);
}

/* Gives the encode's slot back to its pool. */
static void
release_slot (LbRegistry *self, LbSharedEncode *encode)
{
  int pool = lb_shared_encode_get_pool (encode);
  if (pool < 0)
    return;
  release_pool_slot (self, (guint)pool, lb_shared_encode_get_pixel_rate (encode));
  lb_shared_encode_set_pool (encode, -1, NULL, NULL, FALSE, FALSE);
}

/* Moves the encode's slot to @pool_index (releasing the one it held, if any). */
static void
take_slot (LbRegistry *self, LbSharedEncode *encode, guint pool_index, gboolean fallback)
{
  LbPool *pool = lb_pools_get (self->pools, pool_index);
  release_slot (self, encode);
  lb_pools_acquire (self->pools, pool_index, lb_shared_encode_get_pixel_rate (encode));
  lb_shared_encode_set_pool (encode, (int)pool_index, pool->name, pool->factory,
                             lb_pool_is_hardware (pool), fallback);
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

static void
hardware_encoder_closed (gpointer user_data)
{
  SlotRelease *release = user_data;
  if (release->registry != NULL)
    {
      g_ptr_array_remove (release->registry->closing_encoders, release);
      release_pool_slot (release->registry, release->pool, release->pixel_rate);
    }
  g_free (release);
}

/* Closes an encode nobody watches any more, and frees its slot. The encoder
 * stops off the main loop: a hardware slot comes back when it has (until
 * then the driver still counts the session, and an open there could be
 * refused and "teach" a wrong limit); a software budget is only ours to
 * count, so it comes back at once. */
static void
close_encode (LbRegistry *self, LbSharedEncode *encode)
{
  int pool = lb_shared_encode_get_pool (encode);
  g_ptr_array_remove (self->encodes, encode);
  if (pool < 0 || !lb_pool_is_hardware (lb_pools_get (self->pools, (guint)pool)))
    {
      release_slot (self, encode);
      lb_shared_encode_free (encode);
      return;
    }
  SlotRelease *release = g_new0 (SlotRelease, 1);
  release->registry = self;
  release->pool = (guint)pool;
  release->pixel_rate = lb_shared_encode_get_pixel_rate (encode);
  g_ptr_array_add (self->closing_encoders, release);
  lb_shared_encode_close (encode, hardware_encoder_closed, release);
}

/* Takes the session off its encode; the last viewer closes the encode. */
static void
detach_session (LbRegistry *self, LbSession *session)
{
  LbSharedEncode *encode = lb_session_detach (session);
  if (encode != NULL && lb_shared_encode_get_sessions (encode)->len == 0)
    close_encode (self, encode);
}

/* The session stops but stays listed as failed. */
static void
fail_session (LbRegistry *self, LbSession *session, const char *message)
{
  detach_session (self, session);
  lb_session_set_failed (session, message);
  emit (self, "session.failed",
        fields ("session_id", lb_session_get_id (session), "lobby_id",
                lb_lobby_get_id (lb_session_get_lobby (session)), "error", message, NULL));
}

static void
forget_session (LbRegistry *self, LbSession *session)
{
  detach_session (self, session);
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
  g_warn_if_fail (self->encodes->len == 0);
  /* Branches detach off the main loop: let them finish (their encoders
   * close, their slots come back) while the pools are still here. */
  if (!lb_branch_wait_detaches (SHUTDOWN_DETACH_WAIT_MS))
    g_warning ("%u media branches still stopping at shutdown", lb_branch_pending_detaches ());
  for (guint i = 0; i < self->closing_encoders->len; i++)
    ((SlotRelease *)g_ptr_array_index (self->closing_encoders, i))->registry = NULL;
  g_ptr_array_unref (self->closing_encoders);
  g_hash_table_unref (self->session_by_id);
  g_hash_table_unref (self->lobby_by_key);
  g_hash_table_unref (self->lobby_by_id);
  g_ptr_array_unref (self->encodes);
  g_ptr_array_unref (self->sessions);
  g_ptr_array_unref (self->lobbies);
  lb_allow_list_free (self->allow);
  lb_allow_list_free (self->allowed_candidates);
  if (self->upgrade_source != 0)
    g_source_remove (self->upgrade_source);
  g_free (self);
}

static void migrate_encode (LbRegistry *self, LbSharedEncode *encode, const char *message);

/* A media error names the branch it came from. An encoder failing mid-stream
 * moves its viewers to another pool; an output failing ends that session
 * alone; a producer error fails the lobby and its sessions. */
static void
on_media_error (const char *branch, const GError *error, gpointer user_data)
{
  LbLobby *lobby = user_data;
  LbRegistry *self = lb_lobby_get_owner (lobby);

  if (branch != NULL)
    {
      for (guint i = 0; i < self->encodes->len; i++)
        {
          LbSharedEncode *encode = g_ptr_array_index (self->encodes, i);
          if (lb_shared_encode_owns_branch (encode, branch))
            {
              migrate_encode (self, encode, error->message);
              return;
            }
        }
    }
  g_autoptr (GPtrArray) sessions = g_ptr_array_copy (lb_lobby_get_sessions (lobby), NULL, NULL);
  for (guint i = 0; i < sessions->len; i++)
    {
      LbSession *session = g_ptr_array_index (sessions, i);
      if (branch == NULL || lb_session_owns_branch (session, branch))
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

/* Admission (DESIGN.md): ask the scheduler for a pool, open the encoder
 * there; a hardware pool whose driver refuses teaches its real limit and is
 * excluded, and the scheduler is asked again within the same call. For an
 * encode that already runs, this is a switch: its viewers move along. */
static gboolean
admit (LbRegistry *self, LbSharedEncode *encode, gboolean *excluded, GError **error)
{
  guint64 px = lb_shared_encode_get_pixel_rate (encode);

  for (;;)
    {
      LbDecision d = lb_pools_decide (self->pools, lb_shared_encode_get_preference (encode),
                                      lb_shared_encode_requires_hardware (encode), px, excluded);
      if (d.pool < 0)
        {
          self->counters.refusals++;
          JsonObject *obj
              = fields ("lobby_id", lb_lobby_get_id (lb_shared_encode_get_lobby (encode)), "reason",
                        lb_refusal_name (d.refusal), NULL);
          g_autofree guint *viewers = lb_registry_count_pool_viewers (self);
          json_object_set_member (obj, "pools", lb_pools_to_json (self->pools, viewers));
          emit (self, "admission.refused", obj);
          g_set_error (error, LB_ERROR, LB_ERROR_CAPACITY, "no encoder can take this session (%s)",
                       lb_refusal_name (d.refusal));
          return FALSE;
        }
      LbPool *pool = lb_pools_get (self->pools, (guint)d.pool);
      LbEncoderSettings settings = lb_pools_settings (self->pools, (guint)d.pool);
      g_autoptr (GError) local_error = NULL;
      if (lb_shared_encode_open (encode, &settings, &local_error))
        {
          take_slot (self, encode, (guint)d.pool, d.fallback);
          if (d.fallback)
            {
              self->counters.fallbacks++;
              /* The same truth as gpu-status: not "no slot" on a host without a GPU. */
              g_autofree char *why = NULL;
              const char *code = lb_pools_software_reason (self->pools, TRUE, &why);
              emit (self, "encoder.fallback",
                    fields ("encode_id", lb_shared_encode_get_id (encode), "lobby_id",
                            lb_lobby_get_id (lb_shared_encode_get_lobby (encode)), "pool",
                            pool->name, "reason", why, "reason_code", code, NULL));
            }
          return TRUE;
        }
      if (!g_error_matches (local_error, LB_ERROR, LB_ERROR_ENCODER_OPEN)
          || !lb_pool_is_hardware (pool))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      learn_limit (self, (guint)d.pool, local_error->message);
      excluded[d.pool] = TRUE;
    }
}

/* An encoder failed mid-stream: move its viewers to another pool without
 * them re-joining (their outputs, with SSRC and sequence, stay). */
static void
migrate_encode (LbRegistry *self, LbSharedEncode *encode, const char *message)
{
  int failed = lb_shared_encode_get_pool (encode);
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
            fields ("encode_id", lb_shared_encode_get_id (encode), "pool", pool->name, "error",
                    message, NULL));
    }
  if (!admit (self, encode, excluded, &error))
    {
      g_autoptr (GPtrArray) viewers
          = g_ptr_array_copy (lb_shared_encode_get_sessions (encode), NULL, NULL);
      for (guint i = 0; i < viewers->len; i++)
        fail_session (self, g_ptr_array_index (viewers, i), error->message);
      return;
    }
  g_info ("encode %s: encoder failed (%s); moved to %s", lb_shared_encode_get_id (encode), message,
          lb_pools_get (self->pools, (guint)lb_shared_encode_get_pool (encode))->name);
}

/* A hardware slot freed: move fallback encodes back to hardware, oldest
 * first, while slots last. */
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
  for (guint i = 0; i < self->encodes->len; i++)
    {
      LbSharedEncode *encode = g_ptr_array_index (self->encodes, i);
      if (!lb_shared_encode_is_fallback (encode))
        continue;
      int hw = lb_pools_pick_hardware (self->pools, held_off);
      if (hw < 0)
        break;
      LbPool *pool = lb_pools_get (self->pools, (guint)hw);
      LbEncoderSettings settings = lb_pools_settings (self->pools, (guint)hw);
      g_autoptr (GError) error = NULL;
      g_autofree char *from
          = g_strdup (lb_pools_get (self->pools, (guint)lb_shared_encode_get_pool (encode))->name);
      if (!lb_shared_encode_open (encode, &settings, &error))
        {
          if (g_error_matches (error, LB_ERROR, LB_ERROR_ENCODER_OPEN))
            learn_limit (self, (guint)hw, error->message);
          g_warning ("encode %s: upgrade to %s failed: %s", lb_shared_encode_get_id (encode),
                     pool->name, error->message);
          break;
        }
      take_slot (self, encode, (guint)hw, FALSE);
      self->counters.upgrades++;
      GPtrArray *viewers = lb_shared_encode_get_sessions (encode);
      for (guint v = 0; v < viewers->len; v++)
        emit (self, "encoder.upgrade",
              fields ("session_id", lb_session_get_id (g_ptr_array_index (viewers, v)), "encode_id",
                      lb_shared_encode_get_id (encode), "from", from, "to", pool->name, NULL));
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

/* Admission of a session: an encode of its lobby with the same profile
 * takes it at no cost in slots; otherwise a new encode is admitted. */
static gboolean
start_session (LbRegistry *self, LbSession *session, GError **error)
{
  LbLobby *lobby = lb_session_get_lobby (session);
  const LbSessionSpec *spec = lb_session_get_spec (session);
  gboolean share = lb_lobby_get_spec (lobby)->share_encodes;

  for (guint i = 0; share && i < self->encodes->len; i++)
    {
      LbSharedEncode *encode = g_ptr_array_index (self->encodes, i);
      if (lb_shared_encode_get_lobby (encode) == lobby
          && lb_shared_encode_accepts (encode, &spec->profile, spec->encoder,
                                       spec->require_hardware))
        return lb_session_attach (session, encode, error);
    }

  LbSharedEncode *encode
      = lb_shared_encode_new (lobby, &spec->profile, share, spec->encoder, spec->require_hardware,
                              self->config->join_keyframe_min_interval_ms);
  g_autofree gboolean *excluded = g_new0 (gboolean, lb_pools_get_n (self->pools));
  g_ptr_array_add (self->encodes, encode);
  if (!admit (self, encode, excluded, error) || !lb_session_attach (session, encode, error))
    {
      close_encode (self, encode);
      return FALSE;
    }
  return TRUE;
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

/* The catalogue's command line for an x11-app lobby (NULL for others, or
 * when the config no longer has the app). */
static const char *const *
lookup_app (LbRegistry *self, const LbLobbySpec *spec)
{
  if (spec->source_type != LB_SOURCE_X11_APP)
    return NULL;
  return g_hash_table_lookup (self->config->apps, spec->app);
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

  const char *const *app_argv = lookup_app (self, spec);
  if (spec->source_type == LB_SOURCE_X11_APP && app_argv == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD,
                   "field 'source.app': no app '%s' in the catalogue ([apps] in the config)",
                   spec->app);
      return NULL;
    }

  g_autofree char *id = g_uuid_string_random ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  LbLobby *lobby = add_lobby (self, id, spec, now);
  if (!lb_lobby_start (lobby, app_argv, self->config, on_media_error, lobby, error))
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
  /* Media first: stopping must never depend on the disk or a lock. */
  forget_lobby (self, lobby);
  lb_store_remove_lobby (self->store, id);
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

/* Ends @session, frees what it holds (output, place on its encode, the slot
 * with the last viewer) and says why. Media first: removing a stored row
 * never depends on the disk or a lock. */
static void
end_session (LbRegistry *self, LbSession *session, const char *reason)
{
  g_autofree char *id = g_strdup (lb_session_get_id (session));
  g_autofree char *lobby_id = g_strdup (lb_lobby_get_id (lb_session_get_lobby (session)));
  gboolean stored = lb_session_get_output_class (session)->stored;

  forget_session (self, session);
  if (stored)
    lb_store_remove_session (self->store, id);
  g_info ("session %s ended: %s", id, reason);
  emit (self, "session.ended",
        fields ("session_id", id, "lobby_id", lobby_id, "reason", reason, NULL));
}

/* A WebRTC viewer vanished or its connection failed. */
static void
on_session_ended (LbSession *session, const char *reason, gpointer user_data)
{
  end_session (user_data, session, reason);
}

LbSession *
lb_registry_join (LbRegistry *self, LbLobby *lobby, LbSessionSpec *spec, GError **error)
{
  g_autoptr (LbSessionSpec) owned = spec;
  const LbOutputClass *output = lb_output_class_lookup (lb_transport_name (spec->transport), error);

  /* The client's mistakes (a destination outside the allow-list, a bad
   * offer) are refused before an encoder opens. */
  if (output == NULL || !output->check (spec, self->allow, error))
    return NULL;
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

  lb_session_set_webrtc (session, &self->webrtc, on_session_ended, self);
  if (!start_session (self, session, error))
    {
      forget_session (self, session);
      return NULL;
    }
  if (output->stored
      && !lb_store_insert_session (self->store, id, lb_lobby_get_id (lobby), json, now, error))
    {
      forget_session (self, session);
      return NULL;
    }
  g_info ("session %s joined lobby %s (%s)", id, lb_lobby_get_id (lobby), output->transport);
  LbSharedEncode *encode = lb_session_get_encode (session);
  emit (self, "session.created",
        fields ("session_id", id, "lobby_id", lb_lobby_get_id (lobby), "encode_id",
                lb_shared_encode_get_id (encode), "pool",
                lb_pools_get (self->pools, (guint)lb_shared_encode_get_pool (encode))->name, NULL));
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
  end_session (self, session, "deleted");
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
  for (guint i = 0; i < self->encodes->len; i++)
    {
      LbSharedEncode *e = g_ptr_array_index (self->encodes, i);
      if (lb_shared_encode_is_fallback (e))
        n += lb_shared_encode_get_sessions (e)->len;
    }
  return n;
}

guint *
lb_registry_count_pool_viewers (LbRegistry *self)
{
  guint *viewers = g_new0 (guint, lb_pools_get_n (self->pools));
  for (guint i = 0; i < self->encodes->len; i++)
    {
      LbSharedEncode *e = g_ptr_array_index (self->encodes, i);
      if (lb_shared_encode_get_pool (e) >= 0)
        viewers[lb_shared_encode_get_pool (e)] += lb_shared_encode_get_sessions (e)->len;
    }
  return viewers;
}

GPtrArray *
lb_registry_get_encodes (LbRegistry *self)
{
  return self->encodes;
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
  if (!lb_lobby_start (lobby, lookup_app (st->self, spec), st->self->config, on_media_error, lobby,
                       &error))
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
