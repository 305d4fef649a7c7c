/* Unit tests for lb-config: embedded defaults, overrides, strictness. */
#include "lb-config.h"
#include "lb-error.h"

#include <glib/gstdio.h>
#include <string.h>

static void
test_defaults (void)
{
  g_autoptr (LbConfig) c = lb_config_new_default ();
  g_assert_cmpstr (c->state_dir, ==, "state");
  g_assert_cmpstr (c->listen, ==, "127.0.0.1:8480");
  g_assert_cmpuint (c->max_body_bytes, ==, 65536);
  g_assert_true (c->demo_enabled);
  g_assert_cmpuint (g_strv_length (c->allowed_destinations), ==, 2);
  g_autofree char *sock = lb_config_socket_path (c);
  g_assert_cmpstr (sock, ==, "state/lobbyd.sock");
}

static void
test_override_file (void)
{
  g_autoptr (LbConfig) c = lb_config_new_default ();
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("lbcfg-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "c.conf", NULL);

  g_assert_true (g_file_set_contents (path,
                                      "[daemon]\nsocket=/run/x.sock\nlisten=\n"
                                      "[rtp]\nallowed_destinations=10.0.0.0/8;\n"
                                      "[encoder]\nx264_speed_preset=veryfast\n",
                                      -1, NULL));
  g_assert_true (lb_config_load_file (c, path, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (c->socket_path, ==, "/run/x.sock");
  g_assert_cmpstr (c->listen, ==, "");
  g_assert_cmpstr (c->allowed_destinations[0], ==, "10.0.0.0/8");
  g_assert_cmpstr (c->x264_speed_preset, ==, "veryfast");
  g_assert_cmpstr (c->state_dir, ==, "state"); /* untouched keys keep defaults */
  g_unlink (path);
  g_rmdir (dir);
}

static void
expect_config_error (const char *data, const char *fragment)
{
  g_autoptr (LbConfig) c = lb_config_new_default ();
  g_autoptr (GError) error = NULL;
  g_assert_false (lb_config_load_data (c, data, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_strict (void)
{
  expect_config_error ("[daemon]\nstate_dri=x\n", "unknown key 'state_dri'");
  expect_config_error ("[deamon]\nstate_dir=x\n", "unknown group [deamon]");
  expect_config_error ("[daemon]\nmax_lobbies=0\n", "max_lobbies");
  expect_config_error ("[daemon]\nmax_lobbies=many\n", "max_lobbies");
  expect_config_error ("[encoder]\nx264_speed_preset=placebo\n", "must be one of");
  expect_config_error ("[demo]\npattern=nope\n", "pattern");
  expect_config_error ("[demo]\nwidth=641\n", "even");
  expect_config_error ("[daemon]\nlisten=localhost:80\n", "listen");
  expect_config_error ("[daemon]\nstate_dir=\n", "state_dir");
  expect_config_error ("not a key file", "");
}

static void
test_missing_file (void)
{
  g_autoptr (LbConfig) c = lb_config_new_default ();
  g_autoptr (GError) error = NULL;
  g_assert_false (lb_config_load_file (c, "/nonexistent/lobbyd.conf", &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_CONFIG);
}

static void
test_parse_listen (void)
{
  struct
  {
    const char *in;
    const char *host;
    guint16 port;
  } ok[] = {
    { "127.0.0.1:8480", "127.0.0.1", 8480 },
    { "[::1]:9000", "::1", 9000 },
    { "0.0.0.0:1", "0.0.0.0", 1 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autofree char *host = NULL;
      guint16 port = 0;
      g_assert_true (lb_config_parse_listen (ok[i].in, &host, &port, NULL));
      g_assert_cmpstr (host, ==, ok[i].host);
      g_assert_cmpuint (port, ==, ok[i].port);
    }
  const char *bad[]
      = { "8480",    ":8480",          "127.0.0.1:",   "127.0.0.1:0", "127.0.0.1:65536",
          "[::1:80", "example.com:80", "127.0.0.1:80x" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *host = NULL;
      guint16 port = 0;
      g_assert_false (lb_config_parse_listen (bad[i], &host, &port, NULL));
    }
}

/* The example config in the repo loads and says what the embedded defaults say. */
static void
test_example_config_matches_defaults (void)
{
  g_autoptr (LbConfig) defaults = lb_config_new_default ();
  g_autoptr (LbConfig) example = lb_config_new_default ();
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (LB_SOURCE_ROOT, "config", "lobbyd.example.conf", NULL);

  g_assert_true (lb_config_load_file (example, path, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (example->listen, ==, defaults->listen);
  g_assert_cmpstr (example->hardware, ==, defaults->hardware);
  g_assert_cmpuint (example->upgrade_holdoff_s, ==, defaults->upgrade_holdoff_s);
  g_assert_cmpuint (example->hw_double_real_limit, ==, defaults->hw_double_real_limit);
  g_assert_cmpuint (example->demo_rtp_port, ==, defaults->demo_rtp_port);
  g_assert_true (g_strv_equal ((const char *const *)example->allowed_destinations,
                               (const char *const *)defaults->allowed_destinations));
  g_assert_cmpstr (example->apps_user, ==, defaults->apps_user);
  g_assert_cmpint (example->apps_allow_root, ==, defaults->apps_allow_root);
  g_assert_cmpuint (example->audio_bitrate_kbps, ==, defaults->audio_bitrate_kbps);
  g_assert_cmpstr (example->audio_server_binary, ==, defaults->audio_server_binary);
  g_assert_cmpuint (example->audio_start_timeout_ms, ==, defaults->audio_start_timeout_ms);
}

/* [audio]: Opus between 64 and 128 kbit/s; the sound server is a setting. */
static void
test_audio_settings (void)
{
  g_autoptr (LbConfig) config = lb_config_new_default ();
  g_autoptr (GError) error = NULL;

  g_assert_cmpuint (config->audio_bitrate_kbps, ==, 96);
  g_assert_cmpstr (config->audio_server_binary, ==, "pulseaudio");
  g_assert_cmpuint (config->audio_start_timeout_ms, ==, 2000);
  g_assert_true (lb_config_load_data (
      config, "[audio]\nbitrate_kbps=128\nserver_binary=/opt/pa/bin/pulseaudio\n", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (config->audio_bitrate_kbps, ==, 128);
  g_assert_cmpstr (config->audio_server_binary, ==, "/opt/pa/bin/pulseaudio");
  static const char *const bad[] = { "[audio]\nbitrate_kbps=63\n", "[audio]\nbitrate_kbps=129\n",
                                     "[audio]\nstart_timeout_ms=0\n", "[audio]\ncodec=aac\n" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) e = NULL;
      g_assert_false (lb_config_load_data (config, bad[i], &e));
      g_assert_error (e, LB_ERROR, LB_ERROR_CONFIG);
    }
}

/* [apps] user and allow_root are settings, not catalogue entries. */
static void
test_apps_settings (void)
{
  g_autoptr (LbConfig) config = lb_config_new_default ();
  g_autoptr (GError) error = NULL;

  g_assert_cmpstr (config->apps_user, ==, "lobbyd-app");
  g_assert_false (config->apps_allow_root);
  g_assert_true (lb_config_load_data (config, "[apps]\nuser=nobody\nallow_root=true\n", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (config->apps_user, ==, "nobody");
  g_assert_true (config->apps_allow_root);
  g_assert_null (g_hash_table_lookup (config->apps, "user"));
  g_assert_null (g_hash_table_lookup (config->apps, "allow_root"));
  g_assert_nonnull (g_hash_table_lookup (config->apps, "xterm"));
  g_assert_false (lb_config_load_data (config, "[apps]\nallow_root=maybe\n", &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_CONFIG);
  g_clear_error (&error);
  g_assert_false (lb_config_load_data (config, "[apps]\nuser=\n", &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_CONFIG);
}

/* [webrtc] ICE keys: the example says what the defaults say; ice_addresses
 * takes IP addresses only. */
static void
test_webrtc_ice_keys (void)
{
  g_autoptr (LbConfig) defaults = lb_config_new_default ();
  g_autoptr (LbConfig) example = lb_config_new_default ();
  g_autoptr (LbConfig) bad = lb_config_new_default ();
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (LB_SOURCE_ROOT, "config", "lobbyd.example.conf", NULL);

  g_assert_true (lb_config_load_file (example, path, NULL));
  g_assert_true (g_strv_equal ((const char *const *)example->allowed_candidates,
                               (const char *const *)defaults->allowed_candidates));
  g_assert_cmpuint (example->peer_timeout_s, ==, 10);
  g_assert_cmpuint (defaults->peer_timeout_s, ==, 10);
  g_assert_cmpuint (g_strv_length (defaults->ice_addresses), ==, 0);
  g_assert_false (lb_config_load_data (bad, "[webrtc]\nice_addresses=127.0.0.1;eth0\n", &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_CONFIG);
}

/* The installed /etc/lobbyd/lobbyd.conf (config/lobbyd.conf.installed) lists
 * every key of the table, commented out, with the embedded default; with
 * every key uncommented it still loads. */
static void
test_installed_config_lists_every_key (void)
{
  g_autofree char *path
      = g_build_filename (LB_SOURCE_ROOT, "config", "lobbyd.conf.installed", NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_autoptr (GKeyFile) defaults = g_key_file_new ();
  g_assert_true (
      g_key_file_load_from_data (defaults, lb_config_default_text (), -1, G_KEY_FILE_NONE, NULL));

  /* Uncommented, it is a key file whose values are the defaults. */
  g_autoptr (GString) open = g_string_new (NULL);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *l = lines[i];
      gboolean key_line = l[0] == '#' && g_ascii_islower (l[1]) && strchr (l, '=') != NULL
                          && strchr (l, ' ') == NULL;
      g_string_append_printf (open, "%s\n", key_line ? l + 1 : l);
    }
  g_autoptr (GKeyFile) installed = g_key_file_new ();
  g_assert_true (g_key_file_load_from_data (installed, open->str, -1, G_KEY_FILE_NONE, &error));
  g_auto (GStrv) keys = lb_config_list_keys ();
  g_assert_cmpuint (g_strv_length (keys), >, 50);
  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_auto (GStrv) gk = g_strsplit (keys[i], "/", 2);
      g_autofree char *want = g_key_file_get_value (defaults, gk[0], gk[1], NULL);
      g_autofree char *got = g_key_file_get_value (installed, gk[0], gk[1], NULL);
      g_assert_nonnull (want);
      if (got == NULL)
        g_error ("config/lobbyd.conf.installed lacks [%s] %s", gk[0], gk[1]);
      g_assert_cmpstr (got, ==, want);
    }
  g_autoptr (LbConfig) config = lb_config_new_default ();
  g_assert_true (lb_config_load_data (config, open->str, &error));
  g_autoptr (LbConfig) as_shipped = lb_config_new_default ();
  g_assert_true (lb_config_load_file (as_shipped, path, &error));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/webrtc-ice-keys", test_webrtc_ice_keys);
  g_test_add_func ("/config/apps-settings", test_apps_settings);
  g_test_add_func ("/config/override-file", test_override_file);
  g_test_add_func ("/config/strict", test_strict);
  g_test_add_func ("/config/missing-file", test_missing_file);
  g_test_add_func ("/config/parse-listen", test_parse_listen);
  g_test_add_func ("/config/audio", test_audio_settings);
  g_test_add_func ("/config/example-matches-defaults", test_example_config_matches_defaults);
  g_test_add_func ("/config/installed-lists-every-key", test_installed_config_lists_every_key);
  return g_test_run ();
}
