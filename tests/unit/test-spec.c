/* Unit tests for lb-spec: lobby and session request validation. */
#include "lb-error.h"
#include "lb-json.h"
#include "lb-output.h"
#include "lb-spec.h"

#include <string.h>

static LbLobbySpec *
lobby_from (const char *text, GError **error)
{
  g_autoptr (JsonNode) node = lb_json_parse_object (text, strlen (text), error);
  return node ? lb_lobby_spec_from_json (json_node_get_object (node), error) : NULL;
}

static LbSessionSpec *
session_from (const char *text, const LbLobbySpec *lobby, GError **error)
{
  g_autoptr (JsonNode) node = lb_json_parse_object (text, strlen (text), error);
  return node ? lb_output_spec_from_json (json_node_get_object (node), lobby, error) : NULL;
}

static void
test_lobby_defaults (void)
{
  g_autoptr (LbLobbySpec) spec = lobby_from ("{\"name\":\"a\"}", NULL);
  g_assert_nonnull (spec);
  g_assert_cmpstr (spec->name, ==, "a");
  g_assert_null (spec->session_key);
  g_assert_cmpstr (spec->pattern, ==, "ball");
  g_assert_cmpuint (spec->width, ==, 1280);
  g_assert_cmpuint (spec->height, ==, 720);
  g_assert_cmpuint (spec->fps, ==, 30);
}

static void
test_lobby_roundtrip (void)
{
  g_autoptr (LbLobbySpec) a
      = lobby_from ("{\"name\":\"n\",\"session_key\":\"k/"
                    "1\",\"source\":{\"type\":\"testsrc\",\"pattern\":\"snow\"},"
                    "\"video\":{\"width\":640,\"height\":480,\"fps\":25}}",
                    NULL);
  g_assert_nonnull (a);
  g_autoptr (JsonNode) node = lb_lobby_spec_to_json (a);
  g_autofree char *text = lb_json_to_string (node);
  g_autoptr (LbLobbySpec) b = lobby_from (text, NULL);
  g_assert_nonnull (b);
  g_assert_cmpstr (b->session_key, ==, "k/1");
  g_assert_cmpstr (b->pattern, ==, "snow");
  g_assert_true (b->pattern == a->pattern); /* static enumeration strings */
  g_assert_cmpuint (b->width, ==, 640);
  g_assert_cmpuint (b->fps, ==, 25);
}

static void
test_lobby_rejects (void)
{
  struct
  {
    const char *json;
    int code;
  } cases[] = {
    { "{}", LB_ERROR_MISSING_FIELD },
    { "{\"name\":\"a\",\"x\":1}", LB_ERROR_UNKNOWN_FIELD },
    { "{\"name\":\"a\",\"source\":{\"type\":\"filesrc\"}}", LB_ERROR_INVALID_FIELD },
    { "{\"name\":\"a\",\"source\":{\"pattern\":\"ball\"}}", LB_ERROR_MISSING_FIELD },
    { "{\"name\":\"a\",\"source\":{\"type\":\"testsrc\",\"pattern\":\"smpte ! fakesink\"}}",
      LB_ERROR_INVALID_FIELD },
    { "{\"name\":\"a\",\"video\":{\"width\":15}}", LB_ERROR_OUT_OF_RANGE },
    { "{\"name\":\"a\",\"video\":{\"height\":241}}", LB_ERROR_OUT_OF_RANGE },
    { "{\"name\":\"a\",\"video\":{\"fps\":241}}", LB_ERROR_OUT_OF_RANGE },
    { "{\"name\":\"a\",\"video\":{\"bitrate_kbps\":100}}", LB_ERROR_UNKNOWN_FIELD },
    { "{\"name\":\"a\",\"video\":[]}", LB_ERROR_INVALID_FIELD },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (LbLobbySpec) spec = lobby_from (cases[i].json, &error);
      g_assert_null (spec);
      g_assert_error (error, LB_ERROR, cases[i].code);
    }
}

/* Issue 12: "audio" is a boolean, on unless asked off, and survives the
 * store's round trip (restored lobbies keep their choice). */
static void
test_lobby_audio (void)
{
  g_autoptr (LbLobbySpec) on = lobby_from ("{\"name\":\"a\"}", NULL);
  g_assert_nonnull (on);
  g_assert_true (on->audio);
  g_autoptr (LbLobbySpec) def = lb_lobby_spec_new_default ();
  g_assert_true (def->audio);

  g_autoptr (LbLobbySpec) off = lobby_from ("{\"name\":\"a\",\"audio\":false}", NULL);
  g_assert_nonnull (off);
  g_assert_false (off->audio);
  g_autoptr (JsonNode) node = lb_lobby_spec_to_json (off);
  g_assert_true (json_object_has_member (json_node_get_object (node), "audio"));
  g_autofree char *text = lb_json_to_string (node);
  g_autoptr (LbLobbySpec) again = lobby_from (text, NULL);
  g_assert_nonnull (again);
  g_assert_false (again->audio);
  g_autoptr (JsonNode) on_node = lb_lobby_spec_to_json (on);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (on_node), "audio"));

  static const char *const bad[] = {
    "{\"name\":\"a\",\"audio\":\"yes\"}",
    "{\"name\":\"a\",\"audio\":1}",
    "{\"name\":\"a\",\"audio\":null}",
    "{\"name\":\"a\",\"audio\":{}}",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (LbLobbySpec) spec = lobby_from (bad[i], &error);
      g_assert_null (spec);
      g_assert_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD);
    }
}

static void
test_session_defaults_from_lobby (void)
{
  g_autoptr (LbLobbySpec) lobby
      = lobby_from ("{\"name\":\"a\",\"video\":{\"width\":640,\"height\":360,\"fps\":24}}", NULL);
  g_autoptr (LbSessionSpec) s = session_from (
      "{\"transport\":\"rtp\",\"destination\":{\"host\":\"::1\",\"port\":5004}}", lobby, NULL);
  g_assert_nonnull (s);
  JsonObject *dest = json_object_get_object_member (s->params, "destination");
  g_assert_cmpstr (json_object_get_string_member (dest, "host"), ==, "::1");
  g_assert_cmpuint (json_object_get_int_member (dest, "port"), ==, 5004);
  g_assert_cmpuint (s->profile.width, ==, 640);
  g_assert_cmpuint (s->profile.height, ==, 360);
  g_assert_cmpuint (s->profile.fps, ==, 24);
  g_assert_cmpuint (s->profile.bitrate_kbps, ==, 4000);
  g_assert_cmpint (s->profile.codec, ==, LB_CODEC_H264);

  g_autoptr (JsonNode) node = lb_session_spec_to_json (s);
  g_autofree char *text = lb_json_to_string (node);
  g_autoptr (LbSessionSpec) again = session_from (text, lobby, NULL);
  g_assert_nonnull (again);
  g_assert_cmpuint (again->profile.bitrate_kbps, ==, 4000);
}

static void
test_session_rejects (void)
{
  g_autoptr (LbLobbySpec) lobby = lb_lobby_spec_new_default ();
  struct
  {
    const char *json;
    int code;
  } cases[] = {
    { "{\"destination\":{\"host\":\"127.0.0.1\",\"port\":1}}", LB_ERROR_MISSING_FIELD },
    { "{\"transport\":\"rtp\"}", LB_ERROR_MISSING_FIELD },
    { "{\"transport\":\"srt\",\"destination\":{\"host\":\"127.0.0.1\",\"port\":1}}",
      LB_ERROR_INVALID_FIELD },
    { "{\"transport\":\"rtp\",\"destination\":{\"host\":\"example.com\",\"port\":1}}",
      LB_ERROR_INVALID_FIELD },
    { "{\"transport\":\"rtp\",\"destination\":{\"host\":\"127.0.0.1\",\"port\":65536}}",
      LB_ERROR_OUT_OF_RANGE },
    { "{\"transport\":\"rtp\",\"destination\":{\"host\":\"127.0.0.1\",\"port\":1,\"ttl\":3}}",
      LB_ERROR_UNKNOWN_FIELD },
    { "{\"transport\":\"rtp\",\"destination\":{\"host\":\"127.0.0.1\",\"port\":1},\"profile\":{"
      "\"codec\":\"h265\"}}",
      LB_ERROR_INVALID_FIELD },
    { "{\"transport\":\"rtp\",\"destination\":{\"host\":\"127.0.0.1\",\"port\":1},\"profile\":{"
      "\"bitrate_kbps\":200001}}",
      LB_ERROR_OUT_OF_RANGE },
    { "{\"transport\":\"rtp\",\"destination\":{\"host\":\"127.0.0.1\",\"port\":1},\"profile\":{"
      "\"width\":1279}}",
      LB_ERROR_OUT_OF_RANGE },
    { "{\"transport\":\"rtp\",\"destination\":{\"host\":\"127.0.0.1\",\"port\":1},\"profile\":{"
      "\"encoder\":\"nvh264enc\"}}",
      LB_ERROR_UNKNOWN_FIELD },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (LbSessionSpec) spec = session_from (cases[i].json, lobby, &error);
      g_assert_null (spec);
      g_assert_error (error, LB_ERROR, cases[i].code);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/spec/lobby-defaults", test_lobby_defaults);
  g_test_add_func ("/spec/lobby-roundtrip", test_lobby_roundtrip);
  g_test_add_func ("/spec/lobby-rejects", test_lobby_rejects);
  g_test_add_func ("/spec/lobby-audio", test_lobby_audio);
  g_test_add_func ("/spec/session-defaults-from-lobby", test_session_defaults_from_lobby);
  g_test_add_func ("/spec/session-rejects", test_session_rejects);
  return g_test_run ();
}
