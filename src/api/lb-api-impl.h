/* lb-api-impl.h — what the files of the HTTP API share, not its callers:
 * lb-api.c holds the route table, the dispatch and the reply helpers below;
 * each lb-api-<area>.c holds the handlers of one area. A handler answers
 * through @resp and never sees the HTTP library (lb-api.h). */
#pragma once

#include "lb-api.h"
#include "lb-error.h"

G_BEGIN_DECLS

struct _LbApi
{
  LbRegistry *registry;
  const LbConfig *config;
  gint64 started_at; /* monotonic µs */
  LbMlHost *ml_host; /* NULL: Moonlight off or not running */
};

/* The most captures a route pattern has ("{}" and "{*}"). */
#define LB_API_MAX_PARAMS 2

typedef struct
{
  const char *content_type; /* the raw header; nullable */
  const char *body;
  gsize body_len;
  char *params[LB_API_MAX_PARAMS]; /* captured path parameters, in order */
} LbApiRequest;

typedef void (*LbApiHandler) (LbApi *api, LbApiRequest *req, LbApiResponse *resp);

/* ---- Replies (lb-api.c) ---- */

/* Takes ownership of @node. */
void lb_api_reply_json (LbApiResponse *resp, guint status, JsonNode *node);
/* Same, for an object (ownership taken). */
void lb_api_reply_object (LbApiResponse *resp, guint status, JsonObject *obj);
/* {"<member>": [to_json (item), …]} with status 200. */
void lb_api_reply_list (LbApiResponse *resp, GPtrArray *items,
                        JsonNode *(*to_json) (gconstpointer item), const char *member);
/* 204 if @done, else the JSON error of @error. */
void lb_api_reply_done (LbApiResponse *resp, gboolean done, const GError *error);
void lb_api_reply_error (LbApiResponse *resp, LbErrorCode code, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

/* ---- Late answers (lb-api.c) ---- */

/* Undoes a deferred handler's work: its client is gone (before the answer,
 * or the answer could not be handed over). */
typedef void (*LbApiUndoFunc) (gpointer data);
/* The handler answers later: marks @resp pending and returns the pending
 * answer, to fill (lb_api_pending_get_response) and send
 * (lb_api_pending_finish) from the main loop. @undo runs at most once;
 * @data is freed with @data_free when the pending answer goes. */
LbApiPending *lb_api_defer (LbApiResponse *resp, LbApiUndoFunc undo, gpointer data,
                            GDestroyNotify data_free);
LbApiResponse *lb_api_pending_get_response (LbApiPending *pending);
/* Hands the response to the caller's answer func, then frees @pending. */
void lb_api_pending_finish (LbApiPending *pending);

/* ---- Request helpers (lb-api.c); each replies the error itself ---- */

/* Whether the Content-Type header @value names exactly @media_type. */
gboolean lb_api_media_type_is (const char *value, const char *media_type);
/* The body as a JSON object, or NULL after a 400/415 reply. */
JsonNode *lb_api_read_json_body (LbApiRequest *req, LbApiResponse *resp);
/* NULL after a 404 reply. */
LbLobby *lb_api_find_lobby (LbApi *api, const char *id, LbApiResponse *resp);
LbSession *lb_api_find_session (LbApi *api, const char *id, LbApiResponse *resp);

/* ---- Handlers, by file; lb-api.c's route table maps paths to them ---- */

/* lb-api-system.c */
void lb_api_system_status (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_system_gpu_status (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_system_hardware (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_system_openapi (LbApi *api, LbApiRequest *req, LbApiResponse *resp);

/* lb-api-metrics.c */
void lb_api_metrics_get (LbApi *api, LbApiRequest *req, LbApiResponse *resp);

/* lb-api-lobbies.c */
void lb_api_lobbies_list (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_lobbies_create (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_lobbies_get (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_lobbies_get_by_key (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_lobbies_delete (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_lobbies_list_sessions (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_lobbies_join (LbApi *api, LbApiRequest *req, LbApiResponse *resp);

/* lb-api-whep.c */
void lb_api_whep_offer (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_whep_control_offer (LbApi *api, LbApiRequest *req, LbApiResponse *resp);

/* lb-api-sessions.c */
void lb_api_sessions_list (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_sessions_get (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_sessions_get_sdp (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_sessions_delete (LbApi *api, LbApiRequest *req, LbApiResponse *resp);

/* lb-api-moonlight.c */
void lb_api_moonlight_status (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_moonlight_pair (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_moonlight_clients (LbApi *api, LbApiRequest *req, LbApiResponse *resp);
void lb_api_moonlight_clients_delete (LbApi *api, LbApiRequest *req, LbApiResponse *resp);

G_END_DECLS
