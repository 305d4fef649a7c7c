/* lb-api-sessions.c — /api/v1/sessions: list, inspect, fetch an RTP
 * session's SDP, and leave (also the DELETE of a WHEP resource). */
#define G_LOG_DOMAIN "lobbyd-api"
#include "lb-api-impl.h"
#include "lb-registry.h"
#include "lb-session.h"

void
lb_api_sessions_list (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  lb_api_reply_list (resp, lb_registry_get_sessions (api->registry),
                     (JsonNode * (*)(gconstpointer)) lb_session_to_json, "sessions");
}

void
lb_api_sessions_get (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  LbSession *session = lb_api_find_session (api, req->params[0], resp);
  if (session != NULL)
    lb_api_reply_json (resp, 200, lb_session_to_json (session));
}

void
lb_api_sessions_get_sdp (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  LbSession *session = lb_api_find_session (api, req->params[0], resp);
  if (session == NULL)
    return;
  char *sdp = lb_session_get_sdp (session);
  if (sdp == NULL)
    {
      lb_api_reply_error (resp, LB_ERROR_CONFLICT, "session %s is not running", req->params[0]);
      return;
    }
  resp->status = 200;
  resp->content_type = "application/sdp";
  resp->body = sdp;
}

void
lb_api_sessions_delete (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  g_autoptr (GError) error = NULL;
  gboolean done = lb_registry_leave (api->registry, req->params[0], &error);
  lb_api_reply_done (resp, done, error);
}
