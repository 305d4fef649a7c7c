/* Unit tests for lb-store on a real SQLite file. */
#include "lb-error.h"
#include "lb-store.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "test-util.h"

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("lbstore-XXXXXX", NULL);
  f->path = g_build_filename (f->dir, "lobbyd.db", NULL);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  test_remove_db_dir (f->path);
  g_free (f->path);
  g_free (f->dir);
}

static void
collect_lobby (const char *id, const char *key, const char *spec, gint64 created, gpointer data)
{
  g_ptr_array_add (data, g_strdup_printf ("%s|%s|%s|%" G_GINT64_FORMAT, id, key ? key : "(null)",
                                          spec, created));
}

static void
collect_session (const char *id, const char *lobby, const char *spec, gint64 created, gpointer data)
{
  g_ptr_array_add (data, g_strdup_printf ("%s|%s", id, lobby));
}

static void
test_persists_across_reopen (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  {
    g_autoptr (LbStore) store = lb_store_open (f->path, &error);
    g_assert_no_error (error);
    g_assert_true (lb_store_insert_lobby (store, "L1", "key1", "{\"a\":1}", 100, &error));
    g_assert_true (lb_store_insert_lobby (store, "L2", NULL, "{}", 100, &error));
    g_assert_true (lb_store_insert_session (store, "S1", "L1", "{}", 101, &error));
    g_assert_no_error (error);
  }
  g_autoptr (LbStore) store = lb_store_open (f->path, &error);
  g_autoptr (GPtrArray) lobbies = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) sessions = g_ptr_array_new_with_free_func (g_free);
  g_assert_true (lb_store_foreach_lobby (store, collect_lobby, lobbies, &error));
  g_assert_true (lb_store_foreach_session (store, collect_session, sessions, &error));
  g_assert_cmpuint (lobbies->len, ==, 2);
  /* Same created_at: insertion order decides. */
  g_assert_cmpstr (g_ptr_array_index (lobbies, 0), ==, "L1|key1|{\"a\":1}|100");
  g_assert_cmpstr (g_ptr_array_index (lobbies, 1), ==, "L2|(null)|{}|100");
  g_assert_cmpuint (sessions->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (sessions, 0), ==, "S1|L1");
}

static void
test_unique_key (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LbStore) store = lb_store_open (f->path, NULL);
  g_assert_true (lb_store_insert_lobby (store, "L1", "k", "{}", 1, NULL));
  g_assert_false (lb_store_insert_lobby (store, "L2", "k", "{}", 2, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_CONFLICT);
  g_clear_error (&error);
  g_assert_false (lb_store_insert_lobby (store, "L1", "other", "{}", 2, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_CONFLICT);
  /* Lobbies without keys never conflict with each other. */
  g_assert_true (lb_store_insert_lobby (store, "L3", NULL, "{}", 3, NULL));
  g_assert_true (lb_store_insert_lobby (store, "L4", NULL, "{}", 3, NULL));
}

static void
test_cascade_and_not_found (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LbStore) store = lb_store_open (f->path, NULL);
  g_autoptr (GPtrArray) sessions = g_ptr_array_new_with_free_func (g_free);

  g_assert_true (lb_store_insert_lobby (store, "L1", NULL, "{}", 1, NULL));
  g_assert_true (lb_store_insert_session (store, "S1", "L1", "{}", 1, NULL));
  g_assert_true (lb_store_insert_session (store, "S2", "L1", "{}", 1, NULL));
  g_assert_false (lb_store_insert_session (store, "S3", "nope", "{}", 1, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_CONFLICT); /* foreign key */
  g_clear_error (&error);
  g_assert_true (lb_store_delete_session (store, "S1", NULL));
  g_assert_false (lb_store_delete_session (store, "S1", &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (lb_store_delete_lobby (store, "L1", NULL));
  g_assert_true (lb_store_foreach_session (store, collect_session, sessions, NULL));
  g_assert_cmpuint (sessions->len, ==, 0);
  g_assert_false (lb_store_delete_lobby (store, "L1", &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_NOT_FOUND);
}

static void
test_open_failure (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (lb_store_open ("/nonexistent-dir/x/lobbyd.db", &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_STORE);
}

/* Another process (here: another connection) holding the write lock. */
static sqlite3 *
hold_lock (const char *path)
{
  sqlite3 *other = NULL;
  g_assert_cmpint (sqlite3_open (path, &other), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), ==, SQLITE_OK);
  return other;
}

static void
release_lock (sqlite3 *other)
{
  g_assert_cmpint (sqlite3_exec (other, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (other);
}

static void
test_locked_fails_fast_and_removal_waits (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LbStore) store = lb_store_open (f->path, NULL);
  g_autoptr (GPtrArray) lobbies = g_ptr_array_new_with_free_func (g_free);
  g_assert_true (lb_store_insert_lobby (store, "L1", "k1", "{}", 1, NULL));
  g_assert_true (lb_store_insert_session (store, "S1", "L1", "{}", 1, NULL));

  sqlite3 *other = hold_lock (f->path);
  gint64 t0 = g_get_monotonic_time ();
  g_assert_false (lb_store_insert_lobby (store, "L2", "k2", "{}", 2, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_STORE_BUSY);
  g_clear_error (&error);
  /* The old 2 s busy timeout stalled the main loop; now it is a short wait. */
  g_assert_cmpint (g_get_monotonic_time () - t0, <, G_USEC_PER_SEC / 2);

  /* Removing never fails: it is remembered, and writes wait for it. */
  g_test_expect_message ("lobbyd-store", G_LOG_LEVEL_WARNING, "session S1: row removal pending*");
  lb_store_remove_session (store, "S1");
  g_test_expect_message ("lobbyd-store", G_LOG_LEVEL_WARNING, "lobby L1: row removal pending*");
  lb_store_remove_lobby (store, "L1");
  g_test_assert_expected_messages ();
  g_assert_cmpuint (lb_store_get_n_pending (store), ==, 2);
  g_assert_false (lb_store_insert_lobby (store, "L3", "k1", "{}", 3, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_STORE_BUSY);
  g_clear_error (&error);
  release_lock (other);

  /* The retry timer writes them once the lock is gone. */
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (lb_store_get_n_pending (store) > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (lb_store_get_n_pending (store), ==, 0);
  g_assert_true (lb_store_foreach_lobby (store, collect_lobby, lobbies, NULL));
  g_assert_cmpuint (lobbies->len, ==, 0);
  /* The removed lobby's session key is free again. */
  g_assert_true (lb_store_insert_lobby (store, "L3", "k1", "{}", 3, &error));
  g_assert_no_error (error);
}

static void
test_pending_removal_written_at_close (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) lobbies = g_ptr_array_new_with_free_func (g_free);
  {
    g_autoptr (LbStore) store = lb_store_open (f->path, NULL);
    g_assert_true (lb_store_insert_lobby (store, "L1", NULL, "{}", 1, NULL));
    sqlite3 *other = hold_lock (f->path);
    g_test_expect_message ("lobbyd-store", G_LOG_LEVEL_WARNING, "lobby L1: row removal pending*");
    lb_store_remove_lobby (store, "L1");
    g_test_assert_expected_messages ();
    g_assert_cmpuint (lb_store_get_n_pending (store), ==, 1);
    release_lock (other);
    /* No main loop ran: closing writes it. */
  }
  g_autoptr (LbStore) store = lb_store_open (f->path, NULL);
  g_assert_true (lb_store_foreach_lobby (store, collect_lobby, lobbies, NULL));
  g_assert_cmpuint (lobbies->len, ==, 0);
}

static void
test_pending_removal_survives_restart (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) lobbies = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) sessions = g_ptr_array_new_with_free_func (g_free);
  sqlite3 *other = NULL;
  {
    g_autoptr (LbStore) store = lb_store_open (f->path, NULL);
    g_assert_true (lb_store_insert_lobby (store, "L1", NULL, "{}", 1, NULL));
    g_assert_true (lb_store_insert_lobby (store, "L2", NULL, "{}", 2, NULL));
    g_assert_true (lb_store_insert_session (store, "S1", "L1", "{}", 1, NULL));
    g_assert_true (lb_store_insert_session (store, "S2", "L2", "{}", 2, NULL));
    other = hold_lock (f->path);
    g_test_expect_message ("lobbyd-store", G_LOG_LEVEL_WARNING, "lobby L1: row removal pending*");
    lb_store_remove_lobby (store, "L1");
    g_test_expect_message ("lobbyd-store", G_LOG_LEVEL_WARNING, "session S2: row removal pending*");
    lb_store_remove_session (store, "S2");
    g_test_expect_message ("lobbyd-store", G_LOG_LEVEL_WARNING, "2 row removals still pending*");
  }
  g_test_assert_expected_messages ();
  /* Restarted while still locked: the rows are there, but not restored. */
  g_autoptr (LbStore) store = lb_store_open (f->path, NULL);
  g_assert_nonnull (store);
  g_assert_cmpuint (lb_store_get_n_pending (store), ==, 2);
  g_assert_true (lb_store_foreach_lobby (store, collect_lobby, lobbies, NULL));
  g_assert_true (lb_store_foreach_session (store, collect_session, sessions, NULL));
  g_assert_cmpuint (lobbies->len, ==, 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (lobbies, 0), "L2|"));
  g_assert_cmpuint (sessions->len, ==, 0); /* S1 by its lobby, S2 itself */
  release_lock (other);
  g_assert_true (lb_store_flush (store, NULL));
  g_assert_cmpuint (lb_store_get_n_pending (store), ==, 0);
}

static void
test_files_are_private (Fixture *f, gconstpointer data)
{
  g_assert_cmpint (g_chmod (f->dir, 0755), ==, 0);
  {
    /* A file left world-readable by an older version is tightened too. */
    g_assert_true (g_file_set_contents (f->path, "", 0, NULL));
    g_assert_cmpint (g_chmod (f->path, 0644), ==, 0);
  }
  g_autoptr (LbStore) store = lb_store_open (f->path, NULL);
  g_assert_nonnull (store);
  g_assert_true (lb_store_insert_lobby (store, "L1", NULL, "{}", 1, NULL));
  const char *suffixes[] = { "", "-wal", "-shm" };
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (f->path, suffixes[i], NULL);
      GStatBuf st;
      g_assert_cmpint (g_stat (p, &st), ==, 0);
      g_assert_cmpuint (st.st_mode & 0777, ==, 0600);
    }
}

static void
collect_ml_client (const char *id, const char *name, const char *cert_pem, gint64 paired_at,
                   gpointer data)
{
  g_ptr_array_add (data,
                   g_strdup_printf ("%s|%s|%s|%" G_GINT64_FORMAT, id, name, cert_pem, paired_at));
}

static void
assert_ml_clients (LbStore *store, const char *expected)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);
  g_assert_true (lb_store_foreach_ml_client (store, collect_ml_client, rows, NULL));
  g_ptr_array_add (rows, NULL);
  g_autofree char *joined = g_strjoinv (";", (char **)rows->pdata);
  g_assert_cmpstr (joined, ==, expected);
}

/* A client pairing again with its certificate: the row is replaced in one
 * write, so a failed write (here: locked) leaves the old pairing intact. */
static void
test_ml_client_replace (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LbStore) store = lb_store_open (f->path, NULL);
  g_assert_true (lb_store_insert_ml_client (store, "C1", "tv", "PEM1", 10, NULL));
  g_assert_true (lb_store_insert_ml_client (store, "C2", "phone", "PEM2", 11, NULL));
  g_assert_true (lb_store_replace_ml_client (store, "C1", "C3", "tv2", "PEM1", 12, &error));
  g_assert_no_error (error);
  assert_ml_clients (store, "C2|phone|PEM2|11;C3|tv2|PEM1|12");
  g_assert_false (lb_store_replace_ml_client (store, "C1", "C4", "x", "PEM1", 13, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_NOT_FOUND);
  g_clear_error (&error);
  sqlite3 *other = hold_lock (f->path);
  g_assert_false (lb_store_replace_ml_client (store, "C3", "C5", "tv3", "PEM1", 14, &error));
  g_assert_nonnull (error);
  release_lock (other);
  assert_ml_clients (store, "C2|phone|PEM2|11;C3|tv2|PEM1|12");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/store/persists-across-reopen", Fixture, NULL, setup, test_persists_across_reopen,
              teardown);
  g_test_add ("/store/unique-key", Fixture, NULL, setup, test_unique_key, teardown);
  g_test_add ("/store/cascade-and-not-found", Fixture, NULL, setup, test_cascade_and_not_found,
              teardown);
  g_test_add_func ("/store/open-failure", test_open_failure);
  g_test_add ("/store/locked-fails-fast-and-removal-waits", Fixture, NULL, setup,
              test_locked_fails_fast_and_removal_waits, teardown);
  g_test_add ("/store/pending-removal-written-at-close", Fixture, NULL, setup,
              test_pending_removal_written_at_close, teardown);
  g_test_add ("/store/pending-removal-survives-restart", Fixture, NULL, setup,
              test_pending_removal_survives_restart, teardown);
  g_test_add ("/store/files-are-private", Fixture, NULL, setup, test_files_are_private, teardown);
  g_test_add ("/store/ml-client-replace", Fixture, NULL, setup, test_ml_client_replace, teardown);
  return g_test_run ();
}
