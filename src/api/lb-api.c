/* lb-api.c — routes of /api/v1 (see docs/api.md). */
#define G_LOG_DOMAIN "lobbyd-api"
#include "lb-api.h"
#include "lb-build-config.h"
#include "lb-config.h"
#include "lb-error.h"
#include "lb-json.h"
#include "lb-lobby.h"
#include "lb-media-branch.h"
#include "lb-openapi-resources.h"
#include "lb-output.h"
#include "lb-pools.h"
#include "lb-registry.h"
#include "lb-session.h"
#include "lb-spec.h"

#include <string.h>

struct _LbApi
{
  LbRegistry *registry;
  const LbConfig *config;
  gint64 started_at; /* monotonic µs */
};

#define MAX_PARAMS 2
/* Sessions end or pools free slots on a human time scale. */
#define RETRY_AFTER_S 5
/* A database lock held by another process is usually a short transaction. */
#define STORE_BUSY_RETRY_AFTER_S 1

typedef struct
{
  const char *content_type;
  const char *body;
  gsize body_len;
  char *params[MAX_PARAMS]; /* captured path parameters */
} Request;

typedef void (*Handler) (LbApi *api, Request *req, LbApiResponse *resp);

typedef struct
{
  const char *method;
  Handler handler;
} Method;

typedef struct
{
  const char *pattern; /* segments; "{}" captures one, a final "{*}" the rest */
  Method methods[3];
} Route;

LbApi *
lb_api_new (LbRegistry *registry, const LbConfig *config)
{
  LbApi *api = g_new0 (LbApi, 1);
  api->registry = registry;
  api->config = config;
  api->started_at = g_get_monotonic_time ();
  return api;
}

void
lb_api_free (LbApi *api)
{
  g_free (api);
}

void
lb_api_response_clear (LbApiResponse *resp)
{
  g_clear_pointer (&resp->body, g_free);
  g_clear_pointer (&resp->allow, g_free);
  g_clear_pointer (&resp->location, g_free);
}

/* Takes ownership of @node. */
static void
reply_json (LbApiResponse *resp, guint status, JsonNode *node)
{
  g_free (resp->body);
  resp->status = status;
  resp->content_type = "application/json";
  resp->body = lb_json_to_string (node);
  json_node_unref (node);
}

void
lb_api_response_set_error (LbApiResponse *resp, const GError *error)
{
  lb_api_response_set_error_details (resp, error, NULL);
}

void
lb_api_response_set_error_details (LbApiResponse *resp, const GError *error, JsonObject *details)
{
  LbErrorCode code = error->domain == LB_ERROR ? (LbErrorCode)error->code : LB_ERROR_INTERNAL;
  JsonObject *err = details != NULL ? details : json_object_new ();
  JsonObject *root = json_object_new ();

  json_object_set_string_member (err, "code", lb_error_code_name (code));
  /* Messages echo request text (paths, keys, headers) and json-glib writes
   * strings byte for byte: keep every error body valid UTF-8 JSON. */
  if (g_utf8_validate (error->message, -1, NULL))
    json_object_set_string_member (err, "message", error->message);
  else
    {
      g_autofree char *valid = g_utf8_make_valid (error->message, -1);
      json_object_set_string_member (err, "message", valid);
    }
  json_object_set_object_member (root, "error", err);
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, root);
  reply_json (resp, lb_error_http_status (code), node);
  if (code == LB_ERROR_STORE_BUSY)
    resp->retry_after_s = STORE_BUSY_RETRY_AFTER_S;
}

static void reply_error (LbApiResponse *resp, LbErrorCode code, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static void
reply_error (LbApiResponse *resp, LbErrorCode code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_autoptr (GError) error = g_error_new_literal (LB_ERROR, code, message);
  lb_api_response_set_error (resp, error);
}

static JsonNode *
list_node (GPtrArray *items, JsonNode *(*to_json) (gconstpointer), const char *member)
{
  JsonArray *array = json_array_sized_new (items->len);
  for (guint i = 0; i < items->len; i++)
    json_array_add_element (array, to_json (g_ptr_array_index (items, i)));
  JsonObject *obj = json_object_new ();
  json_object_set_array_member (obj, member, array);
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, obj);
  return node;
}

/* Whether the Content-Type header @value names exactly @media_type
 * (case-insensitive; parameters such as "; charset=utf-8" allowed).
 * "application/jsonx" is not "application/json". */
static gboolean
media_type_is (const char *value, const char *media_type)
{
  const char *end = strchr (value, ';');
  g_autofree char *type = g_strndup (value, end ? (gsize)(end - value) : strlen (value));
  return g_ascii_strcasecmp (g_strstrip (type), media_type) == 0;
}

/* Parses the body as a JSON object, replying 400/415 itself on failure. */
static JsonNode *
read_body (Request *req, LbApiResponse *resp)
{
  g_autoptr (GError) error = NULL;

  if (req->content_type != NULL && !media_type_is (req->content_type, "application/json"))
    {
      reply_error (resp, LB_ERROR_UNSUPPORTED_MEDIA_TYPE,
                   "request body must be application/json, not %s", req->content_type);
      return NULL;
    }
  JsonNode *node = lb_json_parse_object (req->body, req->body_len, &error);
  if (node == NULL)
    lb_api_response_set_error (resp, error);
  return node;
}

static LbLobby *
find_lobby (LbApi *api, const char *id, LbApiResponse *resp)
{
  LbLobby *lobby = lb_registry_find_lobby (api->registry, id);
  if (lobby == NULL)
    reply_error (resp, LB_ERROR_NOT_FOUND, "lobby %s not found", id);
  return lobby;
}

static LbSession *
find_session (LbApi *api, const char *id, LbApiResponse *resp)
{
  LbSession *session = lb_registry_find_session (api->registry, id);
  if (session == NULL)
    reply_error (resp, LB_ERROR_NOT_FOUND, "session %s not found", id);
  return session;
}

static void
get_status (LbApi *api, Request *req, LbApiResponse *resp)
{
  JsonObject *obj = json_object_new ();
  json_object_set_string_member (obj, "version", LB_VERSION);
  json_object_set_int_member (obj, "uptime_s",
                              (g_get_monotonic_time () - api->started_at) / G_USEC_PER_SEC);
  json_object_set_int_member (obj, "lobbies", lb_registry_get_lobbies (api->registry)->len);
  json_object_set_int_member (obj, "sessions", lb_registry_get_sessions (api->registry)->len);
  json_object_set_int_member (obj, "pipelines", lb_media_live_pipelines ());
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, obj);
  reply_json (resp, 200, node);
}

static void
get_gpu_status (LbApi *api, Request *req, LbApiResponse *resp)
{
  LbPools *pools = lb_registry_get_pools (api->registry);
  guint running = lb_registry_count_running_sessions (api->registry);
  guint used = 0;
  int limit = 0;
  JsonObject *obj = json_object_new ();

  /* The seed's five fields. "nvenc" means hardware encoder sessions of all
   * usable hardware pools (other processes' included); the limit is -1 when
   * a usable pool has no cap. software_mode: some session encodes in
   * software because hardware was unavailable (not because it asked to). */
  lb_pools_hardware_totals (pools, &used, &limit);
  json_object_set_int_member (obj, "nvenc_sessions_used", used);
  json_object_set_int_member (obj, "nvenc_sessions_limit", limit);
  gboolean software_mode = lb_registry_count_fallback_sessions (api->registry) > 0;
  json_object_set_boolean_member (obj, "software_mode", software_mode);
  json_object_set_int_member (obj, "active_lobbies", lb_registry_get_lobbies (api->registry)->len);
  json_object_set_int_member (obj, "active_sessions", running);
  json_object_set_int_member (obj, "active_encodes", lb_registry_get_encodes (api->registry)->len);
  /* What the warning says: never "exhausted (0/0)" on a host without a GPU. */
  g_autofree char *message = NULL;
  const char *reason = lb_pools_software_reason (pools, software_mode, &message);
  if (reason != NULL)
    {
      JsonObject *r = json_object_new ();
      json_object_set_string_member (r, "code", reason);
      json_object_set_string_member (r, "message", message);
      g_autofree char *detail = lb_pools_software_reason_detail (pools);
      if (detail != NULL)
        json_object_set_string_member (r, "detail", detail);
      json_object_set_object_member (obj, "software_reason", r);
    }
  else
    json_object_set_null_member (obj, "software_reason");
  g_autofree guint *viewers = lb_registry_count_pool_viewers (api->registry);
  json_object_set_member (obj, "gpus", lb_pools_gpus_to_json (pools));
  json_object_set_member (obj, "pools", lb_pools_to_json (pools, viewers));
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, obj);
  reply_json (resp, 200, node);
}

static void
get_hardware (LbApi *api, Request *req, LbApiResponse *resp)
{
  reply_json (resp, 200, lb_pools_hardware_to_json (lb_registry_get_pools (api->registry)));
}

typedef guint64 (*PoolValue) (LbPool *pool, guint index, gpointer data);

static guint64
pool_used (LbPool *p, guint i, gpointer data)
{
  return p->used;
}

static guint64
pool_viewers (LbPool *p, guint i, gpointer data)
{
  return ((guint *)data)[i];
}

static guint64
pool_external (LbPool *p, guint i, gpointer data)
{
  return p->external;
}

static guint64
pool_usable (LbPool *p, guint i, gpointer data)
{
  return p->usable ? 1 : 0;
}

/* One gauge with a sample per pool. */
static void
append_pool_gauge (GString *out, LbPools *pools, const char *name, const char *help,
                   PoolValue value, gpointer data)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
  for (guint i = 0; i < lb_pools_get_n (pools); i++)
    {
      LbPool *p = lb_pools_get (pools, i);
      g_string_append_printf (out, "%s{pool=\"%s\"} %" G_GUINT64_FORMAT "\n", name, p->name,
                              value (p, i, data));
    }
}

/* Prometheus text exposition format 0.0.4. */
static void
get_metrics (LbApi *api, Request *req, LbApiResponse *resp)
{
  LbPools *pools = lb_registry_get_pools (api->registry);
  const LbRegistryCounters *c = lb_registry_get_counters (api->registry);
  GString *out = g_string_new (NULL);

  g_autofree guint *viewers = lb_registry_count_pool_viewers (api->registry);
  append_pool_gauge (out, pools, "lobbyd_pool_slots_used", "Encoder slots lobbyd holds in a pool.",
                     pool_used, NULL);
  append_pool_gauge (
      out, pools, "lobbyd_pool_sessions",
      "Sessions watching encodes of a pool (shared encodes: many sessions, one slot).",
      pool_viewers, viewers);
  append_pool_gauge (out, pools, "lobbyd_pool_slots_external",
                     "Encoder sessions other processes hold on the pool's GPU (NVML).",
                     pool_external, NULL);
  g_string_append (out, "# HELP lobbyd_pool_slots_limit Slot limit of a hardware pool (absent: "
                        "unlimited).\n# TYPE lobbyd_pool_slots_limit gauge\n");
  for (guint i = 0; i < lb_pools_get_n (pools); i++)
    {
      LbPool *p = lb_pools_get (pools, i);
      if (p->limit > 0)
        g_string_append_printf (out, "lobbyd_pool_slots_limit{pool=\"%s\",source=\"%s\"} %u\n",
                                p->name, lb_limit_source_name (p->limit_source), p->limit);
    }
  append_pool_gauge (out, pools, "lobbyd_pool_usable", "1 if the pool can open encodes.",
                     pool_usable, NULL);
  g_string_append (out, "# HELP lobbyd_pool_encode_errors_total Encoder failures per pool.\n"
                        "# TYPE lobbyd_pool_encode_errors_total counter\n");
  for (guint i = 0; i < lb_pools_get_n (pools); i++)
    {
      LbPool *p = lb_pools_get (pools, i);
      g_string_append_printf (
          out, "lobbyd_pool_encode_errors_total{pool=\"%s\",kind=\"open\"} %" G_GUINT64_FORMAT "\n",
          p->name, p->open_failures);
      g_string_append_printf (
          out,
          "lobbyd_pool_encode_errors_total{pool=\"%s\",kind=\"runtime\"} %" G_GUINT64_FORMAT "\n",
          p->name, p->runtime_errors);
    }
  g_string_append_printf (
      out,
      "# HELP lobbyd_lobbies Lobbies.\n# TYPE lobbyd_lobbies gauge\n"
      "lobbyd_lobbies %u\n"
      "# HELP lobbyd_encodes Running encodes (each holds one encoder slot).\n"
      "# TYPE lobbyd_encodes gauge\n"
      "lobbyd_encodes %u\n"
      "# HELP lobbyd_sessions Sessions by state.\n# TYPE lobbyd_sessions gauge\n"
      "lobbyd_sessions{state=\"running\"} %u\n"
      "lobbyd_sessions{state=\"failed\"} %u\n"
      "# HELP lobbyd_software_mode_sessions Sessions in software because "
      "hardware was unavailable.\n# TYPE lobbyd_software_mode_sessions gauge\n"
      "lobbyd_software_mode_sessions %u\n"
      "# HELP lobbyd_encoder_fallbacks_total Encodes opened in software "
      "because hardware was unavailable.\n"
      "# TYPE lobbyd_encoder_fallbacks_total counter\n"
      "lobbyd_encoder_fallbacks_total %" G_GUINT64_FORMAT "\n"
      "# HELP lobbyd_encoder_upgrades_total Fallback encodes moved back to "
      "hardware.\n# TYPE lobbyd_encoder_upgrades_total counter\n"
      "lobbyd_encoder_upgrades_total %" G_GUINT64_FORMAT "\n"
      "# HELP lobbyd_admission_refusals_total Joins refused for lack of "
      "encoder capacity.\n# TYPE lobbyd_admission_refusals_total counter\n"
      "lobbyd_admission_refusals_total %" G_GUINT64_FORMAT "\n"
      "# HELP lobbyd_encode_errors_total Encoders that failed mid-stream.\n"
      "# TYPE lobbyd_encode_errors_total counter\n"
      "lobbyd_encode_errors_total %" G_GUINT64_FORMAT "\n",
      lb_registry_get_lobbies (api->registry)->len, lb_registry_get_encodes (api->registry)->len,
      lb_registry_count_running_sessions (api->registry),
      lb_registry_get_sessions (api->registry)->len
          - lb_registry_count_running_sessions (api->registry),
      lb_registry_count_fallback_sessions (api->registry), c->fallbacks, c->upgrades, c->refusals,
      c->encode_errors);
  resp->status = 200;
  resp->content_type = "text/plain; version=0.0.4";
  resp->body = g_string_free (out, FALSE);
}

/* docs/openapi.json, compiled in (src/api/lb-openapi.gresource.xml). */
static void
get_openapi (LbApi *api, Request *req, LbApiResponse *resp)
{
  g_autoptr (GBytes) doc = g_resource_lookup_data (
      lb_openapi_get_resource (), "/org/lobbyd/openapi.json", G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_assert (doc != NULL);
  resp->status = 200;
  resp->content_type = "application/json";
  resp->body = g_strndup (g_bytes_get_data (doc, NULL), g_bytes_get_size (doc));
}

static void
list_lobbies (LbApi *api, Request *req, LbApiResponse *resp)
{
  reply_json (resp, 200,
              list_node (lb_registry_get_lobbies (api->registry),
                         (JsonNode * (*)(gconstpointer)) lb_lobby_to_json, "lobbies"));
}

static void
create_lobby (LbApi *api, Request *req, LbApiResponse *resp)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) body = read_body (req, resp);
  if (body == NULL)
    return;
  g_autoptr (LbLobbySpec) spec = lb_lobby_spec_from_json (json_node_get_object (body), &error);
  gboolean created = FALSE;
  LbLobby *lobby = spec ? lb_registry_create_lobby (api->registry, spec, &created, &error) : NULL;
  if (lobby == NULL)
    {
      lb_api_response_set_error (resp, error);
      return;
    }
  resp->location = g_strdup_printf ("/api/v1/lobbies/%s", lb_lobby_get_id (lobby));
  reply_json (resp, created ? 201 : 200, lb_lobby_to_json (lobby));
}

static void
get_lobby (LbApi *api, Request *req, LbApiResponse *resp)
{
  LbLobby *lobby = find_lobby (api, req->params[0], resp);
  if (lobby != NULL)
    reply_json (resp, 200, lb_lobby_to_json (lobby));
}

static void
get_lobby_by_key (LbApi *api, Request *req, LbApiResponse *resp)
{
  LbLobby *lobby = lb_registry_find_lobby_by_key (api->registry, req->params[0]);
  if (lobby == NULL)
    reply_error (resp, LB_ERROR_NOT_FOUND, "no lobby has session_key '%s'", req->params[0]);
  else
    reply_json (resp, 200, lb_lobby_to_json (lobby));
}

static void
delete_lobby (LbApi *api, Request *req, LbApiResponse *resp)
{
  g_autoptr (GError) error = NULL;
  if (!lb_registry_delete_lobby (api->registry, req->params[0], &error))
    lb_api_response_set_error (resp, error);
  else
    resp->status = 204;
}

static void
list_lobby_sessions (LbApi *api, Request *req, LbApiResponse *resp)
{
  LbLobby *lobby = find_lobby (api, req->params[0], resp);
  if (lobby != NULL)
    reply_json (resp, 200,
                list_node (lb_lobby_get_sessions (lobby),
                           (JsonNode * (*)(gconstpointer)) lb_session_to_json, "sessions"));
}

static void
join_lobby (LbApi *api, Request *req, LbApiResponse *resp)
{
  g_autoptr (GError) error = NULL;
  LbLobby *lobby = find_lobby (api, req->params[0], resp);
  if (lobby == NULL)
    return;
  g_autoptr (JsonNode) body = read_body (req, resp);
  if (body == NULL)
    return;
  LbSessionSpec *spec
      = lb_output_spec_from_json (json_node_get_object (body), lb_lobby_get_spec (lobby), &error);
  LbSession *session = spec ? lb_registry_join (api->registry, lobby, spec, &error) : NULL;
  if (session == NULL && g_error_matches (error, LB_ERROR, LB_ERROR_CAPACITY))
    {
      /* Say why, with the numbers, and when to try again: never a black screen. */
      JsonObject *details = json_object_new ();
      g_autofree guint *viewers = lb_registry_count_pool_viewers (api->registry);
      json_object_set_member (details, "pools",
                              lb_pools_to_json (lb_registry_get_pools (api->registry), viewers));
      json_object_set_int_member (details, "retry_after_s", RETRY_AFTER_S);
      lb_api_response_set_error_details (resp, error, details);
      resp->retry_after_s = RETRY_AFTER_S;
      return;
    }
  if (session == NULL)
    {
      lb_api_response_set_error (resp, error);
      return;
    }
  resp->location = g_strdup_printf ("/api/v1/sessions/%s", lb_session_get_id (session));
  JsonNode *node = lb_session_to_json (session);
  g_autofree char *sdp_url = g_strdup_printf ("%s/sdp", resp->location);
  json_object_set_string_member (json_node_get_object (node), "sdp_url", sdp_url);
  reply_json (resp, 201, node);
}

/* WHEP (WebRTC-HTTP Egress Protocol): POST an SDP offer, get the answer
 * (201, Location = the session's WHEP resource); DELETE that resource to leave. */
static void
whep (LbApi *api, Request *req, LbApiResponse *resp, gboolean control)
{
  g_autoptr (GError) error = NULL;
  LbLobby *lobby = find_lobby (api, req->params[0], resp);
  if (lobby == NULL)
    return;
  if (req->content_type == NULL || !media_type_is (req->content_type, "application/sdp"))
    {
      reply_error (resp, LB_ERROR_UNSUPPORTED_MEDIA_TYPE, "a WHEP offer must be application/sdp");
      return;
    }
  if (req->body_len == 0 || !g_utf8_validate (req->body, (gssize)req->body_len, NULL)
      || memchr (req->body, '\0', req->body_len) != NULL)
    {
      reply_error (resp, LB_ERROR_INVALID_SDP, "the body is not an SDP offer");
      return;
    }
  LbSessionSpec *spec = lb_output_spec_new ("webrtc", lb_lobby_get_spec (lobby), &error);
  if (spec != NULL)
    {
      spec->offer = g_strndup (req->body, req->body_len);
      spec->control = control;
    }
  LbSession *session = spec ? lb_registry_join (api->registry, lobby, spec, &error) : NULL;
  if (session == NULL)
    {
      lb_api_response_set_error (resp, error);
      return;
    }
  resp->status = 201;
  resp->content_type = "application/sdp";
  resp->body = g_strdup (lb_session_get_answer (session));
  resp->location = g_strdup_printf ("/api/v1/sessions/%s/whep", lb_session_get_id (session));
}

/* Watch only: whatever the viewer sends is dropped. */
static void
whep_offer (LbApi *api, Request *req, LbApiResponse *resp)
{
  whep (api, req, resp, FALSE);
}

/* Control: keyboard and mouse from the data channel reach the desktop. */
static void
whep_control_offer (LbApi *api, Request *req, LbApiResponse *resp)
{
  whep (api, req, resp, TRUE);
}

static void
list_sessions (LbApi *api, Request *req, LbApiResponse *resp)
{
  reply_json (resp, 200,
              list_node (lb_registry_get_sessions (api->registry),
                         (JsonNode * (*)(gconstpointer)) lb_session_to_json, "sessions"));
}

static void
get_session (LbApi *api, Request *req, LbApiResponse *resp)
{
  LbSession *session = find_session (api, req->params[0], resp);
  if (session != NULL)
    reply_json (resp, 200, lb_session_to_json (session));
}

static void
get_session_sdp (LbApi *api, Request *req, LbApiResponse *resp)
{
  LbSession *session = find_session (api, req->params[0], resp);
  if (session == NULL)
    return;
  char *sdp = lb_session_get_sdp (session);
  if (sdp == NULL)
    {
      reply_error (resp, LB_ERROR_CONFLICT, "session %s is not running", req->params[0]);
      return;
    }
  resp->status = 200;
  resp->content_type = "application/sdp";
  resp->body = sdp;
}

static void
delete_session (LbApi *api, Request *req, LbApiResponse *resp)
{
  g_autoptr (GError) error = NULL;
  if (!lb_registry_leave (api->registry, req->params[0], &error))
    lb_api_response_set_error (resp, error);
  else
    resp->status = 204;
}

static const Route routes[] = {
  { "api/v1/status", { { "GET", get_status } } },
  { "api/v1/system/gpu-status", { { "GET", get_gpu_status } } },
  { "api/v1/system/hardware", { { "GET", get_hardware } } },
  { "metrics", { { "GET", get_metrics } } },
  { "api/v1/openapi.json", { { "GET", get_openapi } } },
  { "api/v1/lobbies", { { "GET", list_lobbies }, { "POST", create_lobby } } },
  { "api/v1/lobbies/by-key/{*}", { { "GET", get_lobby_by_key } } },
  { "api/v1/lobbies/{}", { { "GET", get_lobby }, { "DELETE", delete_lobby } } },
  { "api/v1/lobbies/{}/sessions", { { "GET", list_lobby_sessions }, { "POST", join_lobby } } },
  { "api/v1/lobbies/{}/whep", { { "POST", whep_offer } } },
  { "api/v1/lobbies/{}/whep/control", { { "POST", whep_control_offer } } },
  { "api/v1/sessions/{}/whep", { { "DELETE", delete_session } } },
  { "api/v1/sessions", { { "GET", list_sessions } } },
  { "api/v1/sessions/{}", { { "GET", get_session }, { "DELETE", delete_session } } },
  { "api/v1/sessions/{}/sdp", { { "GET", get_session_sdp } } },
};

void
lb_api_foreach_route (LbApiRouteFunc func, gpointer user_data)
{
  for (guint r = 0; r < G_N_ELEMENTS (routes); r++)
    for (guint m = 0; m < G_N_ELEMENTS (routes[r].methods) && routes[r].methods[m].method; m++)
      func (routes[r].methods[m].method, routes[r].pattern, user_data);
}

/* Matches @segments against @pattern, copying captured segments into @req. */
static gboolean
match_route (const char *pattern, char **segments, Request *req)
{
  g_auto (GStrv) pat = g_strsplit (pattern, "/", -1);
  guint n = g_strv_length (pat);
  guint nseg = g_strv_length (segments);
  guint nparams = 0;

  for (guint i = 0; i < n; i++)
    {
      gboolean rest = g_str_equal (pat[i], "{*}");
      if (i >= nseg || (!rest && !g_str_equal (pat[i], "{}") && !g_str_equal (pat[i], segments[i])))
        goto no_match;
      if (rest || g_str_equal (pat[i], "{}"))
        {
          /* Session keys may contain '/': the decoded path splits them, so
           * a trailing capture joins them back. */
          char *value = rest ? g_strjoinv ("/", segments + i) : g_strdup (segments[i]);
          req->params[nparams++] = value;
          if (*value == '\0')
            goto no_match;
          if (rest)
            return TRUE;
        }
    }
  if (nseg == n)
    return TRUE;

no_match:
  for (guint i = 0; i < nparams; i++)
    g_clear_pointer (&req->params[i], g_free);
  return FALSE;
}

void
lb_api_handle (LbApi *api, const char *method, const char *path, const char *content_type,
               const char *body, gsize body_len, LbApiResponse *resp)
{
  Request req = { content_type, body, body_len, { NULL } };
  const char *trimmed = path;

  while (*trimmed == '/')
    trimmed++;
  g_autofree char *clean = g_strdup (trimmed);
  g_auto (GStrv) segments = g_strsplit (clean, "/", -1);

  for (guint r = 0; r < G_N_ELEMENTS (routes); r++)
    {
      if (!match_route (routes[r].pattern, segments, &req))
        continue;

      const Method *found = NULL;
      g_autoptr (GString) allow = g_string_new (NULL);
      for (guint m = 0; m < G_N_ELEMENTS (routes[r].methods) && routes[r].methods[m].method; m++)
        {
          if (g_str_equal (routes[r].methods[m].method, method))
            found = &routes[r].methods[m];
          g_string_append_printf (allow, "%s%s", allow->len ? ", " : "",
                                  routes[r].methods[m].method);
        }
      if (found != NULL)
        found->handler (api, &req, resp);
      else
        {
          resp->allow = g_strdup (allow->str);
          reply_error (resp, LB_ERROR_METHOD_NOT_ALLOWED, "%s is not allowed on /%s (allowed: %s)",
                       method, clean, allow->str);
        }
      for (guint i = 0; i < MAX_PARAMS; i++)
        g_free (req.params[i]);
      return;
    }
  reply_error (resp, LB_ERROR_NOT_FOUND, "no such endpoint: /%s", clean);
}
