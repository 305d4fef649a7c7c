/* lb-api.c — the API of /api/v1 (docs/api.md) as one route table: matching a
 * (method, path) to its handler, 404/405 for the rest, and the reply helpers
 * every handler uses, so that each error leaves as the same JSON body with a
 * stable code. The handlers live in lb-api-<area>.c (lb-api-impl.h). */
#define G_LOG_DOMAIN "lobbyd-api"
#include "lb-api-impl.h"
#include "lb-json.h"
#include "lb-registry.h"

#include <string.h>

/* A database lock held by another process is usually a short transaction. */
#define STORE_BUSY_RETRY_AFTER_S 1

typedef struct
{
  const char *method;
  LbApiHandler handler;
} Method;

typedef struct
{
  const char *pattern; /* segments; "{}" captures one, a final "{*}" the rest */
  Method methods[3];
} Route;

static const Route routes[] = {
  { "api/v1/status", { { "GET", lb_api_system_status } } },
  { "api/v1/system/gpu-status", { { "GET", lb_api_system_gpu_status } } },
  { "api/v1/system/hardware", { { "GET", lb_api_system_hardware } } },
  { "metrics", { { "GET", lb_api_metrics_get } } },
  { "api/v1/openapi.json", { { "GET", lb_api_system_openapi } } },
  { "api/v1/lobbies", { { "GET", lb_api_lobbies_list }, { "POST", lb_api_lobbies_create } } },
  { "api/v1/lobbies/by-key/{*}", { { "GET", lb_api_lobbies_get_by_key } } },
  { "api/v1/lobbies/{}", { { "GET", lb_api_lobbies_get }, { "DELETE", lb_api_lobbies_delete } } },
  { "api/v1/lobbies/{}/sessions",
    { { "GET", lb_api_lobbies_list_sessions }, { "POST", lb_api_lobbies_join } } },
  { "api/v1/lobbies/{}/whep", { { "POST", lb_api_whep_offer } } },
  { "api/v1/lobbies/{}/whep/control", { { "POST", lb_api_whep_control_offer } } },
  /* The WHEP resource is the session: deleting it leaves, as DELETE
   * /api/v1/sessions/{id} does. */
  { "api/v1/sessions/{}/whep", { { "DELETE", lb_api_sessions_delete } } },
  { "api/v1/sessions", { { "GET", lb_api_sessions_list } } },
  { "api/v1/sessions/{}",
    { { "GET", lb_api_sessions_get }, { "DELETE", lb_api_sessions_delete } } },
  { "api/v1/sessions/{}/sdp", { { "GET", lb_api_sessions_get_sdp } } },
  { "api/v1/moonlight/status", { { "GET", lb_api_moonlight_status } } },
  { "api/v1/moonlight/pair", { { "POST", lb_api_moonlight_pair } } },
  { "api/v1/moonlight/clients", { { "GET", lb_api_moonlight_clients } } },
  { "api/v1/moonlight/clients/{}", { { "DELETE", lb_api_moonlight_clients_delete } } },
};

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
lb_api_set_moonlight_host (LbApi *api, LbMlHost *host)
{
  api->ml_host = host;
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

struct _LbApiPending
{
  LbApiResponse response;
  LbApiAnswerFunc answer;
  gpointer answer_data;
  LbApiUndoFunc undo;
  gpointer data;
  GDestroyNotify data_free;
};

LbApiPending *
lb_api_defer (LbApiResponse *resp, LbApiUndoFunc undo, gpointer data, GDestroyNotify data_free)
{
  LbApiPending *pending = g_new0 (LbApiPending, 1);

  g_return_val_if_fail (resp->pending == NULL, NULL);
  pending->undo = undo;
  pending->data = data;
  pending->data_free = data_free;
  resp->pending = pending;
  return pending;
}

LbApiResponse *
lb_api_pending_get_response (LbApiPending *pending)
{
  return &pending->response;
}

void
lb_api_pending_set_answer_func (LbApiPending *pending, LbApiAnswerFunc func, gpointer user_data)
{
  pending->answer = func;
  pending->answer_data = user_data;
}

static void
pending_free (LbApiPending *pending)
{
  if (pending->data_free != NULL)
    pending->data_free (pending->data);
  lb_api_response_clear (&pending->response);
  g_free (pending);
}

void
lb_api_pending_finish (LbApiPending *pending)
{
  g_return_if_fail (pending->answer != NULL);
  if (!pending->answer (&pending->response, pending->answer_data) && pending->undo != NULL)
    pending->undo (pending->data);
  pending_free (pending);
}

struct _LbApiUndo
{
  LbApiUndoFunc undo;
  gpointer data;
  GDestroyNotify data_free;
};

LbApiUndo *
lb_api_pending_take_undo (LbApiPending *pending)
{
  LbApiUndo *undo = g_new0 (LbApiUndo, 1);
  undo->undo = g_steal_pointer (&pending->undo);
  undo->data = g_steal_pointer (&pending->data);
  undo->data_free = g_steal_pointer (&pending->data_free);
  return undo;
}

void
lb_api_undo_free (LbApiUndo *undo)
{
  if (undo->data_free != NULL)
    undo->data_free (undo->data);
  g_free (undo);
}

void
lb_api_undo_run (LbApiUndo *undo)
{
  if (undo->undo != NULL)
    undo->undo (undo->data);
  lb_api_undo_free (undo);
}

void
lb_api_pending_cancel (LbApiPending *pending)
{
  if (pending->undo != NULL)
    pending->undo (pending->data);
  pending_free (pending);
}

void
lb_api_reply_json (LbApiResponse *resp, guint status, JsonNode *node)
{
  g_free (resp->body);
  resp->status = status;
  resp->content_type = "application/json";
  resp->body = lb_json_to_string (node);
  json_node_unref (node);
}

void
lb_api_reply_object (LbApiResponse *resp, guint status, JsonObject *obj)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, obj);
  lb_api_reply_json (resp, status, node);
}

void
lb_api_reply_list (LbApiResponse *resp, GPtrArray *items, JsonNode *(*to_json) (gconstpointer),
                   const char *member)
{
  JsonArray *array = json_array_sized_new (items->len);
  for (guint i = 0; i < items->len; i++)
    json_array_add_element (array, to_json (g_ptr_array_index (items, i)));
  JsonObject *obj = json_object_new ();
  json_object_set_array_member (obj, member, array);
  lb_api_reply_object (resp, 200, obj);
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
  lb_api_reply_object (resp, lb_error_http_status (code), root);
  if (code == LB_ERROR_STORE_BUSY)
    resp->retry_after_s = STORE_BUSY_RETRY_AFTER_S;
}

void
lb_api_reply_done (LbApiResponse *resp, gboolean done, const GError *error)
{
  if (done)
    resp->status = 204;
  else
    lb_api_response_set_error (resp, error);
}

void
lb_api_reply_error (LbApiResponse *resp, LbErrorCode code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_autoptr (GError) error = g_error_new_literal (LB_ERROR, code, message);
  lb_api_response_set_error (resp, error);
}

/* Case-insensitive; parameters such as "; charset=utf-8" allowed.
 * "application/jsonx" is not "application/json". */
gboolean
lb_api_media_type_is (const char *value, const char *media_type)
{
  const char *end = strchr (value, ';');
  g_autofree char *type = g_strndup (value, end ? (gsize)(end - value) : strlen (value));
  return g_ascii_strcasecmp (g_strstrip (type), media_type) == 0;
}

JsonNode *
lb_api_read_json_body (LbApiRequest *req, LbApiResponse *resp)
{
  g_autoptr (GError) error = NULL;

  if (req->content_type != NULL && !lb_api_media_type_is (req->content_type, "application/json"))
    {
      lb_api_reply_error (resp, LB_ERROR_UNSUPPORTED_MEDIA_TYPE,
                          "request body must be application/json, not %s", req->content_type);
      return NULL;
    }
  JsonNode *node = lb_json_parse_object (req->body, req->body_len, &error);
  if (node == NULL)
    lb_api_response_set_error (resp, error);
  return node;
}

LbLobby *
lb_api_find_lobby (LbApi *api, const char *id, LbApiResponse *resp)
{
  LbLobby *lobby = lb_registry_find_lobby (api->registry, id);
  if (lobby == NULL)
    lb_api_reply_error (resp, LB_ERROR_NOT_FOUND, "lobby %s not found", id);
  return lobby;
}

LbSession *
lb_api_find_session (LbApi *api, const char *id, LbApiResponse *resp)
{
  LbSession *session = lb_registry_find_session (api->registry, id);
  if (session == NULL)
    lb_api_reply_error (resp, LB_ERROR_NOT_FOUND, "session %s not found", id);
  return session;
}

void
lb_api_foreach_route (LbApiRouteFunc func, gpointer user_data)
{
  for (guint r = 0; r < G_N_ELEMENTS (routes); r++)
    for (guint m = 0; m < G_N_ELEMENTS (routes[r].methods) && routes[r].methods[m].method; m++)
      func (routes[r].methods[m].method, routes[r].pattern, user_data);
}

/* Matches @segments against @pattern, copying captured segments into @req. */
static gboolean
match_route (const char *pattern, char **segments, LbApiRequest *req)
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
  LbApiRequest req = { content_type, body, body_len, { NULL } };
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
          lb_api_reply_error (resp, LB_ERROR_METHOD_NOT_ALLOWED,
                              "%s is not allowed on /%s (allowed: %s)", method, clean, allow->str);
        }
      for (guint i = 0; i < LB_API_MAX_PARAMS; i++)
        g_free (req.params[i]);
      return;
    }
  lb_api_reply_error (resp, LB_ERROR_NOT_FOUND, "no such endpoint: /%s", clean);
}
