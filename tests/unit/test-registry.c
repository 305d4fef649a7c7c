/* Unit tests for lb-registry with real GStreamer pipelines and a real store. */
#include "lb-config.h"
#include "lb-error.h"
#include "lb-lobby.h"
#include "lb-media-branch.h"
#include "lb-registry.h"
#include "lb-session.h"
#include "lb-spec.h"
#include "lb-pools.h"
#include "lb-store.h"

#include <glib/gstdio.h>

#include "test-util.h"
#include <gst/gst.h>
#include <string.h>

typedef struct
{
  char *dir;
  char *db;
  LbConfig *config;
  LbStore *store;
  LbPools *pools;
  LbRegistry *registry;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("lbreg-XXXXXX", NULL);
  f->db = g_build_filename (f->dir, "lobbyd.db", NULL);
  f->config = lb_config_new_default ();
  g_free (f->config->hardware);
  f->config->hardware = g_strdup ("off"); /* software pool only: no probe in unit tests */
  f->config->max_lobbies = 3;
  f->store = lb_store_open (f->db, NULL);
  f->pools = lb_pools_new (f->config, f->store);
  f->registry = lb_registry_new (f->config, f->store, f->pools, NULL, NULL);
  g_assert_nonnull (f->registry);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->registry, lb_registry_free);
  g_clear_pointer (&f->pools, lb_pools_free);
  g_clear_pointer (&f->store, lb_store_close);
  lb_config_free (f->config);
  test_remove_db_dir (f->db);
  g_free (f->db);
  g_free (f->dir);
  g_assert_cmpuint (lb_media_live_pipelines (), ==, 0);
}

static LbLobbySpec *
small_spec (const char *key)
{
  LbLobbySpec *spec = lb_lobby_spec_new_default ();
  spec->name = g_strdup ("t");
  spec->session_key = g_strdup (key);
  spec->width = 160;
  spec->height = 120;
  spec->fps = 15;
  return spec;
}

static LbSessionSpec *
rtp_to (const char *host, guint fps)
{
  g_autoptr (LbLobbySpec) lobby = lb_lobby_spec_new_default ();
  LbSessionSpec *spec = lb_session_spec_new (lobby, "rtp");
  JsonObject *dest = json_object_new ();
  json_object_set_string_member (dest, "host", host);
  json_object_set_int_member (dest, "port", 5999);
  spec->params = json_object_new ();
  json_object_set_object_member (spec->params, "destination", dest);
  spec->profile = (LbProfile){ LB_CODEC_H264, LB_H264_ANY, 160, 120, fps, 300 };
  return spec;
}

static void
test_create_is_idempotent_per_key (Fixture *f, gconstpointer data)
{
  g_autoptr (LbLobbySpec) spec = small_spec ("k1");
  gboolean created = FALSE;
  LbLobby *a = lb_registry_create_lobby (f->registry, spec, &created, NULL);
  g_assert_nonnull (a);
  g_assert_true (created);
  LbLobby *b = lb_registry_create_lobby (f->registry, spec, &created, NULL);
  g_assert_true (a == b);
  g_assert_false (created);
  g_assert_true (lb_registry_find_lobby_by_key (f->registry, "k1") == a);
  g_assert_cmpuint (lb_registry_get_lobbies (f->registry)->len, ==, 1);
  g_assert_cmpuint (test_stored_lobbies (f->store), ==, 1);
  g_assert_cmpint (lb_lobby_get_state (a), ==, LB_LOBBY_RUNNING);
  g_assert_cmpuint (lb_media_live_pipelines (), ==, 1);
}

static void
test_lobby_limit (Fixture *f, gconstpointer data)
{
  g_autoptr (LbLobbySpec) spec = small_spec (NULL);
  g_autoptr (GError) error = NULL;
  gboolean created;
  for (guint i = 0; i < 3; i++)
    g_assert_nonnull (lb_registry_create_lobby (f->registry, spec, &created, NULL));
  g_assert_null (lb_registry_create_lobby (f->registry, spec, &created, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_LIMIT_REACHED);
  g_assert_cmpuint (test_stored_lobbies (f->store), ==, 3);
}

static void
test_join_refusals_leave_nothing (Fixture *f, gconstpointer data)
{
  g_autoptr (LbLobbySpec) spec = small_spec (NULL);
  gboolean created;
  LbLobby *lobby = lb_registry_create_lobby (f->registry, spec, &created, NULL);
  g_autoptr (GError) e1 = NULL, e2 = NULL;

  g_assert_null (lb_registry_join (f->registry, lobby, rtp_to ("8.8.8.8", 15), &e1));
  g_assert_error (e1, LB_ERROR, LB_ERROR_DESTINATION_NOT_ALLOWED);
  /* Passes validation, fails in the media layer: must be fully undone. */
  g_assert_null (lb_registry_join (f->registry, lobby, rtp_to ("127.0.0.1", 30), &e2));
  g_assert_error (e2, LB_ERROR, LB_ERROR_OUT_OF_RANGE);
  g_assert_cmpuint (lb_registry_get_sessions (f->registry)->len, ==, 0);
  g_assert_cmpuint (lb_lobby_get_sessions (lobby)->len, ==, 0);
  g_assert_cmpuint (test_stored_sessions (f->store), ==, 0);

  LbSession *s = lb_registry_join (f->registry, lobby, rtp_to ("127.0.0.1", 15), NULL);
  g_assert_nonnull (s);
  g_assert_true (lb_session_is_running (s));
  g_assert_cmpuint (test_stored_sessions (f->store), ==, 1);
  g_autofree char *sdp = lb_session_get_sdp (s);
  g_assert_nonnull (strstr (sdp, "m=video 5999 RTP/AVP 96"));
  g_assert_nonnull (strstr (sdp, "c=IN IP4 127.0.0.1"));
}

static void
test_restore_same_ids (Fixture *f, gconstpointer data)
{
  g_autoptr (LbLobbySpec) spec = small_spec ("restore-key");
  gboolean created;
  LbLobby *lobby = lb_registry_create_lobby (f->registry, spec, &created, NULL);
  g_autofree char *lobby_id = g_strdup (lb_lobby_get_id (lobby));
  LbSession *s = lb_registry_join (f->registry, lobby, rtp_to ("127.0.0.1", 10), NULL);
  g_autofree char *session_id = g_strdup (lb_session_get_id (s));

  g_clear_pointer (&f->registry, lb_registry_free);
  g_assert_cmpuint (lb_media_live_pipelines (), ==, 0);
  f->registry = lb_registry_new (f->config, f->store, f->pools, NULL, NULL);
  g_assert_true (lb_registry_restore (f->registry, NULL));

  LbLobby *again = lb_registry_find_lobby_by_key (f->registry, "restore-key");
  g_assert_nonnull (again);
  g_assert_cmpstr (lb_lobby_get_id (again), ==, lobby_id);
  LbSession *s2 = lb_registry_find_session (f->registry, session_id);
  g_assert_nonnull (s2);
  g_assert_true (lb_session_is_running (s2));
  g_assert_cmpuint (lb_session_get_spec (s2)->profile.fps, ==, 10);
  g_assert_true (lb_session_get_lobby (s2) == again);
}

static void
test_delete_cascades (Fixture *f, gconstpointer data)
{
  g_autoptr (LbLobbySpec) spec = small_spec ("del");
  g_autoptr (GError) error = NULL;
  gboolean created;
  LbLobby *lobby = lb_registry_create_lobby (f->registry, spec, &created, NULL);
  g_autofree char *id = g_strdup (lb_lobby_get_id (lobby));
  LbSession *s = lb_registry_join (f->registry, lobby, rtp_to ("127.0.0.1", 15), NULL);
  g_autofree char *sid = g_strdup (lb_session_get_id (s));

  g_assert_true (lb_registry_delete_lobby (f->registry, id, NULL));
  g_assert_null (lb_registry_find_lobby (f->registry, id));
  g_assert_null (lb_registry_find_lobby_by_key (f->registry, "del"));
  g_assert_null (lb_registry_find_session (f->registry, sid));
  g_assert_cmpuint (test_stored_sessions (f->store), ==, 0);
  g_assert_cmpuint (test_stored_lobbies (f->store), ==, 0);
  g_assert_cmpuint (lb_media_live_pipelines (), ==, 0);
  g_assert_false (lb_registry_delete_lobby (f->registry, id, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_NOT_FOUND);
  /* The key is free again. */
  g_assert_nonnull (lb_registry_create_lobby (f->registry, spec, &created, NULL));
  g_assert_true (created);
}

static void
test_leave (Fixture *f, gconstpointer data)
{
  g_autoptr (LbLobbySpec) spec = small_spec (NULL);
  g_autoptr (GError) error = NULL;
  gboolean created;
  LbLobby *lobby = lb_registry_create_lobby (f->registry, spec, &created, NULL);
  LbSession *a = lb_registry_join (f->registry, lobby, rtp_to ("127.0.0.1", 15), NULL);
  LbSession *b = lb_registry_join (f->registry, lobby, rtp_to ("127.0.0.1", 15), NULL);
  g_autofree char *aid = g_strdup (lb_session_get_id (a));
  g_assert_cmpuint (lb_registry_count_running_sessions (f->registry), ==, 2);
  g_assert_true (lb_registry_leave (f->registry, aid, NULL));
  g_assert_false (lb_registry_leave (f->registry, aid, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_NOT_FOUND);
  g_assert_cmpuint (lb_registry_count_running_sessions (f->registry), ==, 1);
  g_assert_true (lb_session_is_running (b));
  g_assert_cmpuint (test_stored_sessions (f->store), ==, 1);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/registry/create-is-idempotent-per-key", test_create_is_idempotent_per_key);
  ADD ("/registry/lobby-limit", test_lobby_limit);
  ADD ("/registry/join-refusals-leave-nothing", test_join_refusals_leave_nothing);
  ADD ("/registry/restore-same-ids", test_restore_same_ids);
  ADD ("/registry/delete-cascades", test_delete_cascades);
  ADD ("/registry/leave", test_leave);
  return g_test_run ();
}
