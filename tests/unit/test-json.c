/* Unit tests for lb-json: strict member readers. */
#include "lb-error.h"
#include "lb-json.h"

#include <string.h>

static JsonObject *
parse (const char *text, JsonNode **node)
{
  g_autoptr (GError) error = NULL;
  *node = lb_json_parse_object (text, strlen (text), &error);
  g_assert_no_error (error);
  return json_node_get_object (*node);
}

static void
test_parse_errors (void)
{
  const char *bad[] = { "", "{", "[]", "1", "\"s\"", "null", "{\"a\":}", "{} {}" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) node = lb_json_parse_object (bad[i], strlen (bad[i]), &error);
      g_assert_null (node);
      g_assert_error (error, LB_ERROR, LB_ERROR_INVALID_JSON);
    }
  g_autoptr (GError) error = NULL;
  g_assert_null (lb_json_parse_object ("{\"a\":1}\0x", 9, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_INVALID_JSON);
  g_clear_error (&error);
  g_assert_null (lb_json_parse_object ("{\"a\":\"\xff\"}", 8, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_INVALID_JSON);
}

static void
test_members (void)
{
  g_autoptr (JsonNode) node = NULL;
  JsonObject *obj = parse ("{\"a\":1,\"b\":2}", &node);
  const char *const ab[] = { "a", "b", NULL };
  const char *const a[] = { "a", NULL };
  g_autoptr (GError) error = NULL;

  g_assert_true (lb_json_check_members (obj, NULL, ab, &error));
  g_assert_false (lb_json_check_members (obj, "video", a, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_UNKNOWN_FIELD);
  g_assert_nonnull (strstr (error->message, "'video.b'"));
}

static void
test_uint (void)
{
  g_autoptr (JsonNode) node = NULL;
  JsonObject *obj = parse ("{\"i\":30,\"d\":30.0,\"s\":\"30\",\"b\":true,\"n\":null,\"neg\":-1,"
                           "\"big\":99999999999}",
                           &node);
  struct
  {
    const char *member;
    int code;
  } cases[] = {
    { "d", LB_ERROR_INVALID_FIELD },      { "s", LB_ERROR_INVALID_FIELD },
    { "b", LB_ERROR_INVALID_FIELD },      { "n", LB_ERROR_INVALID_FIELD },
    { "neg", LB_ERROR_OUT_OF_RANGE },     { "big", LB_ERROR_OUT_OF_RANGE },
    { "absent", LB_ERROR_MISSING_FIELD },
  };
  guint v = 7;

  g_assert_true (lb_json_get_uint (obj, NULL, "i", TRUE, 1, 60, &v, NULL));
  g_assert_cmpuint (v, ==, 30);
  g_assert_true (lb_json_get_uint (obj, NULL, "absent", FALSE, 1, 60, &v, NULL));
  g_assert_cmpuint (v, ==, 30);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (lb_json_get_uint (obj, NULL, cases[i].member, TRUE, 0, 1000, &v, &error));
      g_assert_error (error, LB_ERROR, cases[i].code);
    }
  g_autoptr (GError) error = NULL;
  g_assert_false (lb_json_get_uint (obj, NULL, "i", TRUE, 31, 60, &v, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_OUT_OF_RANGE);
}

static void
test_string (void)
{
  g_autoptr (JsonNode) node = NULL;
  JsonObject *obj = parse ("{\"s\":\"héllo\",\"e\":\"\",\"c\":\"a\\u0001b\",\"n\":5}", &node);
  g_autofree char *s = NULL;
  g_autoptr (GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL;

  g_assert_true (lb_json_get_string (obj, NULL, "s", TRUE, 16, &s, NULL));
  g_assert_cmpstr (s, ==, "héllo");
  g_assert_false (lb_json_get_string (obj, NULL, "s", TRUE, 3, &s, &e1));
  g_assert_error (e1, LB_ERROR, LB_ERROR_OUT_OF_RANGE);
  g_assert_false (lb_json_get_string (obj, NULL, "e", TRUE, 16, &s, &e2));
  g_assert_error (e2, LB_ERROR, LB_ERROR_OUT_OF_RANGE);
  g_assert_false (lb_json_get_string (obj, NULL, "c", TRUE, 16, &s, &e3));
  g_assert_error (e3, LB_ERROR, LB_ERROR_INVALID_FIELD);
  g_assert_false (lb_json_get_string (obj, NULL, "n", TRUE, 16, &s, &e4));
  g_assert_error (e4, LB_ERROR, LB_ERROR_INVALID_FIELD);
  g_assert_cmpstr (s, ==, "héllo");
}

static void
test_error_table (void)
{
  g_assert_cmpstr (lb_error_code_name (LB_ERROR_NOT_FOUND), ==, "not_found");
  g_assert_cmpuint (lb_error_http_status (LB_ERROR_NOT_FOUND), ==, 404);
  g_assert_cmpuint (lb_error_http_status (LB_ERROR_PAYLOAD_TOO_LARGE), ==, 413);
  g_assert_cmpuint (lb_error_http_status (LB_ERROR_DESTINATION_NOT_ALLOWED), ==, 403);
  g_assert_cmpstr (lb_error_code_name (9999), ==, "internal_error");
  for (int c = LB_ERROR_INTERNAL; c <= LB_ERROR_ENCODER_OPEN; c++)
    {
      g_assert_nonnull (lb_error_code_name (c));
      g_assert_cmpuint (lb_error_http_status (c), >=, 400);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/parse-errors", test_parse_errors);
  g_test_add_func ("/json/members", test_members);
  g_test_add_func ("/json/uint", test_uint);
  g_test_add_func ("/json/string", test_string);
  g_test_add_func ("/json/error-table", test_error_table);
  return g_test_run ();
}
