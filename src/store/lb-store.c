/* lb-store.c — SQLite persistence (WAL, foreign keys, prepared statements). */
#define G_LOG_DOMAIN "lobbyd-store"
#include "lb-store.h"
#include "lb-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

/* Every write runs on the main loop: while another process holds the
 * database, a write may wait this long and then fails with
 * LB_ERROR_STORE_BUSY. Small, so a locked database never stalls the API. */
#define BUSY_TIMEOUT_MS 100
/* After a write found the database locked, later writes do not wait at all
 * for this long: a burst of requests against a held lock costs one wait. */
#define BUSY_HOLDOFF_US (1 * G_USEC_PER_SEC)
/* Start-up serves no requests yet: wait longer there. Shutdown a little. */
#define OPEN_BUSY_TIMEOUT_MS 5000
#define CLOSE_BUSY_TIMEOUT_MS 1000
/* Space reserved (while there is some) for the list of pending removals, so
 * that recording one never needs the disk: ~1,500 removals. */
#define PENDING_FILE_BYTES 65536
/* How often pending row removals are retried. */
#define RETRY_INTERVAL_MS 250

typedef struct
{
  gboolean lobby; /* TRUE: a lobbies row (its sessions cascade); FALSE: a sessions row */
  char *id;
} PendingRemoval;

struct _LbStore
{
  sqlite3 *db;
  char *path;
  /* Rows of lobbies and sessions that are gone from memory (their media
   * stopped) but could not be removed from the file yet: disk full or
   * database locked. Retried on a timer, before every write and at close. */
  GArray *pending; /* PendingRemoval */
  int pending_fd;  /* <db>-pending: the same list, for a restart before it is written */
  guint retry_source;
  int wait_ms;       /* lock wait for writes; -1: BUSY_TIMEOUT_MS unless held off */
  gint64 busy_until; /* monotonic µs: the database was found locked until then */
};

/* 2 (issue 13): moonlight_clients and moonlight_apps, created by the same
 * CREATE TABLE IF NOT EXISTS on a version-1 file. */
#define SCHEMA_VERSION 2

static const char schema[] = "CREATE TABLE IF NOT EXISTS lobbies ("
                             "  id TEXT PRIMARY KEY,"
                             "  session_key TEXT UNIQUE,"
                             "  spec TEXT NOT NULL,"
                             "  created_at INTEGER NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS sessions ("
                             "  id TEXT PRIMARY KEY,"
                             "  lobby_id TEXT NOT NULL REFERENCES lobbies(id) ON DELETE CASCADE,"
                             "  spec TEXT NOT NULL,"
                             "  created_at INTEGER NOT NULL);"
                             "CREATE INDEX IF NOT EXISTS sessions_by_lobby ON sessions(lobby_id);"
                             "CREATE TABLE IF NOT EXISTS learned_limits ("
                             "  pool_key TEXT PRIMARY KEY,"
                             "  slots INTEGER NOT NULL,"
                             "  learned_at INTEGER NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS moonlight_clients ("
                             "  id TEXT PRIMARY KEY,"
                             "  name TEXT NOT NULL,"
                             "  cert_pem TEXT NOT NULL,"
                             "  paired_at INTEGER NOT NULL);"
                             /* No foreign key: an app id stays reserved for
                              * its lobby id, never handed to another lobby. */
                             "CREATE TABLE IF NOT EXISTS moonlight_apps ("
                             "  app_id INTEGER PRIMARY KEY AUTOINCREMENT,"
                             "  lobby_id TEXT NOT NULL UNIQUE);";

static gboolean
set_sqlite_error (LbStore *store, int rc, const char *what, GError **error)
{
  LbErrorCode code;
  switch (rc & 0xff)
    {
    case SQLITE_CONSTRAINT:
      code = LB_ERROR_CONFLICT;
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = LB_ERROR_STORE_BUSY;
      store->busy_until = g_get_monotonic_time () + BUSY_HOLDOFF_US;
      break;
    default:
      code = LB_ERROR_STORE;
    }
  g_set_error (error, LB_ERROR, code, "%s: %s", what, sqlite3_errmsg (store->db));
  return FALSE;
}

static int
user_version (LbStore *store)
{
  sqlite3_stmt *stmt = NULL;
  int version = -1;
  if (sqlite3_prepare_v2 (store->db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK
      && sqlite3_step (stmt) == SQLITE_ROW)
    version = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  return version;
}

static gboolean
exec (LbStore *store, const char *sql, GError **error)
{
  int rc = sqlite3_exec (store->db, sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return set_sqlite_error (store, rc, "schema", error);
  return TRUE;
}

/* The database holds session keys (callers' secrets): owner only. SQLite
 * creates -wal and -shm with the main file's mode, so creating that one 0600
 * covers them; files left looser by an older lobbyd are tightened. */
static gboolean
make_private (const char *path, GError **error)
{
  int fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || fchmod (fd, 0600) != 0)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, LB_ERROR, LB_ERROR_STORE, "%s: %s", path, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *side = g_strconcat (path, i == 0 ? "-wal" : "-shm", NULL);
      if (g_chmod (side, 0600) != 0 && errno != ENOENT)
        {
          g_set_error (error, LB_ERROR, LB_ERROR_STORE, "%s: %s", side, g_strerror (errno));
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
is_pending (LbStore *store, gboolean lobby, const char *id)
{
  for (guint i = 0; i < store->pending->len; i++)
    {
      const PendingRemoval *p = &g_array_index (store->pending, PendingRemoval, i);
      if (p->lobby == lobby && g_str_equal (p->id, id))
        return TRUE;
    }
  return FALSE;
}

/* Rewrites the pending list in place, inside the space reserved at open: a
 * NUL-terminated text of "lobby <id>" / "session <id>" lines. */
static void
save_pending (LbStore *store)
{
  if (store->pending_fd < 0)
    return;
  g_autoptr (GString) text = g_string_new (NULL);
  for (guint i = 0; i < store->pending->len; i++)
    {
      const PendingRemoval *p = &g_array_index (store->pending, PendingRemoval, i);
      g_string_append_printf (text, "%s %s\n", p->lobby ? "lobby" : "session", p->id);
    }
  if (text->len + 1 > PENDING_FILE_BYTES)
    {
      g_warning ("%u row removals pending: too many to keep across a restart", store->pending->len);
      return;
    }
  if (pwrite (store->pending_fd, text->str, text->len + 1, 0) != (ssize_t)text->len + 1)
    g_warning ("%s-pending: %s; pending row removals would be lost by a restart", store->path,
               g_strerror (errno));
}

/* Loads the removals a previous run could not write, and reserves the space
 * for this run's. */
static gboolean
open_pending (LbStore *store, GError **error)
{
  g_autofree char *path = g_strconcat (store->path, "-pending", NULL);
  store->pending_fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (store->pending_fd < 0 || fchmod (store->pending_fd, 0600) != 0)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_STORE, "%s: %s", path, g_strerror (errno));
      return FALSE;
    }
  g_autofree char *buf = g_malloc0 (PENDING_FILE_BYTES + 1);
  ssize_t n = pread (store->pending_fd, buf, PENDING_FILE_BYTES, 0);
  g_auto (GStrv) lines = g_strsplit (n > 0 ? buf : "", "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      gboolean lobby = g_str_has_prefix (lines[i], "lobby ");
      const char *id = strchr (lines[i], ' ');
      if (id == NULL || id[1] == '\0' || (!lobby && !g_str_has_prefix (lines[i], "session ")))
        continue;
      PendingRemoval p = { lobby, g_strdup (id + 1) };
      g_array_append_val (store->pending, p);
      g_info ("%s %s: deleted before the last stop, not restored", lobby ? "lobby" : "session",
              id + 1);
    }
  int rc = posix_fallocate (store->pending_fd, 0, PENDING_FILE_BYTES);
  if (rc != 0)
    g_warning ("%s: cannot reserve space: %s", path, g_strerror (rc));
  return TRUE;
}

static gboolean retry_pending (gpointer user_data);

LbStore *
lb_store_open (const char *path, GError **error)
{
  g_autoptr (LbStore) store = g_new0 (LbStore, 1);
  store->path = g_strdup (path);
  store->pending = g_array_new (FALSE, FALSE, sizeof (PendingRemoval));
  store->wait_ms = -1;
  store->pending_fd = -1;
  if (!make_private (path, error) || !open_pending (store, error))
    return NULL;
  int rc = sqlite3_open_v2 (
      path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (store, rc, path, error);
      return NULL;
    }
  sqlite3_busy_timeout (store->db, OPEN_BUSY_TIMEOUT_MS);
  /* Keeps -wal and -shm after a clean close: opening a WAL database needs
   * them, and a disk that filled up while lobbyd was stopped has no room to
   * create them again. */
  int persist_wal = 1;
  sqlite3_file_control (store->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist_wal);

  /* WAL: a kill -9 loses at most the transaction in flight, never the file.
   * synchronous=NORMAL is durable across process crashes in WAL mode. */
  if (!exec (store, "PRAGMA journal_mode=WAL;", error)
      || !exec (store, "PRAGMA synchronous=NORMAL;", error)
      || !exec (store, "PRAGMA foreign_keys=ON;", error) || !exec (store, schema, error))
    return NULL;

  /* Written only when it changes: a daemon must be able to start on a full
   * disk (and serve what it has) as long as the schema is there. */
  if (user_version (store) != SCHEMA_VERSION)
    {
      g_autofree char *version = g_strdup_printf ("PRAGMA user_version=%d;", SCHEMA_VERSION);
      if (!exec (store, version, error))
        return NULL;
    }
  if (store->pending->len > 0 && retry_pending (store))
    store->retry_source = g_timeout_add (RETRY_INTERVAL_MS, retry_pending, store);
  sqlite3_busy_timeout (store->db, BUSY_TIMEOUT_MS);
  g_debug ("opened %s", path);
  return g_steal_pointer (&store);
}

static void
pending_clear (gpointer data)
{
  g_free (((PendingRemoval *)data)->id);
}

void
lb_store_close (LbStore *store)
{
  if (store == NULL)
    return;
  if (store->db != NULL && store->pending->len > 0)
    {
      /* Once more; what remains stays in <db>-pending for the next start. */
      g_autoptr (GError) error = NULL;
      store->wait_ms = CLOSE_BUSY_TIMEOUT_MS;
      if (!lb_store_flush (store, &error))
        g_warning ("%u row removals still pending (%s): kept in %s-pending for the next start",
                   store->pending->len, error->message, store->path);
    }
  if (store->pending_fd >= 0)
    close (store->pending_fd);
  if (store->retry_source != 0)
    g_source_remove (store->retry_source);
  if (store->pending != NULL)
    {
      g_array_set_clear_func (store->pending, pending_clear);
      g_array_unref (store->pending);
    }
  sqlite3_close_v2 (store->db);
  g_free (store->path);
  g_free (store);
}

/* Sets how long the next write may wait for another process's lock. */
static void
set_lock_wait (LbStore *store)
{
  int ms = store->wait_ms;
  if (ms < 0)
    ms = g_get_monotonic_time () < store->busy_until ? 0 : BUSY_TIMEOUT_MS;
  sqlite3_busy_timeout (store->db, ms);
}

/* Runs one statement with text (or NULL) parameters and one optional trailing int64. */
static gboolean
run (LbStore *store, const char *sql, const char *const *texts, guint n_texts,
     const gint64 *int_param, int *changes, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  set_lock_wait (store);
  int rc = sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return set_sqlite_error (store, rc, "prepare", error);

  for (guint i = 0; i < n_texts; i++)
    sqlite3_bind_text (stmt, (int)i + 1, texts[i], -1, SQLITE_STATIC);
  if (int_param != NULL)
    sqlite3_bind_int64 (stmt, (int)n_texts + 1, *int_param);

  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (store, rc, "write", error);
  if (changes != NULL)
    *changes = sqlite3_changes (store->db);
  return TRUE;
}

gboolean
lb_store_insert_lobby (LbStore *store, const char *id, const char *session_key,
                       const char *spec_json, gint64 created_at, GError **error)
{
  const char *texts[] = { id, session_key, spec_json };
  /* A pending removal may hold the session key this lobby wants. */
  if (!lb_store_flush (store, error))
    return FALSE;
  return run (store, "INSERT INTO lobbies(id, session_key, spec, created_at) VALUES (?,?,?,?)",
              texts, 3, &created_at, NULL, error);
}

static gboolean
delete_by_id (LbStore *store, const char *sql, const char *what, const char *id, GError **error)
{
  int changes = 0;
  if (!run (store, sql, &id, 1, NULL, &changes, error))
    return FALSE;
  if (changes == 0)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_NOT_FOUND, "%s %s not found", what, id);
      return FALSE;
    }
  return TRUE;
}

gboolean
lb_store_delete_lobby (LbStore *store, const char *id, GError **error)
{
  return delete_by_id (store, "DELETE FROM lobbies WHERE id = ?", "lobby", id, error);
}

gboolean
lb_store_insert_session (LbStore *store, const char *id, const char *lobby_id,
                         const char *spec_json, gint64 created_at, GError **error)
{
  const char *texts[] = { id, lobby_id, spec_json };
  if (!lb_store_flush (store, error))
    return FALSE;
  return run (store, "INSERT INTO sessions(id, lobby_id, spec, created_at) VALUES (?,?,?,?)", texts,
              3, &created_at, NULL, error);
}

gboolean
lb_store_delete_session (LbStore *store, const char *id, GError **error)
{
  return delete_by_id (store, "DELETE FROM sessions WHERE id = ?", "session", id, error);
}

static gboolean
remove_row (LbStore *store, const PendingRemoval *p, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gboolean ok = p->lobby ? lb_store_delete_lobby (store, p->id, &local_error)
                         : lb_store_delete_session (store, p->id, &local_error);
  /* Already gone (a cascade, or it never got a row) is what we wanted. */
  if (ok || g_error_matches (local_error, LB_ERROR, LB_ERROR_NOT_FOUND))
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

gboolean
lb_store_flush (LbStore *store, GError **error)
{
  guint before = store->pending->len;
  gboolean ok = TRUE;
  while (ok && store->pending->len > 0)
    {
      PendingRemoval *p = &g_array_index (store->pending, PendingRemoval, 0);
      ok = remove_row (store, p, error);
      if (!ok)
        break;
      g_info ("%s %s: pending row removal written", p->lobby ? "lobby" : "session", p->id);
      g_free (p->id);
      g_array_remove_index (store->pending, 0);
    }
  if (store->pending->len != before)
    save_pending (store);
  return ok;
}

static gboolean
retry_pending (gpointer user_data)
{
  LbStore *store = user_data;
  g_autoptr (GError) error = NULL;

  /* No waiting for a lock on the timer: the next tick comes soon enough. */
  store->wait_ms = 0;
  gboolean done = lb_store_flush (store, &error);
  store->wait_ms = -1;
  if (!done)
    {
      g_debug ("%u row removals still pending: %s", store->pending->len, error->message);
      return G_SOURCE_CONTINUE;
    }
  store->retry_source = 0;
  return G_SOURCE_REMOVE;
}

static void
remove_or_remember (LbStore *store, gboolean lobby, const char *id)
{
  PendingRemoval p = { lobby, g_strdup (id) };
  g_autoptr (GError) error = NULL;

  g_array_append_val (store->pending, p);
  if (lb_store_flush (store, &error))
    return;
  save_pending (store);
  g_warning ("%s %s: row removal pending (%s); retrying every %d ms", lobby ? "lobby" : "session",
             id, error->message, RETRY_INTERVAL_MS);
  if (store->retry_source == 0)
    store->retry_source = g_timeout_add (RETRY_INTERVAL_MS, retry_pending, store);
}

void
lb_store_remove_lobby (LbStore *store, const char *id)
{
  remove_or_remember (store, TRUE, id);
}

void
lb_store_remove_session (LbStore *store, const char *id)
{
  remove_or_remember (store, FALSE, id);
}

guint
lb_store_get_n_pending (LbStore *store)
{
  return store->pending->len;
}

gboolean
lb_store_set_learned_limit (LbStore *store, const char *pool_key, guint slots, GError **error)
{
  const char *texts[] = { pool_key };
  gint64 values[] = { slots, g_get_real_time () / G_USEC_PER_SEC };
  sqlite3_stmt *stmt = NULL;
  if (!lb_store_flush (store, error))
    return FALSE;
  set_lock_wait (store);
  int rc
      = sqlite3_prepare_v2 (store->db,
                            "INSERT INTO learned_limits(pool_key, slots, learned_at) VALUES (?,?,?)"
                            " ON CONFLICT(pool_key) DO UPDATE SET slots=excluded.slots,"
                            " learned_at=excluded.learned_at",
                            -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return set_sqlite_error (store, rc, "prepare", error);
  sqlite3_bind_text (stmt, 1, texts[0], -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 2, values[0]);
  sqlite3_bind_int64 (stmt, 3, values[1]);
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (store, rc, "write", error);
  return TRUE;
}

gboolean
lb_store_get_learned_limit (LbStore *store, const char *pool_key, guint *slots)
{
  sqlite3_stmt *stmt = NULL;
  gboolean found = FALSE;
  if (sqlite3_prepare_v2 (store->db, "SELECT slots FROM learned_limits WHERE pool_key = ?", -1,
                          &stmt, NULL)
      != SQLITE_OK)
    return FALSE;
  sqlite3_bind_text (stmt, 1, pool_key, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      *slots = (guint)sqlite3_column_int64 (stmt, 0);
      found = TRUE;
    }
  sqlite3_finalize (stmt);
  return found;
}

/* Iterates rows of (text, text, text, int64); rowid breaks created_at ties. */
static gboolean
foreach_row (LbStore *store, gboolean lobbies, const char *sql,
             void (*func) (const char *, const char *, const char *, gint64, gpointer),
             gpointer user_data, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (store->db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return set_sqlite_error (store, rc, "prepare", error);

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *id = (const char *)sqlite3_column_text (stmt, 0);
      const char *second = (const char *)sqlite3_column_text (stmt, 1);
      /* Deleted, only the row is left: never bring it back. */
      if (is_pending (store, lobbies, id) || (!lobbies && is_pending (store, TRUE, second)))
        continue;
      func (id, second, (const char *)sqlite3_column_text (stmt, 2), sqlite3_column_int64 (stmt, 3),
            user_data);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (store, rc, "read", error);
  return TRUE;
}

gboolean
lb_store_foreach_lobby (LbStore *store, LbStoreLobbyFunc func, gpointer user_data, GError **error)
{
  return foreach_row (store, TRUE,
                      "SELECT id, session_key, spec, created_at FROM lobbies"
                      " ORDER BY created_at, rowid",
                      func, user_data, error);
}

gboolean
lb_store_foreach_session (LbStore *store, LbStoreSessionFunc func, gpointer user_data,
                          GError **error)
{
  return foreach_row (store, FALSE,
                      "SELECT id, lobby_id, spec, created_at FROM sessions"
                      " ORDER BY created_at, rowid",
                      func, user_data, error);
}

gboolean
lb_store_insert_ml_client (LbStore *store, const char *id, const char *name, const char *cert_pem,
                           gint64 paired_at, GError **error)
{
  const char *texts[] = { id, name, cert_pem };
  if (!lb_store_flush (store, error))
    return FALSE;
  return run (store,
              "INSERT INTO moonlight_clients(id, name, cert_pem, paired_at) VALUES (?,?,?,?)",
              texts, 3, &paired_at, NULL, error);
}

/* One statement: on a full disk the old row stays, never neither. */
gboolean
lb_store_replace_ml_client (LbStore *store, const char *old_id, const char *id, const char *name,
                            const char *cert_pem, gint64 paired_at, GError **error)
{
  const char *texts[] = { id, name, cert_pem, old_id };
  int changes = 0;
  if (!lb_store_flush (store, error))
    return FALSE;
  if (!run (store,
            "UPDATE moonlight_clients SET id = ?1, name = ?2, cert_pem = ?3, paired_at = ?5"
            " WHERE id = ?4",
            texts, 4, &paired_at, &changes, error))
    return FALSE;
  if (changes == 0)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_NOT_FOUND, "moonlight client %s not found", old_id);
      return FALSE;
    }
  return TRUE;
}

gboolean
lb_store_delete_ml_client (LbStore *store, const char *id, GError **error)
{
  const char *texts[] = { id };
  int changes = 0;
  if (!run (store, "DELETE FROM moonlight_clients WHERE id = ?", texts, 1, NULL, &changes, error))
    return FALSE;
  if (changes == 0)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_NOT_FOUND, "moonlight client %s not found", id);
      return FALSE;
    }
  return TRUE;
}

gboolean
lb_store_foreach_ml_client (LbStore *store, LbStoreMlClientFunc func, gpointer user_data,
                            GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (store->db,
                               "SELECT id, name, cert_pem, paired_at FROM moonlight_clients"
                               " ORDER BY paired_at, rowid",
                               -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    return set_sqlite_error (store, rc, "prepare", error);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    func ((const char *)sqlite3_column_text (stmt, 0), (const char *)sqlite3_column_text (stmt, 1),
          (const char *)sqlite3_column_text (stmt, 2), sqlite3_column_int64 (stmt, 3), user_data);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return set_sqlite_error (store, rc, "read", error);
  return TRUE;
}

static gboolean
lookup_ml_app_id (LbStore *store, const char *lobby_id, guint32 *app_id)
{
  sqlite3_stmt *stmt = NULL;
  gboolean found = FALSE;
  if (sqlite3_prepare_v2 (store->db, "SELECT app_id FROM moonlight_apps WHERE lobby_id = ?", -1,
                          &stmt, NULL)
      != SQLITE_OK)
    return FALSE;
  sqlite3_bind_text (stmt, 1, lobby_id, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      *app_id = (guint32)sqlite3_column_int64 (stmt, 0);
      found = TRUE;
    }
  sqlite3_finalize (stmt);
  return found;
}

gboolean
lb_store_ml_app_id (LbStore *store, const char *lobby_id, guint32 *app_id, GError **error)
{
  const char *texts[] = { lobby_id };
  if (lookup_ml_app_id (store, lobby_id, app_id))
    return TRUE;
  if (!run (store, "INSERT OR IGNORE INTO moonlight_apps(lobby_id) VALUES (?)", texts, 1, NULL,
            NULL, error))
    return FALSE;
  if (!lookup_ml_app_id (store, lobby_id, app_id))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_STORE, "no app id for lobby %s", lobby_id);
      return FALSE;
    }
  return TRUE;
}
