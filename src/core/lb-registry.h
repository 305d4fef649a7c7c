/* lb-registry.h — lobbies and sessions, kept in step with the store.
 *
 * Main-loop only. A create or join writes the store and starts the media in
 * one call, and undoes both if either fails: a request never leaves a
 * half-created lobby or session behind. A delete or leave stops the media
 * first and never fails on the store: a row it cannot remove yet (disk full,
 * database locked) is removed later (lb_store_remove_lobby). */
#pragma once

#include "lb-types.h"

G_BEGIN_DECLS

typedef struct
{
  guint64 fallbacks;     /* encodes opened in software because hardware was unavailable */
  guint64 upgrades;      /* fallback encodes moved back to hardware */
  guint64 refusals;      /* joins refused for lack of encoder capacity */
  guint64 encode_errors; /* encoders that failed mid-stream */
} LbRegistryCounters;

typedef struct _LbPools LbPools;
typedef struct _LbEvents LbEvents;

/* All borrowed and must outlive the registry; @events may be NULL. */
LbRegistry *lb_registry_new (const LbConfig *config, LbStore *store, LbPools *pools,
                             LbEvents *events, GError **error);
/* Stops all media; the store keeps everything for the next start. */
void lb_registry_free (LbRegistry *registry);

/* Restarts every stored lobby and session with its id. A lobby or session
 * whose media fails to start stays listed as failed. */
gboolean lb_registry_restore (LbRegistry *registry, GError **error);

/* Returns the lobby (borrowed). If @spec has a session_key that already has a
 * lobby, that lobby is returned and *created is FALSE. */
LbLobby *lb_registry_create_lobby (LbRegistry *registry, const LbLobbySpec *spec, gboolean *created,
                                   GError **error);
gboolean lb_registry_delete_lobby (LbRegistry *registry, const char *id, GError **error);
LbLobby *lb_registry_find_lobby (LbRegistry *registry, const char *id);
LbLobby *lb_registry_find_lobby_by_key (LbRegistry *registry, const char *session_key);
/* Borrowed, creation order. */
GPtrArray *lb_registry_get_lobbies (LbRegistry *registry);

/* @spec: ownership is taken. LB_ERROR_DESTINATION_NOT_ALLOWED outside the
 * allow-list. Transports whose output is negotiated (WebRTC) join with
 * lb_registry_join_async only (LB_ERROR_INTERNAL here). */
LbSession *lb_registry_join (LbRegistry *registry, LbLobby *lobby, LbSessionSpec *spec,
                             GError **error);

/* A join whose output is being negotiated. */
typedef struct _LbJoin LbJoin;
/* The end of a join, on the main loop: @session (borrowed) joined, or NULL
 * and @error (everything the join did is undone, as a failed
 * lb_registry_join leaves it). */
typedef void (*LbJoinFunc) (LbSession *session, const GError *error, gpointer user_data);
/* lb_registry_join for every transport, without waiting for a negotiated
 * output's answer. Refused at once (the spec, the session limit, admission:
 * NULL, @error set, @done never runs); else the session is admitted now (it
 * counts against max_sessions, its encode is open or shared, its output
 * attached and negotiating) and @done runs later, exactly once: with the
 * session, listed and announced (session.created) only then, or with the
 * output's error (LB_ERROR_INVALID_SDP, LB_ERROR_NEGOTIATION_TIMEOUT), a
 * media error, or LB_ERROR_NOT_FOUND when the lobby is deleted meanwhile.
 * Concurrent joins of a lobby share its encode as lb_registry_join does.
 * The returned handle is valid until @done runs or the join is cancelled. */
LbJoin *lb_registry_join_async (LbRegistry *registry, LbLobby *lobby, LbSessionSpec *spec,
                                LbJoinFunc done, gpointer user_data, GError **error);
/* The client is gone: the join is undone as if it had failed (no event),
 * and its @done never runs. */
void lb_registry_join_cancel (LbRegistry *registry, LbJoin *join);
/* Whether @spec would join @lobby now (the spec, the session limit, an
 * encode to share or room for a new one), without joining: nothing is
 * opened, taken or announced. */
gboolean lb_registry_check_join (LbRegistry *registry, LbLobby *lobby, const LbSessionSpec *spec,
                                 GError **error);
gboolean lb_registry_leave (LbRegistry *registry, const char *session_id, GError **error);
LbSession *lb_registry_find_session (LbRegistry *registry, const char *id);
GPtrArray *lb_registry_get_sessions (LbRegistry *registry);
guint lb_registry_count_running_sessions (LbRegistry *registry);
/* Running sessions encoding in software although hardware was allowed. */
guint lb_registry_count_fallback_sessions (LbRegistry *registry);
const LbRegistryCounters *lb_registry_get_counters (LbRegistry *registry);
/* Running encodes (LbSharedEncode, borrowed): each holds one encoder slot. */
GPtrArray *lb_registry_get_encodes (LbRegistry *registry);
/* Sessions per pool (index as in LbPools), newly allocated. */
guint *lb_registry_count_pool_viewers (LbRegistry *registry);
LbPools *lb_registry_get_pools (LbRegistry *registry);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbRegistry, lb_registry_free)

G_END_DECLS
