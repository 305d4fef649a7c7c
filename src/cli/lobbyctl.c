/* lobbyctl — command-line client of lobbyd's HTTP API (unix socket by default). */
#define G_LOG_DOMAIN "lobbyctl"
#include "lb-build-config.h"

#include <gio/gunixsocketaddress.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  char *socket_path;
  char *url;
  char *token;
  gboolean json;
  char *key;
  char *pattern;
  char *size;
  int fps;
  int bitrate;
  char *dest;
  SoupSession *soup;
} Ctl;

static const char usage[]
    = "COMMAND\n\n"
      "Commands:\n"
      "  status                          daemon status and encoder usage\n"
      "  pools                           encoder pools: used/limit and where each limit came from\n"
      "  probe                           GPUs, NVENC and VA-API as lobbyd found them\n"
      "  lobby list\n"
      "  lobby create NAME [--key K] [--pattern P] [--size WxH] [--fps N]\n"
      "  lobby show ID | lobby show --key K\n"
      "  lobby delete ID\n"
      "  session join LOBBY --dest IP:PORT [--size WxH] [--fps N] [--bitrate KBPS]\n"
      "  session list [LOBBY]             (ENCODER: pool; * = software fallback)\n"
      "  session show ID\n"
      "  session sdp ID                  print the SDP to play the session\n"
      "  session leave ID\n"
      "  moonlight status                the Moonlight host; the client waiting for a PIN\n"
      "  moonlight pair PIN              enter the PIN a pairing Moonlight client shows\n"
      "  moonlight clients               paired Moonlight clients\n"
      "  moonlight unpair ID             forget a paired client\n";

G_GNUC_NORETURN G_GNUC_PRINTF (1, 2) static void die (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "lobbyctl: %s\n", msg);
  exit (1);
}

/* Sends one request; returns the body, dies with the API's error otherwise. */
static GBytes *
request (Ctl *ctl, const char *method, const char *path, JsonNode *body, guint *status_out)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = ctl->url ? g_strdup (ctl->url) : g_strdup ("http://localhost");
  if (g_str_has_suffix (base, "/"))
    base[strlen (base) - 1] = '\0';
  g_autofree char *uri = g_strconcat (base, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, uri);
  if (msg == NULL)
    die ("invalid URL %s", uri);

  if (ctl->token != NULL)
    {
      g_autofree char *auth = g_strconcat ("Bearer ", ctl->token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
    }
  if (body != NULL)
    {
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      json_generator_set_root (gen, body);
      gsize len = 0;
      char *text = json_generator_to_data (gen, &len);
      g_autoptr (GBytes) bytes = g_bytes_new_take (text, len);
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }

  GBytes *reply = soup_session_send_and_read (ctl->soup, msg, NULL, &error);
  if (reply == NULL)
    die ("cannot reach lobbyd at %s: %s", ctl->url ? ctl->url : ctl->socket_path, error->message);

  guint status = soup_message_get_status (msg);
  if (status_out != NULL)
    *status_out = status;
  if (status >= 400)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      gsize len = 0;
      const char *data = g_bytes_get_data (reply, &len);
      if (json_parser_load_from_data (parser, data, (gssize)len, NULL)
          && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          JsonObject *root = json_node_get_object (json_parser_get_root (parser));
          JsonObject *err = json_object_get_object_member (root, "error");
          if (err != NULL)
            die ("%s (HTTP %u): %s", json_object_get_string_member (err, "code"), status,
                 json_object_get_string_member (err, "message"));
        }
      die ("HTTP %u", status);
    }
  return reply;
}

static JsonNode *
request_json (Ctl *ctl, const char *method, const char *path, JsonNode *body, guint *status)
{
  g_autoptr (GBytes) reply = request (ctl, method, path, body, status);
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize len = 0;
  const char *data = g_bytes_get_data (reply, &len);

  if (len == 0)
    return NULL;
  if (!json_parser_load_from_data (parser, data, (gssize)len, NULL))
    die ("lobbyd sent malformed JSON");
  return json_node_copy (json_parser_get_root (parser));
}

static void
print_json (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

static const char *
str (JsonObject *obj, const char *member)
{
  const char *value = json_object_get_string_member_with_default (obj, member, "-");
  return value ? value : "-";
}

static char *
video_of (JsonObject *obj, const char *member)
{
  JsonObject *v = json_object_get_object_member (obj, member);
  if (v == NULL)
    return g_strdup ("-");
  return g_strdup_printf ("%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "@%" G_GINT64_FORMAT,
                          json_object_get_int_member (v, "width"),
                          json_object_get_int_member (v, "height"),
                          json_object_get_int_member (v, "fps"));
}

static void
print_lobbies (JsonArray *lobbies)
{
  printf ("%-36s  %-16s  %-20s  %-14s  %-8s  %s\n", "ID", "KEY", "NAME", "VIDEO", "STATE",
          "SESSIONS");
  for (guint i = 0; i < json_array_get_length (lobbies); i++)
    {
      JsonObject *l = json_array_get_object_element (lobbies, i);
      g_autofree char *video = video_of (l, "video");
      printf ("%-36s  %-16s  %-20s  %-14s  %-8s  %" G_GINT64_FORMAT "\n", str (l, "id"),
              str (l, "session_key"), str (l, "name"), video, str (l, "state"),
              json_object_get_int_member_with_default (l, "sessions", 0));
    }
}

static void
print_sessions (JsonArray *sessions)
{
  printf ("%-36s  %-36s  %-21s  %-14s  %-8s  %-16s  %s\n", "ID", "LOBBY", "DESTINATION", "PROFILE",
          "STATE", "ENCODER", "PACKETS");
  for (guint i = 0; i < json_array_get_length (sessions); i++)
    {
      JsonObject *s = json_array_get_object_element (sessions, i);
      JsonObject *d = json_object_get_object_member (s, "destination");
      JsonObject *stats = json_object_get_object_member (s, "stats");
      g_autofree char *profile = video_of (s, "profile");
      g_autofree char *dest = g_strdup_printf ("%s:%" G_GINT64_FORMAT, str (d, "host"),
                                               json_object_get_int_member (d, "port"));
      JsonObject *enc = json_object_get_object_member (s, "encoding");
      g_autofree char *encoder = g_strdup_printf (
          "%s%s", enc ? str (enc, "pool") : "-",
          enc && json_object_get_boolean_member_with_default (enc, "fallback", FALSE) ? "*" : "");
      printf ("%-36s  %-36s  %-21s  %-14s  %-8s  %-16s  %" G_GINT64_FORMAT "\n", str (s, "id"),
              str (s, "lobby_id"), dest, profile, str (s, "state"), encoder,
              stats ? json_object_get_int_member (stats, "packets_sent") : 0);
    }
}

static void
print_object (JsonObject *obj, const char *indent)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  json_object_iter_init (&iter, obj);
  while (json_object_iter_next (&iter, &name, &node))
    {
      if (JSON_NODE_HOLDS_OBJECT (node))
        {
          printf ("%s%s:\n", indent, name);
          g_autofree char *deeper = g_strconcat (indent, "  ", NULL);
          print_object (json_node_get_object (node), deeper);
        }
      else if (JSON_NODE_HOLDS_VALUE (node))
        {
          GValue v = G_VALUE_INIT;
          json_node_get_value (node, &v);
          g_autofree char *text = G_VALUE_HOLDS_STRING (&v) ? g_value_dup_string (&v)
                                  : G_VALUE_HOLDS_BOOLEAN (&v)
                                      ? g_strdup (g_value_get_boolean (&v) ? "true" : "false")
                                      : g_strdup_value_contents (&v);
          printf ("%s%-20s %s\n", indent, name, text);
          g_value_unset (&v);
        }
    }
}

static void
print_ml_clients (JsonArray *clients)
{
  printf ("%-36s  %-20s  %-20s  %s\n", "ID", "NAME", "PAIRED", "STREAMING");
  for (guint i = 0; i < json_array_get_length (clients); i++)
    {
      JsonObject *c = json_array_get_object_element (clients, i);
      g_autoptr (GDateTime) t = g_date_time_new_from_unix_local (
          json_object_get_int_member_with_default (c, "paired_at", 0));
      g_autofree char *when = t ? g_date_time_format (t, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
      printf ("%-36s  %-20s  %-20s  %s\n", str (c, "id"), str (c, "name"), when,
              json_object_get_boolean_member_with_default (c, "streaming", FALSE) ? "yes" : "no");
    }
}

static void
show (Ctl *ctl, JsonNode *node, void (*table) (JsonArray *), const char *member)
{
  if (ctl->json || node == NULL)
    {
      if (node != NULL)
        print_json (node);
      return;
    }
  JsonObject *obj = json_node_get_object (node);
  if (member != NULL && json_object_has_member (obj, member))
    table (json_object_get_array_member (obj, member));
  else
    print_object (obj, "");
}

static void
add_size (JsonBuilder *b, Ctl *ctl)
{
  if (ctl->size != NULL)
    {
      guint w = 0, h = 0;
      if (sscanf (ctl->size, "%ux%u", &w, &h) != 2)
        die ("--size must be WIDTHxHEIGHT, e.g. 1280x720");
      json_builder_set_member_name (b, "width");
      json_builder_add_int_value (b, w);
      json_builder_set_member_name (b, "height");
      json_builder_add_int_value (b, h);
    }
  if (ctl->fps > 0)
    {
      json_builder_set_member_name (b, "fps");
      json_builder_add_int_value (b, ctl->fps);
    }
}

static gint64
int_or (JsonObject *obj, const char *member, gint64 fallback)
{
  JsonNode *n = json_object_get_member (obj, member);
  return n != NULL && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_int (n) : fallback;
}

static void
print_pools (JsonArray *pools)
{
  printf ("%-18s %-12s %-7s %-6s %-9s %-15s %s\n", "POOL", "BACKEND", "USABLE", "USED", "LIMIT",
          "SOURCE", "NOTE / REASON");
  for (guint i = 0; i < json_array_get_length (pools); i++)
    {
      JsonObject *p = json_array_get_object_element (pools, i);
      char used[32], limit[32];
      if (json_object_has_member (p, "budget_mpps"))
        {
          snprintf (used, sizeof used, "%.1f", json_object_get_double_member (p, "used_mpps"));
          snprintf (limit, sizeof limit, "%.0fMpx/s",
                    json_object_get_double_member (p, "budget_mpps"));
        }
      else
        {
          snprintf (used, sizeof used, "%" G_GINT64_FORMAT "+%" G_GINT64_FORMAT,
                    int_or (p, "used", 0), int_or (p, "external", 0));
          gint64 l = int_or (p, "limit", -1);
          if (l < 0)
            snprintf (limit, sizeof limit, "-");
          else
            snprintf (limit, sizeof limit, "%" G_GINT64_FORMAT, l);
        }
      const char *note = json_object_get_boolean_member_with_default (p, "usable", FALSE)
                             ? str (p, "limit_note")
                             : str (p, "unavailable_reason");
      printf ("%-18s %-12s %-7s %-6s %-9s %-15s %s\n", str (p, "name"), str (p, "backend"),
              json_object_get_boolean_member_with_default (p, "usable", FALSE) ? "yes" : "NO", used,
              limit, str (p, "limit_source"), note);
    }
}

static void
print_hardware (JsonObject *hw)
{
  JsonObject *nvml = json_object_get_object_member (hw, "nvml");
  if (nvml == NULL)
    {
      printf ("hardware not probed: %s\n", str (hw, "reason"));
      return;
    }
  printf ("NVML: %s\n", json_object_get_boolean_member (nvml, "loaded")
                            ? str (nvml, "driver_version")
                            : str (nvml, "error"));
  JsonArray *gpus = json_object_get_array_member (hw, "gpus");
  printf ("%-4s %-28s %-12s %-9s %s\n", "GPU", "NAME", "BRAND", "SESSIONS", "NVENC");
  for (guint i = 0; gpus && i < json_array_get_length (gpus); i++)
    {
      JsonObject *g = json_array_get_object_element (gpus, i);
      JsonObject *usage = json_object_get_object_member (g, "encoder_usage");
      JsonObject *pool = json_object_get_object_member (g, "pool");
      printf ("%-4" G_GINT64_FORMAT " %-28s %-12s %-9" G_GINT64_FORMAT " %s\n",
              json_object_get_int_member (g, "index"), str (g, "name"), str (g, "brand"),
              int_or (usage, "sessions_all_processes", 0),
              json_object_get_boolean_member (pool, "usable") ? "available" : str (pool, "reason"));
      printf ("     %s  %s\n", str (g, "uuid"), str (g, "pci_bus_id"));
    }
  JsonArray *nodes
      = json_object_get_array_member (json_object_get_object_member (hw, "vaapi"), "render_nodes");
  for (guint i = 0; nodes && i < json_array_get_length (nodes); i++)
    {
      JsonObject *n = json_array_get_object_element (nodes, i);
      printf ("%s (%s): %s\n", str (n, "path"), str (n, "kernel_driver"),
              json_object_get_boolean_member (n, "ok") ? str (n, "vendor") : str (n, "error"));
    }
  if (!gpus || json_array_get_length (gpus) == 0)
    printf ("(no NVIDIA GPU)\n");
  if (!nodes || json_array_get_length (nodes) == 0)
    printf ("(no DRM render node)\n");
}

static void
lobby_create (Ctl *ctl, const char *name)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);
  if (ctl->key != NULL)
    {
      json_builder_set_member_name (b, "session_key");
      json_builder_add_string_value (b, ctl->key);
    }
  json_builder_set_member_name (b, "source");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "testsrc");
  if (ctl->pattern != NULL)
    {
      json_builder_set_member_name (b, "pattern");
      json_builder_add_string_value (b, ctl->pattern);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "video");
  json_builder_begin_object (b);
  add_size (b, ctl);
  json_builder_end_object (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) body = json_builder_get_root (b);
  guint status = 0;
  g_autoptr (JsonNode) reply = request_json (ctl, "POST", "/api/v1/lobbies", body, &status);
  if (!ctl->json)
    printf ("%s lobby %s\n", status == 201 ? "created" : "existing",
            str (json_node_get_object (reply), "id"));
  else
    print_json (reply);
}

static void
session_join (Ctl *ctl, const char *lobby)
{
  if (ctl->dest == NULL)
    die ("session join needs --dest IP:PORT");
  const char *colon = strrchr (ctl->dest, ':');
  guint64 port = 0;
  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL))
    die ("--dest must be IP:PORT");
  g_autofree char *host = g_strndup (ctl->dest, (gsize)(colon - ctl->dest));
  if (host[0] == '[' && host[strlen (host) - 1] == ']')
    {
      host[strlen (host) - 1] = '\0';
      memmove (host, host + 1, strlen (host));
    }

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "transport");
  json_builder_add_string_value (b, "rtp");
  json_builder_set_member_name (b, "destination");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "host");
  json_builder_add_string_value (b, host);
  json_builder_set_member_name (b, "port");
  json_builder_add_int_value (b, (gint64)port);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "profile");
  json_builder_begin_object (b);
  add_size (b, ctl);
  if (ctl->bitrate > 0)
    {
      json_builder_set_member_name (b, "bitrate_kbps");
      json_builder_add_int_value (b, ctl->bitrate);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) body = json_builder_get_root (b);
  g_autofree char *path = g_strdup_printf ("/api/v1/lobbies/%s/sessions", lobby);
  g_autoptr (JsonNode) reply = request_json (ctl, "POST", path, body, NULL);
  if (ctl->json)
    print_json (reply);
  else
    printf ("joined session %s (sdp: lobbyctl session sdp %s)\n",
            str (json_node_get_object (reply), "id"), str (json_node_get_object (reply), "id"));
}

static char *
path_for (const char *format, const char *param)
{
  g_autofree char *escaped = g_uri_escape_string (param, NULL, FALSE);
  return g_strdup_printf (format, escaped);
}

static int
run (Ctl *ctl, int argc, char **argv)
{
  const char *noun = argc > 1 ? argv[1] : NULL;
  const char *verb = argc > 2 ? argv[2] : NULL;
  const char *arg = argc > 3 ? argv[3] : NULL;

  if (g_strcmp0 (noun, "status") == 0)
    {
      g_autoptr (JsonNode) status = request_json (ctl, "GET", "/api/v1/status", NULL, NULL);
      g_autoptr (JsonNode) gpu = request_json (ctl, "GET", "/api/v1/system/gpu-status", NULL, NULL);
      if (ctl->json)
        {
          JsonObject *obj = json_node_get_object (status);
          json_object_set_member (obj, "gpu_status", json_node_copy (gpu));
          print_json (status);
        }
      else
        {
          JsonObject *g = json_node_get_object (gpu);
          print_object (json_node_get_object (status), "");
          print_object (g, "");
          /* The same words as the web UI's banner: why encodes run in software. */
          JsonNode *rn = json_object_get_member (g, "software_reason");
          JsonObject *reason = rn && JSON_NODE_HOLDS_OBJECT (rn) ? json_node_get_object (rn) : NULL;
          if (reason != NULL)
            printf ("\n%s: %s\n",
                    json_object_get_boolean_member_with_default (g, "software_mode", FALSE)
                        ? "WARNING"
                        : "note",
                    str (reason, "message"));
          printf ("\n");
          print_pools (json_object_get_array_member (json_node_get_object (gpu), "pools"));
        }
      return 0;
    }
  if (g_strcmp0 (noun, "pools") == 0)
    {
      g_autoptr (JsonNode) gpu = request_json (ctl, "GET", "/api/v1/system/gpu-status", NULL, NULL);
      if (ctl->json)
        print_json (json_object_get_member (json_node_get_object (gpu), "pools"));
      else
        print_pools (json_object_get_array_member (json_node_get_object (gpu), "pools"));
      return 0;
    }
  if (g_strcmp0 (noun, "probe") == 0)
    {
      g_autoptr (JsonNode) hw = request_json (ctl, "GET", "/api/v1/system/hardware", NULL, NULL);
      if (ctl->json)
        print_json (hw);
      else
        print_hardware (json_node_get_object (hw));
      return 0;
    }
  if (g_strcmp0 (noun, "lobby") == 0)
    {
      if (g_strcmp0 (verb, "list") == 0)
        {
          g_autoptr (JsonNode) r = request_json (ctl, "GET", "/api/v1/lobbies", NULL, NULL);
          show (ctl, r, print_lobbies, "lobbies");
          return 0;
        }
      if (g_strcmp0 (verb, "create") == 0 && arg != NULL)
        {
          lobby_create (ctl, arg);
          return 0;
        }
      if (g_strcmp0 (verb, "show") == 0 && (arg != NULL || ctl->key != NULL))
        {
          g_autofree char *path = arg ? path_for ("/api/v1/lobbies/%s", arg)
                                      : path_for ("/api/v1/lobbies/by-key/%s", ctl->key);
          g_autoptr (JsonNode) r = request_json (ctl, "GET", path, NULL, NULL);
          show (ctl, r, NULL, NULL);
          return 0;
        }
      if (g_strcmp0 (verb, "delete") == 0 && arg != NULL)
        {
          g_autofree char *path = path_for ("/api/v1/lobbies/%s", arg);
          g_autoptr (GBytes) r = request (ctl, "DELETE", path, NULL, NULL);
          if (!ctl->json)
            printf ("deleted lobby %s\n", arg);
          return 0;
        }
    }
  if (g_strcmp0 (noun, "session") == 0)
    {
      if (g_strcmp0 (verb, "join") == 0 && arg != NULL)
        {
          g_autofree char *escaped = g_uri_escape_string (arg, NULL, FALSE);
          session_join (ctl, escaped);
          return 0;
        }
      if (g_strcmp0 (verb, "list") == 0)
        {
          g_autofree char *path
              = arg ? path_for ("/api/v1/lobbies/%s/sessions", arg) : g_strdup ("/api/v1/sessions");
          g_autoptr (JsonNode) r = request_json (ctl, "GET", path, NULL, NULL);
          show (ctl, r, print_sessions, "sessions");
          return 0;
        }
      if (g_strcmp0 (verb, "show") == 0 && arg != NULL)
        {
          g_autofree char *path = path_for ("/api/v1/sessions/%s", arg);
          g_autoptr (JsonNode) r = request_json (ctl, "GET", path, NULL, NULL);
          show (ctl, r, NULL, NULL);
          return 0;
        }
      if (g_strcmp0 (verb, "sdp") == 0 && arg != NULL)
        {
          g_autofree char *path = path_for ("/api/v1/sessions/%s/sdp", arg);
          g_autoptr (GBytes) r = request (ctl, "GET", path, NULL, NULL);
          fwrite (g_bytes_get_data (r, NULL), 1, g_bytes_get_size (r), stdout);
          return 0;
        }
      if (g_strcmp0 (verb, "leave") == 0 && arg != NULL)
        {
          g_autofree char *path = path_for ("/api/v1/sessions/%s", arg);
          g_autoptr (GBytes) r = request (ctl, "DELETE", path, NULL, NULL);
          if (!ctl->json)
            printf ("left session %s\n", arg);
          return 0;
        }
    }
  if (g_strcmp0 (noun, "moonlight") == 0)
    {
      if (g_strcmp0 (verb, "status") == 0)
        {
          g_autoptr (JsonNode) r
              = request_json (ctl, "GET", "/api/v1/moonlight/status", NULL, NULL);
          show (ctl, r, NULL, NULL);
          return 0;
        }
      if (g_strcmp0 (verb, "pair") == 0 && arg != NULL)
        {
          g_autoptr (JsonNode) body = json_node_new (JSON_NODE_OBJECT);
          JsonObject *obj = json_object_new ();
          json_object_set_string_member (obj, "pin", arg);
          json_node_take_object (body, obj);
          g_autoptr (GBytes) r = request (ctl, "POST", "/api/v1/moonlight/pair", body, NULL);
          if (!ctl->json)
            printf ("PIN sent: the client finishes pairing now\n");
          return 0;
        }
      if (g_strcmp0 (verb, "clients") == 0)
        {
          g_autoptr (JsonNode) r
              = request_json (ctl, "GET", "/api/v1/moonlight/clients", NULL, NULL);
          show (ctl, r, print_ml_clients, "clients");
          return 0;
        }
      if (g_strcmp0 (verb, "unpair") == 0 && arg != NULL)
        {
          g_autofree char *path = path_for ("/api/v1/moonlight/clients/%s", arg);
          g_autoptr (GBytes) r = request (ctl, "DELETE", path, NULL, NULL);
          if (!ctl->json)
            printf ("unpaired %s\n", arg);
          return 0;
        }
    }
  fprintf (stderr, "lobbyctl: unknown or incomplete command; see lobbyctl --help\n");
  return 2;
}

int
main (int argc, char **argv)
{
  Ctl ctl = { 0 };
  gboolean version = FALSE;
  g_autofree char *token_file = NULL;
  g_autoptr (GError) error = NULL;
  GOptionEntry entries[] = {
    { "socket", 's', 0, G_OPTION_ARG_FILENAME, &ctl.socket_path,
      "lobbyd's unix socket (default $LOBBYD_SOCKET or state/lobbyd.sock)", "PATH" },
    { "url", 0, 0, G_OPTION_ARG_STRING, &ctl.url, "Use TCP instead, e.g. http://127.0.0.1:8480",
      "URL" },
    { "token", 0, 0, G_OPTION_ARG_STRING, &ctl.token, "Bearer token for --url", "TOKEN" },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file, "Read the bearer token from FILE",
      "FILE" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &ctl.json, "Print JSON instead of tables", NULL },
    { "key", 'k', 0, G_OPTION_ARG_STRING, &ctl.key, "Lobby session_key", "KEY" },
    { "pattern", 0, 0, G_OPTION_ARG_STRING, &ctl.pattern, "Test pattern of a new lobby", "NAME" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &ctl.size, "Video size", "WxH" },
    { "fps", 0, 0, G_OPTION_ARG_INT, &ctl.fps, "Frame rate", "N" },
    { "bitrate", 0, 0, G_OPTION_ARG_INT, &ctl.bitrate, "Session bitrate", "KBPS" },
    { "dest", 'd', 0, G_OPTION_ARG_STRING, &ctl.dest, "RTP destination", "IP:PORT" },
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) octx = g_option_context_new (usage);
  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    {
      fprintf (stderr, "lobbyctl: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      printf ("lobbyctl %s\n", LB_VERSION);
      return 0;
    }
  if (token_file != NULL)
    {
      if (!g_file_get_contents (token_file, &ctl.token, NULL, &error))
        die ("%s", error->message);
      g_strstrip (ctl.token);
    }
  if (ctl.socket_path == NULL)
    ctl.socket_path
        = g_strdup (g_getenv ("LOBBYD_SOCKET") ? g_getenv ("LOBBYD_SOCKET") : "state/lobbyd.sock");

  if (ctl.url != NULL)
    ctl.soup = soup_session_new ();
  else
    {
      g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (ctl.socket_path);
      ctl.soup = soup_session_new_with_options ("remote-connectable", addr, NULL);
    }
  soup_session_set_timeout (ctl.soup, 30);
  int rc = run (&ctl, argc, argv);
  g_object_unref (ctl.soup);
  return rc;
}
