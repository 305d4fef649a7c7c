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

/* RFC 8259 strictness: everything json-glib would read leniently (or read
 * as something else) is LB_ERROR_INVALID_JSON before json-glib sees it. */
static void
test_strict_grammar (void)
{
  const char *bad[] = {
    /* \u0000 would truncate: two tenants' keys would become one */
    "{\"k\":\"tenant-A\\u0000-secret1\"}",
    "{\"k\":\"\\u0000\"}",
    /* numbers: leading zeros (octal), hex, odd spellings, beyond 64 bits */
    "{\"w\":0320}",
    "{\"w\":00}",
    "{\"w\":-0320}",
    "{\"w\":0x1E0}",
    "{\"w\":0X1e0}",
    "{\"w\":+1}",
    "{\"w\":.5}",
    "{\"w\":1.}",
    "{\"w\":1.e3}",
    "{\"w\":1e}",
    "{\"w\":1e+}",
    "{\"w\":-}",
    "{\"w\":--1}",
    "{\"w\":1x}",
    "{\"w\":1_000}",
    "{\"w\":Infinity}",
    "{\"w\":-Infinity}",
    "{\"w\":NaN}",
    "{\"w\":0.1.2}",
    "{\"w\":1 2}",
    "{\"w\":18446744073709551936}",
    "{\"w\":-18446744073709551296}",
    "{\"w\":9223372036854775808}",
    "{\"w\":123456789012345678901234567890}",
    /* duplicate members, however spelled, at any depth */
    "{\"a\":1,\"a\":2}",
    "{\"a\":1,\"\\u0061\":2}",
    "{\"a\":1,\"b\":{\"c\":1,\"c\":1}}",
    "{\"a\":[{\"x\":1,\"x\":1}]}",
    "{\"\\ud83d\\ude00\":1,\"\\ud83d\\ude00\":2}",
    /* strings */
    "{\"s\":\"\\x41\"}",
    "{\"s\":\"\\a\"}",
    "{\"s\":\"\\'\"}",
    "{\"s\":\"\\u12\"}",
    "{\"s\":\"\\u12g4\"}",
    "{\"s\":\"\\ud800\"}",
    "{\"s\":\"\\ud800\\u0041\"}",
    "{\"s\":\"\\udc00\"}",
    "{\"s\":\"a\tb\"}",
    "{\"s\":\"a\nb\"}",
    "{\"s\":\"\x01\"}",
    "{\"s\":\"\x1f\"}",
    "{\"s\":\"abc}",
    "{\"s\":\"abc\\",
    "{'s':'x'}",
    "{s:1}",
    "{\"s\":'x'}",
    /* literals and structure */
    "{\"b\":tru}",
    "{\"b\":True}",
    "{\"b\":true1}",
    "{\"b\":nul}",
    "{\"b\":undefined}",
    "{\"a\":1,}",
    "{,\"a\":1}",
    "{\"a\":[1,]}",
    "{\"a\":[,1]}",
    "{\"a\" 1}",
    "{\"a\":1 \"b\":2}",
    "{\"a\":1}}",
    "{\"a\":[1}",
    "{\"a\":{]}",
    "{/*c*/\"a\":1}",
    "{\"a\":1}//c",
    "{\"a\":1}#",
    "{\"a\":1}\x0c",
    "\x0c{\"a\":1}",
    "\xc2\xa0{\"a\":1}",
    "{\"a\":1}\xc2\xa0",
    "{\"a\":1};",
    "{} {}",
    "{}{}",
    "{}[]",
    "{} 1",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) node = lb_json_parse_object (bad[i], strlen (bad[i]), &error);
      if (node != NULL)
        g_error ("accepted: %s", bad[i]);
      g_assert_error (error, LB_ERROR, LB_ERROR_INVALID_JSON);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
    }
  g_test_message ("%u malformed bodies rejected", (guint)G_N_ELEMENTS (bad));

  /* Nesting is bounded (no deep recursion in the reader or json-glib). */
  GString *deep = g_string_new ("{\"a\":");
  for (int i = 0; i < 10000; i++)
    g_string_append_c (deep, '[');
  for (int i = 0; i < 10000; i++)
    g_string_append_c (deep, ']');
  g_string_append_c (deep, '}');
  g_autoptr (GError) error = NULL;
  g_assert_null (lb_json_parse_object (deep->str, deep->len, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_INVALID_JSON);
  g_string_free (deep, TRUE);
}

static void
test_strict_accepts_rfc_json (void)
{
  const char *good[] = {
    "{}",
    " \t\r\n{ } \t\r\n",
    "{\"a\":0}",
    "{\"a\":-0}",
    "{\"a\":-1}",
    "{\"a\":10}",
    "{\"a\":1.5}",
    "{\"a\":0.5e-3}",
    "{\"a\":1E+2}",
    "{\"a\":-0.0e0}",
    "{\"a\":9223372036854775807}",
    "{\"a\":-9223372036854775808}",
    "{\"a\":true,\"b\":false}",
    "{\"a\":null}",
    "{\"a\":[]}",
    "{\"a\":[1,\"x\",{},[null]]}",
    "{\"a\":{\"a\":{\"a\":1}}}",
    "{\"A\":1,\"a\":2}",
    "{\"a\":{\"b\":1},\"b\":{\"a\":1}}",
    "{\"\":1}",
    "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\ud83d\\ude00\\uFFFF\"}",
    "{\"s\":\"h\xc3\xa9llo \xf0\x9f\x98\x80\"}",
  };
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) node = lb_json_parse_object (good[i], strlen (good[i]), &error);
      if (node == NULL)
        g_error ("refused %s: %s", good[i], error->message);
    }

  /* Escapes decode to what was meant (no truncation). */
  g_autoptr (JsonNode) node = NULL;
  JsonObject *obj = parse ("{\"k\":\"tenant-A\\u0001x\",\"e\":\"\\ud83d\\ude00\\/\"}", &node);
  g_assert_cmpstr (json_object_get_string_member (obj, "k"), ==, "tenant-A\x01x");
  g_assert_cmpstr (json_object_get_string_member (obj, "e"), ==, "\xf0\x9f\x98\x80/");
}

/* The pre-validation pass costs little next to json-glib itself. Best of a
 * few rounds, as the machine may be busy. */
static double
best_ms (const char *data, gsize len, gboolean glib_only, gboolean expect_ok)
{
  double best = G_MAXDOUBLE;
  for (guint round = 0; round < 5; round++)
    {
      gint64 t0 = g_get_monotonic_time ();
      for (guint i = 0; i < 20; i++)
        {
          if (glib_only)
            {
              g_autoptr (JsonParser) parser = json_parser_new_immutable ();
              g_assert_true (json_parser_load_from_data (parser, data, (gssize)len, NULL));
              continue;
            }
          g_autoptr (JsonNode) node = lb_json_parse_object (data, len, NULL);
          g_assert_true ((node != NULL) == expect_ok);
        }
      best = MIN (best, (g_get_monotonic_time () - t0) / 1000.0 / 20);
    }
  return best;
}

static void
test_strict_overhead (void)
{
  GString *body = g_string_new ("{\"items\":[");
  guint objects = 0;
  for (; body->len < 64 * 1024 - 64; objects++)
    g_string_append_printf (body, "%s{\"n\":%u,\"s\":\"x\\u00e9y\",\"f\":1.5e3}",
                            objects ? "," : "", objects);
  g_string_append (body, "]}");
  double full = best_ms (body->str, body->len, FALSE, TRUE);
  double glib = best_ms (body->str, body->len, TRUE, TRUE);
  /* Trailing data is found only after the strict pass has read everything:
   * this times the checks without json-glib. */
  g_string_append (body, " x");
  double strict = best_ms (body->str, body->len, FALSE, FALSE);
  g_test_message ("64 KiB body (%" G_GSIZE_FORMAT " bytes, %u objects): lb_json_parse_object "
                  "%.3f ms = strict checks %.3f ms + json-glib %.3f ms",
                  body->len - 2, objects + 1, full, strict, glib);
  g_string_free (body, TRUE);
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
  g_test_add_func ("/json/strict-grammar", test_strict_grammar);
  g_test_add_func ("/json/strict-accepts-rfc-json", test_strict_accepts_rfc_json);
  g_test_add_func ("/json/strict-overhead", test_strict_overhead);
  g_test_add_func ("/json/members", test_members);
  g_test_add_func ("/json/uint", test_uint);
  g_test_add_func ("/json/string", test_string);
  g_test_add_func ("/json/error-table", test_error_table);
  return g_test_run ();
}
