/* lb-api-whep.c — WHEP (WebRTC-HTTP Egress Protocol, draft-ietf-wish-whep): POST an SDP
 * offer to a lobby, get the answer (201, Location = the session's WHEP
 * resource). DELETE of that resource is the session's leave
 * (lb_api_sessions_delete; see the route table in lb-api.c). */
#define G_LOG_DOMAIN "lobbyd-api"
#include "lb-api-impl.h"
#include "lb-lobby.h"
#include "lb-output.h"
#include "lb-registry.h"
#include "lb-session.h"
#include "lb-spec.h"

#include <string.h>

/* One offer: queued, then the registry's join, then the session it made,
 * until the answer is handed over. */
typedef struct
{
  LbApi *api;
  LbApiPending *pending;
  char *lobby_id;      /* while queued */
  LbSessionSpec *spec; /* while queued */
  GList *queued;       /* its link in the queue, while queued */
  LbJoin *join;        /* until it ends */
  char *session_id;    /* once joined */
} WhepOffer;

/* Offers wait here and are joined one per main-loop turn, after the
 * sockets that are ready: a join costs about a millisecond (the output's
 * elements, the SDP, the store), and a burst of 100 offers handled back
 * to back kept every other API request waiting behind all of them. */
static GQueue queue = G_QUEUE_INIT;
static guint queue_source;

static void
whep_offer_free (gpointer data)
{
  WhepOffer *offer = data;
  g_free (offer->lobby_id);
  g_clear_pointer (&offer->spec, lb_session_spec_free);
  g_free (offer->session_id);
  g_free (offer);
}

/* The client left before it got its answer: nobody will connect to the
 * session, so it goes now (not connect_timeout seconds later). */
static void
whep_undo (gpointer data)
{
  WhepOffer *offer = data;

  if (offer->queued != NULL)
    {
      g_queue_delete_link (&queue, offer->queued);
      offer->queued = NULL;
    }
  else if (offer->join != NULL)
    lb_registry_join_cancel (offer->api->registry, g_steal_pointer (&offer->join));
  else if (offer->session_id != NULL)
    lb_registry_leave (offer->api->registry, offer->session_id, NULL);
}

static void
whep_joined (LbSession *session, const GError *error, gpointer user_data)
{
  WhepOffer *offer = user_data;
  LbApiResponse *resp = lb_api_pending_get_response (offer->pending);

  offer->join = NULL;
  if (session == NULL)
    lb_api_response_set_error (resp, error);
  else
    {
      offer->session_id = g_strdup (lb_session_get_id (session));
      resp->status = 201;
      resp->content_type = "application/sdp";
      resp->body = g_strdup (lb_session_get_answer (session));
      resp->location = g_strdup_printf ("/api/v1/sessions/%s/whep", offer->session_id);
    }
  lb_api_pending_finish (offer->pending);
}

static gboolean
join_next (gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  WhepOffer *offer = g_queue_pop_head (&queue);

  if (offer == NULL)
    {
      queue_source = 0;
      return G_SOURCE_REMOVE;
    }
  offer->queued = NULL;
  LbLobby *lobby = lb_registry_find_lobby (offer->api->registry, offer->lobby_id);
  if (lobby == NULL)
    g_set_error (&error, LB_ERROR, LB_ERROR_NOT_FOUND, "lobby %s not found", offer->lobby_id);
  else
    offer->join = lb_registry_join_async (
        offer->api->registry, lobby, g_steal_pointer (&offer->spec), whep_joined, offer, &error);
  if (offer->join == NULL)
    {
      lb_api_response_set_error (lb_api_pending_get_response (offer->pending), error);
      lb_api_pending_finish (offer->pending);
    }
  return G_SOURCE_CONTINUE;
}

/* The offer is checked now; it is joined (the encode admitted) when its
 * turn in the queue comes, and answered once the output has negotiated it
 * (lb_registry_join_async), while the main loop serves other requests. */
static void
whep (LbApi *api, LbApiRequest *req, LbApiResponse *resp, gboolean control)
{
  g_autoptr (GError) error = NULL;
  LbLobby *lobby = lb_api_find_lobby (api, req->params[0], resp);
  if (lobby == NULL)
    return;
  if (req->content_type == NULL || !lb_api_media_type_is (req->content_type, "application/sdp"))
    {
      lb_api_reply_error (resp, LB_ERROR_UNSUPPORTED_MEDIA_TYPE,
                          "a WHEP offer must be application/sdp");
      return;
    }
  /* The offer goes on to GStreamer's SDP parser as a C string. */
  if (req->body_len == 0 || !g_utf8_validate (req->body, (gssize)req->body_len, NULL)
      || memchr (req->body, '\0', req->body_len) != NULL)
    {
      lb_api_reply_error (resp, LB_ERROR_INVALID_SDP, "the body is not an SDP offer");
      return;
    }
  LbSessionSpec *spec = lb_output_spec_new ("webrtc", lb_lobby_get_spec (lobby), &error);
  if (spec == NULL)
    {
      lb_api_response_set_error (resp, error);
      return;
    }
  spec->offer = g_strndup (req->body, req->body_len);
  spec->control = control;
  WhepOffer *offer = g_new0 (WhepOffer, 1);
  offer->api = api;
  offer->spec = spec;
  offer->lobby_id = g_strdup (lb_lobby_get_id (lobby));
  offer->pending = lb_api_defer (resp, whep_undo, offer, whep_offer_free);
  g_queue_push_tail (&queue, offer);
  offer->queued = queue.tail;
  if (queue_source == 0)
    queue_source = g_idle_add (join_next, NULL);
}

/* Watch only: whatever the viewer sends is dropped. */
void
lb_api_whep_offer (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  whep (api, req, resp, FALSE);
}

/* Control: keyboard and mouse from the data channel reach the desktop. */
void
lb_api_whep_control_offer (LbApi *api, LbApiRequest *req, LbApiResponse *resp)
{
  whep (api, req, resp, TRUE);
}
