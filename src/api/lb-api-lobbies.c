/* lb-api-lobbies.c — /api/v1/lobbies: create, list, find (by id or session
 * key), delete, and join one as an RTP session. WHEP joins are in
 * lb-api-whep.c. */
#define G_LOG_DOMAIN "lobbyd-api"
#include "lb-api-impl.h"
#include "lb-lobby.h"
#include "lb-output.h"
#include "lb-pools.h"
#include "lb-registry.h"
#include "lb-session.h"
#include "lb-spec.h"

/* Sessions end or pools free slots on a human time scale. */
#define RETRY_AFTER_S 5

void
lb_api_lobbies_list (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  lb_api_reply_list (resp, lb_registry_get_lobbies (api->registry),
                     (JsonNode * (*)(gconstpointer)) lb_lobby_to_json, "lobbies");
}

void
lb_api_lobbies_create (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) body = lb_api_read_json_body (req, resp);
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
  lb_api_reply_json (resp, created ? 201 : 200, lb_lobby_to_json (lobby));
}

void
lb_api_lobbies_get (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  LbLobby *lobby = lb_api_find_lobby (api, req->params[0], resp);
  if (lobby != NULL)
    lb_api_reply_json (resp, 200, lb_lobby_to_json (lobby));
}

void
lb_api_lobbies_get_by_key (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  LbLobby *lobby = lb_registry_find_lobby_by_key (api->registry, req->params[0]);
  if (lobby == NULL)
    lb_api_reply_error (resp, LB_ERROR_NOT_FOUND, "no lobby has session_key '%s'", req->params[0]);
  else
    lb_api_reply_json (resp, 200, lb_lobby_to_json (lobby));
}

void
lb_api_lobbies_delete (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  g_autoptr (GError) error = NULL;
  gboolean done = lb_registry_delete_lobby (api->registry, req->params[0], &error);
  lb_api_reply_done (resp, done, error);
}

void
lb_api_lobbies_list_sessions (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  LbLobby *lobby = lb_api_find_lobby (api, req->params[0], resp);
  if (lobby != NULL)
    lb_api_reply_list (resp, lb_lobby_get_sessions (lobby),
                       (JsonNode * (*)(gconstpointer)) lb_session_to_json, "sessions");
}

void
lb_api_lobbies_join (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  g_autoptr (GError) error = NULL;
  LbLobby *lobby = lb_api_find_lobby (api, req->params[0], resp);
  if (lobby == NULL)
    return;
  g_autoptr (JsonNode) body = lb_api_read_json_body (req, resp);
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
  lb_api_reply_json (resp, 201, node);
}
