/* docs/openapi.json against the code: every route of lb-api's table is in
 * the document and vice versa, the daemon serves exactly the file, and the
 * error codes and statuses of the document are those of lb-error. */
#include "lb-api.h"
#include "lb-error.h"

#include <json-glib/json-glib.h>
#include <string.h>

static JsonObject *
load_doc (JsonParser *parser)
{
  g_autofree char *path = g_build_filename (LB_SOURCE_ROOT, "docs", "openapi.json", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

/* "/api/v1/lobbies/{id}/sessions" -> "api/v1/lobbies/{}/sessions" */
static char *
normalize (const char *path)
{
  g_auto (GStrv) segments = g_strsplit (path[0] == '/' ? path + 1 : path, "/", -1);
  for (guint i = 0; segments[i] != NULL; i++)
    if (segments[i][0] == '{')
      {
        g_free (segments[i]);
        segments[i] = g_strdup ("{}");
      }
  return g_strjoinv ("/", segments);
}

static void
add_route (const char *method, const char *pattern, gpointer user_data)
{
  g_autofree char *norm = normalize (pattern);
  g_hash_table_add (user_data, g_strdup_printf ("%s /%s", method, norm));
}

static void
test_routes_match_document (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *paths = json_object_get_object_member (load_doc (parser), "paths");
  g_autoptr (GHashTable) table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) doc = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  static const char *const methods[]
      = { "get", "put", "post", "delete", "patch", "head", "options" };

  lb_api_foreach_route (add_route, table);
  g_assert_cmpuint (g_hash_table_size (table), >, 10);

  JsonObjectIter iter;
  const char *path;
  JsonNode *node;
  json_object_iter_init (&iter, paths);
  while (json_object_iter_next (&iter, &path, &node))
    {
      JsonObject *item = json_node_get_object (node);
      /* The SSE stream and the web UI are served by lb-http-server. */
      if (json_object_get_boolean_member_with_default (item, "x-lobbyd-outside-route-table", FALSE))
        continue;
      g_autofree char *norm = normalize (path);
      for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
        if (json_object_has_member (item, methods[i]))
          {
            g_autofree char *upper = g_ascii_strup (methods[i], -1);
            g_hash_table_add (doc, g_strdup_printf ("%s /%s", upper, norm));
          }
    }

  g_autoptr (GString) missing = g_string_new (NULL);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, table);
  while (g_hash_table_iter_next (&it, &key, NULL))
    if (!g_hash_table_contains (doc, key))
      g_string_append_printf (missing, "  route not in docs/openapi.json: %s\n", (char *)key);
  g_hash_table_iter_init (&it, doc);
  while (g_hash_table_iter_next (&it, &key, NULL))
    if (!g_hash_table_contains (table, key))
      g_string_append_printf (missing, "  docs/openapi.json has no such route: %s\n", (char *)key);
  if (missing->len > 0)
    g_test_message ("%s", missing->str);
  g_assert_cmpstr (missing->str, ==, "");
}

static void
test_served_document_is_the_file (void)
{
  g_autofree char *path = g_build_filename (LB_SOURCE_ROOT, "docs", "openapi.json", NULL);
  g_autofree char *file = NULL;
  g_assert_true (g_file_get_contents (path, &file, NULL, NULL));

  /* This route reads nothing of the registry. */
  g_autoptr (LbApi) api = lb_api_new (NULL, NULL);
  LbApiResponse resp = { 0 };
  lb_api_handle (api, "GET", "/api/v1/openapi.json", NULL, NULL, 0, &resp);
  g_assert_cmpuint (resp.status, ==, 200);
  g_assert_cmpstr (resp.content_type, ==, "application/json");
  g_assert_cmpstr (resp.body, ==, file);
  lb_api_response_clear (&resp);
}

/* Codes of a response object, through its $ref and allOf. */
static JsonArray *
response_codes (JsonObject *components, JsonObject *response)
{
  if (json_object_has_member (response, "$ref"))
    {
      const char *ref = json_object_get_string_member (response, "$ref");
      g_assert_true (g_str_has_prefix (ref, "#/components/responses/"));
      response
          = json_object_get_object_member (json_object_get_object_member (components, "responses"),
                                           ref + strlen ("#/components/responses/"));
    }
  if (!json_object_has_member (response, "content"))
    return NULL;
  JsonObject *content = json_object_get_object_member (response, "content");
  if (!json_object_has_member (content, "application/json"))
    return NULL;
  JsonObject *schema = json_object_get_object_member (
      json_object_get_object_member (content, "application/json"), "schema");
  if (!json_object_has_member (schema, "allOf"))
    return NULL;
  JsonObject *restrict_
      = json_array_get_object_element (json_object_get_array_member (schema, "allOf"), 1);
  JsonObject *error = json_object_get_object_member (
      json_object_get_object_member (restrict_, "properties"), "error");
  JsonObject *code
      = json_object_get_object_member (json_object_get_object_member (error, "properties"), "code");
  return json_object_get_array_member (code, "enum");
}

static gboolean
array_has_string (JsonArray *array, const char *s)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (g_str_equal (json_array_get_string_element (array, i), s))
      return TRUE;
  return FALSE;
}

static void
test_error_codes_match_table (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *root = load_doc (parser);
  JsonObject *components = json_object_get_object_member (root, "components");
  JsonObject *error_schema = json_object_get_object_member (
      json_object_get_object_member (json_object_get_object_member (components, "schemas"),
                                     "Error"),
      "properties");
  JsonObject *error = json_object_get_object_member (error_schema, "error");
  JsonArray *all = json_object_get_array_member (
      json_object_get_object_member (json_object_get_object_member (error, "properties"), "code"),
      "enum");

  /* Every code the API can send is in the document, and nothing else. */
  guint n = 0;
  for (LbErrorCode c = 0;; c++)
    {
      const char *name = lb_error_code_name (c);
      if (c > 0 && g_str_equal (name, "internal_error"))
        break;
      n++;
      if (!array_has_string (all, name))
        g_error ("error code %s is not in docs/openapi.json's Error schema", name);
    }
  g_assert_cmpuint (json_array_get_length (all), ==, n);

  /* Each response lists only codes that lb-error maps to its status. */
  JsonObjectIter pit;
  const char *path;
  JsonNode *item;
  json_object_iter_init (&pit, json_object_get_object_member (root, "paths"));
  while (json_object_iter_next (&pit, &path, &item))
    {
      JsonObjectIter mit;
      const char *method;
      JsonNode *op;
      json_object_iter_init (&mit, json_node_get_object (item));
      while (json_object_iter_next (&mit, &method, &op))
        {
          if (!JSON_NODE_HOLDS_OBJECT (op)
              || !json_object_has_member (json_node_get_object (op), "responses"))
            continue;
          JsonObjectIter rit;
          const char *status;
          JsonNode *resp;
          json_object_iter_init (
              &rit, json_object_get_object_member (json_node_get_object (op), "responses"));
          while (json_object_iter_next (&rit, &status, &resp))
            {
              JsonArray *codes = response_codes (components, json_node_get_object (resp));
              for (guint i = 0; codes != NULL && i < json_array_get_length (codes); i++)
                {
                  const char *name = json_array_get_string_element (codes, i);
                  guint expected = 0;
                  for (LbErrorCode c = 0; c < n; c++)
                    if (g_str_equal (lb_error_code_name (c), name))
                      expected = lb_error_http_status (c);
                  if (expected != (guint)g_ascii_strtoull (status, NULL, 10))
                    g_error ("%s %s: response %s lists code %s, whose status is %u", method, path,
                             status, name, expected);
                }
            }
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/openapi/routes-match-document", test_routes_match_document);
  g_test_add_func ("/openapi/served-document-is-the-file", test_served_document_is_the_file);
  g_test_add_func ("/openapi/error-codes-match-table", test_error_codes_match_table);
  return g_test_run ();
}
