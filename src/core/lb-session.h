/* lb-session.h — one client of a lobby over one transport. Owned by the registry. */
#pragma once

#include <json-glib/json-glib.h>
#include "lb-types.h"

typedef struct _LbSharedEncode LbSharedEncode;

G_BEGIN_DECLS

const char *lb_session_get_id (const LbSession *session);
LbLobby *lb_session_get_lobby (const LbSession *session);
const LbSessionSpec *lb_session_get_spec (const LbSession *session);
/* The output implementation of the spec's transport. */
const LbOutputClass *lb_session_get_output_class (const LbSession *session);
gboolean lb_session_is_running (const LbSession *session);
/* NULL until the session has media running. */
char *lb_session_get_sdp (const LbSession *session);
JsonNode *lb_session_to_json (const LbSession *session);

/* For the registry. @spec: ownership is taken; @config (borrowed, outlives
 * the session) is what its output reads its transport's keys from. */
LbSession *lb_session_new (const char *id, LbLobby *lobby, LbSessionSpec *spec, gint64 created_at,
                           const LbConfig *config);
/* Opens the session's output on @encode (borrowed), adds it to the encode's
 * viewers and asks for a key frame. */
gboolean lb_session_attach (LbSession *session, LbSharedEncode *encode, GError **error);
/* Removes the output; returns the encode it watched (or NULL). */
LbSharedEncode *lb_session_detach (LbSession *session);
LbSharedEncode *lb_session_get_encode (const LbSession *session);
/* The sessions watching @encode, oldest first (a new array of borrowed
 * sessions): the encode keeps only their outputs. */
GPtrArray *lb_session_list_viewers (LbSharedEncode *encode);
/* Who hears that the viewer is gone, for outputs that notice it (on the
 * main loop, with the output's reason, e.g. "connection_failed",
 * "connect_timeout" or "peer_timeout"); set before attach. */
typedef void (*LbSessionEndedFunc) (LbSession *session, const char *reason, gpointer user_data);
void lb_session_set_ended_handler (LbSession *session, LbSessionEndedFunc on_ended,
                                   gpointer user_data);
/* A negotiated transport's output (lb-output.h) is ready (@error NULL: the
 * answer is lb_session_get_answer()) or failed (@error set; the output is
 * still attached: the registry undoes the join). On the main loop, once per
 * attach, never from within it; set before attach. */
typedef void (*LbSessionReadyFunc) (LbSession *session, const GError *error, gpointer user_data);
void lb_session_set_ready_handler (LbSession *session, LbSessionReadyFunc on_ready,
                                   gpointer user_data);
/* Attached, and its negotiated output has not answered yet. */
gboolean lb_session_is_negotiating (const LbSession *session);
/* Negotiated transports: the answer to the viewer's offer (once ready). */
const char *lb_session_get_answer (const LbSession *session);
/* Records why the session stopped (detach first); it stays listed as failed. */
void lb_session_set_failed (LbSession *session, const char *message);
/* A media error from this session's own branch: the reason to end the
 * session with when it means the viewer went away (its output says so),
 * else NULL (the session fails). */
const char *lb_session_branch_error_reason (const LbSession *session, const GError *error);
/* Is @branch (a media bin name) this session's output? */
gboolean lb_session_owns_branch (const LbSession *session, const char *branch);
void lb_session_free (LbSession *session);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbSession, lb_session_free)

G_END_DECLS
