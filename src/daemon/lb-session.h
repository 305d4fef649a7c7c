/* lb-session.h — one client of a lobby over one transport. Owned by the registry. */
#pragma once

#include <json-glib/json-glib.h>
#include "lb-types.h"

G_BEGIN_DECLS

const char *lb_session_get_id (const LbSession *session);
LbLobby *lb_session_get_lobby (const LbSession *session);
const LbSessionSpec *lb_session_get_spec (const LbSession *session);
gboolean lb_session_is_running (const LbSession *session);
/* NULL until the session has media running. */
char *lb_session_get_sdp (const LbSession *session);
JsonNode *lb_session_to_json (const LbSession *session);

/* For the registry. @spec: ownership is taken. */
LbSession *lb_session_new (const char *id, LbLobby *lobby, LbSessionSpec *spec, gint64 created_at);
/* Opens the session's encode and output on its lobby's producer. An encoder
 * that refuses to open fails with LB_ERROR_ENCODER_OPEN. */
gboolean lb_session_start (LbSession *session, const LbEncoderSettings *settings, GError **error);
/* Opens a new encode and moves the running output onto it (same SSRC and
 * sequence numbers, key frame first), then closes the old encode. On failure
 * the old encode keeps running. */
gboolean lb_session_switch_encode (LbSession *session, const LbEncoderSettings *settings,
                                   GError **error);
void lb_session_set_pool (LbSession *session, int pool, const char *pool_name, const char *encoder,
                          gboolean hardware, gboolean fallback);
int lb_session_get_pool (const LbSession *session); /* -1 = none */
gboolean lb_session_is_fallback (const LbSession *session);
guint64 lb_session_get_pixel_rate (const LbSession *session);
gboolean lb_session_owns_encode_branch (const LbSession *session, const char *branch);
/* Tears media down (idempotent); the session stays listed as failed. */
void lb_session_set_failed (LbSession *session, const char *message);
/* Does @branch (a media bin name) belong to this session? */
gboolean lb_session_owns_branch (const LbSession *session, const char *branch);
void lb_session_free (LbSession *session);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbSession, lb_session_free)

G_END_DECLS
