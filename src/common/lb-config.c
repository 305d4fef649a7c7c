/* lb-config.c — table-driven GKeyFile configuration. */
#define G_LOG_DOMAIN "lobbyd-config"
#include "lb-config.h"
#include "lb-error.h"
#include "lb-spec.h"

#include <gio/gio.h>
#include <stddef.h>
#include <string.h>

static const char default_text[] = "# lobbyd embedded defaults; see docs/configuration.md\n"
                                   "[daemon]\n"
                                   "state_dir=state\n"
                                   "socket=\n"
                                   "listen=127.0.0.1:8480\n"
                                   "token=\n"
                                   "web_dir=\n"
                                   "max_body_bytes=65536\n"
                                   "max_lobbies=64\n"
                                   "max_sessions=256\n"
                                   "max_connections_unix=64\n"
                                   "max_connections_tcp=256\n"
                                   "request_timeout_s=10\n"
                                   "sse_max_queued_bytes=262144\n"
                                   "\n"
                                   "[rtp]\n"
                                   "allowed_destinations=127.0.0.0/8;::1/128\n"
                                   "\n"
                                   "[webrtc]\n"
                                   "stun_server=\n"
                                   "allowed_candidates=0.0.0.0/0;::/0\n"
                                   "ice_addresses=\n"
                                   "peer_timeout_s=10\n"
                                   "stack=auto\n"
                                   "\n"
                                   "[encoder]\n"
                                   "x264_speed_preset=ultrafast\n"
                                   "keyframe_interval_ms=2000\n"
                                   "hardware=auto\n"
                                   "nvenc_session_limit=0\n"
                                   "software_budget_mpps=0\n"
                                   "upgrade=true\n"
                                   "nvml_poll_ms=2000\n"
                                   "upgrade_holdoff_s=30\n"
                                   "join_keyframe_min_interval_ms=500\n"
                                   "\n"
                                   "[demo]\n"
                                   "enabled=true\n"
                                   "name=demo\n"
                                   "session_key=demo\n"
                                   "pattern=ball\n"
                                   "width=1280\n"
                                   "height=720\n"
                                   "fps=30\n"
                                   "rtp_port=5004\n"
                                   "\n"
                                   "[apps]\n"
                                   "user=lobbyd-app\n"
                                   "allow_root=false\n"
                                   "xterm=xterm\n"
                                   "\n"
                                   "[audio]\n"
                                   "bitrate_kbps=96\n"
                                   "server_binary=pulseaudio\n"
                                   "start_timeout_ms=2000\n"
                                   "\n"
                                   "[moonlight]\n"
                                   "enabled=true\n"
                                   "address=0.0.0.0\n"
                                   "http_port=47989\n"
                                   "https_port=47984\n"
                                   "rtsp_port=48010\n"
                                   "video_port=47998\n"
                                   "control_port=47999\n"
                                   "audio_port=48000\n"
                                   "hostname=\n"
                                   "ping_timeout_s=10\n"
                                   "default_control=true\n"
                                   "pair_timeout_s=60\n"
                                   "fec_percentage=20\n"
                                   "\n"
                                   "[testing]\n"
                                   "hw_double=false\n"
                                   "hw_double_believed_limit=8\n"
                                   "hw_double_real_limit=3\n"
                                   "hw_double_fault_file=\n"
                                   "hw_double_stall_file=\n";

typedef enum
{
  KEY_STRING,
  KEY_UINT,
  KEY_BOOL,
  KEY_STRV,
} KeyType;

typedef struct
{
  const char *group;
  const char *key;
  KeyType type;
  gsize offset;
  guint min, max;           /* KEY_UINT */
  const char *const *oneof; /* KEY_STRING: allowed values, or NULL */
} KeyDesc;

static const char *const hardware_modes[] = { "auto", "off", NULL };
static const char *const webrtc_stacks[] = { "auto", "webrtcbin", "lite", NULL };

static const char *const speed_presets[] = {
  "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", NULL,
};

#define F(field) offsetof (LbConfig, field)
static const KeyDesc keys[] = {
  { "daemon", "state_dir", KEY_STRING, F (state_dir) },
  { "daemon", "socket", KEY_STRING, F (socket_path) },
  { "daemon", "listen", KEY_STRING, F (listen) },
  { "daemon", "token", KEY_STRING, F (token) },
  { "daemon", "web_dir", KEY_STRING, F (web_dir) },
  { "daemon", "max_body_bytes", KEY_UINT, F (max_body_bytes), 1024, 16 * 1024 * 1024 },
  { "daemon", "max_lobbies", KEY_UINT, F (max_lobbies), 1, 100000 },
  { "daemon", "max_sessions", KEY_UINT, F (max_sessions), 1, 1000000 },
  { "daemon", "max_connections_unix", KEY_UINT, F (max_connections_unix), 1, 100000 },
  { "daemon", "max_connections_tcp", KEY_UINT, F (max_connections_tcp), 1, 100000 },
  { "daemon", "request_timeout_s", KEY_UINT, F (request_timeout_s), 1, 3600 },
  { "daemon", "sse_max_queued_bytes", KEY_UINT, F (sse_max_queued_bytes), 4096, 256 * 1024 * 1024 },
  { "rtp", "allowed_destinations", KEY_STRV, F (allowed_destinations) },
  { "webrtc", "stun_server", KEY_STRING, F (stun_server) },
  { "webrtc", "allowed_candidates", KEY_STRV, F (allowed_candidates) },
  { "webrtc", "ice_addresses", KEY_STRV, F (ice_addresses) },
  { "webrtc", "peer_timeout_s", KEY_UINT, F (peer_timeout_s), 3, 3600 },
  { "webrtc", "stack", KEY_STRING, F (webrtc_stack), 0, 0, webrtc_stacks },
  { "encoder", "x264_speed_preset", KEY_STRING, F (x264_speed_preset), 0, 0, speed_presets },
  { "encoder", "keyframe_interval_ms", KEY_UINT, F (keyframe_interval_ms), 100, 60000 },
  { "encoder", "hardware", KEY_STRING, F (hardware), 0, 0, hardware_modes },
  { "encoder", "nvenc_session_limit", KEY_UINT, F (nvenc_session_limit), 0, 1000 },
  { "encoder", "software_budget_mpps", KEY_UINT, F (software_budget_mpps), 0, 100000 },
  { "encoder", "upgrade", KEY_BOOL, F (upgrade) },
  { "encoder", "nvml_poll_ms", KEY_UINT, F (nvml_poll_ms), 100, 600000 },
  { "encoder", "upgrade_holdoff_s", KEY_UINT, F (upgrade_holdoff_s), 0, 86400 },
  { "encoder", "join_keyframe_min_interval_ms", KEY_UINT, F (join_keyframe_min_interval_ms), 0,
    10000 },
  { "demo", "enabled", KEY_BOOL, F (demo_enabled) },
  { "demo", "name", KEY_STRING, F (demo_name) },
  { "demo", "session_key", KEY_STRING, F (demo_session_key) },
  { "demo", "pattern", KEY_STRING, F (demo_pattern) },
  { "demo", "width", KEY_UINT, F (demo_width), 16, 7680 },
  { "demo", "height", KEY_UINT, F (demo_height), 16, 4320 },
  { "demo", "fps", KEY_UINT, F (demo_fps), 1, 240 },
  { "demo", "rtp_port", KEY_UINT, F (demo_rtp_port), 0, 65535 },
  { "audio", "bitrate_kbps", KEY_UINT, F (audio_bitrate_kbps), 64, 128 },
  { "audio", "server_binary", KEY_STRING, F (audio_server_binary) },
  { "audio", "start_timeout_ms", KEY_UINT, F (audio_start_timeout_ms), 100, 60000 },
  { "moonlight", "enabled", KEY_BOOL, F (ml_enabled) },
  { "moonlight", "address", KEY_STRING, F (ml_address) },
  { "moonlight", "http_port", KEY_UINT, F (ml_http_port), 0, 65535 },
  { "moonlight", "https_port", KEY_UINT, F (ml_https_port), 0, 65535 },
  { "moonlight", "rtsp_port", KEY_UINT, F (ml_rtsp_port), 0, 65535 },
  { "moonlight", "video_port", KEY_UINT, F (ml_video_port), 0, 65535 },
  { "moonlight", "control_port", KEY_UINT, F (ml_control_port), 0, 65535 },
  { "moonlight", "audio_port", KEY_UINT, F (ml_audio_port), 0, 65535 },
  { "moonlight", "hostname", KEY_STRING, F (ml_hostname) },
  { "moonlight", "ping_timeout_s", KEY_UINT, F (ml_ping_timeout_s), 1, 3600 },
  { "moonlight", "default_control", KEY_BOOL, F (ml_default_control) },
  { "moonlight", "pair_timeout_s", KEY_UINT, F (ml_pair_timeout_s), 1, 3600 },
  { "moonlight", "fec_percentage", KEY_UINT, F (ml_fec_percentage), 0, 255 },
  { "testing", "hw_double", KEY_BOOL, F (hw_double) },
  { "testing", "hw_double_believed_limit", KEY_UINT, F (hw_double_believed_limit), 1, 1000 },
  { "testing", "hw_double_real_limit", KEY_UINT, F (hw_double_real_limit), 0, 1000 },
  { "testing", "hw_double_fault_file", KEY_STRING, F (hw_double_fault_file) },
  { "testing", "hw_double_stall_file", KEY_STRING, F (hw_double_stall_file) },
};
#undef F

const char *
lb_config_default_text (void)
{
  return default_text;
}

char **
lb_config_list_keys (void)
{
  char **names = g_new0 (char *, G_N_ELEMENTS (keys) + 1);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    names[i] = g_strdup_printf ("%s/%s", keys[i].group, keys[i].key);
  return names;
}

static const KeyDesc *
find_key (const char *group, const char *key)
{
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (g_str_equal (keys[i].group, group) && g_str_equal (keys[i].key, key))
      return &keys[i];
  return NULL;
}

static gboolean
apply_key (LbConfig *config, GKeyFile *kf, const KeyDesc *desc, GError **error)
{
  gpointer field = (guint8 *)config + desc->offset;
  g_autoptr (GError) local_error = NULL;

  switch (desc->type)
    {
    case KEY_STRING:
      {
        g_autofree char *value = g_key_file_get_string (kf, desc->group, desc->key, &local_error);
        if (value == NULL)
          break;
        g_strstrip (value);
        if (desc->oneof != NULL && !g_strv_contains (desc->oneof, value))
          {
            g_autofree char *list = g_strjoinv (", ", (char **)desc->oneof);
            g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "[%s] %s must be one of: %s",
                         desc->group, desc->key, list);
            return FALSE;
          }
        g_free (*(char **)field);
        *(char **)field = g_steal_pointer (&value);
        return TRUE;
      }
    case KEY_UINT:
      {
        guint64 value = g_key_file_get_uint64 (kf, desc->group, desc->key, &local_error);
        if (local_error != NULL)
          break;
        if (value < desc->min || value > desc->max)
          {
            g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "[%s] %s must be in [%u, %u]",
                         desc->group, desc->key, desc->min, desc->max);
            return FALSE;
          }
        *(guint *)field = (guint)value;
        return TRUE;
      }
    case KEY_BOOL:
      {
        gboolean value = g_key_file_get_boolean (kf, desc->group, desc->key, &local_error);
        if (local_error != NULL)
          break;
        *(gboolean *)field = value;
        return TRUE;
      }
    case KEY_STRV:
      {
        char **value = g_key_file_get_string_list (kf, desc->group, desc->key, NULL, &local_error);
        if (local_error != NULL)
          break;
        g_strfreev (*(char ***)field);
        *(char ***)field = value;
        return TRUE;
      }
    }
  g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "[%s] %s: %s", desc->group, desc->key,
               local_error->message);
  return FALSE;
}

static gboolean
validate (LbConfig *config, GError **error)
{
  if (config->state_dir == NULL || *config->state_dir == '\0')
    {
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "[daemon] state_dir must not be empty");
      return FALSE;
    }
  if (!g_strv_contains (lb_spec_patterns (), config->demo_pattern))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "[demo] pattern '%s' is not a known pattern",
                   config->demo_pattern);
      return FALSE;
    }
  if (config->apps_user == NULL || *config->apps_user == '\0')
    {
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "[apps] user must not be empty");
      return FALSE;
    }
  if (config->demo_width % 2 || config->demo_height % 2)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "[demo] width and height must be even");
      return FALSE;
    }
  for (guint i = 0; config->ice_addresses != NULL && config->ice_addresses[i] != NULL; i++)
    if (*g_strstrip (config->ice_addresses[i]) != '\0'
        && !g_hostname_is_ip_address (config->ice_addresses[i]))
      {
        g_set_error (error, LB_ERROR, LB_ERROR_CONFIG,
                     "[webrtc] ice_addresses: '%s' is not an IP address", config->ice_addresses[i]);
        return FALSE;
      }
  if (!g_hostname_is_ip_address (config->ml_address))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG,
                   "[moonlight] address: '%s' is not an IP address", config->ml_address);
      return FALSE;
    }
  if (*config->listen != '\0')
    {
      g_autofree char *host = NULL;
      guint16 port;
      if (!lb_config_parse_listen (config->listen, &host, &port, error))
        return FALSE;
    }
  return TRUE;
}

/* Every key of [apps] but "user" and "allow_root" is an app name; its value a
 * command line, split here like a shell would (no shell runs it). */
static gboolean
load_apps (LbConfig *config, GKeyFile *kf, GError **error)
{
  g_auto (GStrv) names = g_key_file_get_keys (kf, "apps", NULL, NULL);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      g_autofree char *line = g_key_file_get_string (kf, "apps", names[i], NULL);
      g_autoptr (GError) local_error = NULL;
      char **argv = NULL;
      if (g_str_equal (names[i], "user"))
        {
          g_free (config->apps_user);
          config->apps_user = g_strstrip (g_steal_pointer (&line));
          continue;
        }
      if (g_str_equal (names[i], "allow_root"))
        {
          config->apps_allow_root = g_key_file_get_boolean (kf, "apps", names[i], &local_error);
          if (local_error != NULL)
            {
              g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "[apps] allow_root: %s",
                           local_error->message);
              return FALSE;
            }
          continue;
        }
      if (strspn (names[i], "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen (names[i]))
        {
          g_set_error (error, LB_ERROR, LB_ERROR_CONFIG,
                       "[apps] %s: names use a-z, 0-9, '-' and '_'", names[i]);
          return FALSE;
        }
      if (line == NULL || !g_shell_parse_argv (line, NULL, &argv, NULL))
        {
          g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "[apps] %s: not a command line", names[i]);
          return FALSE;
        }
      g_hash_table_replace (config->apps, g_strdup (names[i]), argv);
    }
  return TRUE;
}

gboolean
lb_config_load_data (LbConfig *config, const char *data, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_auto (GStrv) groups = NULL;

  g_autoptr (GError) local_error = NULL;
  if (!g_key_file_load_from_data (kf, data, -1, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "%s", local_error->message);
      return FALSE;
    }

  groups = g_key_file_get_groups (kf, NULL);
  for (guint g = 0; groups[g] != NULL; g++)
    {
      if (g_str_equal (groups[g], "apps"))
        {
          if (!load_apps (config, kf, error))
            return FALSE;
          continue;
        }
      gboolean known = FALSE;
      for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
        known |= g_str_equal (keys[i].group, groups[g]);
      if (!known)
        {
          g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "unknown group [%s]", groups[g]);
          return FALSE;
        }
      g_auto (GStrv) names = g_key_file_get_keys (kf, groups[g], NULL, NULL);
      for (guint k = 0; names[k] != NULL; k++)
        {
          const KeyDesc *desc = find_key (groups[g], names[k]);
          if (desc == NULL)
            {
              g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "unknown key '%s' in group [%s]",
                           names[k], groups[g]);
              return FALSE;
            }
          if (!apply_key (config, kf, desc, error))
            return FALSE;
        }
    }
  return validate (config, error);
}

gboolean
lb_config_load_file (LbConfig *config, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (GError) local_error = NULL;

  if (!g_file_get_contents (path, &data, NULL, &local_error))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "%s", local_error->message);
      return FALSE;
    }
  if (!lb_config_load_data (config, data, &local_error))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "%s: %s", path, local_error->message);
      return FALSE;
    }
  return TRUE;
}

LbConfig *
lb_config_new_default (void)
{
  g_autoptr (LbConfig) config = g_new0 (LbConfig, 1);
  g_autoptr (GError) error = NULL;

  config->apps
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_strfreev);

  if (!lb_config_load_data (config, default_text, &error))
    g_error ("embedded default config is invalid: %s", error->message);
  return g_steal_pointer (&config);
}

gboolean
lb_config_parse_listen (const char *listen, char **host, guint16 *port, GError **error)
{
  const char *colon = strrchr (listen, ':');
  g_autofree char *h = NULL;
  guint64 p = 0;

  if (colon == NULL || colon == listen)
    goto bad;
  h = g_strndup (listen, (gsize)(colon - listen));
  if (h[0] == '[')
    {
      gsize len = strlen (h);
      if (len < 3 || h[len - 1] != ']')
        goto bad;
      h[len - 1] = '\0';
      memmove (h, h + 1, len - 1);
    }
  if (!g_hostname_is_ip_address (h))
    goto bad;
  if (!g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &p, NULL))
    goto bad;
  *host = g_steal_pointer (&h);
  *port = (guint16)p;
  return TRUE;

bad:
  g_set_error (error, LB_ERROR, LB_ERROR_CONFIG,
               "[daemon] listen '%s' must be IP:PORT or [IPv6]:PORT (or empty)", listen);
  return FALSE;
}

char *
lb_config_socket_path (const LbConfig *config)
{
  if (config->socket_path != NULL && *config->socket_path != '\0')
    return g_strdup (config->socket_path);
  return g_build_filename (config->state_dir, "lobbyd.sock", NULL);
}

void
lb_config_free (LbConfig *config)
{
  if (config == NULL)
    return;
  g_clear_pointer (&config->apps, g_hash_table_unref);
  g_free (config->apps_user);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      gpointer field = (guint8 *)config + keys[i].offset;
      if (keys[i].type == KEY_STRING)
        g_free (*(char **)field);
      else if (keys[i].type == KEY_STRV)
        g_strfreev (*(char ***)field);
    }
  g_free (config);
}
