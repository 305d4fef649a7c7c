/* Unit tests for lb-api routing, driven without a socket. */
#include "lb-api.h"
#include "lb-config.h"
#include "lb-registry.h"
#include "lb-pools.h"
#include "lb-store.h"

#include <glib/gstdio.h>

#include "test-util.h"
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <string.h>

typedef struct
{
  char *dir;
  LbConfig *config;
  LbStore *store;
  LbPools *pools;
  LbRegistry *registry;
  LbApi *api;
  LbApiResponse resp;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("lbapi-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (f->dir, "lobbyd.db", NULL);
  f->config = lb_config_new_default ();
  g_free (f->config->hardware);
  f->config->hardware = g_strdup ("off"); /* software pool only: no probe in unit tests */
  f->store = lb_store_open (db, NULL);
  f->pools = lb_pools_new (f->config, f->store);
  f->registry = lb_registry_new (f->config, f->store, f->pools, NULL, NULL);
  f->api = lb_api_new (f->registry, f->config);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  lb_api_response_clear (&f->resp);
  lb_api_free (f->api);
  lb_registry_free (f->registry);
  lb_pools_free (f->pools);
  lb_store_close (f->store);
  lb_config_free (f->config);
  g_autofree char *db = g_build_filename (f->dir, "lobbyd.db", NULL);
  test_remove_db_dir (db);
  g_free (f->dir);
}

static guint
call (Fixture *f, const char *method, const char *path, const char *body)
{
  lb_api_response_clear (&f->resp);
  memset (&f->resp, 0, sizeof f->resp);
  lb_api_handle (f->api, method, path, body ? "application/json" : NULL, body,
                 body ? strlen (body) : 0, &f->resp);
  return f->resp.status;
}

static char *
member (Fixture *f, const char *path)
{
  g_autoptr (JsonNode) root = json_from_string (f->resp.body, NULL);
  g_autoptr (JsonPath) jp = json_path_new ();
  json_path_compile (jp, path, NULL);
  g_autoptr (JsonNode) match = json_path_match (jp, root);
  JsonArray *a = json_node_get_array (match);
  if (json_array_get_length (a) == 0)
    return NULL;
  JsonNode *n = json_array_get_element (a, 0);
  return JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
             ? g_strdup (json_node_get_string (n))
             : json_to_string (n, FALSE);
}

static void
test_routes (Fixture *f, gconstpointer data)
{
  g_assert_cmpuint (call (f, "GET", "/api/v1/lobbies", NULL), ==, 200);
  g_assert_cmpstr (f->resp.body, ==, "{\"lobbies\":[]}");
  g_assert_cmpuint (call (f, "GET", "/api/v1/lobbies/", NULL), ==, 404);
  g_assert_cmpuint (call (f, "GET", "/", NULL), ==, 404);
  g_assert_cmpuint (call (f, "PUT", "/api/v1/sessions/x", NULL), ==, 405);
  g_assert_cmpstr (f->resp.allow, ==, "GET, DELETE");
  g_autofree char *code = member (f, "$.error.code");
  g_assert_cmpstr (code, ==, "method_not_allowed");
}

static void
test_create_then_find_by_key_with_slash (Fixture *f, gconstpointer data)
{
  const char *body = "{\"name\":\"a\",\"session_key\":\"org/team/1\",\"video\":{\"width\":160,"
                     "\"height\":120,\"fps\":10}}";
  g_assert_cmpuint (call (f, "POST", "/api/v1/lobbies", body), ==, 201);
  g_autofree char *id = member (f, "$.id");
  g_autofree char *location = g_strdup_printf ("/api/v1/lobbies/%s", id);
  g_assert_cmpstr (f->resp.location, ==, location);
  g_assert_cmpuint (call (f, "POST", "/api/v1/lobbies", body), ==, 200);
  g_assert_cmpuint (call (f, "GET", "/api/v1/lobbies/by-key/org/team/1", NULL), ==, 200);
  g_autofree char *id2 = member (f, "$.id");
  g_assert_cmpstr (id, ==, id2);
  g_assert_cmpuint (call (f, "GET", "/api/v1/system/gpu-status", NULL), ==, 200);
  g_autofree char *used = member (f, "$.nvenc_sessions_used");
  g_autofree char *mode = member (f, "$.software_mode");
  g_autofree char *lobbies = member (f, "$.active_lobbies");
  g_autofree char *pool = member (f, "$.pools[0].name");
  g_autofree char *source = member (f, "$.pools[0].limit_source");
  g_assert_cmpstr (used, ==, "0");
  g_assert_cmpstr (mode, ==, "false");
  g_assert_cmpstr (lobbies, ==, "1");
  g_assert_cmpstr (pool, ==, "software");
  g_assert_cmpstr (source, ==, "cpu-budget");
  g_assert_cmpuint (call (f, "DELETE", location, NULL), ==, 204);
  g_assert_null (f->resp.body);
  g_assert_cmpuint (call (f, "GET", location, NULL), ==, 404);
}

static void
test_content_type (Fixture *f, gconstpointer data)
{
  lb_api_handle (f->api, "POST", "/api/v1/lobbies", "application/x-www-form-urlencoded",
                 "{\"name\":\"a\"}", 12, &f->resp);
  g_assert_cmpuint (f->resp.status, ==, 415);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/api/routes", Fixture, NULL, setup, test_routes, teardown);
  g_test_add ("/api/create-then-find-by-key-with-slash", Fixture, NULL, setup,
              test_create_then_find_by_key_with_slash, teardown);
  g_test_add ("/api/content-type", Fixture, NULL, setup, test_content_type, teardown);
  return g_test_run ();
}
