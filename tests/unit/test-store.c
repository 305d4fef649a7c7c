/* Unit tests for lb-store on a real SQLite file. */
#include "lb-error.h"
#include "lb-store.h"

#include <glib/gstdio.h>

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
  return g_test_run ();
}
