/* lb-main.c — lobbyd: options, start-up order, demo lobby, clean shutdown. */
#define G_LOG_DOMAIN "lobbyd"
#include "lb-api.h"
#include "lb-build-config.h"
#include "lb-config.h"
#include "lb-desktop.h"
#include "lb-encoder-test-double.h"
#include "lb-error.h"
#include "lb-events.h"
#include "lb-hw.h"
#include "lb-pools.h"
#include "lb-http-server.h"
#include "lb-lobby.h"
#include "lb-log.h"
#include "lb-memory.h"
#include "lb-ml-host.h"
#include "lb-output.h"
#include "lb-paths.h"
#include "lb-registry.h"
#include "lb-sd-notify.h"
#include "lb-session.h"
#include "lb-spec.h"
#include "lb-store.h"
#include "lb-xlib.h"

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>

static gboolean
on_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

/* The demo lobby is created through the same idempotent path as any API
 * caller's, keyed by [demo] session_key, so restarts never duplicate it. */
static void
start_demo (LbRegistry *registry, const LbConfig *config, const char *sdp_path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LbLobbySpec) spec = lb_lobby_spec_new_default ();
  gboolean created = FALSE;

  spec->name = g_strdup (config->demo_name);
  spec->session_key = g_strdup (config->demo_session_key);
  for (const char *const *p = lb_spec_patterns (); *p; p++)
    if (g_str_equal (*p, config->demo_pattern))
      spec->pattern = *p;
  spec->width = config->demo_width;
  spec->height = config->demo_height;
  spec->fps = config->demo_fps;

  LbLobby *lobby = lb_registry_create_lobby (registry, spec, &created, &error);
  if (lobby == NULL)
    {
      g_warning ("demo lobby: %s", error->message);
      return;
    }
  printf ("  demo lobby: %s (%ux%u@%u, pattern %s)\n", lb_lobby_get_id (lobby), spec->width,
          spec->height, spec->fps, spec->pattern);

  if (config->demo_rtp_port == 0)
    return;
  if (created)
    {
      /* A request like any client's: the lobby's video at the default bitrate. */
      g_autoptr (JsonObject) request = json_object_new ();
      JsonObject *dest = json_object_new ();
      json_object_set_string_member (dest, "host", "127.0.0.1");
      json_object_set_int_member (dest, "port", config->demo_rtp_port);
      json_object_set_string_member (request, "transport", "rtp");
      json_object_set_object_member (request, "destination", dest);
      LbSessionSpec *sspec = lb_output_spec_from_json (request, lb_lobby_get_spec (lobby), &error);
      if (sspec == NULL || lb_registry_join (registry, lobby, sspec, &error) == NULL)
        {
          g_warning ("demo session: %s", error->message);
          return;
        }
    }
  GPtrArray *sessions = lb_lobby_get_sessions (lobby);
  if (sessions->len == 0)
    return;
  g_autofree char *sdp = lb_session_get_sdp (g_ptr_array_index (sessions, 0));
  /* Like every file in the state dir: the owner's, whatever the dir's mode. */
  if (sdp != NULL
      && g_file_set_contents_full (sdp_path, sdp, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL))
    printf ("  watch it:   ffplay -protocol_whitelist file,udp,rtp -i %s\n", sdp_path);
}

/* systemctl status shows it (STATUS=); also the first line after READY=1. */
static char *
service_status (LbRegistry *registry, LbPools *pools)
{
  guint used = 0;
  int limit = 0;
  lb_pools_hardware_totals (pools, &used, &limit);
  guint lobbies = lb_registry_get_lobbies (registry)->len;
  guint sessions = lb_registry_count_running_sessions (registry);
  g_autofree char *slots
      = limit < 0 ? g_strdup_printf ("%u hardware encoder slots used (no limit)", used)
                  : g_strdup_printf ("%u of %d hardware encoder slots used", used, limit);
  return g_strdup_printf ("%u %s, %u %s, %s", lobbies, lobbies == 1 ? "lobby" : "lobbies", sessions,
                          sessions == 1 ? "session" : "sessions", slots);
}

typedef struct
{
  LbSdNotify *notify;
  LbRegistry *registry;
  LbPools *pools;
} StatusTick;

static gboolean
update_status (gpointer user_data)
{
  StatusTick *t = user_data;
  g_autofree char *status = service_status (t->registry, t->pools);
  lb_sd_notify_status (t->notify, status);
  return G_SOURCE_CONTINUE;
}

static gboolean
refresh_external (gpointer pools)
{
  lb_pools_refresh_external (pools);
  return G_SOURCE_CONTINUE;
}

/* Command-line options win over the config file. */
static void
override (char **field, const char *value)
{
  if (value == NULL)
    return;
  g_free (*field);
  *field = g_strdup (value);
}

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autofree char *state_dir = NULL;
  g_autofree char *socket_path = NULL;
  g_autofree char *listen = NULL;
  gboolean version = FALSE;
  gboolean no_demo = FALSE;
  gboolean probe = FALSE;
  gboolean probe_json = FALSE;
  g_autoptr (GError) error = NULL;
  /* Before any line is logged: journal fields under systemd, text elsewhere. */
  lb_log_init ();
  /* Before GStreamer can load ximagesrc: Xlib threads and its IO error policy. */
  lb_xlib_init ();
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file (GKeyFile)",
      "FILE" },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
      "State directory (database, token, socket)", "DIR" },
    { "socket", 0, 0, G_OPTION_ARG_FILENAME, &socket_path, "Unix socket of the API", "PATH" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "TCP listener, IP:PORT (\"\" = none)", "ADDR" },
    { "no-demo", 0, 0, G_OPTION_ARG_NONE, &no_demo, "Do not create the demo lobby", NULL },
    { "probe", 0, 0, G_OPTION_ARG_NONE, &probe,
      "Print the encoding hardware found (table) and exit", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &probe_json, "With --probe: print JSON", NULL },
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL },
  };
  lb_memory_init ();
  /* Before any thread or child: it takes NOTIFY_SOCKET out of the environment. */
  g_autoptr (LbSdNotify) notify = lb_sd_notify_new ();
  g_autoptr (GOptionContext) ctx = g_option_context_new ("— lobbyd streaming daemon");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("lobbyd: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      printf ("lobbyd %s\n", LB_VERSION);
      return 0;
    }

  if (probe)
    {
      static lb_hw_report report;
      lb_hw_probe (&report, NULL);
      if (probe_json)
        lb_hw_report_write_json (&report, stdout);
      else
        lb_hw_report_write_table (&report, stdout);
      lb_hw_nvml_shutdown ();
      return 0;
    }

  g_autoptr (LbConfig) config = lb_config_new_default ();
  /* -c FILE, else the installed lobbyd.conf, else the embedded defaults. */
  if (config_path == NULL)
    config_path = lb_paths_default_config ();
  if (config_path != NULL && !lb_config_load_file (config, config_path, &error))
    {
      g_printerr ("lobbyd: %s\n", error->message);
      return 2;
    }
  override (&config->state_dir, state_dir);
  override (&config->socket_path, socket_path);
  override (&config->listen, listen);
  if (no_demo)
    config->demo_enabled = FALSE;

  if (g_mkdir_with_parents (config->state_dir, 0700) != 0)
    {
      g_printerr ("lobbyd: cannot create %s\n", config->state_dir);
      return 1;
    }

  g_autofree char *db_path = g_build_filename (config->state_dir, "lobbyd.db", NULL);
  g_autofree char *sock = lb_config_socket_path (config);
  g_autofree char *tcp_host = NULL;
  guint16 tcp_port = 0;
  g_autofree char *token = NULL;
  g_autofree char *token_path = g_build_filename (config->state_dir, "token", NULL);

  if (*config->listen != '\0')
    {
      if (!lb_config_parse_listen (config->listen, &tcp_host, &tcp_port, &error))
        {
          g_printerr ("lobbyd: %s\n", error->message);
          return 2;
        }
      token = *config->token != '\0' ? g_strdup (config->token)
                                     : lb_http_load_or_create_token (token_path, &error);
      if (token == NULL)
        {
          g_printerr ("lobbyd: %s\n", error->message);
          return 1;
        }
    }

  g_autoptr (LbStore) store = lb_store_open (db_path, &error);
  if (store == NULL)
    {
      g_printerr ("lobbyd: %s\n", error->message);
      return 1;
    }
  g_autoptr (LbEvents) events = lb_events_new (1000);
  /* The test double is not in the core library's table: only a daemon
   * told to fake hardware has it. */
  if (config->hw_double)
    lb_encoder_test_double_register ();
  LbPools *pools = lb_pools_new (config, store);
  g_autoptr (LbRegistry) registry = lb_registry_new (config, store, pools, events, &error);
  if (registry == NULL || !lb_registry_restore (registry, &error))
    {
      g_printerr ("lobbyd: %s\n", error->message);
      return 1;
    }
  /* Moonlight after the registry is restored (its lobbies are the apps); a
   * busy port is no reason to stop serving the API. */
  LbMlHost *ml_host = NULL;
  if (config->ml_enabled)
    {
      ml_host = lb_ml_host_new (config, registry, store, config->state_dir, &error);
      if (ml_host == NULL)
        {
          g_warning ("Moonlight host not started, lobbyd runs without it: %s", error->message);
          g_clear_error (&error);
        }
      else
        lb_ml_host_set_events (ml_host, events);
    }
  g_autoptr (LbApi) api = lb_api_new (registry, config);
  lb_api_set_moonlight_host (api, ml_host);
  const LbHttpLimits limits = {
    .max_body_bytes = config->max_body_bytes,
    .max_connections_unix = config->max_connections_unix,
    .max_connections_tcp = config->max_connections_tcp,
    .request_timeout_s = config->request_timeout_s,
    .sse_max_queued_bytes = config->sse_max_queued_bytes,
  };
  g_autofree char *web_dir = *config->web_dir ? g_strdup (config->web_dir) : lb_paths_web_dir ();
  g_autoptr (LbHttpServer) server
      = lb_http_server_new (api, events, web_dir, sock, tcp_host, tcp_port, token, &limits, &error);
  if (server == NULL)
    {
      g_printerr ("lobbyd: %s\n", error->message);
      return 1;
    }

  printf ("lobbyd %s ready\n", LB_VERSION);
  printf ("  API (unix): %s   try: lobbyctl --socket %s status\n", sock, sock);
  if (tcp_host != NULL)
    printf ("  API (tcp):  http://%s:%u/api/v1/  (Authorization: Bearer <%s>)\n", tcp_host,
            tcp_port, *config->token ? "[daemon] token" : token_path);
  if (config->demo_enabled)
    {
      g_autofree char *sdp_path = g_build_filename (config->state_dir, "demo.sdp", NULL);
      start_demo (registry, config, sdp_path);
    }
  fflush (stdout);

  /* Other processes' NVENC sessions take slots too: keep counting them. */
  if (lb_pools_has_nvml (pools))
    g_timeout_add (config->nvml_poll_ms, refresh_external, pools);

  /* The API listens and the stored lobbies are back: ready for systemd. */
  StatusTick tick = { notify, registry, pools };
  guint status_source = 0;
  if (lb_sd_notify_enabled (notify))
    {
      g_autofree char *status = service_status (registry, pools);
      lb_sd_notify_ready (notify, status);
      status_source = g_timeout_add_seconds (2, update_status, &tick);
    }

  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_signal, loop);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_main_loop_run (loop);

  g_message ("stopping");
  g_clear_handle_id (&status_source, g_source_remove);
  lb_sd_notify_stopping (notify);
  /* Reverse order of start: no request can arrive while media is torn down,
   * and the store closes last (autoptr order) with every row still in it. */
  g_clear_pointer (&server, lb_http_server_free);
  g_clear_pointer (&ml_host, lb_ml_host_free);
  g_clear_pointer (&registry, lb_registry_free);
  /* Apps got SIGTERM with the lobbies: give them their grace period, reap them. */
  lb_desktop_wait_all ();
  g_clear_pointer (&pools, lb_pools_free);
  g_clear_pointer (&store, lb_store_close);
  gst_deinit ();
  return 0;
}
