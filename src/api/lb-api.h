/* lb-api.h — the HTTP API's routes, independent of the HTTP library.
 *
 * lb_api_handle() maps (method, path, body) to a status and a body, so the
 * whole API can be driven from lb-http-server or from a test without a
 * socket. Every error leaves as {"error":{"code","message"}} with the status
 * that lb-error.h assigns to its code. */
#pragma once

#include <json-glib/json-glib.h>
#include "lb-types.h"

G_BEGIN_DECLS

typedef struct _LbApi LbApi;

/* An answer that a handler gives later (WHEP: once the offer is negotiated). */
typedef struct _LbApiPending LbApiPending;

typedef struct
{
  guint status;
  char *body;               /* owned; may be NULL (204) */
  const char *content_type; /* static */
  char *allow;              /* owned; for 405 */
  char *location;           /* owned; for 201 */
  guint retry_after_s;      /* 0 = none */
  /* Set: the handler answers later and nothing above is filled. The caller
   * takes it: lb_api_pending_set_answer_func before returning to the main
   * loop, or lb_api_pending_cancel. */
  LbApiPending *pending;
} LbApiResponse;

/* The late answer, on the main loop; @response is borrowed for the call.
 * Return FALSE if it could not be handed to the client (it left meanwhile):
 * the handler then undoes what it did, as for lb_api_pending_cancel. */
typedef gboolean (*LbApiAnswerFunc) (const LbApiResponse *response, gpointer user_data);
/* @func runs once with the answer; the pending answer is freed after it. */
void lb_api_pending_set_answer_func (LbApiPending *pending, LbApiAnswerFunc func,
                                     gpointer user_data);
/* The client is gone before the answer: the handler undoes its work (a WHEP
 * join: the session is ended, its slot given back) and the answer func never
 * runs. Frees @pending. */
void lb_api_pending_cancel (LbApiPending *pending);

/* A handler's undo taken out of its pending answer, for the HTTP layer to
 * run if the answer it handed to the connection never reaches the client
 * (closed before the response was written). */
typedef struct _LbApiUndo LbApiUndo;
/* From @pending's answer func only: the pending answer then frees nothing
 * of the handler's, and the undo runs at most once, through the result. */
LbApiUndo *lb_api_pending_take_undo (LbApiPending *pending);
/* Runs the undo, then frees @undo. */
void lb_api_undo_run (LbApiUndo *undo);
/* Frees @undo without running it: the answer was delivered. */
void lb_api_undo_free (LbApiUndo *undo);

/* @registry and @config are borrowed. */
LbApi *lb_api_new (LbRegistry *registry, const LbConfig *config);
void lb_api_free (LbApi *api);
/* The Moonlight host behind /api/v1/moonlight (borrowed; NULL = not running). */
typedef struct _LbMlHost LbMlHost;
void lb_api_set_moonlight_host (LbApi *api, LbMlHost *host);

/* @path is the request path, already percent-decoded by the HTTP layer. */
void lb_api_handle (LbApi *api, const char *method, const char *path, const char *content_type,
                    const char *body, gsize body_len, LbApiResponse *response);
void lb_api_response_clear (LbApiResponse *response);

/* Fills @response with the JSON error body of @error (an LB_ERROR). */
void lb_api_response_set_error (LbApiResponse *response, const GError *error);
/* Same, with extra members in the error object (@details: ownership taken). */
void lb_api_response_set_error_details (LbApiResponse *response, const GError *error,
                                        JsonObject *details);

/* The route table, for tests that compare it with docs/openapi.json.
 * @pattern: path segments without the leading '/'; "{}" captures one
 * segment, a final "{*}" the rest of the path. */
typedef void (*LbApiRouteFunc) (const char *method, const char *pattern, gpointer user_data);
void lb_api_foreach_route (LbApiRouteFunc func, gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbApi, lb_api_free)

G_END_DECLS
