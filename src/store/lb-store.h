/* lb-store.h — the SQLite file that is the source of truth for lobbies,
 * their session keys and RTP sessions.
 *
 * The registry writes here before it starts anything, and a restart rebuilds
 * the registry from here. The UNIQUE constraint on session_key is the last
 * line of defence against duplicate lobbies for one caller key. Specs are
 * stored as the JSON the API accepts, so restoring re-validates them. */
#pragma once

#include "lb-types.h"

G_BEGIN_DECLS

typedef void (*LbStoreLobbyFunc) (const char *id, const char *session_key, const char *spec_json,
                                  gint64 created_at, gpointer user_data);
typedef void (*LbStoreSessionFunc) (const char *id, const char *lobby_id, const char *spec_json,
                                    gint64 created_at, gpointer user_data);

/* Opens (creating if needed) the database at @path in WAL mode, owner-only
 * (0600, with its -wal and -shm). Writes wait at most ~100 ms for a lock held
 * by another process, then fail with LB_ERROR_STORE_BUSY; a full disk gives
 * LB_ERROR_STORE. */
LbStore *lb_store_open (const char *path, GError **error);
void lb_store_close (LbStore *store);

/* LB_ERROR_CONFLICT if @session_key already has a lobby. */
gboolean lb_store_insert_lobby (LbStore *store, const char *id, const char *session_key,
                                const char *spec_json, gint64 created_at, GError **error);
/* Deletes the lobby and, by cascade, its sessions. LB_ERROR_NOT_FOUND if absent. */
gboolean lb_store_delete_lobby (LbStore *store, const char *id, GError **error);
gboolean lb_store_insert_session (LbStore *store, const char *id, const char *lobby_id,
                                  const char *spec_json, gint64 created_at, GError **error);
gboolean lb_store_delete_session (LbStore *store, const char *id, GError **error);

/* For things already stopped: removes the row now if the database lets us,
 * else remembers the removal (in memory) and retries it on a timer, before
 * every later write (which fails while it still cannot be made) and at
 * close. Never fails, so stopping media never depends on the disk. */
void lb_store_remove_lobby (LbStore *store, const char *id);
void lb_store_remove_session (LbStore *store, const char *id);
/* Writes the pending removals; FALSE with the reason while some remain. */
gboolean lb_store_flush (LbStore *store, GError **error);
guint lb_store_get_n_pending (LbStore *store);

/* The session limit learned for a hardware pool, keyed by what it depends on
 * (GPU UUID + driver version), so it survives restarts but not a driver update. */
gboolean lb_store_set_learned_limit (LbStore *store, const char *pool_key, guint slots,
                                     GError **error);
gboolean lb_store_get_learned_limit (LbStore *store, const char *pool_key, guint *slots);

/* Paired Moonlight clients (issue 13): @id is lobbyd's, @cert_pem the
 * client's certificate that HTTPS requests are checked against. */
typedef void (*LbStoreMlClientFunc) (const char *id, const char *name, const char *cert_pem,
                                     gint64 paired_at, gpointer user_data);
gboolean lb_store_insert_ml_client (LbStore *store, const char *id, const char *name,
                                    const char *cert_pem, gint64 paired_at, GError **error);
/* The same certificate pairing again: row @old_id becomes @id, atomically.
 * LB_ERROR_NOT_FOUND if absent. */
gboolean lb_store_replace_ml_client (LbStore *store, const char *old_id, const char *id,
                                     const char *name, const char *cert_pem, gint64 paired_at,
                                     GError **error);
/* LB_ERROR_NOT_FOUND if absent. */
gboolean lb_store_delete_ml_client (LbStore *store, const char *id, GError **error);
/* Oldest first. */
gboolean lb_store_foreach_ml_client (LbStore *store, LbStoreMlClientFunc func, gpointer user_data,
                                     GError **error);
/* The Moonlight app id of lobby @lobby_id: assigned on first use (1, 2, …,
 * never reused) and kept, so clients' app ids survive restarts. */
gboolean lb_store_ml_app_id (LbStore *store, const char *lobby_id, guint32 *app_id, GError **error);

/* Oldest first. */
gboolean lb_store_foreach_lobby (LbStore *store, LbStoreLobbyFunc func, gpointer user_data,
                                 GError **error);
gboolean lb_store_foreach_session (LbStore *store, LbStoreSessionFunc func, gpointer user_data,
                                   GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbStore, lb_store_close)

G_END_DECLS
