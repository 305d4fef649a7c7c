/* Unit tests for the LbOutput seam: a transport that only this test knows
 * ("null", a fakesink on the encode's tee, defined below) goes through the
 * same parser, registry, store, restore, stats and close as the built-in
 * ones. If any of those named a transport, this would fail. Real GStreamer
 * pipelines, a real store; nothing is sent on the network. */
#include "lb-config.h"
#include "lb-error.h"
#include "lb-json.h"
#include "lb-lobby.h"
#include "lb-media-branch.h"
#include "lb-output-impl.h"
#include "lb-pools.h"
#include "lb-registry.h"
#include "lb-session.h"
#include "lb-spec.h"
#include "lb-store.h"

#include "test-util.h"
#include <gst/gst.h>
#include <string.h>

/* What the null class saw: each hook counts, so the test knows the daemon
 * went through the class and not around it. */
static struct
{
  guint configured, checked, opened, closed;
  const LbConfig *config; /* the one check and open were given */
  LbOutputEndedFunc on_ended;
  gpointer ended_data;
} seen;

typedef struct
{
  LbOutput parent;
  char *label;
} NullOutput;

static const char *const null_members[] = { "label", NULL };

static gboolean
null_parse (JsonObject *request, JsonObject *params, GError **error)
{
  g_autofree char *label = NULL;
  if (!lb_json_get_string (request, NULL, "label", TRUE, 32, &label, error))
    return FALSE;
  json_object_set_string_member (params, "label", label);
  return TRUE;
}

static gboolean
null_configure (const LbConfig *config, GError **error)
{
  seen.configured++;
  return TRUE;
}

static gboolean
null_check (const LbSessionSpec *spec, const LbConfig *config, GError **error)
{
  seen.checked++;
  seen.config = config;
  if (g_str_equal (json_object_get_string_member (spec->params, "label"), "refuse"))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "null: label 'refuse' refused");
      return FALSE;
    }
  return TRUE;
}

extern const LbOutputClass null_class;

static LbOutput *
null_open (LbTrack *track, const LbSessionSpec *spec, const LbOutputSetup *setup, GError **error)
{
  g_autoptr (LbOutput) output = lb_output_alloc (sizeof (NullOutput), &null_class, setup->name);
  NullOutput *self = (NullOutput *)output;
  GstElement *e[2] = { gst_element_factory_make ("fakesink", NULL), NULL };

  g_assert_nonnull (e[0]);
  g_assert_true (setup->config == seen.config);
  g_object_set (e[0], "sync", FALSE, "async", FALSE, NULL);
  g_autoptr (GstPad) sink = gst_element_get_static_pad (e[0], "sink");
  lb_output_count_packets (output, sink);
  if (!lb_output_attach (output, track, e, error))
    return NULL;
  self->label = g_strdup (json_object_get_string_member (spec->params, "label"));
  seen.on_ended = setup->on_ended;
  seen.ended_data = setup->ended_data;
  seen.opened++;
  return g_steal_pointer (&output);
}

static void
null_stats_to_json (LbOutput *output, JsonObject *stats)
{
  json_object_set_string_member (stats, "label", ((NullOutput *)output)->label);
}

static void
null_close (LbOutput *output)
{
  g_free (((NullOutput *)output)->label);
  seen.closed++;
}

const LbOutputClass null_class = {
  .transport = "null",
  .stored = TRUE,
  .carries_input = FALSE,
  .members = null_members,
  .parse = null_parse,
  .configure = null_configure,
  .check = null_check,
  .open = null_open,
  .stats_to_json = null_stats_to_json,
  .close = null_close,
};

typedef struct
{
  char *db;
  LbConfig *config;
  LbStore *store;
  LbPools *pools;
  LbRegistry *registry;
  LbLobby *lobby;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_dir_make_tmp ("lbout-XXXXXX", NULL);
  f->db = g_build_filename (dir, "lobbyd.db", NULL);
  f->config = lb_config_new_default ();
  g_free (f->config->hardware);
  f->config->hardware = g_strdup ("off"); /* software pool only: no probe in unit tests */
  f->store = lb_store_open (f->db, NULL);
  f->pools = lb_pools_new (f->config, f->store);
  g_assert_true (lb_output_class_register (&null_class));
  memset (&seen, 0, sizeof seen);
  f->registry = lb_registry_new (f->config, f->store, f->pools, NULL, NULL);
  g_assert_nonnull (f->registry);

  g_autoptr (LbLobbySpec) spec = lb_lobby_spec_new_default ();
  gboolean created;
  spec->name = g_strdup ("t");
  spec->width = 160;
  spec->height = 120;
  spec->fps = 15;
  f->lobby = lb_registry_create_lobby (f->registry, spec, &created, NULL);
  g_assert_nonnull (f->lobby);
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
  g_assert_cmpuint (lb_media_live_pipelines (), ==, 0);
}

static LbSessionSpec *
parse (const char *text, const LbLobbySpec *lobby, GError **error)
{
  g_autoptr (JsonNode) node = lb_json_parse_object (text, strlen (text), error);
  return node ? lb_output_spec_from_json (json_node_get_object (node), lobby, error) : NULL;
}

/* Spins the main loop until the session's output has counted packets. */
static gint64
wait_packets (LbSession *session)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (JsonNode) node = lb_session_to_json (session);
      JsonObject *obj = json_node_get_object (node);
      if (json_object_has_member (obj, "stats"))
        {
          gint64 n = json_object_get_int_member (json_object_get_object_member (obj, "stats"),
                                                 "packets_sent");
          if (n > 0)
            return n;
        }
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
    }
  return 0;
}

/* The parser knows "null" only through its registered class: its own
 * member is read by it, another transport's is unknown, and the list of
 * transports a client may name grows by it. */
static void
test_parser_uses_the_class (void)
{
  g_autoptr (LbLobbySpec) lobby = lb_lobby_spec_new_default ();
  g_autoptr (GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;

  g_assert_null (parse ("{\"transport\":\"nul\",\"label\":\"a\"}", lobby, &e1));
  g_assert_error (e1, LB_ERROR, LB_ERROR_INVALID_FIELD);
  g_assert_cmpstr (e1->message, ==, "field 'transport' must be one of: rtp, null");

  g_autoptr (LbSessionSpec) s = parse ("{\"transport\":\"null\",\"label\":\"a\"}", lobby, NULL);
  g_assert_nonnull (s);
  g_assert_cmpstr (s->transport, ==, "null");
  g_assert_cmpstr (json_object_get_string_member (s->params, "label"), ==, "a");
  g_autoptr (JsonNode) node = lb_session_spec_to_json (s);
  g_autofree char *text = lb_json_to_string (node);
  g_assert_nonnull (strstr (text, "{\"transport\":\"null\",\"label\":\"a\",\"profile\":"));

  g_assert_null (parse ("{\"transport\":\"null\"}", lobby, &e2));
  g_assert_error (e2, LB_ERROR, LB_ERROR_MISSING_FIELD);
  g_assert_null (parse (
      "{\"transport\":\"null\",\"label\":\"a\",\"destination\":{\"host\":\"::1\",\"port\":1}}",
      lobby, &e3));
  g_assert_error (e3, LB_ERROR, LB_ERROR_UNKNOWN_FIELD);
  /* Built-in ones still read theirs, and not null's. */
  g_assert_null (parse (
      "{\"transport\":\"rtp\",\"label\":\"a\",\"destination\":{\"host\":\"::1\",\"port\":1}}",
      lobby, &e4));
  g_assert_error (e4, LB_ERROR, LB_ERROR_UNKNOWN_FIELD);

  /* A name is registered once. */
  g_assert_true (lb_output_class_register (&null_class));
  LbOutputClass other = null_class;
  g_test_expect_message ("lobbyd-media", G_LOG_LEVEL_WARNING, "*null is registered already*");
  g_assert_false (lb_output_class_register (&other));
  g_test_assert_expected_messages ();
}

/* Join, stats, the stored row, a restart and leave, all through the class. */
static void
test_session_lifecycle (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_assert_cmpuint (seen.configured, ==, 1);

  LbSessionSpec *refused
      = parse ("{\"transport\":\"null\",\"label\":\"refuse\"}", lb_lobby_get_spec (f->lobby), NULL);
  g_assert_null (lb_registry_join (f->registry, f->lobby, refused, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD);
  g_assert_cmpuint (seen.opened, ==, 0);
  g_assert_cmpuint (lb_registry_get_encodes (f->registry)->len, ==, 0);

  LbSessionSpec *spec
      = parse ("{\"transport\":\"null\",\"label\":\"n1\",\"profile\":{\"bitrate_kbps\":300}}",
               lb_lobby_get_spec (f->lobby), NULL);
  g_assert_nonnull (spec);
  LbSession *s = lb_registry_join (f->registry, f->lobby, spec, NULL);
  g_assert_nonnull (s);
  g_assert_true (seen.config == f->config);
  g_assert_cmpuint (seen.opened, ==, 1);
  g_assert_true (lb_session_get_output_class (s) == &null_class);
  g_assert_true (lb_session_is_running (s));
  g_assert_cmpint (wait_packets (s), >, 0);

  g_autoptr (JsonNode) node = lb_session_to_json (s);
  JsonObject *obj = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (obj, "transport"), ==, "null");
  g_assert_cmpstr (json_object_get_string_member (obj, "label"), ==, "n1");
  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "running");
  g_assert_false (json_object_has_member (obj, "role")); /* no input */
  JsonObject *stats = json_object_get_object_member (obj, "stats");
  g_assert_cmpstr (json_object_get_string_member (stats, "label"), ==, "n1");
  g_assert_null (lb_session_get_sdp (s));
  g_assert_cmpuint (test_stored_sessions (f->store), ==, 1);

  /* A restart restores it from the stored row, through the same parser. */
  g_autofree char *id = g_strdup (lb_session_get_id (s));
  g_clear_pointer (&f->registry, lb_registry_free);
  g_assert_cmpuint (seen.closed, ==, 1);
  g_assert_cmpuint (lb_media_live_pipelines (), ==, 0);
  f->registry = lb_registry_new (f->config, f->store, f->pools, NULL, NULL);
  g_assert_true (lb_registry_restore (f->registry, NULL));
  LbSession *again = lb_registry_find_session (f->registry, id);
  g_assert_nonnull (again);
  g_assert_cmpuint (seen.opened, ==, 2);
  g_assert_cmpuint (lb_session_get_spec (again)->profile.bitrate_kbps, ==, 300);
  g_assert_cmpint (wait_packets (again), >, 0);

  g_assert_true (lb_registry_leave (f->registry, id, NULL));
  g_assert_cmpuint (seen.closed, ==, 2);
  g_assert_cmpuint (test_stored_sessions (f->store), ==, 0);
  g_assert_cmpuint (lb_registry_get_encodes (f->registry)->len, ==, 0);
}

/* An output that notices its viewer is gone ends the session through the
 * transport-neutral handler: the session, its row and its encode go. */
static void
test_output_ends_session (Fixture *f, gconstpointer data)
{
  LbSessionSpec *spec
      = parse ("{\"transport\":\"null\",\"label\":\"e\"}", lb_lobby_get_spec (f->lobby), NULL);
  LbSession *s = lb_registry_join (f->registry, f->lobby, spec, NULL);
  g_assert_nonnull (s);
  g_autofree char *id = g_strdup (lb_session_get_id (s));
  g_assert_nonnull (seen.on_ended);

  seen.on_ended ("peer_timeout", seen.ended_data);
  g_assert_null (lb_registry_find_session (f->registry, id));
  g_assert_cmpuint (seen.closed, ==, 1);
  g_assert_cmpuint (test_stored_sessions (f->store), ==, 0);
  g_assert_cmpuint (lb_registry_get_encodes (f->registry)->len, ==, 0);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_assert_true (lb_output_class_register (&null_class));
  g_test_add_func ("/output/parser-uses-the-class", test_parser_uses_the_class);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/output/session-lifecycle", test_session_lifecycle);
  ADD ("/output/output-ends-session", test_output_ends_session);
  return g_test_run ();
}
