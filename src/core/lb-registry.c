/* lb-registry.c — lobby/session bookkeeping over the store and the media
 * layer; which pool an encode runs on is lb-admission's, moving running
 * encodes lb-upgrade's. */
#define G_LOG_DOMAIN "lobbyd-registry"
#include "lb-registry.h"
#include "lb-admission.h"
#include "lb-config.h"
#include "lb-error.h"
#include "lb-json.h"
#include "lb-log.h"
#include "lb-events.h"
#include "lb-lobby.h"
#include "lb-media-branch.h"
#include "lb-output.h"
#include "lb-pools.h"
#include "lb-session.h"
#include "lb-shared-encode.h"
#include "lb-spec.h"
#include "lb-store.h"
#include "lb-upgrade.h"

#include <string.h>

/* How long shutdown waits for encoders and outputs still stopping. */
#define SHUTDOWN_DETACH_WAIT_MS 10000

struct _LbRegistry
{
  const LbConfig *config;
  LbStore *store;
  LbPools *pools;
  LbEvents *events;
  LbAdmission *admission;
  LbUpgrade *upgrade;
  LbRegistryCounters counters; /* filled by lb_registry_get_counters */
  gboolean closing;            /* lb_registry_free: no events */
  GPtrArray *lobbies;          /* LbLobby, owned, creation order */
  GPtrArray *sessions;         /* LbSession, owned, creation order */
  GPtrArray *encodes;          /* LbSharedEncode, owned, creation order */
  GPtrArray *joins;            /* LbJoin, owned: sessions negotiating, not listed yet */
  GHashTable *lobby_by_id;     /* id → LbLobby */
  GHashTable *lobby_by_key;    /* session_key → LbLobby */
  GHashTable *session_by_id;   /* id → LbSession */
};

LbRegistry *
lb_registry_new (const LbConfig *config, LbStore *store, LbPools *pools, LbEvents *events,
                 GError **error)
{
  /* Each transport checks its own config keys (its class's configure). */
  if (!lb_output_classes_configure (config, error))
    return NULL;

  LbRegistry *self = g_new0 (LbRegistry, 1);
  self->config = config;
  self->store = store;
  self->pools = pools;
  self->events = events;
  self->lobbies = g_ptr_array_new ();
  self->sessions = g_ptr_array_new ();
  self->encodes = g_ptr_array_new ();
  self->joins = g_ptr_array_new ();
  self->lobby_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->lobby_by_key = g_hash_table_new (g_str_hash, g_str_equal);
  self->session_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->admission = lb_admission_new (pools, self->encodes, events);
  self->upgrade = lb_upgrade_new (config, pools, self->admission, self->encodes, events);
  return self;
}

static void
emit (LbRegistry *self, const char *type, JsonObject *obj)
{
  lb_events_emit (self->closing ? NULL : self->events, type, obj);
}

/* Closes an encode nobody watches any more; lb-admission gives its slot
 * back once the encoder has really stopped. */
static void
close_encode (LbRegistry *self, LbSharedEncode *encode)
{
  g_ptr_array_remove (self->encodes, encode);
  lb_admission_close_encode (self->admission, encode);
}

/* Takes the session off its encode; the last viewer closes the encode. */
static void
detach_session (LbRegistry *self, LbSession *session)
{
  LbSharedEncode *encode = lb_session_detach (session);
  if (encode != NULL && lb_shared_encode_get_n_viewers (encode) == 0)
    close_encode (self, encode);
}

/* The session stops but stays listed as failed. */
static void
fail_session (LbRegistry *self, LbSession *session, const char *message)
{
  const char *lobby_id = lb_lobby_get_id (lb_session_get_lobby (session));
  detach_session (self, session);
  lb_session_set_failed (session, message);
  lb_log_session (G_LOG_LEVEL_MESSAGE, lobby_id, lb_session_get_id (session),
                  "session %s of lobby %s failed: %s", lb_session_get_id (session), lobby_id,
                  message);
  emit (self, "session.failed",
        lb_event_fields ("session_id", lb_session_get_id (session), "lobby_id",
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

static void fail_joins (LbRegistry *self, LbLobby *lobby, LbSharedEncode *encode,
                        const char *branch, const GError *error);
static void end_session (LbRegistry *self, LbSession *session, const char *reason);

static void
forget_lobby (LbRegistry *self, LbLobby *lobby)
{
  g_autoptr (GError) gone
      = g_error_new (LB_ERROR, LB_ERROR_NOT_FOUND, "lobby %s was deleted", lb_lobby_get_id (lobby));
  fail_joins (self, lobby, NULL, NULL, gone);
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
  g_clear_pointer (&self->upgrade, lb_upgrade_free);
  while (self->lobbies->len > 0)
    forget_lobby (self, g_ptr_array_index (self->lobbies, self->lobbies->len - 1));
  g_warn_if_fail (self->encodes->len == 0);
  g_warn_if_fail (self->joins->len == 0);
  /* Branches detach off the main loop: let them finish (their encoders
   * close, their slots come back) while the pools are still here. */
  if (!lb_branch_wait_detaches (SHUTDOWN_DETACH_WAIT_MS))
    g_warning ("%u media branches still stopping at shutdown", lb_branch_pending_detaches ());
  g_hash_table_unref (self->session_by_id);
  g_hash_table_unref (self->lobby_by_key);
  g_hash_table_unref (self->lobby_by_id);
  g_ptr_array_unref (self->encodes);
  g_ptr_array_unref (self->joins);
  g_ptr_array_unref (self->sessions);
  g_ptr_array_unref (self->lobbies);
  lb_admission_free (self->admission);
  g_free (self);
}

/* An encoder failed mid-stream: its viewers move to another pool without
 * re-joining, or stop when none can take them. */
static void
migrate_encode (LbRegistry *self, LbSharedEncode *encode, const char *message)
{
  g_autoptr (GError) error = NULL;
  if (lb_upgrade_migrate (self->upgrade, encode, message, &error))
    return;
  g_autoptr (GPtrArray) viewers = lb_session_list_viewers (encode);
  fail_joins (self, NULL, encode, NULL, error);
  for (guint i = 0; i < viewers->len; i++)
    fail_session (self, g_ptr_array_index (viewers, i), error->message);
}

/* A media error names the branch it came from. An encoder failing mid-stream
 * moves its viewers to another pool; an output failing fails that session
 * alone, or ends it when its output reads the error as the viewer leaving
 * (a WebRTC peer that aborts its SCTP association as it closes); a producer
 * error fails the lobby and its sessions. */
static void
on_media_error (const char *branch, const GError *error, gpointer user_data)
{
  LbLobby *lobby = user_data;
  LbRegistry *self = lb_lobby_get_owner (lobby);

  /* The lobby's sound (its source "audio-source", its encode
   * "audio-encode-<id>"): the lobby and its sessions keep their video. */
  if (branch != NULL && g_str_has_prefix (branch, "audio-"))
    {
      if (lb_lobby_set_audio_failed (lobby, error->message))
        {
          lb_log_lobby (G_LOG_LEVEL_WARNING, lb_lobby_get_id (lobby), "lobby %s: audio failed: %s",
                        lb_lobby_get_id (lobby), error->message);
          emit (
              self, "lobby.audio_failed",
              lb_event_fields ("lobby_id", lb_lobby_get_id (lobby), "error", error->message, NULL));
        }
      return;
    }
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
  g_autoptr (GError) output_error = g_error_new_literal (LB_ERROR, LB_ERROR_OUTPUT, error->message);
  fail_joins (self, lobby, NULL, branch, output_error);
  g_autoptr (GPtrArray) sessions = g_ptr_array_copy (lb_lobby_get_sessions (lobby), NULL, NULL);
  for (guint i = 0; i < sessions->len; i++)
    {
      LbSession *session = g_ptr_array_index (sessions, i);
      const char *reason = NULL;
      if (branch != NULL && !lb_session_owns_branch (session, branch))
        continue;
      if (branch != NULL && !lb_session_is_negotiating (session))
        reason = lb_session_branch_error_reason (session, error);
      if (reason != NULL)
        end_session (self, session, reason);
      else
        fail_session (self, session, error->message);
    }
  if (branch == NULL)
    {
      lb_lobby_set_failed (lobby, error->message);
      lb_log_lobby (G_LOG_LEVEL_MESSAGE, lb_lobby_get_id (lobby), "lobby %s failed: %s",
                    lb_lobby_get_id (lobby), error->message);
      emit (self, "lobby.failed",
            lb_event_fields ("lobby_id", lb_lobby_get_id (lobby), "error", error->message, NULL));
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

static void on_session_ended (LbSession *session, const char *reason, gpointer user_data);

/* Lists the session: found by id, in its lobby, counted. */
static void
index_session (LbRegistry *self, LbSession *session)
{
  g_ptr_array_add (self->sessions, session);
  g_ptr_array_add (lb_lobby_get_sessions (lb_session_get_lobby (session)), session);
  g_hash_table_insert (self->session_by_id, (gpointer)lb_session_get_id (session), session);
}

static LbSession *
new_session (LbRegistry *self, const char *id, LbLobby *lobby, LbSessionSpec *spec,
             gint64 created_at)
{
  LbSession *session = lb_session_new (id, lobby, spec, created_at, self->config);
  lb_session_set_ended_handler (session, on_session_ended, self);
  return session;
}

static LbSession *
add_session (LbRegistry *self, const char *id, LbLobby *lobby, LbSessionSpec *spec,
             gint64 created_at)
{
  LbSession *session = new_session (self, id, lobby, spec, created_at);
  index_session (self, session);
  return session;
}

/* A running encode of @lobby that a session of @spec can share, or NULL. */
static LbSharedEncode *
find_shareable_encode (LbRegistry *self, LbLobby *lobby, const LbSessionSpec *spec)
{
  for (guint i = 0; lb_lobby_get_spec (lobby)->share_encodes && i < self->encodes->len; i++)
    {
      LbSharedEncode *encode = g_ptr_array_index (self->encodes, i);
      if (lb_shared_encode_get_lobby (encode) == lobby
          && lb_shared_encode_accepts (encode, &spec->profile, spec->encoder,
                                       spec->require_hardware))
        return encode;
    }
  return NULL;
}

/* Admission of a session: an encode of its lobby with the same profile
 * takes it at no cost in slots; otherwise a new encode is admitted. */
static gboolean
start_session (LbRegistry *self, LbSession *session, GError **error)
{
  LbLobby *lobby = lb_session_get_lobby (session);
  const LbSessionSpec *spec = lb_session_get_spec (session);
  LbSharedEncode *shared = find_shareable_encode (self, lobby, spec);
  if (shared != NULL)
    return lb_session_attach (session, shared, error);

  LbSharedEncode *encode
      = lb_shared_encode_new (lobby, &spec->profile, lb_lobby_get_spec (lobby)->share_encodes,
                              spec->encoder, spec->require_hardware);
  g_ptr_array_add (self->encodes, encode);
  if (!lb_admission_admit (self->admission, encode, -1, error)
      || !lb_session_attach (session, encode, error))
    {
      close_encode (self, encode);
      return FALSE;
    }
  return TRUE;
}

const LbRegistryCounters *
lb_registry_get_counters (LbRegistry *self)
{
  self->counters.fallbacks = lb_admission_get_fallbacks (self->admission);
  self->counters.upgrades = lb_upgrade_get_upgrades (self->upgrade);
  self->counters.refusals = lb_admission_get_refusals (self->admission);
  self->counters.encode_errors = lb_upgrade_get_encode_errors (self->upgrade);
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
  g_autoptr (GError) start_error = NULL;
  if (!lb_lobby_start (lobby, app_argv, self->config, on_media_error, lobby, &start_error))
    {
      lb_log_lobby (G_LOG_LEVEL_INFO, id, "lobby %s not created: %s", id, start_error->message);
      forget_lobby (self, lobby);
      g_propagate_error (error, g_steal_pointer (&start_error));
      return NULL;
    }

  g_autoptr (JsonNode) node = lb_lobby_spec_to_json (spec);
  g_autofree char *json = lb_json_to_string (node);
  if (!lb_store_insert_lobby (self->store, id, spec->session_key, json, now, error))
    {
      forget_lobby (self, lobby);
      return NULL;
    }
  lb_log_lobby (G_LOG_LEVEL_INFO, id, "lobby %s created (key %s)", id,
                spec->session_key ? spec->session_key : "none");
  emit (self, "lobby.created",
        lb_event_fields ("lobby_id", id, "session_key", spec->session_key, NULL));
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
  lb_log_lobby (G_LOG_LEVEL_INFO, id, "lobby %s deleted", id);
  emit (self, "lobby.deleted", lb_event_fields ("lobby_id", id, NULL));
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
  lb_log_session (G_LOG_LEVEL_INFO, lobby_id, id, "session %s ended: %s", id, reason);
  emit (self, "session.ended",
        lb_event_fields ("session_id", id, "lobby_id", lobby_id, "reason", reason, NULL));
}

/* A viewer vanished or its connection failed (outputs that notice it). */
static void
on_session_ended (LbSession *session, const char *reason, gpointer user_data)
{
  end_session (user_data, session, reason);
}

/* The client's mistakes (a destination outside the allow-list, a bad
 * offer) are refused before an encoder opens, and so is a session over the
 * limit (joins still negotiating count). */
static const LbOutputClass *
check_join (LbRegistry *self, const LbSessionSpec *spec, GError **error)
{
  const LbOutputClass *output = lb_output_class_lookup (spec->transport, error);

  if (output == NULL || !output->check (spec, self->config, error))
    return NULL;
  if (self->sessions->len + self->joins->len >= self->config->max_sessions)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_LIMIT_REACHED, "session limit (%u) reached",
                   self->config->max_sessions);
      return NULL;
    }
  return output;
}

static void
announce_session (LbRegistry *self, LbSession *session)
{
  LbLobby *lobby = lb_session_get_lobby (session);
  LbSharedEncode *encode = lb_session_get_encode (session);
  const char *pool = lb_pools_get (self->pools, (guint)lb_shared_encode_get_pool (encode))->name;

  lb_log (G_LOG_LEVEL_INFO, lb_lobby_get_id (lobby), lb_session_get_id (session), pool,
          "session %s joined lobby %s (%s, encode %s on pool %s)", lb_session_get_id (session),
          lb_lobby_get_id (lobby), lb_session_get_output_class (session)->transport,
          lb_shared_encode_get_id (encode), pool);
  emit (self, "session.created",
        lb_event_fields ("session_id", lb_session_get_id (session), "lobby_id",
                         lb_lobby_get_id (lobby), "encode_id", lb_shared_encode_get_id (encode),
                         "pool", pool, NULL));
}

LbSession *
lb_registry_join (LbRegistry *self, LbLobby *lobby, LbSessionSpec *spec, GError **error)
{
  g_autoptr (LbSessionSpec) owned = spec;
  const LbOutputClass *output = check_join (self, spec, error);

  if (output == NULL)
    return NULL;
  if (output->negotiated)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INTERNAL,
                   "transport %s negotiates: it joins with lb_registry_join_async",
                   output->transport);
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
  if (output->stored
      && !lb_store_insert_session (self->store, id, lb_lobby_get_id (lobby), json, now, error))
    {
      forget_session (self, session);
      return NULL;
    }
  announce_session (self, session);
  return session;
}

struct _LbJoin
{
  LbRegistry *registry;
  LbSession *session; /* owned until listed */
  char *json;         /* the stored row */
  gint64 created_at;
  guint idle; /* outputs ready at once: the join ends on the main loop */
  LbJoinFunc done;
  gpointer user_data;
};

static void
join_free (LbJoin *join)
{
  g_clear_handle_id (&join->idle, g_source_remove);
  g_free (join->json);
  g_free (join);
}

/* The join ends: listed, stored and announced, or (@error) undone as a
 * failed lb_registry_join is. Then its caller hears it. */
static void
join_end (LbRegistry *self, LbJoin *join, const GError *error)
{
  LbSession *session = join->session;
  g_autoptr (GError) store_error = NULL;

  g_ptr_array_remove (self->joins, join);
  if (error == NULL)
    {
      const char *id = lb_session_get_id (session);
      LbLobby *lobby = lb_session_get_lobby (session);
      index_session (self, session);
      if (lb_session_get_output_class (session)->stored
          && !lb_store_insert_session (self->store, id, lb_lobby_get_id (lobby), join->json,
                                       join->created_at, &store_error))
        error = store_error;
      else
        announce_session (self, session);
    }
  if (error != NULL)
    {
      g_debug ("session %s: join failed: %s", lb_session_get_id (session), error->message);
      forget_session (self, session);
      session = NULL;
    }
  join->done (session, error, join->user_data);
  join_free (join);
}

static void
on_join_ready (LbSession *session, const GError *error, gpointer user_data)
{
  LbJoin *join = user_data;
  join_end (join->registry, join, error);
}

static gboolean
join_ready_idle (gpointer user_data)
{
  LbJoin *join = user_data;
  join->idle = 0;
  join_end (join->registry, join, NULL);
  return G_SOURCE_REMOVE;
}

/* Ends the joins of @lobby, of @encode or whose output is @branch (any that
 * is non-NULL) with @error. */
static void
fail_joins (LbRegistry *self, LbLobby *lobby, LbSharedEncode *encode, const char *branch,
            const GError *error)
{
  g_autoptr (GPtrArray) joins = g_ptr_array_copy (self->joins, NULL, NULL);
  for (guint i = 0; i < joins->len; i++)
    {
      LbJoin *join = g_ptr_array_index (joins, i);
      if (!g_ptr_array_find (self->joins, join, NULL))
        continue; /* ended by an earlier one's caller */
      LbSession *session = join->session;
      if ((lobby != NULL && lb_session_get_lobby (session) != lobby)
          || (encode != NULL && lb_session_get_encode (session) != encode)
          || (branch != NULL && !lb_session_owns_branch (session, branch)))
        continue;
      join_end (self, join, error);
    }
}

LbJoin *
lb_registry_join_async (LbRegistry *self, LbLobby *lobby, LbSessionSpec *spec, LbJoinFunc done,
                        gpointer user_data, GError **error)
{
  g_autoptr (LbSessionSpec) owned = spec;
  const LbOutputClass *output = check_join (self, spec, error);

  if (output == NULL)
    return NULL;
  g_autofree char *id = g_uuid_string_random ();
  g_autoptr (JsonNode) node = lb_session_spec_to_json (spec);
  LbJoin *join = g_new0 (LbJoin, 1);
  join->registry = self;
  join->json = lb_json_to_string (node);
  join->created_at = g_get_real_time () / G_USEC_PER_SEC;
  join->done = done;
  join->user_data = user_data;
  join->session = new_session (self, id, lobby, g_steal_pointer (&owned), join->created_at);
  lb_session_set_ready_handler (join->session, on_join_ready, join);

  if (!start_session (self, join->session, error))
    {
      forget_session (self, join->session);
      join_free (join);
      return NULL;
    }
  g_ptr_array_add (self->joins, join);
  if (!lb_session_is_negotiating (join->session))
    join->idle = g_idle_add (join_ready_idle, join);
  g_debug ("session %s: negotiating with lobby %s", id, lb_lobby_get_id (lobby));
  return join;
}

void
lb_registry_join_cancel (LbRegistry *self, LbJoin *join)
{
  g_return_if_fail (g_ptr_array_find (self->joins, join, NULL));
  lb_log_session (G_LOG_LEVEL_INFO, lb_lobby_get_id (lb_session_get_lobby (join->session)),
                  lb_session_get_id (join->session),
                  "session %s: the client left while it was negotiated",
                  lb_session_get_id (join->session));
  g_ptr_array_remove (self->joins, join);
  forget_session (self, join->session);
  join_free (join);
}

gboolean
lb_registry_check_join (LbRegistry *self, LbLobby *lobby, const LbSessionSpec *spec, GError **error)
{
  if (check_join (self, spec, error) == NULL)
    return FALSE;
  if (find_shareable_encode (self, lobby, spec) != NULL)
    return TRUE;
  return lb_admission_check (self->admission, lb_profile_pixel_rate (&spec->profile), spec->encoder,
                             spec->require_hardware, error);
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
        n += lb_shared_encode_get_n_viewers (e);
    }
  return n;
}

guint *
lb_registry_count_pool_viewers (LbRegistry *self)
{
  return lb_admission_count_pool_viewers (self->admission);
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
      lb_log_lobby (G_LOG_LEVEL_WARNING, id, "lobby %s: stored spec is invalid, not restored: %s",
                    id, error->message);
      st->failed++;
      return;
    }
  LbLobby *lobby = add_lobby (st->self, id, spec, created_at);
  if (!lb_lobby_start (lobby, lookup_app (st->self, spec), st->self->config, on_media_error, lobby,
                       &error))
    {
      lb_log_lobby (G_LOG_LEVEL_WARNING, id, "lobby %s: failed to restart: %s", id, error->message);
      st->failed++;
    }
  else
    lb_log_lobby (G_LOG_LEVEL_INFO, id, "lobby %s restored", id);
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
      lb_log_session (G_LOG_LEVEL_WARNING, lobby_id, id, "session %s: lobby %s was not restored",
                      id, lobby_id);
      st->failed++;
      return;
    }
  g_autoptr (JsonNode) node = lb_json_parse_object (spec_json, strlen (spec_json), &error);
  LbSessionSpec *spec = node ? lb_output_spec_from_json (json_node_get_object (node),
                                                         lb_lobby_get_spec (lobby), &error)
                             : NULL;
  if (spec == NULL)
    {
      lb_log_session (G_LOG_LEVEL_WARNING, lobby_id, id,
                      "session %s: stored spec is invalid, not restored: %s", id, error->message);
      st->failed++;
      return;
    }
  LbSession *session = add_session (st->self, id, lobby, spec, created_at);
  if (!start_session (st->self, session, &error))
    {
      lb_log_session (G_LOG_LEVEL_WARNING, lobby_id, id, "session %s: failed to restart: %s", id,
                      error->message);
      st->failed++;
    }
  else
    lb_log_session (G_LOG_LEVEL_INFO, lobby_id, id, "session %s of lobby %s restored", id,
                    lobby_id);
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
